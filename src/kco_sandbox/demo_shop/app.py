"""The demo shop under `/demo`: an example merchant, kept apart from the platform.

It is the code a shop would write: it creates and reads checkout orders over HTTP through the
public Checkout API of this same server (`demo_client`), signed in as the first active merchant,
embeds the order's `html_snippet`, and takes the platform's pushes. Bad input gets a page that says
what is wrong, never a server error.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import parse_qs, quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from kco_sandbox.demo_shop import pages
from kco_sandbox.demo_shop.cart import BadQuantity, offer_for, order_request, parse_quantity
from kco_sandbox.demo_shop.client import ApiProblem, CheckoutClient, shop_merchant
from kco_sandbox.demo_shop.pushes import MAX_ORDER_ID_LENGTH, push_log
from kco_sandbox.domain.errors import PayloadTooLarge
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.web.body import read_body
from kco_sandbox.web.context import AppContext

FORM_LIMIT: Final = 4096  # bytes; the shop's one form is a few bytes long
_NO_STORE: Final = {"Cache-Control": "no-store"}


def _page(html: str, status: int = 200) -> Response:
    return HTMLResponse(html, status_code=status, headers=_NO_STORE)


def _base(request: Request) -> str:
    ctx: AppContext = request.app.state.ctx
    return ctx.base_url(request)


async def _merchant(request: Request) -> Merchant | None:
    """The shop's merchant, looked up once and kept on the app."""
    state = request.app.state
    merchant: Merchant | None = getattr(state, "demo_merchant", None)
    if merchant is None:
        ctx: AppContext = state.ctx
        merchant = await ctx.read(lambda: shop_merchant(ctx))
        state.demo_merchant = merchant
    return merchant


def _no_merchant(base: str) -> Response:
    message = "The demo shop has no merchant account to sign in with: start the server with one."
    return _page(pages.problem_page(base, "The shop is closed", message), 503)


def _order_id(request: Request) -> str | None:
    """The `order_id` query parameter when it can be an order id at all."""
    order_id = request.query_params.get("order_id", "").strip()
    if not order_id or len(order_id) > MAX_ORDER_ID_LENGTH:
        return None
    return order_id


def _missing_order(base: str) -> Response:
    message = "No order was given (the link needs ?order_id=...). Start again from the shop."
    return _page(pages.problem_page(base, "Which order?", message), 400)


def _read_failed(base: str, problem: ApiProblem) -> Response:
    status = 404 if problem.status == 404 else 502
    return _page(pages.problem_page(base, "The order could not be read", problem.message), status)


async def shop(request: Request) -> Response:
    """The shop window: the T-shirt in the merchant's market, a quantity and "Go to checkout"."""
    base = _base(request)
    merchant = await _merchant(request)
    if merchant is None:
        return _no_merchant(base)
    return _page(pages.shop_page(base, offer_for(merchant)))


async def start_checkout(request: Request) -> Response:
    """The shop's "Go to checkout": create the order through the API, then show the checkout."""
    base = _base(request)
    merchant = await _merchant(request)
    if merchant is None:
        return _no_merchant(base)
    offer = offer_for(merchant)
    try:
        raw = await read_body(request, FORM_LIMIT)
    except PayloadTooLarge:
        return _page(pages.shop_page(base, offer, "That form was far too large."), 413)
    form = parse_qs(raw.decode("utf-8", "replace"))
    given = form.get("quantity", [""])[0]
    try:
        quantity = parse_quantity(given)
    except BadQuantity as exc:
        return _page(pages.shop_page(base, offer, str(exc), given[:10]), 400)
    client = CheckoutClient(base, merchant)
    try:
        order = await client.create_order(order_request(offer, quantity, f"{base}/demo"))
    except ApiProblem as problem:
        title = "The checkout could not be started"
        return _page(pages.problem_page(base, title, problem.message), 502)
    location = f"{base}/demo/checkout?order_id={quote(order['order_id'], safe='')}"
    return RedirectResponse(location, status_code=303)


async def show_checkout(request: Request) -> Response:
    """The checkout page (`merchant_urls.checkout`): the snippet and the order's status."""
    base = _base(request)
    merchant = await _merchant(request)
    if merchant is None:
        return _no_merchant(base)
    order_id = _order_id(request)
    if order_id is None:
        return _missing_order(base)
    try:
        order = await CheckoutClient(base, merchant).read_order(order_id)
    except ApiProblem as problem:
        return _read_failed(base, problem)
    return _page(pages.checkout_page(base, order))


async def confirmation(request: Request) -> Response:
    """`merchant_urls.confirmation`: where the checkout sends the shopper at the end."""
    base = _base(request)
    merchant = await _merchant(request)
    if merchant is None:
        return _no_merchant(base)
    order_id = _order_id(request)
    if order_id is None:
        return _missing_order(base)
    try:
        order = await CheckoutClient(base, merchant).read_order(order_id)
    except ApiProblem as problem:
        return _read_failed(base, problem)
    return _page(pages.confirmation_page(base, order))


async def order_details(request: Request) -> Response:
    """The order pretty-printed as the API returns it, with the pushes received for it."""
    base = _base(request)
    merchant = await _merchant(request)
    if merchant is None:
        return _no_merchant(base)
    order_id = request.path_params["order_id"]
    if len(order_id) > MAX_ORDER_ID_LENGTH:
        return _missing_order(base)
    try:
        order = await CheckoutClient(base, merchant).read_order(order_id)
    except ApiProblem as problem:
        return _read_failed(base, problem)
    return _page(pages.order_page(base, order, push_log(request).for_order(order_id)))


async def push(request: Request) -> Response:
    """`merchant_urls.push`: note that the platform pushed the order, and answer 200."""
    order_id = _order_id(request)
    if order_id is None:
        return PlainTextResponse("order_id is required", status_code=400)
    ctx: AppContext = request.app.state.ctx
    push_log(request).record(order_id, ctx.checkout.clock.now())
    return PlainTextResponse("OK")


async def terms(request: Request) -> Response:
    """`merchant_urls.terms`: the shop's (short) terms."""
    return _page(pages.terms_page(_base(request)))


ROUTES: list[Route] = [
    Route("/demo", shop, methods=["GET"]),
    Route("/demo/", shop, methods=["GET"]),
    Route("/demo/checkout", start_checkout, methods=["POST"]),
    Route("/demo/checkout", show_checkout, methods=["GET"]),
    Route("/demo/confirmation", confirmation, methods=["GET"]),
    Route("/demo/orders/{order_id}", order_details, methods=["GET"]),
    Route("/demo/push", push, methods=["POST"]),
    Route("/demo/terms", terms, methods=["GET"]),
]
