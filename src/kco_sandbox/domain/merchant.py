"""A merchant: the credentials it signs in with, the store name on its orders, its markets."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Merchant:
    merchant_id: str  # the Basic-auth user name
    api_key: str  # the Basic-auth password, or the whole credential in the `Basic <key>` form
    name: str
    markets: tuple[str, ...] | None = None  # purchase countries allowed; None = every market
