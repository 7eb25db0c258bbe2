"""Shopper-facing routes: the bootstrap script the snippet loads, the page script, and the hosted
checkout page in the iframe with its form posts (see docs/checkout-page.md).

The page itself lives in `checkout_page` (showing a step) and `page_posts` (acting on a step).
"""

from __future__ import annotations

from importlib.resources import files

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kco_sandbox.web.checkout_page.page import checkout_page
from kco_sandbox.web.checkout_page.posts import post_step

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


ROUTES = [
    Route("/kco/checkout.bootstrap.js", bootstrap_script, methods=["GET"]),
    Route("/kco/checkout.page.js", page_script, methods=["GET"]),
    Route("/kco/checkout/{order_id}", checkout_page, methods=["GET"]),
    Route("/kco/checkout/{order_id}/{step}", post_step, methods=["POST"]),
]
