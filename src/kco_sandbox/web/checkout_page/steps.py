"""The markup of each checkout screen but the address one (see `page_address`).

Every step is one `<form method=post>` whose primary action is its `button[type=submit]`; the
form posts to `/kco/checkout/{order_id}/{step}`, with the form token (`tokens.SLOT`, filled in
when the screen is rendered). Element ids are a public contract listed in
docs/checkout-page.md.
"""

from __future__ import annotations

from kco_sandbox.domain.checkout.effective import SHIPPING_FEE
from kco_sandbox.domain.checkout.order import CheckoutOrder, PaymentProvider
from kco_sandbox.domain.checkout.record import CheckoutRecord
from kco_sandbox.domain.purchase.cart import checkbox_states
from kco_sandbox.services.purchase import PAYMENT_METHODS
from kco_sandbox.web.checkout_page.html import (
    error_box,
    esc,
    field,
    money,
    notice_box,
    safe_url,
    submit,
)
from kco_sandbox.web.checkout_page.tokens import SLOT

METHOD_LABELS = {
    "invoice": "Pay later (invoice)",
    "card": "Card",
    "part_payment": "Part payment",
    "direct_debit": "Direct debit",
}
_TYPE_LABELS = {"person": "Private person", "organization": "Organization"}


def _form(step: str, order_id: str, inner: str, *, client_validation: bool = False) -> str:
    marker = ' data-client-validation="true"' if client_validation else ""
    return (
        f'<form method="post" action="/kco/checkout/{esc(order_id)}/{step}" id="{step}-form"'
        f"{marker}>{SLOT}{inner}</form>"
    )


def _back(order_id: str, step: str, label: str) -> str:
    return (
        f'<nav class="back"><a id="back-to-{step}" href="/kco/checkout/{esc(order_id)}'
        f'?step={step}">{esc(label)}</a></nav>'
    )


def identify_step(record: CheckoutRecord, error: str | None, email: str, postal: str) -> str:
    order = record.order
    options = order.options
    types = (options.allowed_customer_types if options else None) or ["person"]
    customer_type = (record.session.customer.type if record.session.customer else None) or types[0]
    toggle = ""
    if "organization" in types:
        radios = "".join(
            f'<p class="choice"><input type="radio" name="customer_type" id="customer_type__{t}" '
            f'value="{t}"{" checked" if t == customer_type else ""}>'
            f'<label for="customer_type__{t}">{_TYPE_LABELS[t]}</label></p>'
            for t in types
        )
        toggle = f'<fieldset id="customer-type"><legend>I am buying as</legend>{radios}</fieldset>'
    else:
        toggle = f'<input type="hidden" name="customer_type" value="{esc(types[0])}">'
    inner = (
        '<div id="klarna-checkout-customer-details">'
        + toggle
        + field("email", "E-mail address", email, required=True, kind="email", autocomplete="email")
        + field("postal_code", "Postal code", postal, required=True, autocomplete="postal-code")
        + "</div>"
        + submit("identify-button", "Continue")
    )
    return "<h1>Your details</h1>" + error_box(error) + _form("identify", record.order_id, inner)


def shipping_step(record: CheckoutRecord, error: str | None) -> str:
    order = record.order
    chosen = record.session.selected_shipping_option
    shipping = order.shipping_options or []
    selected = (
        chosen.id
        if chosen
        else next((o.id for o in shipping if o.preselected), shipping[0].id if shipping else None)
    )
    rows = []
    for index, option in enumerate(shipping):
        ident = f"shipping-option-{index}"
        description = (
            f'<br><span class="muted">{esc(option.description)}</span>'
            if option.description
            else ""
        )
        rows.append(
            f'<p class="choice"><input type="radio" name="shipping_option" id="{ident}" '
            f'value="{esc(option.id)}"{" checked" if option.id == selected else ""} required>'
            f'<label for="{ident}">{esc(option.name)} &ndash; '
            f"{money(option.price, order.purchase_currency)}{description}</label></p>"
        )
    inner = (
        f'<fieldset id="shipping-options"><legend>Delivery</legend>{"".join(rows)}</fieldset>'
        + submit("shipping-button", "Continue")
    )
    return (
        "<h1>Delivery</h1>"
        + _back(record.order_id, "address", "Change address")
        + error_box(error)
        + _form("shipping", record.order_id, inner)
    )


