"""Settings: one frozen object, built by the command line from flags and `KCO_SANDBOX_*` variables.

Nothing reads the environment at import time; tests build `Settings(...)` directly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from kco_sandbox.domain.delivery import (
    ATTEMPT_TIMEOUT,
    NOTIFICATION_SCHEDULE,
    PUSH_SCHEDULE,
    Delivery,
    Schedule,
)
from kco_sandbox.domain.merchant import Merchant

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

    @property
    def delivery(self) -> Delivery:
        return Delivery(
            push=Schedule(self.push_schedule, PUSH_SCHEDULE.window),
            notification=Schedule(self.notification_schedule, NOTIFICATION_SCHEDULE.window),
            timeout=self.callback_timeout,
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def parse_merchant(text: str) -> Merchant:
    """`USER:PASSWORD[:NAME]` → a merchant (the name defaults to the vendor's placeholder)."""
    user, sep, rest = text.partition(":")
    password, _, name = rest.partition(":")
    if not sep or not user or not password:
        raise ValueError(f"expected USER:PASSWORD[:NAME], got {text!r}")
    return Merchant(user, password, name or DEFAULT_MERCHANT_NAME)


def load_merchants_file(path: Path) -> list[Merchant]:
    """Merchants from a JSON file: `[{"username", "password", "name"?, "markets"?}, ...]`."""
    entries = json.loads(path.read_text())
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a JSON array of merchants")
    merchants = []
    for i, entry in enumerate(entries):
        try:
            markets = entry.get("markets")
            merchants.append(
                Merchant(
                    merchant_id=str(entry["username"]),
                    api_key=str(entry["password"]),
                    name=str(entry.get("name") or DEFAULT_MERCHANT_NAME),
                    markets=tuple(str(m).upper() for m in markets) if markets else None,
                )
            )
        except (KeyError, AttributeError, TypeError) as exc:
            raise ValueError(f"{path}: merchant #{i} needs a username and a password") from exc
    return merchants
