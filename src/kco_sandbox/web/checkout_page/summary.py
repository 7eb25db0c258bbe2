"""The last screens of a purchase: the review before Buy, and the confirmation view.

The review shows everything the shopper gave, each with a "Change" link back to its step
(e-mail, addresses, delivery, payment method), then the order lines, the merchant's checkboxes,
the terms and Buy. The confirmation view thanks the shopper and repeats the order reference,
the delivery address, the shipping option and the payment method.
"""

from __future__ import annotations

from kco_sandbox.domain.checkout.effective import SHIPPING_FEE
from kco_sandbox.domain.checkout.order import Address, CheckoutOrder
from kco_sandbox.domain.checkout.record import CheckoutRecord
from kco_sandbox.domain.purchase.cart import checkbox_states
from kco_sandbox.web.checkout_page.html import error_box, esc, safe_url, submit, tag
from kco_sandbox.web.checkout_page.i18n import Text
from kco_sandbox.web.checkout_page.steps import back, form, method_name, step_link

# Countries that write the town before the postal code, and those that add the region to it.
_TOWN_FIRST = frozenset({"GB", "IE", "NZ"})
_TOWN_REGION_POSTAL = frozenset({"US", "CA", "AU"})


def _town(address: Address) -> list[str | None]:
    """The town lines, as the country writes them (`12345 Ankeborg`, `London` + `SW1A 2AA`,
    `New York, NY 10024`)."""
    country = (address.country or "").upper()
    if country in _TOWN_FIRST:
        return [address.city, address.postal_code]
    if country in _TOWN_REGION_POSTAL:
        place = ", ".join(p for p in (address.city, address.region) if p)
        return [" ".join(p for p in (place, address.postal_code) if p)]
    return [" ".join(p for p in (address.postal_code, address.city) if p), address.region]


def address_lines(t: Text, address: Address) -> list[str]:
    """An address as it is written on an envelope, a line each (plain text)."""
    name = " ".join(p for p in (address.title, address.given_name, address.family_name) if p)
    street = address.street_address or " ".join(
        p for p in (address.street_name, address.street_number, address.house_extension) if p
    )
    lines = [
        address.organization_name,
        name,
        t("c/o %(name)s", name=address.care_of) if address.care_of else None,
        street,
        address.street_address2,
        *_town(address),
        t.country(address.country) if address.country else None,
        address.phone,
    ]
    return [line for line in lines if line]


def _address(t: Text, address: Address, ident: str) -> str:
    lines = "<br>".join(esc(line) for line in address_lines(t, address))
    return f'<address id="{ident}">{lines}</address>'


def _row(t: Text, label: str, value: str, change: str | None, ident: str) -> str:
    """A row of the review: what, the value (markup), and a link back to change it."""
    link = (
        '<dd class="change">'
        + tag("a", t("Change"), f' id="change-{ident}" href="{change}"')
        + "</dd>"
        if change
        else ""
    )
    return (
        f'<div class="review-row" id="review-{ident}"><dt>{esc(label)}</dt>'
        f'<dd class="value">{value}</dd>{link}</div>'
    )


def review(t: Text, record: CheckoutRecord, order: CheckoutOrder, method: str) -> str:
    """What the shopper gave, each with a way back to change it."""
    session = record.session
    order_id = record.order_id
    rows = [
        _row(t, t("E-mail"), esc(session.email or ""), step_link(order_id, "identify"), "email")
    ]
    customer = session.customer
    if customer is not None and customer.type == "organization":
        number = customer.organization_registration_id or "–"  # noqa: RUF001 - a dash
        rows.append(_row(t, t("Organization number"), esc(number), None, "organization"))
    billing = session.billing_address
    if billing is not None:
        label = t("Billing and delivery address")
        shipping = session.shipping_address
        separate = shipping is not None and shipping != billing
        if separate:
            label = t("Billing address")
        change = step_link(order_id, "address")
        rows.append(_row(t, label, _address(t, billing, "review-billing"), change, "address"))
        if separate and shipping is not None:
            value = _address(t, shipping, "review-delivery")
            rows.append(_row(t, t("Delivery address"), value, change, "shipping-address"))
    option = session.selected_shipping_option
    if option is not None and order.shipping_options:
        price = t.money(option.price, order.purchase_currency) if option.price else t("Free")
        value = f"{esc(option.name)} <span class=muted>({esc(price)})</span>"
        rows.append(_row(t, t("Delivery"), value, step_link(order_id, "shipping"), "shipping"))
    value = f'<span id="chosen-method">{esc(method_name(t, method))}</span>'
    rows.append(_row(t, t("Payment method"), value, step_link(order_id, "payment"), "payment"))
    return f'<dl class="review" id="review">{"".join(rows)}</dl>'


