"""The client's webhook destinations and disputes against a real server (this session's
`kco_sandbox`, whose delivery worker sends the webhooks), the `kco_webhooks` fixture that
receives them, and `verify_webhook` on what really arrived.

The session's merchant is shared with the other tests, and some of them move its clock by days:
the fixture judges timestamps by that clock, which is what these tests rely on.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from kco_sandbox.client import (
    Delivery,
    KcoApiError,
    KcoClient,
    KcoSandbox,
    WebhookReceiver,
    WebhookVerificationError,
    local_sandbox,
    verify_webhook,
)

WAIT = 10.0  # seconds: the worker sends at once; this is only a bound for a slow machine


def bought(kco: KcoClient) -> str:
    """An authorized order of 500.00 kr, acknowledged (so no pushes wait on the clock)."""
    order_id = str(kco.create_order()["order_id"])
    kco.complete(order_id, "anna@example.com")
    kco.acknowledge(order_id)
    return order_id


def random_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def delivered_test_event(hooks: WebhookReceiver) -> Delivery:
    """The delivery of a `webhook.test` event sent now."""
    sent = hooks.send_test()
    envelope = hooks.wait_for("webhook.test", WAIT)
    assert envelope["id"] == sent["event_id"]
    (delivery,) = [d for d in hooks.deliveries if d.envelope == envelope]
    return delivery


@pytest.fixture
def destination(kco: KcoClient) -> Iterator[dict[str, Any]]:
    """A destination of this test's own, deleted afterwards."""
    made = kco.create_webhook("My shop", "http://127.0.0.1:9/hooks", ["capture.created"])
    yield made
    kco.delete_webhook(made["id"])


def test_a_destination_is_created_listed_read_rotated_and_deleted(kco: KcoClient) -> None:
    made = kco.create_webhook(
        "  My shop  ", "http://127.0.0.1:9/hooks", ["capture.created", "order.created"]
    )
    try:
        assert made["name"] == "My shop"
        assert made["events"] == ["order.created", "capture.created"]  # catalogue order
        assert made["signing_secret"].startswith("whsec_")
        assert made["previous_secret_expires_at"] is None
        assert kco.get_webhook(made["id"]) == made
        assert made in kco.list_webhooks()

        rotated = kco.rotate_webhook_secret(made["id"])
        assert rotated["signing_secret"] != made["signing_secret"]
        assert rotated["signing_secret"].startswith("whsec_")
        assert rotated["previous_secret_expires_at"] is not None
        assert kco.get_webhook(made["id"]) == rotated
    finally:
        kco.delete_webhook(made["id"])

    assert made["id"] not in [d["id"] for d in kco.list_webhooks()]
    with pytest.raises(KcoApiError) as gone:
        kco.get_webhook(made["id"])
    assert (gone.value.status, gone.value.error_code) == (404, "NOT_FOUND")


def test_every_event_is_the_default(kco: KcoClient) -> None:
    made = kco.create_webhook("All of it", "http://127.0.0.1:9/hooks")
    kco.delete_webhook(made["id"])
    assert made["events"] == ["*"]


def test_a_test_event_reaches_the_fixture_signed(
    kco_webhooks: WebhookReceiver,
) -> None:
    delivery = delivered_test_event(kco_webhooks)

    destination = kco_webhooks.destination
    assert destination is not None
    assert delivery.envelope is not None
    assert delivery.envelope["type"] == "webhook.test"
    assert delivery.envelope["data"] == {"destination_id": destination["id"]}
    assert delivery.headers["webhook-id"] == delivery.envelope["id"]
    assert delivery.headers["content-type"] == "application/json"
    # The same check, made here from what arrived, without the merchant's clock.
    secret = destination["signing_secret"]
    assert verify_webhook(secret, delivery.headers, delivery.body, tolerance=None) == (
        delivery.envelope
    )


def test_a_capture_is_announced_and_verified(kco: KcoClient, kco_webhooks: WebhookReceiver) -> None:
    order_id = bought(kco)
    opened = kco_webhooks.wait_for("order.created", WAIT, order_id=order_id)
    capture = kco.capture(order_id, 20000)

    announced = kco_webhooks.wait_for("capture.created", WAIT, order_id=order_id)

    assert opened["data"] == {"order_id": order_id}
    assert announced["data"] == {"order_id": order_id, "capture_id": capture["capture_id"]}
    assert announced["merchant_id"] == kco.username
    assert announced["id"].startswith("kevt_")
    assert announced["id"] != opened["id"]
    refund = kco.refund(order_id, 5000)
    refunded = kco_webhooks.wait_for("refund.created", WAIT, order_id=order_id)
    assert refunded["data"] == {"order_id": order_id, "refund_id": refund["refund_id"]}


