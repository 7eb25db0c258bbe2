"""The markup of the identify, shipping, payment and sign-up screens, and of the short ones
(redirecting, closed); the address screen is `address`, review and confirmation `summary`.

Every step is one `<form method=post>` whose primary action is its `button[type=submit]`; the
form posts to `/kco/checkout/{order_id}/{step}`, with the form token (`tokens.SLOT`, filled in
when the screen is rendered). Element ids are a public contract listed in
docs/checkout-page.md. Choices (customer type, shipping options, payment methods) are radio
buttons inside labelled cards: plain HTML that works without JavaScript.
"""

from __future__ import annotations

from typing import Final

from kco_sandbox.domain.checkout.order import CheckoutOrder, PaymentProvider
from kco_sandbox.domain.checkout.record import CheckoutRecord
from kco_sandbox.services.purchase_terms import payment_methods_for
from kco_sandbox.web.checkout_page.html import (
    error_box,
    esc,
    field,
    notice_box,
    safe_url,
    submit,
    tag,
)
from kco_sandbox.web.checkout_page.i18n import N_, Text
from kco_sandbox.web.checkout_page.testdrive import EXAMPLE_CODE, REFUSED_CODE
from kco_sandbox.web.checkout_page.tokens import SLOT

# Each method's name and the line under it.
METHODS: Final = {
    "invoice": (N_("Pay later"), N_("Pay within 30 days, by invoice")),
    "card": (N_("Card"), N_("Visa, Mastercard, American Express")),
    "part_payment": (N_("Part payment"), N_("Spread the cost over monthly payments")),
    "direct_debit": (N_("Direct debit"), N_("Paid from your bank account")),
}
CUSTOMER_TYPES: Final = {
    "person": (N_("Private person"), N_("Buying for yourself")),
    "organization": (N_("Organization"), N_("Buying for a company or an organization")),
}


def form(step: str, order_id: str, inner: str, *, client_validation: bool = False) -> str:
    marker = ' data-client-validation="true"' if client_validation else ""
    return (
        f'<form method="post" action="/kco/checkout/{esc(order_id)}/{step}" id="{step}-form"'
        f"{marker}>{SLOT}{inner}</form>"
    )


def step_link(order_id: str, step: str) -> str:
    return f"/kco/checkout/{esc(order_id)}?step={step}"


def back(order_id: str, step: str, label: str) -> str:
    return (
        f'<nav class="back"><a id="back-to-{step}" href="{step_link(order_id, step)}">'
        f"&larr; {esc(label)}</a></nav>"
    )


def option_card(
    name: str,
    ident: str,
    value: str,
    title: str,
    *,
    checked: bool,
    note: str = "",
    aside: str = "",
) -> str:
    """A radio button in a card: its title (and a note under it), an amount at the side."""
    under = f'<span class="option-note">{esc(note)}</span>' if note else ""
    side = f'<span class="option-aside">{esc(aside)}</span>' if aside else ""
    return (
        f'<label class="option" for="{esc(ident)}"><input type="radio" name="{name}" '
        f'id="{esc(ident)}" value="{esc(value)}"{" checked" if checked else ""} required>'
        f'<span class="option-body"><span class="option-title">{esc(title)}</span>{under}</span>'
        f"{side}</label>"
    )


def identify_step(
    t: Text, record: CheckoutRecord, error: str | None, email: str, postal: str
) -> str:
    order = record.order
    options = order.options
    types = (options.allowed_customer_types if options else None) or ["person"]
    customer_type = (record.session.customer.type if record.session.customer else None) or types[0]
    if "organization" in types:
        cards = "".join(
            option_card(
                "customer_type",
                f"customer_type__{kind}",
                kind,
                t(CUSTOMER_TYPES[kind][0]),
                note=t(CUSTOMER_TYPES[kind][1]),
                checked=kind == customer_type,
            )
            for kind in types
        )
        toggle = (
            '<fieldset id="customer-type">'
            + tag("legend", t("I am buying as"))
            + f'<div class="options options-row">{cards}</div></fieldset>'
        )
    else:
        toggle = f'<input type="hidden" name="customer_type" value="{esc(types[0])}">'
    inner = (
        '<div id="klarna-checkout-customer-details">'
        + toggle
        + field(
            "email",
            t("E-mail address"),
            email,
            required=True,
            kind="email",
            autocomplete="email",
            hint=t("We send the order confirmation here."),
        )
        + field(
            "postal_code",
            t("Postal code"),
            postal,
            required=True,
            autocomplete="postal-code",
        )
        + "</div>"
        + submit("identify-button", t("Continue"))
    )
    return (
        tag("h1", t("Your details"))
        + tag("p", t("Enter your e-mail address and postal code to continue."), ' class="lead"')
        + error_box(error)
        + form("identify", record.order_id, inner)
    )


