"""The hosted checkout page in the iframe: which step a shopper sees, and rendering it.

`GET /kco/checkout/{order_id}` shows the first step the shopper has not done yet (or, with
`?step=`, an earlier one to change it); a completed order shows its confirmation, an aborted one
a closed notice. The form posts are handled in `posts`; every form carries the order's form
token (`tokens`). Every screen speaks the language of the order's `locale` (`i18n`).
"""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from kco_sandbox.domain.checkout.effective import effective_order
from kco_sandbox.domain.checkout.lifecycle import CheckoutStatus
from kco_sandbox.domain.checkout.record import CheckoutRecord
from kco_sandbox.services.purchase_terms import payment_methods_for
from kco_sandbox.web.checkout_page.address import address_step
from kco_sandbox.web.checkout_page.forms import Form
from kco_sandbox.web.checkout_page.html import content_security_policy, document, esc, tag
from kco_sandbox.web.checkout_page.i18n import Text, text_for
from kco_sandbox.web.checkout_page.state import Screen, page_state
from kco_sandbox.web.checkout_page.steps import (
    closed,
    identify_step,
    payment_step,
    shipping_step,
)
from kco_sandbox.web.checkout_page.summary import confirmation, summary_step
from kco_sandbox.web.checkout_page.tokens import fill, token_for
from kco_sandbox.web.context import AppContext

STEPS: Final = ("identify", "address", "shipping", "payment", "summary")


def next_step(record: CheckoutRecord) -> str:
    """The first step the shopper has not done yet."""
    session = record.session
    if not session.email:
        return "identify"
    if session.billing_address is None:
        return "address"
    if record.order.shipping_options and session.selected_shipping_option is None:
        return "shipping"
    return "payment"


def allowed_step(record: CheckoutRecord, requested: str | None, method: str | None) -> str:
    """`requested` if the shopper may see it now (a done step, or the next one), else the next."""
    due = next_step(record)
    if requested == "summary":
        offered = payment_methods_for(record.order.recurring)
        return "summary" if due == "payment" and method in offered else due
    if requested not in STEPS or STEPS.index(requested) > STEPS.index(due):
        return due
    if requested == "shipping" and not record.order.shipping_options:
        return due
    return requested


def customer_type(record: CheckoutRecord, wanted: str | None) -> str:
    options = record.order.options
    types = (options.allowed_customer_types if options else None) or ["person"]
    if wanted is not None and wanted in types:
        return wanted
    stored = record.session.customer.type if record.session.customer else None
    return stored if stored in types else types[0]


def _cart(t: Text, record: CheckoutRecord) -> str:
    order = effective_order(record.order, record.session)
    currency = order.purchase_currency
    lines = "".join(
        f"<tr><td>{line.quantity} &times; {esc(line.name)}</td>"
        f'<td class="amount">{esc(t.money(line.total_amount, currency))}</td></tr>'
        for line in order.order_lines
    )
    total = esc(t.money(order.order_amount, currency))
    return (
        '<section id="cart" aria-labelledby="cart-heading">'
        + tag("h2", t("Your order"), ' id="cart-heading"')
        + f"<table>{lines}"
        + '<tr class="total">'
        + tag("th", t("Total"), ' scope="row"')
        + f'<td class="amount" id="cart-total">{total}</td></tr></table></section>'
    )


def step_screen(
    record: CheckoutRecord,
    step: str,
    *,
    error: str | None = None,
    posted: Form | None = None,
    method: str | None = None,
    wanted_type: str | None = None,
    checked: dict[str, bool] | None = None,
    denied: bool = False,
) -> Screen:
    """The screen of an incomplete order's `step` (`allowed_step` decided it may be shown)."""
    session = record.session
    t = text_for(record.order.locale)
    events: list[tuple[str, dict[str, Any]]] = []
    shown_type = None
    if step == "identify":
        email = posted.get("email") if posted else (session.email or "")
        postal = posted.get("postal_code") if posted else (session.postal_code or "")
        body = identify_step(t, record, error, email, postal) + _cart(t, record)
    elif step == "address":
        # The type chosen on the first step shows from here on (the `customer` event).
        shown_type = customer_type(record, wanted_type)
        body = address_step(t, record, shown_type, error, posted) + _cart(t, record)
    elif step == "shipping":
        body = shipping_step(t, record, error) + _cart(t, record)
    elif step == "summary":
        order = effective_order(record.order, session)
        body = summary_step(t, record, order, method or "invoice", error, checked or {})
    else:
        step = "payment"
        body = payment_step(t, record, error, method, denied) + _cart(t, record)
        if denied:
            events.append(("can_not_complete_order", {"reason": "denied"}))
    return Screen(step, body, events, customer_type=shown_type)


def completed_screen(record: CheckoutRecord) -> Screen:
    gui = record.order.gui
    minimal = bool(gui and gui.options and "minimal_confirmation" in gui.options)
    body = confirmation(text_for(record.order.locale), record, minimal)
    return Screen("confirmation", body, [("load_confirmation", {})])


def render(ctx: AppContext, record: CheckoutRecord, screen: Screen) -> Response:
    """The screen as a page, each of its forms carrying the order's form token."""
    canonical = f"/kco/checkout/{record.order_id}"
    if screen.step in ("address", "shipping", "payment", "identify"):
        canonical += f"?step={screen.step}"
    t = text_for(record.order.locale)
    state = page_state(record, screen, canonical, t)
    body = fill(screen.body, token_for(ctx.form_key, record.order_id))
    page = document(record.order, screen.step, body, state, t)
    headers = {
        "Cache-Control": "no-store",
        "Content-Security-Policy": content_security_policy(record.order),
    }
    return HTMLResponse(page, status_code=screen.status_code, headers=headers)


def not_found(order_id: str) -> Response:
    page = (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Checkout</title></head>"
        '<body><p id="testdrive-marker">TEST DRIVE</p>'
        f'<h1 id="checkout-not-found">No checkout {esc(order_id)}</h1></body></html>'
    )
    headers = {
        "Cache-Control": "no-store",
        "Content-Security-Policy": content_security_policy(None),
    }
    return HTMLResponse(page, status_code=404, headers=headers)


def screen_for(record: CheckoutRecord, query: dict[str, str]) -> Screen:
    if record.status is CheckoutStatus.CHECKOUT_COMPLETE:
        return completed_screen(record)
    if record.status is not CheckoutStatus.CHECKOUT_INCOMPLETE:
        return Screen("closed", closed(text_for(record.order.locale)))
    method = query.get("payment_method")
    step = allowed_step(record, query.get("step"), method)
    return step_screen(record, step, method=method, wanted_type=query.get("customer_type"))


async def load_record(ctx: AppContext, order_id: str) -> CheckoutRecord | None:
    return await ctx.read(lambda: ctx.purchase.shopper_view(order_id))


async def checkout_page(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    order_id = request.path_params["order_id"]
    record = await load_record(ctx, order_id)
    if record is None:
        return not_found(order_id)
    return render(ctx, record, screen_for(record, dict(request.query_params)))
