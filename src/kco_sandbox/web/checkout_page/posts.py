"""The checkout page's form posts: each calls one `PurchaseService` step and shows the next.

`POST /kco/checkout/{order_id}/{step}` with `step` one of identify, address, shipping, payment,
buy, signup. A post without the order's form token (`tokens`) changes nothing: the step is
shown again with a message, `403`. Success redirects (303) to the page of the next step; a
refusal re-renders the step with its message. No input makes a 500: every purchase error is
shown on the step.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
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
from kco_sandbox.services.purchase_terms import payment_methods_for
from kco_sandbox.web.checkout_page.forms import (
    AddressFields,
    Form,
    offered_countries,
    read_country,
    read_date_of_birth,
    read_form,
)
from kco_sandbox.web.checkout_page.i18n import N_, Text, text_for
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

# Sentences for the errors the purchase steps raise, by the path they name.
_PLAIN: Final = {
    "email": N_("Enter a valid e-mail address."),
    "one_time_code": N_("That code is not right. Enter the 6-digit code again."),
    "payment_method": N_("Choose a payment method."),
    "customer.date_of_birth": N_("Your date of birth is required: go back to the address step."),
    "customer.national_identification_number": N_(
        "Your national identification number is required: go back to the address step."
    ),
    "billing_address.phone": N_("A phone number is required: go back to the address step."),
    "billing_address.title": N_("A title is required: go back to the address step."),
    "billing_address": N_("Enter your address first."),
    "billing_address.country": N_("The store does not send invoices to this country."),
    "shipping_address.country": N_("The store does not deliver to this country."),
    "shipping_option_id": N_("Choose a delivery option from the list."),
    "form": N_("The form has too many fields."),
}


def message(t: Text, exc: KcoError) -> str:
    """A shopper-readable sentence for a purchase error, in the page's language."""
    if isinstance(exc, CallbackRefused):
        return exc.error_text or t("The store could not accept the order.")
    if not isinstance(exc, BadValue) or not exc.path:
        if not exc.messages:
            return t("Something went wrong; try again.")
        # The reason is the platform's own (English) words: what a tester needs to know.
        return t("This step did not go through (%(reason)s). Try again.", reason=exc.messages[0])
    path, note = exc.path, exc.note
    if path in _PLAIN:
        return t(_PLAIN[path])
    if path.startswith("options.additional_checkbox"):
        return t("Tick the required checkbox to continue.")
    if note:
        sentence = t(note)
        return sentence[0].upper() + sentence[1:] + "."
    return t("Check the field %(name)s.", name=path)


def _next(record: CheckoutRecord, step: str, **query: str) -> Response:
    pairs = "&".join(f"{k}={v}" for k, v in {"step": step, **query}.items())
    return RedirectResponse(f"/kco/checkout/{record.order_id}?{pairs}", status_code=303)


def _away(ctx: AppContext, record: CheckoutRecord, url: str, reason: str) -> Response:
    """A screen that sends the merchant page (the top window) to `url`."""
    t = text_for(record.order.locale)
    return render(
        ctx,
        record,
        Screen("redirect", redirecting(t, url, reason), navigate={"url": url, "reason": reason}),
    )


async def identify(ctx: AppContext, record: CheckoutRecord, form: Form, base: str) -> Response:
    email, postal = form.get("email"), form.get("postal_code")
    wanted = customer_type(record, form.optional("customer_type"))
    if not postal:
        raise BadValue("postal_code", N_("postal code is required"))
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
    organization = kind == "organization"
    if organization and not billing.organization_name:
        raise BadValue("organization_name", N_("organization name is required"))
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
            "national_identification_number", N_("national identification number is required")
        )
    registration_id = form.optional("organization_registration_id") if organization else None
    customer = Customer(type=kind, date_of_birth=dob, organization_registration_id=registration_id)
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
    if method in payment_methods_for(record.order.recurring):
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
        t = text_for(fresh.order.locale)
        return render(ctx, fresh, Screen("signup", signup_step(t, fresh, method, checked, None)))
    except CallbackRedirect as exc:
        return _away(ctx, record, exc.location, "validation")
    except KcoError as exc:
        if isinstance(exc, NotFound):
            raise
        fresh = await load_record(ctx, order_id) or record
        if fresh.status is not CheckoutStatus.CHECKOUT_INCOMPLETE:
            return _next(fresh, "summary")
        error = message(text_for(fresh.order.locale), exc)
        return render(
            ctx,
            fresh,
            step_screen(fresh, "summary", error=error, method=method, checked=checked),
        )
    return _away(ctx, done.record, done.redirect_url, "confirmation")


async def buy(ctx: AppContext, record: CheckoutRecord, form: Form, base: str) -> Response:
    method = form.get("payment_method")
    if method not in payment_methods_for(record.order.recurring):
        raise BadValue("payment_method")
    return await _buy(ctx, record, method, _checked(record, form), base)


async def signup(ctx: AppContext, record: CheckoutRecord, form: Form, base: str) -> Response:
    method = form.get("payment_method")
    if method not in payment_methods_for(record.order.recurring):
        raise BadValue("payment_method")
    checked = _checked(record, form)
    code = form.get("otp")
    try:
        await ctx.write(lambda: ctx.purchase.sign_up(record.order_id, code))
    except BadValue as exc:
        t = text_for(record.order.locale)
        screen = Screen("signup", signup_step(t, record, method, checked, message(t, exc)))
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


REFUSED: Final = N_(
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
        method=method if method in payment_methods_for(record.order.recurring) else None,
        wanted_type=form.optional("customer_type") if form else None,
    )
    return replace(screen, status_code=status_code)


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
            refused = text_for(record.order.locale)(REFUSED)
            screen = _step_screen(record, step, form, refused, 403, checked=True)
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
        error = message(text_for(fresh.order.locale), exc)
        return render(ctx, fresh, _step_screen(fresh, step, form, error, 400))