def test_a_second_wait_waits_for_a_second_event(
    kco: KcoClient, kco_webhooks: WebhookReceiver
) -> None:
    order_id = bought(kco)
    first = kco.capture(order_id, 10000)["capture_id"]
    second = kco.capture(order_id, 10000)["capture_id"]

    seen = {
        kco_webhooks.wait_for("capture.created", WAIT, order_id=order_id)["data"]["capture_id"],
        kco_webhooks.wait_for("capture.created", WAIT, order_id=order_id)["data"]["capture_id"],
    }

    assert seen == {first, second}
    with pytest.raises(TimeoutError, match=r"no capture\.created webhook"):
        kco_webhooks.wait_for("capture.created", 0.3, order_id=order_id)


def test_a_tampered_delivery_fails_verification(kco_webhooks: WebhookReceiver) -> None:
    delivery = delivered_test_event(kco_webhooks)
    assert kco_webhooks.destination is not None
    secret = kco_webhooks.destination["signing_secret"]
    headers, body = delivery.headers, delivery.body

    def refused(match: str, **changes: Any) -> None:
        given: dict[str, Any] = {"headers": headers, "body": body, "tolerance": None, **changes}
        with pytest.raises(WebhookVerificationError, match=match):
            verify_webhook(given.pop("secrets", secret), **given)

    refused("no v1 signature", body=body.replace(b"webhook.test", b"webhook.tesT"))
    refused("no v1 signature", body=body + b" ")
    refused("no v1 signature", secrets=random_secret())
    refused("no v1 signature", headers={**headers, "webhook-id": "kevt_other"})
    stamp = int(headers["webhook-timestamp"])
    refused("no v1 signature", headers={**headers, "webhook-timestamp": str(stamp + 1)})
    refused("no v1 signature", headers={**headers, "webhook-signature": "v2," + "A" * 44})
    refused("webhook-signature header is missing", headers={**headers, "webhook-signature": ""})
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        missing = {k: v for k, v in headers.items() if k != name}
        refused(f"the {name} header is missing", headers=missing)
    refused("not unix seconds", headers={**headers, "webhook-timestamp": f"{stamp}.5"})
    refused("not unix seconds", headers={**headers, "webhook-timestamp": "9" * 5000})
    # The time: the signature holds, the timestamp is judged against `now`.
    refused("s old", tolerance=300, now=stamp + 301)
    refused("in the future", tolerance=timedelta(minutes=5), now=stamp - 301)
    refused("s old", tolerance=300, now=datetime.fromtimestamp(stamp + 301, UTC))

    assert verify_webhook(secret, headers, body, tolerance=300, now=stamp + 300) == (
        delivery.envelope
    )
    assert verify_webhook(secret, headers, body, now=datetime.fromtimestamp(stamp - 299, UTC))
    # Header names in any case, the body as text, the secret among others.
    title_case = {name.title(): value for name, value in headers.items()}
    others = [random_secret(), secret]
    assert verify_webhook(others, title_case, body.decode(), tolerance=None) == delivery.envelope
    with pytest.raises(ValueError, match="whsec_ followed by base64"):
        verify_webhook("whsec_not base64!", headers, body)
    with pytest.raises(ValueError, match="at least one signing secret"):
        verify_webhook([], headers, body)


def test_rotation_signs_with_both_secrets(kco_webhooks: WebhookReceiver) -> None:
    assert kco_webhooks.destination is not None
    old = kco_webhooks.destination["signing_secret"]
    rotated = kco_webhooks.rotate_secret()
    new = rotated["signing_secret"]
    assert kco_webhooks.secrets == [new, old]

    delivery = delivered_test_event(kco_webhooks)

    entries = delivery.headers["webhook-signature"].split(" ")
    assert len(entries) == 2
    assert all(e.startswith("v1,") for e in entries)
    for secret in (new, old):
        assert verify_webhook(secret, delivery.headers, delivery.body, tolerance=None)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(random_secret(), delivery.headers, delivery.body, tolerance=None)


def test_a_moved_clock_is_judged_by_the_merchants_time(
    kco: KcoClient, kco_webhooks: WebhookReceiver
) -> None:
    kco.advance("1d")

    delivery = delivered_test_event(kco_webhooks)  # the fixture judged it by the merchant's clock

    assert kco_webhooks.destination is not None
    secret = kco_webhooks.destination["signing_secret"]
    with pytest.raises(WebhookVerificationError, match="in the future"):
        verify_webhook(secret, delivery.headers, delivery.body)  # this machine's time
    merchant_now = datetime.fromisoformat(kco.clock()["now"])
    assert verify_webhook(secret, delivery.headers, delivery.body, now=merchant_now)


