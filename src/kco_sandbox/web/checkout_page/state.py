"""What a checkout screen tells the merchant page: the shopper's data as the JS API exposes it.

Each screen embeds a state object (see `page_html.document`). The page script hands it to the
bootstrap in the merchant page, which compares it with the previous screen's to fire `change`,
`billing_address_change`, `order_total_change` and the other events, so the events follow from
what the server stored, not from what the shopper typed but never submitted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from kco_sandbox.domain.checkout.effective import effective_order
from kco_sandbox.domain.checkout.order import Address
from kco_sandbox.domain.checkout.record import CheckoutRecord
from kco_sandbox.domain.market import VENDOR_MARKETS
from kco_sandbox.web.checkout_page.i18n import Text


@dataclass(frozen=True, slots=True)
class Screen:
    """One rendered step: its name, markup, the events it fires and where the top window goes."""

    step: str
    body: str
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    navigate: dict[str, str] | None = None
    status_code: int = 200
    # The customer type the screen shows when the shopper has not stored one yet.
    customer_type: str | None = None


def alpha3(country: str | None) -> str | None:
    """The checkout's own spelling of a country in events: ISO alpha-3, lower case."""
    if not country:
        return None
    market = VENDOR_MARKETS.get(country.upper())
    return market.alpha3 if market else country.lower()


def _address(address: Address | None) -> dict[str, Any] | None:
    # Like the vendor, events carry only the part of an address a shop needs to price shipping.
    if address is None:
        return None
    return {"postal_code": address.postal_code, "country": alpha3(address.country)}


def snapshot(record: CheckoutRecord, shown_type: str | None = None) -> dict[str, Any]:
    """The shopper-side data the merchant page may see, as of `record` (`shown_type`: the
    customer type the screen shows)."""
    session = record.session
    order = effective_order(record.order, session)
    billing = session.billing_address
    shipping = session.shipping_address
    option = session.selected_shipping_option
    country = (billing.country if billing else None) or order.purchase_country
    stored_type = session.customer.type if session.customer else None
    return {
        "customer": {"type": shown_type or stored_type or "person"},
        "email": session.email,
        "postal_code": (billing.postal_code if billing else None) or session.postal_code,
        "country": alpha3(country),
        "billing_address": _address(billing),
        "shipping_address": _address(shipping)
        or {"postal_code": session.postal_code, "country": alpha3(order.purchase_country)},
        "shipping_option": msgspec.to_builtins(option) if option is not None else None,
        "order_total": order.order_amount,
    }


def page_state(record: CheckoutRecord, screen: Screen, canonical: str, t: Text) -> dict[str, Any]:
    options = record.order.options
    return {
        "order_id": record.order_id,
        "step": screen.step,
        "client_validation": bool(options and options.require_client_validation),
        "snapshot": snapshot(record, screen.customer_type),
        "events": [[name, data] for name, data in screen.events],
        "navigate": screen.navigate,
        # Where `api.resume()` reloads the frame: the step as a GET, never a form post.
        "canonical": canonical,
        # What the page script may have to write, in the page's language.
        "texts": {
            "updating": t("Updating…"),
            "not_accepted": t("The store could not accept the order right now."),
        },
    }
