"""The `html_snippet`: the fragment a merchant puts on its checkout page.

Same structure as the vendor's: `div#klarna-checkout-container` with a fallback message that fades
in only if the checkout never boots, an inline script that defines the `window._klarnaCheckout`
queue and a configuration object and then appends the bootstrap script (which draws the iframe),
and a `<noscript>` note. Nothing uses `document.write`, so the snippet also works when a merchant
page re-creates its `<script>` elements after setting `innerHTML`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from kco_sandbox.domain.checkout.lifecycle import WIRE_STATUS
from kco_sandbox.domain.checkout.record import CheckoutRecord, order_url
from kco_sandbox.domain.market import VENDOR_MARKETS

_FALLBACK_STYLE = (
    "@keyframes klarnaFadeIn{from{opacity:0}to{opacity:1}}"
    "#klarna-unsupported-page{opacity:0;animation:klarnaFadeIn ease-in 1;"
    "animation-fill-mode:forwards;animation-duration:.1s;animation-delay:5s;"
    "text-align:center;padding-top:64px;font-family:Helvetica,Arial,sans-serif}"
    "#klarna-unsupported-page .heading{font-weight:200;color:#303030;font-size:42px;margin:24px 0}"
    "#klarna-unsupported-page .subheading{color:rgba(0,0,0,.7);font-size:19px;"
    "max-width:560px;margin:10px auto}"
)


def js(value: Any) -> str:
    """A JavaScript literal that is also safe inside an HTML `<script>` element."""
    return (
        json.dumps(value)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("'", "\\u0027")
    )


def client_token(order_id: str) -> str:
    """The order's client credential, as the vendor's `AUTH_HEADER` carries one."""
    return hashlib.sha256(f"kco-sandbox:{order_id}".encode()).hexdigest()[:20]


def page_url(base_url: str, order_id: str) -> str:
    """Where the iframe of an order points: the hosted checkout page."""
    return f"{base_url}/kco/checkout/{order_id}"


def render_snippet(record: CheckoutRecord, base_url: str, merchant_name: str) -> str:
    order = record.order
    market = VENDOR_MARKETS.get(order.purchase_country.upper())
    options = order.options
    config = {
        "ORDER_URL": order_url(base_url, record.order_id),
        "IFRAME_URL": page_url(base_url, record.order_id),
        "AUTH_HEADER": f"KlarnaCheckout {client_token(record.order_id)}",
        "LOCALE": order.locale,
        "ORDER_STATUS": WIRE_STATUS[record.status],
        "MERCHANT_TAC_URI": order.merchant_urls.terms,
        "MERCHANT_NAME": merchant_name,
        "GUI_OPTIONS": (order.gui.options if order.gui and order.gui.options else []),
        "ALLOW_SEPARATE_SHIPPING_ADDRESS": bool(
            options and options.allow_separate_shipping_address
        ),
        "PURCHASE_COUNTRY": market.alpha3 if market else order.purchase_country.lower(),
        "PURCHASE_CURRENCY": order.purchase_currency,
        "TESTDRIVE": True,
        "CHECKOUT_DOMAIN": base_url,
        "BOOTSTRAP_SRC": f"{base_url}/kco/checkout.bootstrap.js",
    }
    entries = js(config)
    return f"""<div id="klarna-checkout-container" style="overflow-x: hidden;">
  <div id="klarna-unsupported-page">
  <style type="text/css">
  {_FALLBACK_STYLE}
  </style>
  <h1 class="heading">Oops.</h1>
    <p class="subheading">The checkout failed to load, so there is no way to pay right now.</p>
    <p class="subheading">Please refresh the page to try again.</p>
  </div>
  <script id="klarna-checkout-context" type="text/javascript">
  /* <![CDATA[ */
  (function(w,k,i,d,n,c,l){{
    w[k]=w[k]||function(){{(w[k].q=w[k].q||[]).push(arguments)}};
    l=w[k].config={entries};
    l.container=w.document.getElementById(i);
    n=d.createElement('script');
    c=d.getElementById(i);
    n.async=!0;
    n.src=l.BOOTSTRAP_SRC;
    c.appendChild(n);
  }})(this,'_klarnaCheckout','klarna-checkout-container',document);
  /* ]]> */
  </script>
  <noscript>
Please enable JavaScript to complete your purchase.
  </noscript>
</div>"""