def test_a_retry_made_while_the_clock_moves_is_verified(
    kco: KcoClient, kco_webhooks: WebhookReceiver
) -> None:
    """The first attempt is dropped; the retry, 5 s later on the merchant's clock, is made inside
    `advance`, while the receiver reads that clock to judge it."""
    kco.set_faults(drop=1)
    try:
        sent = kco_webhooks.send_test()
        with pytest.raises(TimeoutError):
            kco_webhooks.wait_for("webhook.test", 1.0)
        kco.advance("5s")
    finally:
        kco.clear_faults()

    retried = kco_webhooks.wait_for("webhook.test", WAIT)

    assert retried["id"] == sent["event_id"]
    assert [d.verified for d in kco_webhooks.deliveries] == [True]


def test_disputes_are_opened_moved_and_announced(
    kco: KcoClient, kco_webhooks: WebhookReceiver
) -> None:
    order_id = bought(kco)
    opened = kco.open_dispute(order_id)
    assert (opened["order_id"], opened["status"]) == (order_id, "needs_response")
    dispute_id = opened["dispute_id"]
    created = kco_webhooks.wait_for("dispute.created", WAIT, dispute_id=dispute_id)
    assert created["data"] == {"order_id": order_id, "dispute_id": dispute_id}

    moved = kco.update_dispute(order_id, dispute_id, "under_review")
    updated = kco_webhooks.wait_for("dispute.updated", WAIT, dispute_id=dispute_id)

    assert moved["status"] == "under_review"
    assert updated["data"] == created["data"]
    assert kco.get_dispute(order_id, dispute_id) == moved
    second = kco.open_dispute(order_id, "under_review")
    assert [d["dispute_id"] for d in kco.list_disputes(order_id)] == [
        dispute_id,
        second["dispute_id"],
    ]


def test_errors_are_the_vendors(kco: KcoClient, destination: dict[str, Any]) -> None:
    unknown = str(uuid.uuid4())
    for call in (
        kco.get_webhook,
        kco.delete_webhook,
        kco.rotate_webhook_secret,
        kco.send_test_webhook,
    ):
        with pytest.raises(KcoApiError) as missing:
            call(unknown)
        assert (missing.value.status, missing.value.error_code) == (404, "NOT_FOUND")

    for events in (["capture.made"], [], "capture.created"):
        with pytest.raises(KcoApiError) as bad:
            kco.create_webhook("Bad", "http://127.0.0.1:9/hooks", events)
        assert (bad.value.status, bad.value.error_code) == (400, "BAD_VALUE")
        assert bad.value.error_messages[0].startswith("Bad value: events")
    with pytest.raises(KcoApiError) as bad_url:
        kco.create_webhook("Bad", "not a url", ["*"])
    assert bad_url.value.error_messages[0].startswith("Bad value: url")
    with pytest.raises(KcoApiError) as no_order:
        kco.open_dispute(unknown)
    assert (no_order.value.status, no_order.value.error_code) == (404, "NO_SUCH_ORDER")

    order_id = bought(kco)
    with pytest.raises(KcoApiError) as no_dispute:
        kco.get_dispute(order_id, unknown)
    assert (no_dispute.value.status, no_dispute.value.error_code) == (404, "NOT_FOUND")
    with pytest.raises(KcoApiError) as bad_status:
        kco.open_dispute(order_id, "escalated")
    assert (bad_status.value.status, bad_status.value.error_code) == (400, "BAD_VALUE")
    assert kco.list_disputes(order_id) == []  # nothing half-made
    assert destination["id"] in [d["id"] for d in kco.list_webhooks()]


@pytest.fixture(scope="module")
def two_merchants(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[KcoSandbox, str]]:
    """A server of this module's own with a second merchant, `other` (its password returned)."""
    folder: Path = tmp_path_factory.mktemp("two-merchants")
    password = "kco_test_api_other"
    extra = ["--merchant", f"other-merchant:{password}:Other Shop"]
    with local_sandbox(folder, extra, username="first-merchant") as sandbox:
        yield sandbox, password


def test_another_merchants_destination_and_order_are_not_found(
    two_merchants: tuple[KcoSandbox, str],
) -> None:
    sandbox, password = two_merchants
    with (
        sandbox.client() as mine,
        KcoClient(sandbox.base_url, "other-merchant", password) as theirs,
    ):
        made = mine.create_webhook("Mine", "http://127.0.0.1:9/hooks")
        order_id = bought(mine)
        dispute_id = mine.open_dispute(order_id)["dispute_id"]
        for call in (
            lambda: theirs.get_webhook(made["id"]),
            lambda: theirs.rotate_webhook_secret(made["id"]),
            lambda: theirs.send_test_webhook(made["id"]),
            lambda: theirs.delete_webhook(made["id"]),
        ):
            with pytest.raises(KcoApiError) as hidden:
                call()
            assert (hidden.value.status, hidden.value.error_code) == (404, "NOT_FOUND")
        for attempt in (
            lambda: theirs.open_dispute(order_id),
            lambda: theirs.list_disputes(order_id),
            lambda: theirs.update_dispute(order_id, dispute_id, "won"),
        ):
            with pytest.raises(KcoApiError) as no_order:
                attempt()
            assert (no_order.value.status, no_order.value.error_code) == (404, "NO_SUCH_ORDER")
        assert theirs.list_webhooks() == []
        assert mine.get_webhook(made["id"]) == made
        assert mine.get_dispute(order_id, dispute_id)["status"] == "needs_response"