def external_methods(order: CheckoutOrder) -> list[tuple[str, PaymentProvider]]:
    """The merchant's external methods and checkouts, keyed as the payment form posts them."""
    country = order.purchase_country.lower()
    found: list[tuple[str, PaymentProvider]] = []
    for kind, providers in (
        ("external", order.external_payment_methods),
        ("checkout", order.external_checkouts),
    ):
        for index, provider in enumerate(providers or []):
            if provider.countries and country not in {c.lower() for c in provider.countries}:
                continue
            found.append((f"{kind}:{index}", provider))
    return found


def payment_step(
    record: CheckoutRecord, error: str | None, chosen: str | None, denied: bool
) -> str:
    order = record.order
    chosen = chosen or record.session.payment_method or "invoice"
    rows = []
    for method in PAYMENT_METHODS:
        rows.append(
            f'<p class="choice"><input type="radio" name="payment_method" '
            f'id="payment-method-{method}" value="{method}"'
            f"{' checked' if method == chosen else ''} required>"
            f'<label for="payment-method-{method}">{METHOD_LABELS[method]}</label></p>'
        )
    for key, provider in external_methods(order):
        ident = "payment-method-" + key.replace(":", "-")
        fee = f" (+{money(provider.fee, order.purchase_currency)})" if provider.fee else ""
        rows.append(
            f'<p class="choice"><input type="radio" name="payment_method" id="{ident}" '
            f'value="{esc(key)}" required>'
            f'<label for="{ident}">{esc(provider.name)}{fee}</label></p>'
        )
    denial = ""
    if denied:
        denial = (
            '<p class="error" id="purchase-denied" role="alert">We could not approve this '
            "purchase. Choose another payment method, or "
            f'<a href="/kco/checkout/{esc(record.order_id)}?step=identify" id="use-another-email">'
            "use another e-mail address</a>.</p>"
        )
    inner = (
        f'<fieldset id="payment-methods"><legend>Payment method</legend>{"".join(rows)}'
        "</fieldset>" + submit("payment-button", "Continue")
    )
    back_step = "shipping" if order.shipping_options else "address"
    return (
        "<h1>Payment</h1>"
        + _back(record.order_id, back_step, "Back")
        + denial
        + error_box(error)
        + _form("payment", record.order_id, inner)
    )


def _lines(order: CheckoutOrder, show_subtotal: bool) -> str:
    currency = order.purchase_currency
    rows = [
        f'<tr class="summary-line"><td>{line.quantity} &times; {esc(line.name)}</td>'
        f'<td class="amount">{money(line.total_amount, currency)}</td></tr>'
        for line in order.order_lines
    ]
    if show_subtotal:
        goods = sum(line.total_amount for line in order.order_lines if line.type != SHIPPING_FEE)
        shipping = order.order_amount - goods
        rows.append(
            f'<tr id="subtotal"><th scope="row">Subtotal</th>'
            f'<td class="amount">{money(goods, currency)}</td></tr>'
            f'<tr id="shipping-total"><th scope="row">Shipping</th>'
            f'<td class="amount">{money(shipping, currency)}</td></tr>'
            f'<tr id="tax-total"><th scope="row">of which tax</th>'
            f'<td class="amount">{money(order.order_tax_amount, currency)}</td></tr>'
        )
    rows.append(
        f'<tr class="total"><th scope="row">Total</th>'
        f'<td class="amount" id="order-total">{money(order.order_amount, currency)}</td></tr>'
    )
    return f'<table id="order-lines">{"".join(rows)}</table>'


