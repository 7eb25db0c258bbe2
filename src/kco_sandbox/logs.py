"""Log configuration for the commands, and the access log's one line per request.

`configure(level, format)` sends every logger (the platform's and uvicorn's) to one handler on
standard error, as text for people or as one JSON object per line for log collectors
(`--log-format`). `access(...)` writes the access line; `web/api/operations.py` calls it once per
request after the answer is sent. What a line holds and never holds is in docs/operations.md.

`Tally` and `ConnectionLog` keep the log's size bounded under a flood: events a client can cause
once per connection (a refused accept, a timed-out request, a malformed request uvicorn warns
about) are counted, and each kind is written at most once per window with its count, never once
per event (docs/operations.md, "Limits").
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO, Any, Final

FORMATS: Final = ("text", "json")
TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s %(message)s"
# Structured fields ride on a record under this attribute (`extra={FIELDS: {...}}`); the JSON
# format writes them as keys of their own, the text format has them in the message already.
FIELDS: Final = "kco_fields"
# Libraries kept at warning and above whatever the level: they log URLs whole.
QUIETED: Final = ("httpx", "httpcore")

ACCESS: Final = logging.getLogger("kco_sandbox.access")
_ACCESS_LINE: Final = "%s %s %d %.1fms merchant=%s correlation_id=%s"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: `time`, `level`, `logger`, `message`, then the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        at = datetime.fromtimestamp(record.created, UTC)
        entry: dict[str, Any] = {
            "time": f"{at:%Y-%m-%dT%H:%M:%S}.{at.microsecond // 1000:03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, FIELDS, None)
        if fields:
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # ensure_ascii (the default) keeps a line one line whatever a message holds.
        return json.dumps(entry, default=str)


def formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter()
    if log_format == "text":
        return logging.Formatter(TEXT_FORMAT)
    raise ValueError(f"log format must be one of {', '.join(FORMATS)}, got {log_format!r}")


def configure(level: str, log_format: str = "text", stream: IO[str] | None = None) -> None:
    """Send every log record at `level` and above to `stream` (standard error) in `log_format`.

    Replaces the root logger's handlers, so calling it again (a test) does not double lines;
    uvicorn's loggers propagate here when uvicorn is given `log_config=None`.
    """
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(log_format))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Migrations at start-up say each step at info; a server's log needs none of it.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # httpx logs every request's whole URL at info (a callback URL's `user:password@` and query
    # tokens included), httpcore each connection step at debug: the delivery's own line says what
    # was called, without them (docs/operations.md, "What is never logged").
    for noisy in QUIETED:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def access(
    method: str, path: str, status: int, duration_ms: float, merchant: str, correlation_id: str
) -> None:
    """The access line of one request (callers check `ACCESS.isEnabledFor(INFO)` first).

    `path` comes without its query string and `merchant` is a user name or `-`: merchants put
    tokens in query strings, and credentials are never logged.
    """
    ACCESS.info(
        _ACCESS_LINE,
        method,
        path,
        status,
        duration_ms,
        merchant,
        correlation_id,
        extra={
            FIELDS: {
                "method": method,
                "path": path,
                "status": status,
                "duration_ms": round(duration_ms, 1),
                "merchant": merchant,
                "correlation_id": correlation_id,
            }
        },
    )


CONNECTIONS: Final = logging.getLogger("kco_sandbox.connections")
TALLY_WINDOW: Final = 10.0
# uvicorn's warnings a client can cause on every request it sends (`uvicorn.error`): counted by
# `ConnectionLog` instead of written each time. The last one follows the second, and advises
# installing a WebSocket library the platform does not use: it is dropped, not counted.
UVICORN_COUNTED: Final = ("Invalid HTTP request received.", "Unsupported upgrade request.")
UVICORN_DROPPED: Final = ("No supported WebSocket library detected",)


class Tally:
    """Counts one kind of event; writes `message` with the count at most once per `window`.

    The first event after a quiet window is written at once (so a single one is seen when it
    happens); the ones after it are counted, and `flush` (called on a timer) writes the count once
    the window has passed. The clock is injected (`time.monotonic` by default).
    """

    def __init__(
        self,
        message: str,
        level: int = logging.WARNING,
        *,
        window: float = TALLY_WINDOW,
        logger: logging.Logger = CONNECTIONS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.message = message
        self.level = level
        self.window = window
        self.logger = logger
        self.clock = clock
        self.total = 0
        self._count = 0
        self._written_at = -math.inf

    def add(self, count: int = 1) -> None:
        self.total += count
        self._count += count
        self.flush()

    def flush(self) -> None:
        """Write the count if there is one and the last line is a window old."""
        if not self._count:
            return
        now = self.clock()
        if now - self._written_at < self.window:
            return
        count, self._count, self._written_at = self._count, 0, now
        self.logger.log(
            self.level,
            "%s (%d in the last %g s)",
            self.message,
            count,
            self.window,
            extra={FIELDS: {"event": self.message, "count": count, "window_s": self.window}},
        )


class ConnectionLog(logging.Filter):
    """The tallies of connection-level events, and a filter that counts uvicorn's per-request
    warnings (`UVICORN_COUNTED`) instead of letting each through.

    `install()` puts the filter on uvicorn's logger, `uninstall()` takes it off; `flush()` is
    called on a timer by the server (`web/serving.py`).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.accept_failed = Tally(
            "could not accept a connection (out of file descriptors or memory); retrying",
            logging.ERROR,
            clock=clock,
        )
        self.timed_out = Tally(
            "requests not received within --request-timeout: answered 408 and closed",
            logging.INFO,
            clock=clock,
        )
        self.stalled = Tally(
            "connections closed: the client stopped reading the answer", logging.INFO, clock=clock
        )
        self.evicted = Tally(
            "--max-connections reached: idle keep-alive connections closed to make room",
            clock=clock,
        )
        self.waiting = Tally(
            "--max-connections reached, none idle: new connections wait in the listen queue",
            clock=clock,
        )
        self.refused = Tally(
            "malformed or upgrade requests refused (uvicorn's warning, counted)", clock=clock
        )
        self.tallies = (
            self.accept_failed,
            self.timed_out,
            self.stalled,
            self.evicted,
            self.waiting,
            self.refused,
        )
        self._uvicorn = logging.getLogger("uvicorn.error")

    def filter(self, record: logging.LogRecord) -> bool:
        if not isinstance(record.msg, str):
            return True
        if record.msg.startswith(UVICORN_COUNTED):
            self.refused.add()
            return False
        return not record.msg.startswith(UVICORN_DROPPED)

    def install(self) -> None:
        self._uvicorn.addFilter(self)

    def uninstall(self) -> None:
        self._uvicorn.removeFilter(self)

    def flush(self) -> None:
        for tally in self.tallies:
            tally.flush()
