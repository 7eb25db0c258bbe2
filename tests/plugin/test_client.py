"""The Python client against a real server: the one this test session's `kco_sandbox` started.

These run in this process (so they count for coverage); `test_plugin.py` runs the plugin as a
user's project gets it.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from kco_sandbox.client import AsyncKcoClient, KcoApiError, KcoClient, KcoSandbox, example_order
from tests.receiver import Receiver


def test_create_order_is_the_example_order_with_the_fields_given(kco: KcoClient) -> None:
    order = kco.create_order(locale="en-SE", merchant_reference1="1001")

    assert order["status"] == "checkout_incomplete"
    assert order["locale"] == "en-SE"
    assert order["merchant_reference1"] == "1001"
    assert order["order_amount"] == example_order()["order_amount"] == 50000
    assert kco.read_order(order["order_id"])["order_id"] == order["order_id"]


def test_update_and_abort(kco: KcoClient) -> None:
    order_id = kco.create_order()["order_id"]

    assert kco.update_order(order_id, merchant_reference2="abc")["merchant_reference2"] == "abc"
    kco.abort_order(order_id)
    with pytest.raises(KcoApiError) as refused:
        kco.update_order(order_id, {"merchant_reference1": "1"})
    assert (refused.value.status, refused.value.error_code) == (403, "READ_ONLY_ORDER")


def test_an_error_carries_the_vendors_code_messages_and_correlation_id(kco: KcoClient) -> None:
    order_id = kco.create_order()["order_id"]

    with pytest.raises(KcoApiError) as refused:
        kco.update_order(order_id, order_amount=1)

    error = refused.value
    assert error.status == 400
    assert error.error_code == "BAD_VALUE"
    assert error.error_messages == ["Bad value: order_amount"]
    recorded = [e for e in kco.events(order_id) if e["kind"] == "api.call" and e["status"] == 400]
    assert error.correlation_id
    assert [e["correlation_id"] for e in recorded] == [error.correlation_id]
    assert "400 BAD_VALUE: Bad value: order_amount" in str(error)
    assert error.method == "POST"
    assert error.url.endswith(f"/checkout/v3/orders/{order_id}")


def test_an_error_without_the_vendors_body_takes_the_correlation_id_from_the_header(
    kco_sandbox: KcoSandbox,
) -> None:
    stranger = KcoClient(kco_sandbox.base_url, kco_sandbox.username, "wrong")
    with stranger, pytest.raises(KcoApiError) as refused:
        stranger.read_order(str(uuid.uuid4()))

    assert refused.value.status == 401
    assert refused.value.error_code is None
    assert refused.value.correlation_id
    assert "401 Authorization Required" in refused.value.body


def test_a_purchase_captured_and_refunded_in_parts(kco: KcoClient) -> None:
    order_id = kco.create_order()["order_id"]
    assert kco.complete(order_id, email="anna@example.com")["fraud_status"] == "ACCEPTED"

    first = kco.capture(order_id, 20000, reference="part one")
    rest = kco.capture(order_id)  # what remains authorized
    assert (first["captured_amount"], first["reference"]) == (20000, "part one")
    assert rest["captured_amount"] == 30000
    assert [c["capture_id"] for c in kco.captures(order_id)] == [
        first["capture_id"],
        rest["capture_id"],
    ]
    assert kco.get_capture(order_id, rest["capture_id"]) == rest

    assert kco.refund(order_id, 5000, description="one shirt")["refunded_amount"] == 5000
    assert kco.refund(order_id)["refunded_amount"] == 45000  # all captured and not refunded
    order = kco.om_order(order_id)
    assert (order["status"], order["refunded_amount"]) == ("CAPTURED", 50000)
    with pytest.raises(KcoApiError) as refused:
        kco.refund(order_id)
    assert refused.value.status in (400, 403)


def test_an_idempotency_key_makes_a_repeat_answer_what_the_first_call_did(kco: KcoClient) -> None:
    order_id = kco.create_order()["order_id"]
    kco.complete(order_id)

    once = kco.capture(order_id, 10000, idempotency_key="capture-1")
    again = kco.capture(order_id, 10000, idempotency_key="capture-1")

    assert again["capture_id"] == once["capture_id"]
    assert kco.om_order(order_id)["captured_amount"] == 10000


def test_order_management_writes(kco: KcoClient) -> None:
    order_id = kco.create_order()["order_id"]
    kco.complete(order_id)

    kco.update_merchant_references(order_id, merchant_reference1="R-1")
    kco.add_shipping_info(order_id, [{"shipping_company": "DHL", "tracking_number": "123"}])
    kco.extend_authorization_time(order_id, idempotency_key=str(uuid.uuid4()))
    kco.update_authorization(order_id, 40000, description="one shirt less")
    kco.capture(order_id, 10000)
    kco.release_remaining_authorization(order_id)
    kco.request(
        "PATCH",
        f"/ordermanagement/v1/orders/{order_id}/customer-details",
        json={"shipping_address": {"given_name": "Anna", "country": "SE"}},
    )

    order = kco.om_order(order_id)
    assert order["merchant_reference1"] == "R-1"
    assert order["shipping_info"][0]["tracking_number"] == "123"
    assert (order["order_amount"], order["status"]) == (40000, "CAPTURED")
    assert order["shipping_address"]["given_name"] == "Anna"

    other = kco.create_order()["order_id"]
    kco.complete(other)
    kco.cancel(other)
    assert kco.om_order(other)["status"] == "CANCELLED"


def test_a_denied_persona(kco: KcoClient) -> None:
    order_id = kco.create_order()["order_id"]

    with pytest.raises(KcoApiError) as denied:
        kco.complete(order_id, email="anna+denied@example.com")

    assert (denied.value.status, denied.value.error_code) == (422, "PURCHASE_DENIED")
    assert kco.read_order(order_id)["status"] == "checkout_incomplete"


def test_pushes_reach_the_shop_when_the_clock_moves(kco: KcoClient, receiver: Receiver) -> None:
    urls = {
        **example_order()["merchant_urls"],
        "push": f"{receiver.url}/push?order={{checkout.order.id}}",
    }
    order_id = kco.create_order(merchant_urls=urls)["order_id"]
    kco.complete(order_id)
    assert kco.callbacks(order_id) == []

    assert kco.advance("2m")["attempted"] >= 1

    [push] = receiver.calls("/push")
    assert (push.method, push.path) == ("POST", f"/push?order={order_id}")
    attempts = kco.callbacks(order_id)
    assert [(a["kind"], a["status"], a["error"]) for a in attempts] == [("push.attempt", 200, None)]


def test_acknowledging_stops_the_pushes(kco: KcoClient) -> None:
    order_id = kco.create_order()["order_id"]
    kco.complete(order_id)

    kco.acknowledge(order_id, idempotency_key=f"ack-{order_id}")
    kco.advance(7200)

    assert kco.callbacks(order_id) == []
    before = kco.clock()["offset_seconds"]
    kco.advance(60)
    assert kco.clock()["offset_seconds"] == before + 60


def test_faults_and_fraud_stop(kco: KcoClient) -> None:
    assert kco.set_faults(drop=1)["drop"] == 1
    assert kco.faults()["drop"] == 1
    kco.clear_faults()
    assert kco.faults()["drop"] == 0

    urls = {**example_order()["merchant_urls"], "notification": "https://shop.example/fraud"}
    order_id = kco.create_order(merchant_urls=urls)["order_id"]
    kco.complete(order_id, email="anna+pend-accept-05@example.com")
    assert kco.fraud_stop(order_id)["event_type"] == "FRAUD_RISK_STOPPED"


def test_the_async_client_does_the_same(kco_sandbox: KcoSandbox, receiver: Receiver) -> None:
    """Every method once, awaited (the operations are shared, so this checks the driving)."""
    urls = {
        **example_order()["merchant_urls"],
        "push": f"{receiver.url}/push",
        "notification": f"{receiver.url}/fraud",
    }

    async def run() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with kco_sandbox.async_client() as kco:
            order_id = (await kco.create_order(merchant_urls=urls))["order_id"]
            await kco.update_order(order_id, merchant_reference1="A-1")
            seen["read"] = await kco.read_order(order_id)
            await kco.complete(order_id, email="anna@example.com")
            await kco.update_merchant_references(order_id, merchant_reference2="A-2")
            await kco.add_shipping_info(order_id, [{"tracking_number": "9"}])
            await kco.extend_authorization_time(order_id)
            await kco.update_authorization(order_id, 40000, idempotency_key=f"auth-{order_id}")
            first = await kco.capture(order_id, 10000)
            seen["captures"] = await kco.captures(order_id)
            seen["capture"] = await kco.get_capture(order_id, first["capture_id"])
            refund = await kco.refund(order_id)
            seen["refund"] = await kco.get_refund(order_id, refund["refund_id"])
            await kco.release_remaining_authorization(order_id)
            with pytest.raises(KcoApiError) as refused:
                await kco.capture(order_id, 1)
            seen["refused"] = refused.value
            await kco.request("POST", f"/ordermanagement/v1/orders/{order_id}/acknowledge")
            await kco.acknowledge(order_id)
            seen["om"] = await kco.om_order(order_id)
            seen["advanced"] = await kco.advance("2h")
            seen["callbacks"] = await kco.callbacks(order_id)
            seen["events"] = await kco.events(order_id)
            seen["clock"] = await kco.clock()

            other = (await kco.create_order(merchant_urls=urls))["order_id"]
            await kco.complete(other, email="anna+pend-accept-05@example.com")
            seen["stop"] = await kco.fraud_stop(other)
            await kco.set_faults(delay_ms=1)
            seen["faults"] = await kco.faults()
            await kco.clear_faults()
            third = (await kco.create_order(merchant_urls=urls))["order_id"]
            await kco.complete(third)
            await kco.cancel(third)
            await kco.abort_order((await kco.create_order())["order_id"])
        return seen

    seen = asyncio.run(run())

    assert seen["read"]["merchant_reference1"] == "A-1"
    assert [c["captured_amount"] for c in seen["captures"]] == [10000]
    assert seen["capture"]["captured_amount"] == 10000
    assert seen["refund"]["refunded_amount"] == 10000
    assert (seen["refused"].status, seen["refused"].error_code) == (403, "CAPTURE_NOT_ALLOWED")
    om = seen["om"]
    assert (om["merchant_reference2"], om["order_amount"], om["status"]) == (
        "A-2",
        40000,
        "CAPTURED",
    )
    assert seen["callbacks"] == []  # acknowledged before the first push fell due
    assert seen["advanced"]["attempted"] >= 0
    assert any(e["kind"] == "purchase.completed" for e in seen["events"])
    assert seen["clock"]["offset_seconds"] >= 7200
    assert seen["stop"]["event_type"] == "FRAUD_RISK_STOPPED"
    assert seen["faults"]["delay_ms"] == 1


def test_the_async_client_closed_by_hand(kco_sandbox: KcoSandbox) -> None:
    async def run() -> list[dict[str, Any]]:
        kco = AsyncKcoClient(kco_sandbox.base_url, kco_sandbox.username, kco_sandbox.password)
        try:
            order_id = (await kco.create_order(example_order()))["order_id"]
            return await kco.events(order_id)
        finally:
            await kco.aclose()

    assert [e["kind"] for e in asyncio.run(run())] == ["api.call"]
