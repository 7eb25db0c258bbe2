"""The demo shop: an example merchant's web app of its own, which the platform mounts at `/demo`.

It is the code a shop would write, and it knows the platform only by URL and credentials: it
creates and reads checkout orders over HTTP through the public Checkout API (`client`), signed in
with the account it was given, embeds the order's `html_snippet`, and takes the platform's pushes.
It calls the API at the one URL it was configured with, never at one taken from a request; the
links it renders use the platform's public URL as the browser reached it. Its form carries a token
of the browser's session, and an order's raw page shows it only to the browser that created it
(`browser`). Bad input gets a page that says what is wrong, never a server error.

`create_shop` builds the app, its routes relative to wherever it is mounted; `mount` gives the
routes that serve it under a path, the bare path included.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import quote, urlsplit

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from kco_sandbox.demo_shop import pages
from kco_sandbox.demo_shop.browser import (
    TOKEN_FIELD,
    Browser,
    Signer,
    form_token,
    genuine,
    keep_session,
    read_browser,
    remember_order,
)
from kco_sandbox.demo_shop.cart import BadQuantity, Offer, offer_for, order_request, parse_quantity
from kco_sandbox.demo_shop.client import ApiProblem, CheckoutClient, ShopAccount
from kco_sandbox.demo_shop.pushes import MAX_ORDER_ID_LENGTH, PushLog
from kco_sandbox.demo_shop.responses import (
    FORM_LIMIT,
    FormTooLarge,
    content_security_policy,
    read_form,
)
from kco_sandbox.demo_shop.responses import page as _page

__all__ = [
    "FORM_LIMIT",
    "ShopAccount",
    "ShopState",
    "content_security_policy",
    "create_shop",
    "mount",
    "wall_clock",
]

REFUSED: Final = (
    "That form was sent from an old page or from outside the shop, so nothing was ordered. "
    "Check the quantity and send it again."
)


def wall_clock() -> datetime:
    """The time pushes are noted at: the shop's own clock, not the platform's (maybe moved) one."""
    return datetime.now(UTC)


def new_session_id() -> str:
    return secrets.token_urlsafe(18)


@dataclass(frozen=True, slots=True)
class ShopState:
    """What the handlers share, kept on the app as `app.state.shop`."""

    account: ShopAccount | None  # None: the shop is closed
    platform_url: str  # where it calls the Checkout API
    site_url: Callable[[Request], str]  # the platform's public URL, as the browser reached it
    now: Callable[[], datetime]
    pushes: PushLog
    signer: Signer  # signs its cookies and form tokens
    new_session: Callable[[], str]


def _state(request: Request) -> ShopState:
    state: ShopState = request.app.state.shop
    return state


def _mounted_at(request: Request) -> str:
    """The path the shop is mounted at (`/demo`), its cookies' path.

    `root_path` grows by each mount's path while `app_root_path` keeps the server's own prefix,
    so what lies between is where the shop sits.
    """
    scope = request.scope
    root_path: str = scope.get("root_path", "")
    server_root: str = scope.get("app_root_path", root_path)
    return root_path[len(server_root) :]


def _here(request: Request) -> str:
    """The shop's own absolute URL: the platform's public one and the path it is mounted at."""
    return _state(request).site_url(request) + _mounted_at(request)


def _client(request: Request, account: ShopAccount) -> CheckoutClient:
    """The API at the configured URL. Its `Host` is the public host the browser used (already
    checked by the platform), so the snippet URLs the API answers with work in that browser."""
    shop = _state(request)
    return CheckoutClient(shop.platform_url, account, host=urlsplit(shop.site_url(request)).netloc)


def _closed(here: str) -> Response:
    message = "The demo shop has no merchant account to sign in with: start the server with one."
    return _page(pages.problem_page(here, "The shop is closed", message), 503)


def _order_id(request: Request) -> str | None:
    """The `order_id` query parameter when it can be an order id at all."""
    order_id = request.query_params.get("order_id", "").strip()
    if not order_id or len(order_id) > MAX_ORDER_ID_LENGTH:
        return None
    return order_id


def _missing_order(here: str) -> Response:
    message = "No order was given (the link needs ?order_id=...). Start again from the shop."
    return _page(pages.problem_page(here, "Which order?", message), 400)


def _read_failed(here: str, problem: ApiProblem) -> Response:
    status = 404 if problem.status == 404 else 502
    return _page(pages.problem_page(here, "The order could not be read", problem.message), status)


def _shop_window(
    request: Request,
    offer: Offer,
    browser: Browser,
    error: str | None = None,
    quantity: str = "1",
    status: int = 200,
) -> Response:
    """The shop page, its form holding the token of the browser's session (a new one if none)."""
    shop = _state(request)
    session = browser.session or shop.new_session()
    token = form_token(shop.signer, session)
    html = pages.shop_page(_here(request), offer, error, quantity, token=token)
    response = _page(html, status)
    keep_session(response, request, _mounted_at(request), shop.signer, session)
    return response


