"""The portal's journal, its exports (JSON and HAR 1.2) and the live streams, through the real
app on both engines: a merchant sees its own calls and callbacks only, newest first, filtered and
a bounded page at a time; exports are well-formed and capped; a live stream shows a new call."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from kco_sandbox.clock import FrozenClock
from kco_sandbox.domain.delivery import Attempt, Callback, CallbackKind, CallbackStatus
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.store import Store
from tests.factories import MERCHANT, OTHER_MERCHANT, make_order

ORDERS = "/checkout/v3/orders"
OTHER_AUTH = (OTHER_MERCHANT.merchant_id, OTHER_MERCHANT.api_key)
ROW = re.compile(r'<tr data-id="([ea]\d+)">')
LIVE = re.compile(r'data-live="([^"]+)"')


def sign_in(client: TestClient, merchant: Merchant = MERCHANT) -> None:
    form = {"username": merchant.merchant_id, "password": merchant.api_key, "next": ""}
    assert client.post("/portal/sign-in", data=form, follow_redirects=False).status_code == 303


def create(client: TestClient, auth: tuple[str, str] | None = None) -> str:
    if auth is None:
        response = client.post(ORDERS, json=make_order())
    else:
        body = make_order(purchase_country="DE", purchase_currency="EUR", locale="de-DE")
        response = client.post(ORDERS, json=body, auth=auth)
    assert response.status_code == 201, response.text
    return str(response.json()["order_id"])


def attempt(
    store: Store,
    at: datetime,
    order_id: str,
    status: int | None,
    merchant_id: str = MERCHANT.merchant_id,
    url: str = "https://user:secret@shop.example/push?token=secret-token",
) -> None:
    """A push to `order_id` and one attempt of it, as the delivery worker records them."""
    callback = Callback(
        callback_id=str(uuid.uuid4()),
        order_id=order_id,
        merchant_id=merchant_id,
        kind=CallbackKind.PUSH,
        url=url,
        body=b"{}",
        starts_at=at,
        next_attempt_at=None,
    )
    store.events.flush()
    store.outbox.enqueue(callback, at)
    error = None if status is not None else "timeout"
    tried = Attempt(started_at=at, status_code=status, duration_ms=12.5, error=error)
    store.outbox.record(callback, [tried], CallbackStatus.DELIVERED, None)


def journal(client: TestClient, query: str = "") -> tuple[list[str], str]:
    response = client.get("/portal/journal" + query)
    assert response.status_code == 200, response.text
    return ROW.findall(response.text), response.text


@pytest.fixture
def scene(client: TestClient, store: Store, clock: FrozenClock) -> dict[str, str]:
    """MERCHANT: a create, a failed update and a read of order A, then a push attempt answered
    500; OTHER_MERCHANT: an order of its own with a push. A second apart, in that order."""
    order = create(client)
    clock.advance(timedelta(seconds=1))
    bad = client.post(f"{ORDERS}/{order}", json={"order_amount": 1})
    assert bad.status_code == 400
    clock.advance(timedelta(seconds=1))
    assert client.get(f"{ORDERS}/{order}").status_code == 200
    clock.advance(timedelta(seconds=1))
    other = create(client, auth=OTHER_AUTH)
    attempt(store, clock.now(), other, 200, merchant_id=OTHER_MERCHANT.merchant_id)
    clock.advance(timedelta(seconds=1))
    attempt(store, clock.now(), order, 500)
    sign_in(client)
    return {"order": order, "other": other}


def test_the_journal_lists_the_merchants_calls_and_callbacks_newest_first(
    client: TestClient, scene: dict[str, str]
) -> None:
    rows, html = journal(client)
    assert len(rows) == 4  # push attempt, read, failed update, create
    assert rows[0].startswith("a")
    assert all(r.startswith("e") for r in rows[1:])
    assert scene["other"] not in html  # neither its order, nor its calls or callbacks
    order = scene["order"]
    texts = [html.index(f'data-id="{r}"') for r in rows]
    assert texts == sorted(texts)
    assert "500 Internal Server Error" in html
    assert "400 Bad Request" in html
    assert "201 Created" in html
    assert "200 OK" in html
    # The callback URL as logged elsewhere: no user name, password or query.
    assert "https://shop.example/push" in html
    assert "secret-token" not in html
    assert "user:secret" not in html
    assert f'href="/portal/orders/{order}"' in html
    assert f"/checkout/v3/orders/{order}" in html
    assert 'aria-current="page">Journal' in html


def test_the_filters_pick_kinds_failures_and_paths(
    client: TestClient, scene: dict[str, str]
) -> None:
    everything, _ = journal(client)
    api, _ = journal(client, "?kind=api")
    assert api == everything[1:]
    callbacks, _ = journal(client, "?kind=callbacks")
    assert callbacks == everything[:1]
    failed, html = journal(client, "?failed=1")
    assert failed == [everything[0], everything[2]]  # the 500 push, the 400 update
    assert "200 OK" not in html
    # Contained anywhere in the path, in any case, with LIKE's wildcards taken literally.
    assert journal(client, "?path=" + scene["order"].upper())[0] == everything[1:3]
    assert journal(client, "?path=shop.example/PUSH")[0] == everything[:1]
    assert journal(client, "?path=%25")[0] == []
    assert journal(client, "?path=_")[0] == []
    both, _ = journal(client, "?kind=api&failed=1&path=checkout")
    assert both == [everything[2]]
    # An unknown kind is every call and callback; the form shows the filters as applied.
    assert journal(client, "?kind=nonsense")[0] == everything
    _, form = journal(client, "?kind=api&failed=1&path=abc")
    assert 'value="api" selected' in form
    assert "checked" in form
    assert 'value="abc"' in form


def seed(store: Store, clock: FrozenClock, order_id: str, count: int) -> None:
    """`count` API calls on `order_id`, three at each instant, with a push attempt at the same
    instant as every fifth: the cursor must tell rows of both tables at one time apart."""
    store.events.flush()
    start = clock.now() + timedelta(minutes=1)
    with store.db.write() as conn:
        for n in range(count):
            detail = {"method": "GET", "path": f"/x/{n}", "status": 200, "correlation_id": str(n)}
            store.events.add_on(
                conn, order_id, start + timedelta(seconds=n // 3), "api.call", detail
            )
    for n in range(0, count, 5):
        attempt(store, start + timedelta(seconds=n // 3), order_id, 204)


def test_pages_are_bounded_and_cover_every_row_once(
    client: TestClient, store: Store, clock: FrozenClock
) -> None:
    order = create(client)
    seed(store, clock, order, 230)
    sign_in(client)
    seen: list[str] = []
    query = ""
    pages = 0
    while True:
        response = client.get("/portal/journal" + query)
        rows = ROW.findall(response.text)
        assert len(rows) <= 100
        seen += rows
        pages += 1
        found = re.search(r'href="/portal/journal\?(after=[^"]+)" rel="next"', response.text)
        if found is None:
            break
        assert LIVE.search(response.text) is None or pages == 1  # live on the first page only
        query = "?" + found.group(1).replace("&amp;", "&")
    expected = 230 + 46 + 1  # calls, attempts, the order's create
    assert pages == 3
    assert len(seen) == expected == len(set(seen))
    bad = client.get("/portal/journal?after=not-a-cursor")
    assert bad.status_code == 400
    assert "not one this journal gave" in bad.text


def test_not_signed_in_is_sent_to_sign_in(client: TestClient) -> None:
    order = create(client)
    for path in (
        "/portal/journal",
        "/portal/journal/export.json",
        "/portal/journal/export.har",
        f"/portal/orders/{order}/export.json",
        f"/portal/orders/{order}/export.har",
        "/portal/journal/live",
        f"/portal/orders/{order}/live",
    ):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/portal/sign-in?next="), path


HAR_REQUEST = {"method", "url", "httpVersion", "cookies", "headers", "queryString"}
HAR_RESPONSE = {"status", "statusText", "httpVersion", "cookies", "headers", "content"}


def check_har(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The fields HAR 1.2 requires, with their types; the entries."""
    log = document["log"]
    assert log["version"] == "1.2"
    assert isinstance(log["creator"]["name"], str)
    assert isinstance(log["creator"]["version"], str)
    entries: list[dict[str, Any]] = log["entries"]
    for entry in entries:
        datetime.fromisoformat(entry["startedDateTime"].replace("Z", "+00:00"))
        request, response = entry["request"], entry["response"]
        assert HAR_REQUEST | {"headersSize", "bodySize"} <= request.keys()
        assert HAR_RESPONSE | {"redirectURL", "headersSize", "bodySize"} <= response.keys()
        for part in (request, response):
            assert part["httpVersion"] == "HTTP/1.1"
            assert all(isinstance(part[key], list) for key in ("cookies", "headers"))
            assert all({"name", "value"} <= header.keys() for header in part["headers"])
            assert isinstance(part["headersSize"], int)
            assert isinstance(part["bodySize"], int)
        assert isinstance(request["queryString"], list)
        assert isinstance(response["status"], int)
        assert isinstance(response["statusText"], str)
        assert {"size", "mimeType"} <= response["content"].keys()
        assert isinstance(entry["cache"], dict)
        timings = entry["timings"]
        assert {"send", "wait", "receive"} <= timings.keys()
        spent = sum(value for value in timings.values() if value != -1)
        assert entry["time"] == pytest.approx(spent)
    return entries


