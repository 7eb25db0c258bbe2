"""Settings: one frozen object, built by the command line from flags and `KCO_SANDBOX_*` variables.

Nothing reads the environment at import time; tests build `Settings(...)` directly.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kco_sandbox.domain.delivery import (
    ATTEMPT_TIMEOUT,
    NOTIFICATION_SCHEDULE,
    PUSH_SCHEDULE,
    Delivery,
    Schedule,
)
from kco_sandbox.domain.market import VENDOR_MARKETS
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.domain.settlements.ledger import DEFAULT_FIXED_FEE, DEFAULT_PERCENT_BPS, FeeRate
from kco_sandbox.domain.settlements.schedule import DEFAULT_CUTOFF, DEFAULT_ZONE
from kco_sandbox.domain.settlements.schedule import Schedule as SettlementSchedule

DEFAULT_DATABASE_URL = "sqlite:///kco-sandbox.db"
DEFAULT_MERCHANT_NAME = "Your business name"  # what the vendor's playground calls a new store


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = DEFAULT_DATABASE_URL
    # Base of `Location` headers and snippet URLs; empty = the scheme and Host the client used.
    public_url: str = ""
    merchants: tuple[Merchant, ...] = field(default_factory=tuple)
    max_body_bytes: int = 1024 * 1024
    # The vendor requires https for the validation, address_update, shipping_option_update and
    # country_change URLs; a sandbox is mostly called from localhost, so http is allowed by default.
    allow_http_callbacks: bool = True
    # The `/_sandbox/` control API (complete a checkout without a browser, ...).
    sandbox_api: bool = True
    # Seconds to wait for the merchant's address/country/shipping callbacks, and for validation
    # (the vendor waits 3 s, or 10 s when `require_validate_callback_success` is set).
    shipping_callback_timeout: float = 10.0
    validation_timeout: float = 3.0
    validation_required_timeout: float = 10.0
    # Push and notification delivery: the schedules (seconds between attempts, the last one
    # repeating, within 48 hours), the time one attempt may take, and whether `serve` runs the
    # delivery worker itself (a deployment may run `kco-sandbox worker` processes instead).
    push_schedule: tuple[int, ...] = PUSH_SCHEDULE.gaps
    notification_schedule: tuple[int, ...] = NOTIFICATION_SCHEDULE.gaps
    callback_timeout: float = ATTEMPT_TIMEOUT
    worker: bool = True
    # Real time runs this many times faster on the platform clock (for demos).
    clock_scale: float = 1.0
    log_level: str = "info"
    # `text` for people, `json` (one object per line) for log collectors: docs/operations.md.
    log_format: str = "text"
    # `local` (one developer, everything on) or `shared` (one server for a team's CI: no demo
    # shop, `public_url` required, callbacks only to public hosts or `callback_hosts`).
    # `with_profile` applies it; docs/running-for-a-team.md says what each setting does.
    profile: str = "local"
    # Host names (with an optional port) a client may name in `Host` when `public_url` is empty,
    # besides the listen address, `localhost`, `127.0.0.1` and `[::1]`; any other Host is a 400.
    allowed_hosts: tuple[str, ...] = ()
    # The demo shop at /demo (None: on unless the profile is `shared` or the sandbox API is off).
    demo_shop: bool | None = None
    # Where callbacks may go: host patterns (`shop.example`, `*.example.com`, `host:port`); empty
    # allows any host. Loopback, private and link-local addresses are refused unless listed, when
    # `private_callbacks` is off (None: on in `local`, off in `shared`).
    callback_hosts: tuple[str, ...] = ()
    private_callbacks: bool | None = None
    # Connections: at most this many open at once, idle keep-alive connections closed after
    # `idle_timeout` seconds, a request's headers and body read within `request_timeout`.
    max_connections: int = 1000
    idle_timeout: float = 30.0
    request_timeout: float = 30.0
    # The HTTP/1.1 parser: "httptools" (C, the default) or "h11" (pure Python, the fallback);
    # both write header names as the app spells them (web/protocol.py).
    http: str = "httptools"
    # Synchronous merchant callbacks (validation, address, shipping, country) one merchant may
    # have in flight at once; more wait, so a slow shop cannot hold every worker thread.
    merchant_callback_slots: int = 8
    # Days after an order can no longer change (on its merchant's clock) until it, its events,
    # idempotency keys and delivered callbacks are deleted; 0 keeps everything.
    retention_days: float = 30.0
    # Server processes answering on the one listening socket (`serve --workers N`, at most
    # `MAX_WORKERS`); with more than one, a parent process supervises them and runs the delivery
    # worker (docs/operations.md, "Several server processes").
    workers: int = 1
    # Settlements (docs/settlements-api.md): the daily cut-off (a wall-clock time in an IANA time
    # zone, on each merchant's clock) and the default purchase fee (hundredths of a per cent of
    # each capture, plus a fixed amount in minor units), which a merchant may change through
    # `PUT /_sandbox/settlements/fees`.
    settlement_cutoff: str = DEFAULT_CUTOFF
    settlement_timezone: str = DEFAULT_ZONE
    settlement_fee_bps: int = DEFAULT_PERCENT_BPS
    settlement_fee_fixed: int = DEFAULT_FIXED_FEE
    # Hosted Payment Page: distributions one merchant may make in 24 hours, per method (the
    # vendor's playground allows 100 e-mails and, at Klarna, 20 text messages a day), and
    # whether the URL-encoded placeholders (`%7B%7Bsession_id%7D%7D`) are filled too.
    hpp_email_limit: int = 100
    hpp_sms_limit: int = 20
    hpp_encoded_placeholders: bool = False
    # Webhooks: destinations one merchant may have, and seconds a rotated-out signing secret
    # still signs beside the new one (on the merchant's clock): docs/webhooks.md.
    webhook_destinations: int = 20
    webhook_rotation_window: float = 600.0

    @property
    def demo_shop_on(self) -> bool:
        if self.demo_shop is not None:
            return self.demo_shop
        return self.profile != "shared" and self.sandbox_api

    @property
    def private_callbacks_on(self) -> bool:
        if self.private_callbacks is not None:
            return self.private_callbacks
        return self.profile != "shared"

    @property
    def delivery(self) -> Delivery:
        return Delivery(
            push=Schedule(self.push_schedule, PUSH_SCHEDULE.window),
            notification=Schedule(self.notification_schedule, NOTIFICATION_SCHEDULE.window),
            timeout=self.callback_timeout,
        )

    @property
    def settlement_schedule(self) -> SettlementSchedule:
        """The daily cut-off; `ValueError` if the time or the zone cannot be read."""
        return SettlementSchedule.parse(self.settlement_cutoff, self.settlement_timezone)

    @property
    def settlement_fee(self) -> FeeRate:
        return FeeRate(percent_bps=self.settlement_fee_bps, fixed=self.settlement_fee_fixed)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


PROFILES = ("local", "shared")
MAX_WORKERS = 64


def check_profile(settings: Settings) -> Settings:
    """`settings` if they make sense for their profile; `ValueError` saying what is missing."""
    if settings.profile not in PROFILES:
        raise ValueError(f"unknown profile {settings.profile!r}; the profiles are local, shared")
    if settings.profile == "shared" and not settings.public_url:
        raise ValueError(
            "the shared profile needs --public-url (the URL teams reach the server at), "
            "so that no client's Host header decides the URLs the platform hands out"
        )
    return settings


def parse_merchant(text: str) -> Merchant:
    """`USER:PASSWORD[:NAME]` → a merchant (the name defaults to the vendor's placeholder)."""
    user, sep, rest = text.partition(":")
    password, _, name = rest.partition(":")
    if not sep or not user or not password:
        raise ValueError(f"expected USER:PASSWORD[:NAME], got {text!r}")
    return Merchant(user, password, name or DEFAULT_MERCHANT_NAME)


def load_merchants_file(path: Path) -> list[Merchant]:
    """Merchants from a JSON file: `[{"username", "password", "name"?, "markets"?}, ...]`.

    A `ValueError` names the file and what is wrong: the line and column of broken JSON, or the
    entry (counted from 1) with its username.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot read it ({exc.strerror})") from exc
    try:
        entries = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a JSON array of merchants, got {_kind(entries)}")
    return [_merchant(entry, f"{path}: entry {n}") for n, entry in enumerate(entries, 1)]


def _merchant(entry: object, where: str) -> Merchant:
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: expected an object, got {_kind(entry)}")
    username = _text(entry, "username", where)
    where += f" ({json.dumps(username)})"
    password = _text(entry, "password", where)
    if ":" in username:  # HTTP Basic authentication splits user and password at the first colon
        raise ValueError(f'{where}: a "username" cannot contain ":"')
    name = entry.get("name")
    if name is not None and not isinstance(name, str):
        raise ValueError(f'{where}: "name" must be a string, got {_kind(name)}')
    markets = entry.get("markets")
    if markets is not None:
        if not isinstance(markets, list) or not all(isinstance(m, str) for m in markets):
            raise ValueError(f'{where}: "markets" must be an array of country codes like ["DE"]')
        for market in markets:
            if market.upper() not in VENDOR_MARKETS:
                raise ValueError(
                    f"{where}: unknown market {json.dumps(market)}; "
                    f"the markets are {', '.join(VENDOR_MARKETS)}"
                )
    return Merchant(
        merchant_id=username,
        api_key=password,
        name=name or DEFAULT_MERCHANT_NAME,
        markets=tuple(m.upper() for m in markets) if markets else None,
    )


def _text(entry: dict[str, object], key: str, where: str) -> str:
    if key not in entry:
        raise ValueError(f'{where}: "{key}" is missing')
    value = entry[key]
    if not isinstance(value, str) or not value:
        raise ValueError(f'{where}: "{key}" must be a non-empty string')
    return value


def unique_merchants(given: Sequence[tuple[str, Merchant]]) -> list[Merchant]:
    """The merchants, each with where it was given; `ValueError` if two share a username."""
    seen: dict[str, str] = {}
    for origin, merchant in given:
        first = seen.get(merchant.merchant_id)
        if first is not None:
            places = f"by {first}" if first == origin else f"by {first} and by {origin}"
            raise ValueError(
                f"merchant username {json.dumps(merchant.merchant_id)} is given twice {places}"
            )
        seen[merchant.merchant_id] = origin
    return [merchant for _, merchant in given]


def _kind(value: object) -> str:
    """What a JSON value is, in words."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    return "a number"