async def home(request: Request) -> Response:
    """The shop window: the T-shirt in the account's market, a quantity and "Go to checkout"."""
    shop = _state(request)
    if shop.account is None:
        return _closed(_here(request))
    browser = read_browser(request, shop.signer)
    return _shop_window(request, offer_for(shop.account.markets), browser)


async def start_checkout(request: Request) -> Response:
    """The shop's "Go to checkout": create the order through the API, then show the checkout.

    A post without the token of the browser's session creates nothing (403, the form again).
    """
    here, shop = _here(request), _state(request)
    if shop.account is None:
        return _closed(here)
    offer = offer_for(shop.account.markets)
    browser = read_browser(request, shop.signer)
    try:
        form = await read_form(request, FORM_LIMIT)
    except FormTooLarge:
        return _shop_window(request, offer, browser, "That form was far too large.", status=413)
    given = form.get("quantity", [""])[0]
    if not genuine(shop.signer, browser.session, form.get(TOKEN_FIELD, [""])[0]):
        return _shop_window(request, offer, browser, REFUSED, given[:10], 403)
    try:
        quantity = parse_quantity(given)
    except BadQuantity as exc:
        return _shop_window(request, offer, browser, str(exc), given[:10], 400)
    try:
        order = await _client(request, shop.account).create_order(
            order_request(offer, quantity, here)
        )
    except ApiProblem as problem:
        title = "The checkout could not be started"
        return _page(pages.problem_page(here, title, problem.message), 502)
    order_id = str(order["order_id"])
    location = f"{here}/checkout?order_id={quote(order_id, safe='')}"
    response = RedirectResponse(location, status_code=303)
    remember_order(response, request, _mounted_at(request), shop.signer, browser, order_id)
    return response


async def _ordered(request: Request) -> tuple[str, dict[str, Any]] | Response:
    """The shop's URL and the order of `?order_id=`, read through the API; or the page that says
    why not (shop closed, no order id, the API's refusal)."""
    here, account = _here(request), _state(request).account
    if account is None:
        return _closed(here)
    order_id = _order_id(request)
    if order_id is None:
        return _missing_order(here)
    try:
        return here, await _client(request, account).read_order(order_id)
    except ApiProblem as problem:
        return _read_failed(here, problem)


async def show_checkout(request: Request) -> Response:
    """The checkout page (`merchant_urls.checkout`): the snippet and the order's status."""
    found = await _ordered(request)
    if isinstance(found, Response):
        return found
    here, order = found
    return _page(pages.checkout_page(here, order))


async def checkout(request: Request) -> Response:
    """`/checkout`: the shop's form posts here to start a checkout; the checkout page is a GET.

    One route for both methods, so a wrong method is answered with both in `Allow`.
    """
    if request.method == "POST":
        return await start_checkout(request)
    return await show_checkout(request)


async def confirmation(request: Request) -> Response:
    """`merchant_urls.confirmation`: where the checkout sends the shopper at the end."""
    found = await _ordered(request)
    if isinstance(found, Response):
        return found
    here, order = found
    return _page(pages.confirmation_page(here, order))


async def order_details(request: Request) -> Response:
    """The order pretty-printed as the API returns it, with the pushes received for it; only to
    the browser whose cart created it, as it shows the shopper's addresses."""
    here, shop = _here(request), _state(request)
    if shop.account is None:
        return _closed(here)
    order_id = request.path_params["order_id"]
    if len(order_id) > MAX_ORDER_ID_LENGTH:
        return _missing_order(here)
    if order_id not in read_browser(request, shop.signer).orders:
        message = "This browser did not place that order, so the shop does not show it here."
        return _page(pages.problem_page(here, "The order could not be read", message), 404)
    try:
        order = await _client(request, shop.account).read_order(order_id)
    except ApiProblem as problem:
        return _read_failed(here, problem)
    return _page(pages.order_page(here, order, shop.pushes.for_order(order_id)))