def shipping_step(t: Text, record: CheckoutRecord, error: str | None) -> str:
    order = record.order
    chosen = record.session.selected_shipping_option
    shipping = order.shipping_options or []
    selected = (
        chosen.id
        if chosen
        else next((o.id for o in shipping if o.preselected), shipping[0].id if shipping else None)
    )
    cards = "".join(
        option_card(
            "shipping_option",
            f"shipping-option-{index}",
            option.id,
            option.name,
            note=option.description or "",
            aside=t.money(option.price, order.purchase_currency) if option.price else t("Free"),
            checked=option.id == selected,
        )
        for index, option in enumerate(shipping)
    )
    inner = (
        '<fieldset id="shipping-options">'
        + tag("legend", t("Choose a delivery option"), ' class="visually-hidden"')
        + f'<div class="options">{cards}</div></fieldset>'
        + submit("shipping-button", t("Continue"))
    )
    return (
        back(record.order_id, "address", t("Change address"))
        + tag("h1", t("Delivery"))
        + error_box(error)
        + form("shipping", record.order_id, inner)
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


def method_name(t: Text, method: str) -> str:
    """A payment method's name in the page's language (an unknown key as it is)."""
    names = METHODS.get(method)
    return t(names[0]) if names else method


def _denial(t: Text, record: CheckoutRecord) -> str:
    href = step_link(record.order_id, "identify")
    link = tag("a", t("Use another e-mail address"), f' href="{href}" id="use-another-email"')
    why = t("The decision follows the e-mail address, so another payment method is declined too.")
    return (
        '<div class="error" id="purchase-denied" role="alert"><p>'
        + tag("strong", t("We could not approve this purchase."))
        + "</p>"
        + tag("p", why)
        + f"<p>{link}</p></div>"
    )


def payment_step(
    t: Text, record: CheckoutRecord, error: str | None, chosen: str | None, denied: bool
) -> str:
    order = record.order
    currency = order.purchase_currency
    chosen = chosen or record.session.payment_method or "invoice"
    cards = [
        option_card(
            "payment_method",
            f"payment-method-{method}",
            method,
            t(METHODS[method][0]),
            note=t(METHODS[method][1]),
            checked=method == chosen,
        )
        for method in payment_methods_for(order.recurring)
    ]
    for key, provider in external_methods(order):
        fee = t("Fee %(amount)s", amount=t.money(provider.fee, currency)) if provider.fee else ""
        cards.append(
            option_card(
                "payment_method",
                "payment-method-" + key.replace(":", "-"),
                key,
                provider.name,
                note=provider.description or "",
                aside=fee,
                checked=key == chosen,
            )
        )
    inner = (
        '<fieldset id="payment-methods">'
        + tag("legend", t("Choose a payment method"), ' class="visually-hidden"')
        + f'<div class="options">{"".join(cards)}</div></fieldset>'
        + submit("payment-button", t("Continue"))
    )
    back_step = "shipping" if order.shipping_options else "address"
    return (
        back(record.order_id, back_step, t("Back"))
        + tag("h1", t("Payment"))
        + (_denial(t, record) if denied else "")
        + error_box(error)
        + form("payment", record.order_id, inner)
    )


def signup_step(
    t: Text, record: CheckoutRecord, method: str, checked: dict[str, bool], error: str | None
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
        + field(
            "otp",
            t("One-time code (6 digits)"),
            "",
            required=True,
            autocomplete="one-time-code",
            hint=t(
                "TEST DRIVE: no code is sent. Any 6 digits but %(refused)s pass, "
                "for example %(example)s.",
                refused=REFUSED_CODE,
                example=EXAMPLE_CODE,
            ),
        )
        + submit("signup-button", t("Confirm and buy"))
    )
    email = record.session.email or ""
    return (
        tag("h1", t("Sign up"))
        + notice_box(
            t(
                "You are new here: confirm %(email)s with a one-time code to finish signing up.",
                email=email,
            )
        )
        + error_box(error)
        + form("signup", record.order_id, inner, client_validation=require_client)
    )


def redirecting(t: Text, url: str, reason: str) -> str:
    """The screen shown while the top window goes to `url` (confirmation, or the merchant)."""
    heading = t("Thank you!") if reason == "confirmation" else t("One moment")
    href = esc(safe_url(url))
    link = tag("a", t("the store"), f' id="redirect-link" target="_top" href="{href}"')
    going = t.markup("Taking you on to %(store)s…", store=link)
    return tag("h1", heading, ' class="done"') + f'<p id="redirecting">{going}</p>'


def closed(t: Text) -> str:
    return tag("h1", t("This checkout is closed")) + tag(
        "p", t("Start again from the store."), ' id="checkout-closed"'
    )
