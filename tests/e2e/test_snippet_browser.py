"""The `html_snippet` in a real browser (Debian's Chromium, driven by Playwright).

A merchant page embeds the snippet two ways real shops do: rendered into the page by its server,
and set with `innerHTML` followed by re-creating the `<script>` elements (scripts set through
`innerHTML` do not run). Either way the checkout iframe must appear, once, and load the hosted page.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import pytest

from tests.factories import MERCHANT, make_order
from tests.live import LiveServer

SERVER_RENDERED = """<!doctype html><html><body><h1>Shop checkout</h1>
<div id="checkout">{snippet}</div></body></html>"""

INNER_HTML = """<!doctype html><html><body><h1>Shop checkout</h1><div id="checkout"></div>
<script>
  var container = document.getElementById("checkout");
  container.innerHTML = {snippet_js};
  // Scripts set through innerHTML do not run: re-create them, as shop plugins do.
  function recreateScripts() {{
    container.querySelectorAll("script").forEach(function (old) {{
      var fresh = document.createElement("script");
      for (var i = 0; i < old.attributes.length; i++) {{
        fresh.setAttribute(old.attributes[i].name, old.attributes[i].value);
      }}
      fresh.text = old.text;
      old.parentNode.replaceChild(fresh, old);
    }});
  }}
  for (var round = 0; round < {rounds}; round++) {{ recreateScripts(); }}
</script></body></html>"""


class _Pages(BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, str]] = {}

    def do_GET(self) -> None:
        body = self.pages.get(self.path, "").encode()
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def shop() -> Iterator[tuple[str, dict[str, str]]]:
    """A merchant's web server on its own port: (base URL, path → page)."""
    pages: dict[str, str] = {}
    handler = type("Pages", (_Pages,), {"pages": pages})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", pages
    server.shutdown()
    server.server_close()


def snippet_for(server: LiveServer) -> tuple[str, str]:
    created = httpx.post(
        server.url + "/checkout/v3/orders",
        json=make_order(),
        auth=(MERCHANT.merchant_id, MERCHANT.api_key),
    )
    assert created.status_code == 201
    order = created.json()
    return order["order_id"], order["html_snippet"]


@pytest.mark.parametrize("embedding", ["server-rendered", "innerHTML", "innerHTML-run-twice"])
def test_the_snippet_draws_one_checkout_iframe(
    live_server: LiveServer, shop: tuple[str, dict[str, str]], browser: Any, embedding: str
) -> None:
    order_id, snippet = snippet_for(live_server)
    base, pages = shop
    if embedding == "server-rendered":
        pages["/checkout"] = SERVER_RENDERED.format(snippet=snippet)
    else:
        # `</` is escaped so that the snippet's own `</script>` does not end the page's script.
        pages["/checkout"] = INNER_HTML.format(
            snippet_js=json.dumps(snippet).replace("</", "<\\/"),
            rounds=2 if embedding.endswith("twice") else 1,
        )
    page = browser.new_page(viewport={"width": 320, "height": 640})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(base + "/checkout")

    iframe = page.wait_for_selector("iframe#klarna-checkout-iframe")
    assert iframe is not None
    assert iframe.get_attribute("name") == "klarna-checkout-iframe"
    assert iframe.get_attribute("src") == f"{live_server.url}/kco/checkout/{order_id}"
    frame = iframe.content_frame()
    assert frame is not None
    frame.wait_for_selector("#testdrive-marker")
    assert "TEST DRIVE" in frame.inner_text("body")
    assert "T-Shirt" in frame.inner_text("body")
    assert page.locator("iframe#klarna-checkout-iframe").count() == 1
    assert page.locator("#klarna-unsupported-page").count() == 0
    assert page.evaluate("typeof window._klarnaCheckout") == "function"
    assert page.evaluate("window._klarnaCheckout.config.ORDER_STATUS") == "checkout_incomplete"
    assert errors == []
    page.close()