async def push(request: Request) -> Response:
    """`merchant_urls.push`: note that the platform pushed the order, and answer 200."""
    order_id = _order_id(request)
    if order_id is None:
        return PlainTextResponse("order_id is required", status_code=400)
    shop = _state(request)
    shop.pushes.record(order_id, shop.now())
    return PlainTextResponse("OK")


async def terms(request: Request) -> Response:
    """`merchant_urls.terms`: the shop's (short) terms."""
    return _page(pages.terms_page(_here(request)))


async def checkout_script(request: Request) -> Response:
    """The checkout page's script: the panel's total follows the checkout's total."""
    return Response(
        pages.CHECKOUT_SCRIPT,
        media_type="application/javascript",
        headers={"Cache-Control": "no-cache"},
    )


async def no_such_page(request: Request, exc: Exception) -> Response:
    """An address the shop does not have (404) or a method a page does not take (405)."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        title, message = "Page not found", "The shop has no page at this address."
    else:
        title, message = exc.detail, f"This page does not take {request.method} requests."
    page = pages.problem_page(_here(request), title, message)
    return _page(page, exc.status_code, exc.headers)


ROUTES: Final = [
    Route("/", home, methods=["GET"]),
    Route("/checkout", checkout, methods=["GET", "POST"]),
    Route("/checkout.js", checkout_script, methods=["GET"]),
    Route("/confirmation", confirmation, methods=["GET"]),
    Route("/orders/{order_id}", order_details, methods=["GET"]),
    Route("/push", push, methods=["POST"]),
    Route("/terms", terms, methods=["GET"]),
]


def create_shop(
    account: ShopAccount | None,
    platform_url: str,
    site_url: Callable[[Request], str],
    now: Callable[[], datetime] = wall_clock,
    secret: bytes | None = None,
    new_session: Callable[[], str] = new_session_id,
) -> Starlette:
    """The shop as an app, its routes relative to where it is mounted.

    It signs in as `account` (closed when None) and calls the platform's Checkout API at
    `platform_url`; its own links are `site_url(request)` and the path it is mounted at. `now`
    stamps the pushes it receives; `secret` signs its cookies and form tokens (by default one
    derived from the account's password, so they outlive a restart); `new_session` makes the id
    of a browser's session.
    """
    app = Starlette(routes=ROUTES, exception_handlers={HTTPException: no_such_page})
    # As on the platform: an address is answered as it is, `/demo/terms/` is not `/demo/terms`.
    app.router.redirect_slashes = False
    signer = Signer(secret if secret is not None else _key_of(account))
    app.state.shop = ShopState(
        account, platform_url.rstrip("/"), site_url, now, PushLog(), signer, new_session
    )
    return app


def _key_of(account: ShopAccount | None) -> bytes:
    if account is None:
        return secrets.token_bytes(32)  # a closed shop renders no form and lists no order
    return hashlib.sha256(b"kco-sandbox demo shop\x00" + account.password.encode()).digest()


class _AtMountPoint:
    """ASGI: the bare mount path (`/demo`) passed to the app as its `/`, the way `Mount` passes
    `/demo/` (the same `root_path`), so the shop's links and routes come out the same.
    """

    def __init__(self, path: str, app: ASGIApp) -> None:
        self.path = path
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        root_path: str = scope.get("root_path", "")
        child = {
            **scope,
            "app_root_path": scope.get("app_root_path", root_path),
            "root_path": root_path + self.path,
            "path": scope["path"] + "/",
        }
        await self.app(child, receive, send)


def mount(path: str, shop: ASGIApp) -> list[BaseRoute]:
    """The routes that serve `shop` at `path`: everything below it, and `path` itself.

    Starlette's `Mount` matches only below its path, and the platform does not redirect `/demo`
    to `/demo/` (it answers every address as it is), so the bare path gets a route of its own.
    """
    return [Route(path, _AtMountPoint(path, shop)), Mount(path, shop)]
