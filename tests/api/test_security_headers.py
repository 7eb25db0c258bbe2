"""Security headers: `nosniff` on every answer, a `Content-Security-Policy` on every HTML page.

The hosted checkout page may be framed by merchant pages on any origin, the demo shop and the
other pages only by their own origin; each page's inline code is allowed by its hash, nothing else
inline (the browser tests run the pages under these policies in Chromium).
"""

from __future__ import annotations

import base64
import hashlib
from html.parser import HTMLParser
from typing import Any

import pytest
from starlette.testclient import TestClient

from kco_sandbox.demo_shop import pages
from kco_sandbox.demo_shop.app import content_security_policy
from tests.conftest import BASE_URL
from tests.factories import make_order

ORDERS = "/checkout/v3/orders"


class Inline(HTMLParser):
    """A page's inline code, as a browser hashes it: scripts without `src`, styles, attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[str] = []
        self.data_blocks: list[str] = []
        self.styles: list[str] = []
        self.style_attributes: list[str] = []
        self.handlers: list[str] = []
        self._into: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        self.style_attributes += [v or "" for k, v in attrs if k == "style"]
        self.handlers += [k for k, _ in attrs if k.startswith("on")]
        if tag == "script" and "src" not in named:
            kind = named.get("type") or "text/javascript"
            self._into = self.data_blocks if kind == "application/json" else self.scripts
            self._into.append("")
        elif tag == "style":
            self._into = self.styles
            self._into.append("")

    def handle_data(self, data: str) -> None:
        if self._into is not None:
            self._into[-1] += data

    def handle_endtag(self, tag: str) -> None:
        self._into = None


def inline(page: str) -> Inline:
    found = Inline()
    found.feed(page)
    found.close()
    return found


def sha256(text: str) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"


def directives(policy: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for directive in policy.split(";"):
        name, *values = directive.split()
        assert name not in parsed, policy
        parsed[name] = values
    return parsed


def assert_only_hashed_inline(policy: dict[str, list[str]], page: str) -> None:
    code = inline(page)
    assert code.handlers == []
    script = policy.get("script-src", policy["default-src"])
    style = policy.get("style-src", policy["default-src"])
    assert "'unsafe-inline'" not in script + style, policy
    assert sorted(set(script)) == sorted({"'self'", *map(sha256, code.scripts)})
    for text in code.styles:
        assert sha256(text) in style
    for text in code.style_attributes:
        assert {"'unsafe-hashes'", sha256(text)} <= set(style)


@pytest.fixture
def order(client: TestClient) -> dict[str, Any]:
    created = client.post(
        ORDERS, json=make_order(options={"color_button": "#112233", "radius_border": "4px"})
    )
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


def test_every_answer_says_nosniff(client: TestClient, order: dict[str, Any]) -> None:
    answers = [
        client.get(f"{ORDERS}/{order['order_id']}"),
        client.post(ORDERS, json={}),
        client.get(ORDERS + "/no-such-order"),
        client.get("/checkout/v3/orders", auth=("nobody", "wrong")),
        client.get("/kco/checkout.bootstrap.js"),
        client.get("/kco/checkout.page.js"),
        client.get(f"/kco/checkout/{order['order_id']}"),
        client.get("/demo"),
        client.get("/no/such/path"),
    ]
    for answer in answers:
        assert answer.headers["X-Content-Type-Options"] == "nosniff", answer.request.url
        assert answer.headers.get_list("X-Content-Type-Options") == ["nosniff"]


def test_json_and_scripts_carry_no_page_policy(client: TestClient, order: dict[str, Any]) -> None:
    for answer in (
        client.get(f"{ORDERS}/{order['order_id']}"),
        client.get("/kco/checkout.bootstrap.js"),
    ):
        assert answer.status_code == 200
        assert "Content-Security-Policy" not in answer.headers


def test_the_checkout_page_is_framable_anywhere_and_runs_only_its_own_code(
    client: TestClient, order: dict[str, Any]
) -> None:
    answer = client.get(f"/kco/checkout/{order['order_id']}")
    assert answer.status_code == 200
    assert answer.headers.get_list("Content-Security-Policy") == [
        answer.headers["Content-Security-Policy"]
    ]
    policy = directives(answer.headers["Content-Security-Policy"])
    assert policy["frame-ancestors"] == ["*"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    code = inline(answer.text)
    assert len(code.styles) == 1
    assert "#112233" in code.styles[0]
    assert policy["style-src"] == [sha256(code.styles[0])]
    assert policy["script-src"] == ["'self'"]  # the page state is JSON, never run
    assert len(code.data_blocks) == 1
    assert_only_hashed_inline(policy, answer.text)


def test_each_theme_gets_its_own_style_hash(client: TestClient, order: dict[str, Any]) -> None:
    other = client.post(ORDERS, json=make_order(options={"color_button": "#445566"})).json()
    first = client.get(f"/kco/checkout/{order['order_id']}")
    second = client.get(f"/kco/checkout/{other['order_id']}")
    firsts = directives(first.headers["Content-Security-Policy"])["style-src"]
    seconds = directives(second.headers["Content-Security-Policy"])["style-src"]
    assert firsts != seconds
    assert seconds == [sha256(inline(second.text).styles[0])]


def test_a_missing_checkout_is_still_framable_and_allows_nothing_inline(
    client: TestClient,
) -> None:
    answer = client.get("/kco/checkout/no-such-order")
    assert answer.status_code == 404
    policy = directives(answer.headers["Content-Security-Policy"])
    assert policy["frame-ancestors"] == ["*"]
    assert policy["style-src"] == ["'none'"]
    assert_only_hashed_inline(policy, answer.text)


@pytest.mark.parametrize("path", ["/demo", "/demo/terms", "/demo/checkout"])
def test_demo_pages_are_framed_only_by_their_own_origin(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.headers["Content-Type"].startswith("text/html")
    policy = directives(answer.headers["Content-Security-Policy"])
    assert policy["frame-ancestors"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert_only_hashed_inline(policy, answer.text)


def test_the_demo_checkout_allows_exactly_the_snippets_inline_code(
    client: TestClient, order: dict[str, Any]
) -> None:
    page = pages.checkout_page(BASE_URL + "/demo", order)
    code = inline(page)
    assert len(code.scripts) == 1
    assert "_klarnaCheckout" in code.scripts[0]
    assert code.style_attributes == ["overflow-x: hidden;"]
    policy = directives(content_security_policy(page))
    assert policy["frame-ancestors"] == ["'self'"]
    assert policy["script-src"] == ["'self'", sha256(code.scripts[0])]
    assert_only_hashed_inline(policy, page)
    # The snippet's bootstrap script and checkout frame come from the platform, the same origin.
    assert "frame-src" not in policy
    assert "child-src" not in policy


def test_other_html_pages_get_the_default_policy(client: TestClient) -> None:
    answer = client.get(ORDERS + "/x", auth=("nobody", "wrong"))
    assert answer.status_code == 401
    assert answer.headers["Content-Type"].startswith("text/html")
    policy = directives(answer.headers["Content-Security-Policy"])
    assert policy == {
        "default-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'self'"],
    }
    assert_only_hashed_inline(policy, answer.text)