def test_journal_exports_are_well_formed_filtered_and_the_merchants_own(
    client: TestClient, scene: dict[str, str]
) -> None:
    order = scene["order"]
    response = client.get("/portal/journal/export.json")
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    assert response.headers["content-disposition"].endswith('.json"')
    document = response.json()
    assert document["merchant_id"] == MERCHANT.merchant_id
    assert document["truncated"] is False
    types = [entry["type"] for entry in document["entries"]]
    assert types == ["api.call", "api.call", "api.call", "push.attempt"]  # oldest first
    assert document["count"] == 4
    assert {entry["order_id"] for entry in document["entries"]} == {order}
    assert scene["other"] not in response.text
    assert "secret-token" not in response.text

    har = client.get("/portal/journal/export.har")
    assert har.status_code == 200
    assert har.headers["content-disposition"].endswith('.har"')
    entries = check_har(har.json())
    assert len(entries) == 4
    assert [e["request"]["url"] for e in entries[:3]] == [
        "http://testserver/checkout/v3/orders",
        f"http://testserver/checkout/v3/orders/{order}",
        f"http://testserver/checkout/v3/orders/{order}",
    ]
    assert [e["response"]["status"] for e in entries] == [201, 400, 200, 500]
    assert entries[3]["request"]["url"] == "https://shop.example/push"
    assert entries[3]["time"] == 12.5
    assert scene["other"] not in har.text
    assert "secret-token" not in har.text

    failed = client.get("/portal/journal/export.har?failed=1&kind=callbacks")
    assert [e["response"]["status"] for e in check_har(failed.json())] == [500]