def test_the_receiver_refuses_what_does_not_verify_and_keeps_a_bounded_record() -> None:
    secret = random_secret()
    with WebhookReceiver([secret], max_deliveries=2, max_body_bytes=1024) as receiver:
        forged = {
            "webhook-id": "kevt_forged",
            "webhook-timestamp": str(int(datetime.now(UTC).timestamp())),
            "webhook-signature": "v1," + base64.b64encode(b"x" * 32).decode(),
        }
        body = b'{"id":"kevt_forged","type":"capture.created","data":{}}'
        with httpx.Client(trust_env=False) as http:
            assert http.post(receiver.url, content=body, headers=forged).status_code == 401
            big = b"{" + b" " * 2048 + b"}"
            assert http.post(receiver.url, content=big, headers=forged).status_code == 413
            with pytest.raises(WebhookVerificationError, match="no v1 signature"):
                receiver.wait_for("capture.created", 1.0)
            for _ in range(3):
                http.post(receiver.url, content=body, headers=forged)

        assert len(receiver.deliveries) == 2  # the newest two
        assert all(
            not d.verified and d.event_type == "capture.created" for d in receiver.deliveries
        )
        assert receiver.events() == []


def test_a_clock_that_cannot_be_read_refuses_the_delivery() -> None:
    def unreachable() -> float:
        raise ConnectionError("no server")

    receiver = WebhookReceiver([random_secret()], now=unreachable)
    with receiver, httpx.Client(trust_env=False) as http:
        answer = http.post(receiver.url, content=b"{}", headers={"webhook-id": "kevt_x"})

    assert answer.status_code == 401
    (delivery,) = receiver.deliveries
    assert delivery.error == "the clock could not be read: ConnectionError: no server"
    assert delivery.event_type is None


def test_the_async_client_does_the_same(kco_sandbox: KcoSandbox) -> None:
    """Every webhook and dispute method once, awaited, with a receiver set up by hand."""

    async def run(receiver: WebhookReceiver) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with kco_sandbox.async_client() as kco:
            made = await kco.create_webhook("Async", receiver.url, ["dispute.created"])
            receiver.secrets = [made["signing_secret"]]
            try:
                seen["read"] = await kco.get_webhook(made["id"])
                seen["listed"] = await kco.list_webhooks()
                rotated = await kco.rotate_webhook_secret(made["id"])
                receiver.secrets = [rotated["signing_secret"]]
                sent = await kco.send_test_webhook(made["id"])
                seen["test"] = await asyncio.to_thread(receiver.wait_for, "webhook.test", WAIT)
                seen["sent"] = sent
                order_id = (await kco.create_order())["order_id"]
                await kco.complete(order_id, "anna@example.com")
                opened = await kco.open_dispute(order_id)
                dispute_id = opened["dispute_id"]
                seen["dispute"] = await asyncio.to_thread(
                    receiver.wait_for, "dispute.created", WAIT, dispute_id=dispute_id
                )
                seen["moved"] = await kco.update_dispute(order_id, dispute_id, "won")
                seen["got"] = await kco.get_dispute(order_id, dispute_id)
                seen["disputes"] = await kco.list_disputes(order_id)
                seen["made"], seen["rotated"] = made, rotated
            finally:
                await kco.delete_webhook(made["id"])
            with pytest.raises(KcoApiError) as gone:
                await kco.get_webhook(made["id"])
            seen["gone"] = gone.value.status
        return seen

    # Signatures only: the session merchant's clock may have been moved by other tests.
    with WebhookReceiver(tolerance=None) as receiver:
        seen = asyncio.run(run(receiver))

    assert seen["read"] == seen["made"]
    assert seen["made"] in seen["listed"]
    assert seen["rotated"]["signing_secret"] != seen["made"]["signing_secret"]
    assert (seen["test"]["id"], seen["test"]["type"]) == (seen["sent"]["event_id"], "webhook.test")
    assert seen["dispute"]["data"]["order_id"] == seen["got"]["order_id"]
    assert seen["moved"] == seen["got"]
    assert seen["got"]["status"] == "won"
    assert seen["disputes"] == [seen["got"]]
    assert seen["gone"] == 404
