"""The demo shop's HTML: one layout with the demo notice, and a function per page.

Every value from outside (orders, ids, messages) is escaped here; the one thing written as it is,
is the order's `html_snippet`, which a shop must embed unchanged. Links are absolute, built on the
shop's own URL (`shop`: `<platform>/demo`, the base of its merchant URLs too). The layout is a
single column that works from 320 px up.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Any, Final
from urllib.parse import quote

from kco_sandbox.demo_shop.cart import MAX_QUANTITY, PRODUCT_NAME, Offer, money, vat_label

NOTICE: Final = "Demo shop — an example merchant integration; not part of the Kustom API"

_STYLE: Final = """
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;
color:#1f2328;background:#fafafa;line-height:1.45}
.notice{margin:0;padding:8px 12px;background:#fff4c2;border-bottom:1px solid #e5d27a;
font-size:.9rem}
header,main,footer{max-width:44rem;margin:0 auto;padding:12px 16px}
header a{color:inherit;text-decoration:none;font-weight:700;font-size:1.2rem}
h1{font-size:1.5rem;margin:.4em 0}
h1,h2,p,li{overflow-wrap:anywhere}
h2{font-size:1.15rem}
a{color:#0b57d0}
.product{display:flex;flex-wrap:wrap;gap:16px;align-items:center;background:#fff;
border:1px solid #ddd;border-radius:8px;padding:16px}
.product svg{width:120px;height:120px;flex:none}
.price{font-size:1.3rem;font-weight:700}
form{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin-top:12px}
input[type=number]{width:5rem;padding:8px;font-size:1rem}
button{padding:10px 16px;font-size:1rem;background:#1f2328;color:#fff;border:0;
border-radius:6px;cursor:pointer}
.error{background:#fde7e9;border:1px solid #f1aeb5;padding:8px 12px;border-radius:6px}
.panel{background:#fff;border:1px solid #ddd;border-radius:8px;padding:8px 16px;margin:12px 0}
.panel dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:4px 12px;margin:8px 0}
.panel dt{font-weight:600}.panel dd{margin:0;overflow-wrap:break-word}
.status{font-family:ui-monospace,monospace;font-size:.85rem}
pre{background:#fff;border:1px solid #ddd;padding:12px;overflow-x:auto;font-size:.8rem;
white-space:pre-wrap;overflow-wrap:anywhere}
footer{font-size:.85rem;color:#555}
"""

_TSHIRT: Final = (
    '<svg viewBox="0 0 120 120" role="img" aria-label="T-shirt">'
    '<path d="M40 14 L20 24 L6 46 L24 56 L30 46 L30 108 L90 108 L90 46 L96 56 L114 46 '
    'L100 24 L80 14 Q60 30 40 14 Z" fill="#2f6fde" stroke="#1d3f7a" stroke-width="3"/></svg>'
)


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def order_path(order_id: str) -> str:
    """The order's page, relative to the shop."""
    return f"/orders/{quote(order_id, safe='')}"


def _with_order(path: str, order_id: str) -> str:
    return f"{path}?order_id={quote(order_id, safe='')}"


def layout(shop: str, title: str, body: str, lang: str = "en") -> str:
    """A whole page: the demo notice, the shop's header, `body`, and a footer."""
    return f"""<!doctype html>
<html lang="{_e(lang)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)} · Demo shop</title>
<style>{_STYLE}</style>
</head><body>
<p class="notice" id="demo-notice" role="note">{_e(NOTICE)}</p>
<header><a href="{_e(shop)}">Demo T-shirt shop</a></header>
<main>
{body}
</main>
<footer><a href="{_e(shop)}/terms">Terms</a> · Payments here are simulated by
kco-sandbox; no money moves.</footer>
</body></html>"""


def _price_line(offer: Offer) -> str:
    price = money(offer.unit_price, offer.currency)
    if offer.tax_rate == 0:
        return price
    return f"{price} incl. {vat_label(offer.tax_rate)} VAT"


def shop_page(
    shop: str, offer: Offer, error: str | None = None, quantity: str = "1", *, token: str
) -> str:
    """The product, a quantity chooser and the button to the checkout; `token` is the form's
    token (the shop refuses a post without it)."""
    problem = f'<p class="error" id="demo-error" role="alert">{_e(error)}</p>' if error else ""
    body = f"""<h1>Our T-shirt</h1>
{problem}
<section class="product">
{_TSHIRT}
<div>
<h2>{_e(PRODUCT_NAME)}</h2>
<p>Organic cotton, one size fits most.</p>
<p class="price" id="demo-price">{_e(_price_line(offer))}</p>
<p>Sold in {_e(offer.country)}, prices in {_e(offer.currency)}.</p>
<form method="post" action="{_e(shop)}/checkout">
<input type="hidden" name="form_token" value="{_e(token)}">
<label for="quantity">Quantity</label>
<input id="quantity" name="quantity" type="number" min="1" max="{MAX_QUANTITY}"
 value="{_e(quantity)}" required>
<button type="submit" id="go-to-checkout">Go to checkout</button>
</form>
</div>
</section>"""
    return layout(shop, "Shop", body)


def _order_panel(shop: str, order: dict[str, Any], links: str | None = "") -> str:
    """Order id, status and total; then the link to the raw order and `links`, unless None.

    On the checkout page the total follows the checkout's `order_total_change` event
    (`CHECKOUT_SCRIPT`), so it always says what the checkout frame says.
    """
    order_id = str(order.get("order_id", ""))
    amount = order.get("order_amount")
    currency = str(order.get("purchase_currency", ""))
    total = money(amount, currency) if isinstance(amount, int) else "?"
    return f"""<section class="panel" id="demo-order-panel" aria-label="Order">
<dl>
<dt>Order id</dt><dd id="demo-order-id">{_e(order_id)}</dd>
<dt>Status</dt><dd class="status" id="demo-order-status">{_e(order.get("status", "?"))}</dd>
<dt>Total</dt><dd id="demo-order-total" data-currency="{_e(currency)}"
 aria-live="polite">{_e(total)}</dd>
</dl>
{_panel_links(shop, order_id, links)}
</section>"""


def _panel_links(shop: str, order_id: str, links: str | None) -> str:
    if links is None:
        return ""
    raw = _e(shop + order_path(order_id))
    return f'<p><a href="{raw}" id="demo-order-link">The order as the API returns it</a>{links}</p>'


def checkout_page(shop: str, order: dict[str, Any]) -> str:
    """The checkout: the order's `html_snippet` as it is, and the order panel."""
    order_id = str(order.get("order_id", ""))
    refresh = _e(shop + _with_order("/checkout", order_id))
    extra = f' · <a href="{refresh}" id="demo-refresh">Refresh status</a>'
    if order.get("status") == "checkout_complete":
        done = _e(shop + _with_order("/confirmation", order_id))
        extra += f' · <a href="{done}">Confirmation</a>'
    snippet = str(order.get("html_snippet", ""))
    body = f"""<h1>Checkout</h1>
{_order_panel(shop, order, extra)}
<div id="demo-checkout-container">{snippet}</div>
<script src="{_e(shop)}/checkout.js"></script>"""
    return layout(shop, "Checkout", body)


# The shop's own script on its checkout page, served at `/checkout.js` (a file of the shop's
# origin, so the page allows no inline code but the snippet's): it listens to the checkout's
# JavaScript API and keeps the panel's total equal to the order total the checkout shows, which
# changes when the shopper picks a priced shipping option.
CHECKOUT_SCRIPT: Final = """window._klarnaCheckout(function (api) {
  "use strict";
  api.on({
    order_total_change: function (data) {
      var total = document.getElementById("demo-order-total");
      var amount = data && data.order_total;
      if (!total || typeof amount !== "number") { return; }
      var sign = amount < 0 ? "-" : "";
      var cents = Math.abs(amount);
      var minor = String(cents % 100);
      total.textContent = sign + Math.floor(cents / 100) + "." +
        (minor.length < 2 ? "0" + minor : minor) + " " + total.getAttribute("data-currency");
    }
  });
});
"""


def confirmation_page(shop: str, order: dict[str, Any]) -> str:
    """Thank you and the confirmation snippet once complete; a way back otherwise."""
    order_id = str(order.get("order_id", ""))
    if order.get("status") == "checkout_complete":
        snippet = str(order.get("html_snippet", ""))
        body = f"""<h1 id="demo-thanks">Thank you for your order!</h1>
{_order_panel(shop, order)}
<div id="demo-confirmation-container">{snippet}</div>"""
        return layout(shop, "Thank you", body)
    back = _e(shop + _with_order("/checkout", order_id))
    body = f"""<h1>This order is not complete yet</h1>
{_order_panel(shop, order)}
<p><a href="{back}">Back to the checkout</a></p>"""
    return layout(shop, "Not complete", body)


def order_page(shop: str, order: dict[str, Any], pushes: Sequence[datetime]) -> str:
    """The order pretty-printed as the API returned it, and the pushes received for it."""
    if pushes:
        items = "".join(f"<li>{_e(at.strftime('%Y-%m-%d %H:%M:%S UTC'))}</li>" for at in pushes)
        received = f'<ol id="demo-pushes">{items}</ol>'
    else:
        received = '<p id="demo-pushes">No push received yet.</p>'
    pretty = json.dumps(order, indent=2, ensure_ascii=False)
    body = f"""<h1>Order</h1>
{_order_panel(shop, order, None)}
<h2>Pushes received</h2>
{received}
<h2>GET /checkout/v3/orders/{{order_id}}</h2>
<pre id="demo-order-json">{_e(pretty)}</pre>"""
    return layout(shop, "Order", body)


def terms_page(shop: str) -> str:
    body = """<h1>Terms</h1>
<p>This is a demo shop. Nothing is sold, nothing is shipped and no money moves: the checkout is
the sandbox's imitation of the real one.</p>
<p>A real shop puts its terms and conditions here; the checkout links to this page through the
order's <code>merchant_urls.terms</code>.</p>"""
    return layout(shop, "Terms", body)


def problem_page(shop: str, title: str, message: str) -> str:
    """A clear message and a way back to the shop, instead of an error page."""
    body = f"""<h1>{_e(title)}</h1>
<p class="error" id="demo-error" role="alert">{_e(message)}</p>
<p><a href="{_e(shop)}">Back to the shop</a></p>"""
    return layout(shop, title, body)
