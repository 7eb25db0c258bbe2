"""The checkout page's form posts: each calls one `PurchaseService` step and shows the next.

`POST /kco/checkout/{order_id}/{step}` with `step` one of identify, address, shipping, payment,
buy, signup. A post without the order's form token (`tokens`) changes nothing: the step is
shown again with a message, `403`. Success redirects (303) to the page of the next step; a
refusal re-renders the step with its message. No input makes a 500: every purchase error is
shown on the step.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kco_sandbox.domain.checkout.lifecycle import CheckoutStatus
from kco_sandbox.domain.checkout.order import Customer
from kco_sandbox.domain.checkout.record import CheckoutRecord
from kco_sandbox.domain.checkout.record import order_url as checkout_url
from kco_sandbox.domain.errors import (
    BadValue,
    CallbackRedirect,
    CallbackRefused,
    KcoError,
    NotFound,
    PurchaseDenied,
    SignupRequired,
)
from kco_sandbox.domain.purchase.cart import checkbox_states, expand_url
from kco_sandbox.services.purchase import PAYMENT_METHODS
from kco_sandbox.web.checkout_page.forms import (
    AddressFields,
    Form,
    offered_countries,
    read_country,
    read_date_of_birth,
    read_form,
)
from kco_sandbox.web.checkout_page.page import (
    allowed_step,
    customer_type,
    load_record,
    not_found,
    render,
    step_screen,
)
from kco_sandbox.web.checkout_page.state import Screen
from kco_sandbox.web.checkout_page.steps import external_methods, redirecting, signup_step
from kco_sandbox.web.checkout_page.tokens import FIELD, genuine
from kco_sandbox.web.context import AppContext

_PLAIN: Final = {
    "email": "Enter a valid e-mail address.",
    "one_time_code": "That code is not right. Enter the 6-digit code again.",
    "payment_method": "Choose a payment method.",
    "customer.date_of_birth": "Your date of birth is required: go back to the address step.",
    "customer.national_identification_number": (
        "Your national identification number is required: go back to the address step."
    ),
    "billing_address.phone": "A phone number is required: go back to the address step.",
    "billing_address.title": "A title is required: go back to the address step.",
    "billing_address": "Enter your address first.",
}


def message(exc: KcoError) -> str:
    """A shopper-readable sentence for a purchase error."""
    if isinstance(exc, CallbackRefused):
        return exc.error_text or "The store could not accept the order."
    if not isinstance(exc, BadValue) or not exc.path:
        return exc.messages[0] if exc.messages else "Something went wrong; try again."
    path, note = exc.path, exc.note
    if path in _PLAIN:
        return _PLAIN[path]
    if path.startswith("options.additional_checkbox"):
        return "Tick the required checkbox to continue."
    if note:
        return note[0].upper() + note[1:] + "."
    return f"Check the field {path}."


def _next(record: CheckoutRecord, step: str, **query: str) -> Response:
    pairs = "&".join(f"{k}={v}" for k, v in {"step": step, **query}.items())
    return RedirectResponse(f"/kco/checkout/{record.order_id}?{pairs}", status_code=303)


def _away(ctx: AppContext, record: CheckoutRecord, url: str, reason: str) -> Response:
    """A screen that sends the merchant page (the top window) to `url`."""
    return render(
        ctx,
        record,
        Screen("redirect", redirecting(url, reason), navigate={"url": url, "reason": reason}),
    )


async def identify(ctx: AppContext, record: CheckoutRecord, form: Form, base: str) -> Response:
    email, postal = form.get("email"), form.get("postal_code")
    wanted = customer_type(record, form.optional("customer_type"))
    if not postal:
        raise BadValue("postal_code", "postal code is required")
    await ctx.write(lambda: ctx.purchase.identify(record.order_id, email, postal))
    return _next(record, "address", customer_type=wanted)


async def address(ctx: AppContext, record: CheckoutRecord, form: Form, base: str) -> Response:
    order = record.order
    options = order.options
    fields = AddressFields.for_order(order)
    kind = customer_type(record, form.optional("customer_type"))
    email = record.session.email
    country = read_country(
        form,
        "country",
        offered_countries(
            order.billing_countries or order.shipping_countries, order.purchase_country
        ),
    )
    billing = fields.read(form, "", country, email)
    if kind == "organization" and not billing.organization_name:
        raise BadValue("organization_name", "organization name is required")
    shipping = None
    if (
        options
        and options.allow_separate_shipping_address
        and form.get("separate_shipping_address") == "on"
    ):
        ship_country = read_country(
            form,
            "shipping_country",
            offered_countries(order.shipping_countries, order.purchase_country),
        )
        shipping = fields.read(form, "shipping_", ship_country, email)
    dob = read_date_of_birth(form, bool(options and options.date_of_birth_mandatory))
    nin = form.optional("national_identification_number")
    if (
        nin is None
        and options
        and (
            options.national_identification_number_mandatory
            or options.verify_national_identification_number
        )
    ):
        raise BadValue(
            "national_identification_number", "national identification number is required"
        )
    customer = Customer(type=kind, date_of_birth=dob)
    updated = await ctx.write(
        lambda: ctx.purchase.set_addresses(record.order_id, billing, shipping, customer, nin, base)
    )
    return _next(updated, "shipping" if updated.order.shipping_options else "payment")


async def shipping(ctx: AppContext, record: CheckoutRecord, form: Form, base: str) -> Response:
    option = form.optional("shipping_option")
    await ctx.write(lambda: ctx.purchase.select_shipping(record.order_id, option, base))
    return _next(record, "payment")


async def payment(ctx: AppContext, record: CheckoutRecord, form: Form, base: str) -> Response:
    method = form.get("payment_method")
    if method in PAYMENT_METHODS:
        return _next(record, "summary", payment_method=method)
    for key, provider in external_methods(record.order):
        if key == method:
            order_url = checkout_url(base, record.order_id)
            url = expand_url(provider.redirect_url, record.order_id, order_url)
            return _away(ctx, record, url, "external_payment_method")
    raise BadValue("payment_method")


def _checked(record: CheckoutRecord, form: Form) -> dict[str, bool]:
    if not form.get("checkboxes_shown"):
        return {}
    ticked = set(form.all("checkbox"))
    return {key: key in ticked for key in checkbox_states(record.order, {})}


async def _buy(
    ctx: AppContext, record: CheckoutRecord, method: str, checked: dict[str, bool], base: str
) -> Response:
    """Buy, and show what follows: the confirmation redirect, sign-up, denial or a refusal."""
    order_id = record.order_id
    try:
        done = await ctx.write(lambda: ctx.purchase.buy(order_id, method, checked, base))
    except PurchaseDenied:
        fresh = await load_record(ctx, order_id) or record
        return render(ctx, fresh, step_screen(fresh, "payment", method=method, denied=True))
    except SignupRequired:
        fresh = await load_record(ctx, order_id) or record
        return render(ctx, fresh, Screen("signup", signup_step(fresh, method, checked, None)))
    except CallbackRedirect as exc:
        return _away(ctx, record, exc.location, "validation")
    except KcoError as exc:
        if isinstance(exc, NotFound):
            raise
        fresh = await load_record(ctx, order_id) or record
        if fresh.status is not CheckoutStatus.CHECKOUT_INCOMPLETE:
            return _next(fresh, "summary")
        return render(
            ctx,
            fresh,
            step_screen(fresh, "summary", error=message(exc), method=method, checked=checked),
        )
    return _away(ctx, done.record, done.redirect_url, "confirmation")


async def buy(ctx: AppContext, record: CheckoutRecord, form: Form, base: str) -> Response:
    method = form.get("payment_method")
    if method not in PAYMENT_METHODS:
        raise BadValue("payment_method")
    return await _buy(ctx, record, method, _checked(record, form), base)


async def signup(ctx: AppContext, record: CheckoutRecord, form: Form, base: str) -> Response:
    method = form.get("payment_method")
    if method not in PAYMENT_METHODS:
        raise BadValue("payment_method")
    checked = _checked(record, form)
    code = form.get("otp")
    try:
        await ctx.write(lambda: ctx.purchase.sign_up(record.order_id, code))
    except BadValue as exc:
        screen = Screen("signup", signup_step(record, method, checked, message(exc)))
        return render(ctx, record, screen)
    return await _buy(ctx, record, method, checked, base)


Handler = Callable[[AppContext, CheckoutRecord, Form, str], Awaitable[Response]]
HANDLERS: Final[dict[str, Handler]] = {
    "identify": identify,
    "address": address,
    "shipping": shipping,
    "payment": payment,
    "buy": buy,
    "signup": signup,
}
# Which screen shows an error of each post.
_SHOWN_ON: Final = {"buy": "summary", "signup": "summary"}


REFUSED: Final = (
    "This form could not be accepted: it was sent from an old page or from outside this "
    "checkout. Check the details and send them again."
)


def _step_screen(
    record: CheckoutRecord,
    step: str,
    form: Form | None,
    error: str,
    status_code: int,
    *,
    checked: bool = False,
) -> Screen:
    """The screen that shows a refused post of `step`: its step again, with `error`; when
    `checked`, only if the shopper may see that step yet (else the next one they may)."""
    method = form.get("payment_method") if form else None
    shown = _SHOWN_ON.get(step, step)
    if checked:
        shown = allowed_step(record, shown, method)
    posted = form if shown in ("identify", "address") else None
    screen = step_screen(
        record,
        shown,
        error=error,
        posted=posted,
        method=method if method in PAYMENT_METHODS else None,
        wanted_type=form.optional("customer_type") if form else None,
    )
    return Screen(screen.step, screen.body, screen.events, status_code=status_code)


async def post_step(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    order_id = request.path_params["order_id"]
    step = request.path_params["step"]
    handler = HANDLERS.get(step)
    record = await load_record(ctx, order_id)
    if record is None or handler is None:
        return not_found(order_id)
    if record.status is not CheckoutStatus.CHECKOUT_INCOMPLETE:
        return RedirectResponse(f"/kco/checkout/{order_id}", status_code=303)
    form: Form | None = None
    try:
        form = await read_form(request)
        if not genuine(ctx.form_key, order_id, form.get(FIELD)):
            # Nothing is done: the step is shown again, with a token this time (CSRF).
            screen = _step_screen(record, step, form, REFUSED, 403, checked=True)
            return render(ctx, record, screen)
        return await handler(ctx, record, form, ctx.base_url(request))
    except CallbackRedirect as exc:
        return _away(ctx, record, exc.location, step)
    except NotFound:
        return not_found(order_id)
    except KcoError as exc:
        fresh = await load_record(ctx, order_id)
        if fresh is None:
            return not_found(order_id)
        if fresh.status is not CheckoutStatus.CHECKOUT_INCOMPLETE:
            return RedirectResponse(f"/kco/checkout/{order_id}", status_code=303)
        return render(ctx, fresh, _step_screen(fresh, step, form, message(exc), 400))