def _checkboxes(order: CheckoutOrder, checked: dict[str, bool]) -> str:
    options = order.options
    if options is None:
        return ""
    boxes: list[tuple[str, str, bool]] = []
    if options.additional_checkbox is not None:
        box = options.additional_checkbox
        boxes.append(("additional_checkbox", box.text, box.required))
    boxes += [(b.id, b.text, b.required) for b in options.additional_checkboxes or []]
    states = checkbox_states(order, checked)
    rows = "".join(
        f'<p class="choice"><input type="checkbox" name="checkbox" id="{esc(key)}" '
        f'value="{esc(key)}" data-checkbox-key="{esc(key)}"'
        f"{' checked' if states.get(key) else ''}{' required' if required else ''}>"
        f'<label for="{esc(key)}">{esc(text)}</label></p>'
        for key, text, required in boxes
    )
    return '<input type="hidden" name="checkboxes_shown" value="1">' + rows


def summary_step(
    record: CheckoutRecord,
    order: CheckoutOrder,
    method: str,
    error: str | None,
    checked: dict[str, bool],
) -> str:
    options = order.options
    show_subtotal = bool(options and options.show_subtotal_detail)
    terms_url = esc(safe_url(order.merchant_urls.terms))
    terms = (
        f'<p class="muted">By buying you accept the <a id="terms-link" target="_blank" '
        f'rel="noopener" href="{terms_url}">terms of the store</a>.</p>'
    )
    inner = (
        f'<input type="hidden" name="payment_method" value="{esc(method)}">'
        + _checkboxes(order, checked)
        + terms
        + submit("buy-button", "Buy")
    )
    require_client = bool(options and options.require_client_validation)
    label = METHOD_LABELS.get(method, method)
    return (
        "<h1>Summary</h1>"
        + _back(record.order_id, "payment", "Change payment method")
        + _lines(order, show_subtotal)
        + f'<p class="muted" id="chosen-method">Paying with {esc(label)}</p>'
        + error_box(error)
        + _form("buy", record.order_id, inner, client_validation=require_client)
    )


def signup_step(
    record: CheckoutRecord, method: str, checked: dict[str, bool], error: str | None
) -> str:
    keep = "".join(
        f'<input type="hidden" name="checkbox" value="{esc(key)}">'
        for key, on in checked.items()
        if on
    )
    require_client = bool(record.order.options and record.order.options.require_client_validation)
    inner = (
        f'<input type="hidden" name="payment_method" value="{esc(method)}">'
        '<input type="hidden" name="checkboxes_shown" value="1">'
        + keep
        + field("otp", "One-time code (6 digits)", "", required=True, autocomplete="one-time-code")
        + submit("signup-button", "Confirm and buy")
    )
    return (
        "<h1>Sign up</h1>"
        + notice_box("We sent a one-time code to your phone. Enter it to finish signing up.")
        + error_box(error)
        + _form("signup", record.order_id, inner, client_validation=require_client)
    )


def redirecting(url: str, reason: str) -> str:
    """The screen shown while the top window goes to `url` (confirmation, or the merchant)."""
    heading = "Thank you!" if reason == "confirmation" else "One moment"
    return (
        f'<h1 class="done">{heading}</h1>'
        f'<p id="redirecting">Taking you on to <a id="redirect-link" target="_top" '
        f'href="{esc(safe_url(url))}">the store</a>&hellip;</p>'
    )


def confirmation(record: CheckoutRecord, minimal: bool) -> str:
    order = record.order
    if minimal:
        return '<h1 class="done" id="confirmation-heading">Thank you for your order</h1>'
    billing = record.session.billing_address or order.billing_address
    name = f"{billing.given_name or ''} {billing.family_name or ''}".strip() if billing else ""
    email = record.session.email or ""
    pending = record.session.fraud_status == "PENDING"
    note = (
        '<p id="pending-note">Your purchase is being reviewed; you will hear from us soon.</p>'
        if pending
        else ""
    )
    details = order.options.shipping_details if order.options else None
    delivery = f'<h2>Delivery</h2><p id="shipping-details">{esc(details)}</p>' if details else ""
    return (
        f'<h1 class="done" id="confirmation-heading">Thank you{", " + esc(name) if name else ""}!'
        "</h1>"
        f'<p>A confirmation is on its way to <strong id="confirmation-email">{esc(email)}'
        "</strong>.</p>"
        + note
        + _lines(order, bool(order.options and order.options.show_subtotal_detail))
        + delivery
    )


def closed() -> str:
    return '<h1>This checkout is closed</h1><p id="checkout-closed">Start again from the store.</p>'
