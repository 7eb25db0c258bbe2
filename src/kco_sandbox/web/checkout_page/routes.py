"""Shopper-facing routes: the bootstrap script the snippet loads, the page script, and the hosted
checkout page in the iframe with its form posts (see docs/checkout-page.md).

The page itself lives in `checkout_page` (showing a step) and `page_posts` (acting on a step).
A post may wait on the merchant's callbacks (seconds, when the shop is slow), so posts run their
service calls on their merchant's own few threads (`web/merchant_threads.py`), never on the ones
the API and other merchants need.
"""

from __future__ import annotations

from importlib.resources import files

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kco_sandbox.web.checkout_page.page import checkout_page
from kco_sandbox.web.checkout_page.posts import post_step
from kco_sandbox.web.context import AppContext
from kco_sandbox.web.merchant_threads import on_merchant_threads
from kco_sandbox.web.paths import ORDER_ID

_STATIC = files("kco_sandbox.web.checkout_page").joinpath("static")
_BOOTSTRAP = _STATIC.joinpath("checkout.bootstrap.js").read_bytes()
_PAGE_SCRIPT = _STATIC.joinpath("checkout.page.js").read_bytes()


def _script(body: bytes) -> Response:
    return Response(
        body, media_type="application/javascript", headers={"Cache-Control": "no-cache"}
    )


async def bootstrap_script(request: Request) -> Response:
    return _script(_BOOTSTRAP)


async def page_script(request: Request) -> Response:
    return _script(_PAGE_SCRIPT)


async def post_step_on_merchant_threads(request: Request) -> Response:
    """`post_step`, its service calls on the threads of the order's merchant (see the module
    docstring); an unknown order has no merchant and runs as any request does."""
    ctx: AppContext = request.app.state.ctx
    order_id = request.path_params["order_id"]
    record = await ctx.read(lambda: ctx.purchase.shopper_view(order_id))
    if record is None:
        return await post_step(request)
    with on_merchant_threads(record.merchant_id, ctx.settings.merchant_callback_slots):
        return await post_step(request)


ROUTES = [
    Route("/kco/checkout.bootstrap.js", bootstrap_script, methods=["GET"]),
    Route("/kco/checkout.page.js", page_script, methods=["GET"]),
    Route(f"/kco/checkout/{ORDER_ID}", checkout_page, methods=["GET"]),
    Route(f"/kco/checkout/{ORDER_ID}/{{step}}", post_step_on_merchant_threads, methods=["POST"]),
]
