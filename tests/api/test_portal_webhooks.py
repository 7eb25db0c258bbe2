"""The portal's Webhooks page, and webhook deliveries in the order page and the journal, on both
engines, through the real app (sign in, form tokens, redirects); effects checked through the
sandbox API and a real receiver."""

from __future__ import annotations

import html
from typing import Any

from starlette.testclient import TestClient

from tests.api.test_portal_actions import sign_in
from tests.api.test_webhooks import completed, create, deliver
from tests.factories import OTHER_MERCHANT
from tests.receiver import Receiver
from tests.webhook_support import event, verify

HOOKS = "/_sandbox/webhooks"


def post(client: TestClient, path: str, token: str, **fields: Any) -> Any:
    return client.post(path, data={"csrf_token": token, **fields}, follow_redirects=False)


def test_create_rotate_test_and_delete_in_the_portal(
    client: TestClient, receiver: Receiver
) -> None:
    token = sign_in(client)
    empty = client.get("/portal/webhooks")
    assert empty.status_code == 200
    assert "No destinations yet" in empty.text
    made = post(
        client,
        "/portal/webhooks",
        token,
        name="Shop hooks",
        url=receiver.url + "/hooks",
        events=["capture.created", "refund.created"],
    )
    assert (made.status_code, made.headers["location"]) == (303, "/portal/webhooks?done=created")
    [hook] = client.get(HOOKS).json()["webhooks"]
    assert hook["events"] == ["capture.created", "refund.created"]
    shown = client.get("/portal/webhooks?done=created").text
    assert "Shop hooks" in shown
    assert hook["signing_secret"] in shown
    one = f"/portal/webhooks/{hook['id']}"
    assert post(client, one + "/test", token).headers["location"].endswith("done=tested")
    deliver(client)
    [received] = receiver.calls("/hooks")
    assert event(received)["type"] == "webhook.test"
    assert verify(received, hook["signing_secret"])
    assert post(client, one + "/rotate-secret", token).status_code == 303
    rotated = client.get(f"{HOOKS}/{hook['id']}").json()
    assert rotated["signing_secret"] != hook["signing_secret"]
    assert "still signs" in client.get("/portal/webhooks").text
    assert post(client, one + "/delete", token).headers["location"].endswith("done=deleted")
    assert client.get(HOOKS).json() == {"webhooks": []}


def test_a_refused_destination_shows_why_and_keeps_the_values(client: TestClient) -> None:
    token = sign_in(client)
    answer = post(
        client, "/portal/webhooks", token, name="n", url="ftp://x.example/", all_events="1"
    )
    assert answer.status_code == 400
    assert "BAD_VALUE" in answer.text
    assert html.escape("Bad value: url") in answer.text
    assert 'value="ftp://x.example/"' in answer.text
    assert client.get(HOOKS).json() == {"webhooks": []}


def test_a_form_without_the_token_does_nothing(client: TestClient) -> None:
    sign_in(client)
    answer = client.post(
        "/portal/webhooks",
        data={"name": "n", "url": "https://x.example/", "all_events": "1"},
        follow_redirects=False,
    )
    assert answer.status_code == 403
    assert client.get(HOOKS).json() == {"webhooks": []}


def test_another_merchants_destination_cannot_be_touched(client: TestClient) -> None:
    mine = create(client, "https://shop.example/hooks")
    token = sign_in(client, OTHER_MERCHANT)
    answer = post(client, f"/portal/webhooks/{mine['id']}/delete", token)
    assert answer.status_code == 404
    assert mine["url"] not in client.get("/portal/webhooks").text
    assert len(client.get(HOOKS).json()["webhooks"]) == 1


def test_deliveries_show_with_their_event_type_on_the_order_page_and_in_the_journal(
    client: TestClient, receiver: Receiver
) -> None:
    create(client, receiver.url + "/hooks", ["order.created"])
    order_id = completed(client, receiver)
    deliver(client)
    sign_in(client)
    order_page = client.get(f"/portal/orders/{order_id}").text
    assert "Webhook · attempt 1" in order_page
    assert "order.created" in order_page
    journal = client.get("/portal/journal?kind=callbacks").text
    assert "Webhook: order.created" in journal
