"""Log configuration for the commands, and the access log's one line per request.

`configure(level, format)` sends every logger (the platform's and uvicorn's) to one handler on
standard error, as text for people or as one JSON object per line for log collectors
(`--log-format`). `access(...)` writes the access line; `web/api/operations.py` calls it once per
request after the answer is sent. What a line holds and never holds is in docs/operations.md.
"""

from __future__ import annotations

import json
import logging
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
