"""The demo shop: an example merchant's web app of its own, which the platform mounts at `/demo`.

It is the code a shop would write, and it knows the platform only by URL and credentials: it
creates and reads checkout orders over HTTP through the public Checkout API (`client`), signed in
with the account it was given, embeds the order's `html_snippet`, and takes the platform's pushes.
Bad input gets a page that says what is wrong, never a server error.

`create_shop` builds the app, its routes relative to wherever it is mounted; `mount` gives the
routes that serve it under a path, the bare path included.
"""

from __future__ import annotations

import base64
import hashlib
import html as markup
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import parse_qs, quote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from kco_sandbox.demo_shop import pages
from kco_sandbox.demo_shop.cart import BadQuantity, offer_for, order_request, parse_quantity
from kco_sandbox.demo_shop.client import ApiProblem, CheckoutClient, ShopAccount
from kco_sandbox.demo_shop.pushes import MAX_ORDER_ID_LENGTH, PushLog

__all__ = ["FORM_LIMIT", "ShopAccount", "ShopState", "create_shop", "mount", "wall_clock"]

FORM_LIMIT: Final = 4096  # bytes; the shop's one form is a few bytes long
_NO_STORE: Final = {"Cache-Control": "no-store"}


def wall_clock() -> datetime:
    """The time pushes are noted at: the shop's own clock, not the platform's (maybe moved) one."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ShopState:
    """What the handlers share, kept on the app as `app.state.shop`."""

    account: ShopAccount | None  # None: the shop is closed
    platform_url: Callable[[Request], str]
    now: Callable[[], datetime]
    pushes: PushLog


def _state(request: Request) -> ShopState:
    state: ShopState = request.app.state.shop
    return state


def _here(request: Request) -> str:
    """The shop's own absolute URL: the platform's, and the path the shop is mounted at.

    `root_path` grows by each mount's path while `app_root_path` keeps the server's own prefix,
    so what lies between is where the shop sits (`/demo`).
    """
    scope = request.scope
    root_path: str = scope.get("root_path", "")
    server_root: str = scope.get("app_root_path", root_path)
    return _state(request).platform_url(request) + root_path[len(server_root) :]


def _client(request: Request, account: ShopAccount) -> CheckoutClient:
    return CheckoutClient(_state(request).platform_url(request), account)


# The inline code of a page: its own stylesheet, and the html_snippet's style, attribute and
# script, which the shop embeds unchanged.
_INLINE_SCRIPT: Final = re.compile(r"<script\b([^>]*)>(.*?)</script", re.DOTALL | re.IGNORECASE)
_INLINE_STYLE: Final = re.compile(r"<style\b[^>]*>(.*?)</style", re.DOTALL | re.IGNORECASE)
_STYLE_ATTRIBUTE: Final = re.compile(r"""\sstyle=(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_SRC: Final = re.compile(r"\ssrc\s*=", re.IGNORECASE)


def _hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def content_security_policy(html: str) -> str:
    """The page's `Content-Security-Policy`: its inline code allowed by hash, nothing else inline.

    Scripts, frames and the rest come from this origin only (the snippet's bootstrap script and
    checkout frame are the platform's, which serves the shop); only this origin may frame it.
    """
    scripts = [
        _hash(code)
        for attributes, code in _INLINE_SCRIPT.findall(html)
        if not _SRC.search(attributes)
    ]
    styles = [_hash(code) for code in _INLINE_STYLE.findall(html)]
    attributes = [_hash(markup.unescape(a or b)) for a, b in _STYLE_ATTRIBUTE.findall(html)]
    if attributes:
        styles += ["'unsafe-hashes'", *attributes]
    script_src = " ".join(["'self'", *dict.fromkeys(scripts)])
    style_src = " ".join(["'self'", *dict.fromkeys(styles)])
    return (
        f"default-src 'self'; script-src {script_src}; style-src {style_src}; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
    )


def _page(html: str, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    policy = {"Content-Security-Policy": content_security_policy(html)}
    return HTMLResponse(
        html, status_code=status, headers={**_NO_STORE, **policy, **(headers or {})}
    )


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


class FormTooLarge(Exception):
    """A form body over the shop's limit."""


async def read_form(request: Request, limit: int) -> dict[str, list[str]]:
    """The URL-encoded form in the body; `FormTooLarge` past `limit` bytes, without reading on.

    Anyone may post to a shop, so the body is counted as it arrives rather than read whole.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise FormTooLarge()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise FormTooLarge()
        chunks.append(chunk)
    return parse_qs(b"".join(chunks).decode("utf-8", "replace"))


async def home(request: Request) -> Response:
    """The shop window: the T-shirt in the account's market, a quantity and "Go to checkout"."""
    here, account = _here(request), _state(request).account
    if account is None:
        return _closed(here)
    return _page(pages.shop_page(here, offer_for(account.markets)))


async def start_checkout(request: Request) -> Response:
    """The shop's "Go to checkout": create the order through the API, then show the checkout."""
    here, account = _here(request), _state(request).account
    if account is None:
        return _closed(here)
    offer = offer_for(account.markets)
    try:
        form = await read_form(request, FORM_LIMIT)
    except FormTooLarge:
        return _page(pages.shop_page(here, offer, "That form was far too large."), 413)
    given = form.get("quantity", [""])[0]
    try:
        quantity = parse_quantity(given)
    except BadQuantity as exc:
        return _page(pages.shop_page(here, offer, str(exc), given[:10]), 400)
    try:
        order = await _client(request, account).create_order(order_request(offer, quantity, here))
    except ApiProblem as problem:
        title = "The checkout could not be started"
        return _page(pages.problem_page(here, title, problem.message), 502)
    location = f"{here}/checkout?order_id={quote(order['order_id'], safe='')}"
    return RedirectResponse(location, status_code=303)


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
    """The order pretty-printed as the API returns it, with the pushes received for it."""
    here, shop = _here(request), _state(request)
    if shop.account is None:
        return _closed(here)
    order_id = request.path_params["order_id"]
    if len(order_id) > MAX_ORDER_ID_LENGTH:
        return _missing_order(here)
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
    Route("/confirmation", confirmation, methods=["GET"]),
    Route("/orders/{order_id}", order_details, methods=["GET"]),
    Route("/push", push, methods=["POST"]),
    Route("/terms", terms, methods=["GET"]),
]


def create_shop(
    account: ShopAccount | None,
    platform_url: Callable[[Request], str],
    now: Callable[[], datetime] = wall_clock,
) -> Starlette:
    """The shop as an app, its routes relative to where it is mounted.

    It signs in as `account` (closed when None) and calls the platform's Checkout API at
    `platform_url(request)`; its own links are that URL and the path it is mounted at. `now`
    stamps the pushes it receives.
    """
    app = Starlette(routes=ROUTES, exception_handlers={HTTPException: no_such_page})
    # As on the platform: an address is answered as it is, `/demo/terms/` is not `/demo/terms`.
    app.router.redirect_slashes = False
    app.state.shop = ShopState(account, platform_url, now, PushLog())
    return app


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