def test_an_orders_export_is_its_whole_timeline(client: TestClient, scene: dict[str, str]) -> None:
    order = scene["order"]
    done = client.post(f"/_sandbox/orders/{order}/complete", json={})
    assert done.status_code == 200, done.text
    document = client.get(f"/portal/orders/{order}/export.json").json()
    types = [entry["type"] for entry in document["entries"]]
    assert document["order_id"] == order
    assert "purchase.completed" in types
    assert "push.attempt" in types
    assert types.count("api.call") == 4  # create, failed update, read, complete
    entries = check_har(client.get(f"/portal/orders/{order}/export.har").json())
    assert len(entries) == len(types) - 1  # every HTTP exchange; the purchase itself is not one
    assert {entry["_orderId"] for entry in entries} == {order}
    for path in ("export.json", "export.har", "live"):
        refused = client.get(f"/portal/orders/{scene['other']}/{path}")
        assert refused.status_code == 404, path
        assert scene["other"] in refused.text
        assert "Order not found" in refused.text


def read_events(lines: Any, until: str) -> list[dict[str, Any]]:
    """The `entry` events of a stream up to one whose data contains `until` (or its end)."""
    found: list[dict[str, Any]] = []
    event = ""
    for line in lines:
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: ") and event == "entry":
            found.append(json.loads(line.removeprefix("data: ")))
            if until in line:
                return found
        elif line.startswith("data: ") and event == "end":
            return found
    return found


def test_a_live_stream_shows_a_new_call(client: TestClient, scene: dict[str, str]) -> None:
    _, html = journal(client)
    live = LIVE.search(html)
    assert live is not None
    url = live.group(1).replace("&amp;", "&")
    assert url.startswith("/portal/journal/live?from=")
    with client.stream("GET", url + "&seconds=5") as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert stream.headers["cache-control"] == "no-store"
        lines = stream.iter_lines()
        assert next(lines) == "retry: 3000"
        # Made while the stream is open: it shows up on a later poll.
        order = create(client)
        assert client.get(f"{ORDERS}/{scene['other']}", auth=OTHER_AUTH).status_code == 200
        entries = read_events(lines, order)
    assert len(entries) == 1
    assert entries[0]["order_id"] == order
    assert entries[0]["status_text"] == "201 Created"
    assert entries[0]["kind"] == "api"
    assert entries[0]["target"] == ORDERS


def test_an_orders_live_stream_ends_and_resumes_where_it_left_off(
    client: TestClient, scene: dict[str, str], store: Store, clock: FrozenClock
) -> None:
    order = scene["order"]
    url = f"/portal/orders/{order}/live?seconds=1"
    with client.stream("GET", url) as stream:
        body = stream.read().decode()
    assert "event: end" in body  # bounded: it ends, and the browser reconnects
    last = re.findall(r"^id: (e\d+\.a\d+)$", body, re.MULTILINE)[-1]
    assert client.get(f"{ORDERS}/{order}").status_code == 200
    attempt(store, clock.now(), order, None)  # no answer: a timeout
    with client.stream("GET", url, headers={"Last-Event-ID": last}) as stream:
        entries = read_events(stream.iter_lines(), "push")
    assert [entry["type"] for entry in entries] == ["api.call", "push.attempt"]
    assert entries[1]["status_text"] == "no answer: timeout"
    assert entries[1]["status_class"] == "bad"
