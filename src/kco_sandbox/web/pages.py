"""Shopper-facing resources: the bootstrap script the snippet loads and the page in the iframe.

The page shows the order read-only, marked TEST DRIVE; the steps a shopper walks through to pay
are built on this page in a later release.
"""

from __future__ import annotations

import html
from importlib.resources import files

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from kco_sandbox.domain.errors import NotFound
from kco_sandbox.web.context import AppContext

_BOOTSTRAP = files("kco_sandbox.web").joinpath("static/checkout.bootstrap.js").read_bytes()


async def bootstrap_script(request: Request) -> Response:
    return Response(
        _BOOTSTRAP,
        media_type="application/javascript",
        headers={"Cache-Control": "no-cache"},
    )


def _money(amount: int, currency: str) -> str:
    return f"{amount / 100:.2f} {html.escape(currency)}"


async def checkout_page(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    order_id = request.path_params["order_id"]
    record = await ctx.read(lambda: ctx.checkout.store.get_checkout(order_id))
    if record is None or record.is_expired(ctx.checkout.clock.now()):
        raise NotFound(f"Order {order_id} not found")
    order = record.order
    currency = order.purchase_currency
    rows = "".join(
        f"<tr><td>{line.quantity} x {html.escape(line.name)}</td>"
        f"<td class=amount>{_money(line.total_amount, currency)}</td></tr>"
        for line in order.order_lines
    )
    total = _money(order.order_amount, currency)
    page = f"""<!doctype html>
<html lang="{html.escape(order.locale)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Checkout</title>
<style>body{{font-family:Helvetica,Arial,sans-serif;margin:0;padding:16px;color:#303030}}
.testdrive{{background:#ffb3c7;font-weight:bold;padding:4px 8px;display:inline-block}}
table{{width:100%;border-collapse:collapse}}td{{padding:6px 0}}.amount{{text-align:right}}</style>
</head><body>
<p class="testdrive" id="testdrive-marker">TEST DRIVE: no real money moves</p>
<main id="klarna-checkout-summary">
<h1>Order summary</h1>
<table>{rows}
<tr><th scope=row>Total</th><td class=amount id="order-total">{total}</td></tr>
</table>
</main>
<script>parent.postMessage({{height: document.body.scrollHeight}}, "*");</script>
</body></html>"""
    return HTMLResponse(page)


ROUTES = [
    Route("/kco/checkout.bootstrap.js", bootstrap_script, methods=["GET"]),
    Route("/kco/checkout/{order_id}", checkout_page, methods=["GET"]),
]