def order_lines(t: Text, order: CheckoutOrder, show_subtotal: bool) -> str:
    currency = order.purchase_currency
    rows = [
        f'<tr class="summary-line"><td>{line.quantity} &times; {esc(line.name)}</td>'
        f'<td class="amount">{esc(t.money(line.total_amount, currency))}</td></tr>'
        for line in order.order_lines
    ]
    if show_subtotal:
        goods = sum(line.total_amount for line in order.order_lines if line.type != SHIPPING_FEE)
        shipping = order.order_amount - goods
        rows.append(
            _total_row(t("Subtotal"), t.money(goods, currency), ' id="subtotal"')
            + _total_row(t("Shipping"), t.money(shipping, currency), ' id="shipping-total"')
            + _total_row(
                t("of which tax"), t.money(order.order_tax_amount, currency), ' id="tax-total"'
            )
        )
    total = esc(t.money(order.order_amount, currency))
    rows.append(
        '<tr class="total">'
        + tag("th", t("Total"), ' scope="row"')
        + f'<td class="amount" id="order-total">{total}</td></tr>'
    )
    return f'<table id="order-lines">{"".join(rows)}</table>'


def _total_row(label: str, amount: str, attributes: str) -> str:
    return (
        f"<tr{attributes}>"
        + tag("th", label, ' scope="row"')
        + f'<td class="amount">{esc(amount)}</td></tr>'
    )


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
    t: Text,
    record: CheckoutRecord,
    order: CheckoutOrder,
    method: str,
    error: str | None,
    checked: dict[str, bool],
) -> str:
    options = order.options
    show_subtotal = bool(options and options.show_subtotal_detail)
    href = esc(safe_url(order.merchant_urls.terms))
    link = tag(
        "a",
        t("terms of the store"),
        f' id="terms-link" target="_blank" rel="noopener" href="{href}"',
    )
    accept = t.markup("By buying you accept the %(terms)s.", terms=link)
    terms = f'<p class="muted">{accept}</p>'
    inner = (
        f'<input type="hidden" name="payment_method" value="{esc(method)}">'
        + _checkboxes(order, checked)
        + terms
        + submit("buy-button", t("Buy"))
    )
    require_client = bool(options and options.require_client_validation)
    return (
        back(record.order_id, "payment", t("Change payment method"))
        + tag("h1", t("Review and buy"))
        + review(t, record, order, method)
        + tag("h2", t("Your order"))
        + order_lines(t, order, show_subtotal)
        + error_box(error)
        + form("buy", record.order_id, inner, client_validation=require_client)
    )


def _fact(label: str, value: str) -> str:
    """A row of the confirmation's facts: what, and the value (markup)."""
    return '<div class="review-row">' + tag("dt", label) + f"{value}</div>"


def _facts(t: Text, record: CheckoutRecord) -> str:
    """The confirmation's order reference, delivery address, shipping and payment method."""
    order = record.order
    session = record.session
    order_id = esc(record.order_id)
    rows = [_fact(t("Order number"), f'<dd id="confirmation-order-id">{order_id}</dd>')]
    if order.merchant_reference1:
        reference = esc(order.merchant_reference1)
        rows.append(
            _fact(t("Store reference"), f'<dd id="confirmation-reference">{reference}</dd>')
        )
    delivered_to = order.shipping_address or order.billing_address
    if delivered_to is not None:
        address = _address(t, delivered_to, "confirmation-address")
        rows.append(_fact(t("Delivery address"), f"<dd>{address}</dd>"))
    option = session.selected_shipping_option
    if option is not None:
        name = esc(option.name)
        rows.append(_fact(t("Delivery"), f'<dd id="confirmation-shipping">{name}</dd>'))
    details = order.options.shipping_details if order.options else None
    if details:
        rows.append(_fact(t("Delivery details"), f'<dd id="shipping-details">{esc(details)}</dd>'))
    if session.payment_method:
        method = esc(method_name(t, session.payment_method))
        rows.append(
            _fact(t("Payment method"), f'<dd id="confirmation-payment-method">{method}</dd>')
        )
    return f'<dl class="review" id="confirmation-details">{"".join(rows)}</dl>'


def confirmation(t: Text, record: CheckoutRecord, minimal: bool) -> str:
    order = record.order
    if minimal:
        thanks = esc(t("Thank you for your order"))
        return f'<h1 class="done" id="confirmation-heading">{thanks}</h1>'
    billing = record.session.billing_address or order.billing_address
    name = f"{billing.given_name or ''} {billing.family_name or ''}".strip() if billing else ""
    heading = t("Thank you, %(name)s!", name=name) if name else t("Thank you!")
    email = f'<strong id="confirmation-email">{esc(record.session.email or "")}</strong>'
    note = ""
    if record.session.fraud_status == "PENDING":
        text = t("Your purchase is being reviewed; you will hear from us soon.")
        note = f'<p class="notice" id="pending-note">{esc(text)}</p>'
    show_subtotal = bool(order.options and order.options.show_subtotal_detail)
    return (
        tag("h1", heading, ' class="done" id="confirmation-heading"')
        + "<p>"
        + t.markup("A confirmation is on its way to %(email)s.", email=email)
        + "</p>"
        + note
        + _facts(t, record)
        + tag("h2", t("Your order"))
        + order_lines(t, order, show_subtotal)
    )
