"""The client's Hosted Payment Page API against a real server (this session's `kco_sandbox`):
create a session, pay by its link without a browser and follow where the page sends the shopper;
read, distribute and disable it; walk its other outcomes with the sandbox's control."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest

from kco_sandbox.client import (
    KcoApiError,
    KcoClient,
    KcoSandbox,
    example_hpp_merchant_urls,
)
from tests.receiver import Receiver


def _statuses_told(receiver: Receiver, path: str, wanted: int) -> list[str]:
    """The statuses `status_update` carried to `path`, once `wanted` calls came (the server's
    delivery worker sends each at once, on a thread of its own) or 15 s passed."""
    deadline = time.monotonic() + 15
    while len(receiver.calls(path)) < wanted and time.monotonic() < deadline:
        time.sleep(0.05)
    return [call.json()["session"]["status"] for call in receiver.calls(path)]


def test_a_shopper_pays_by_link_and_lands_on_the_success_url(
    kco: KcoClient, receiver: Receiver
) -> None:
    order_id = kco.create_order()["order_id"]
    urls = example_hpp_merchant_urls(status_update=f"{receiver.url}/hpp?sid={{{{session_id}}}}")
    session = kco.create_hpp_session(
        order_id, merchant_urls=urls, options={"page_title": "Pay for order 42"}
    )
    session_id = session["session_id"]
    assert session["session_url"] == f"{kco.base_url}/hpp/v1/sessions/{session_id}"
    assert session["qr_code_url"] == session["redirect_url"] + "/qr"
    assert kco.read_hpp_session(session_id)["status"] == "WAITING"
    # Not paid yet: the result sends the shopper back to the session's own page.
    assert kco.hpp_result_url(session) == session["redirect_url"]

    paid = kco.pay_hpp_session(session, order_id, "anna@example.com")

    assert (paid["status"], paid["fraud_status"]) == ("checkout_complete", "ACCEPTED")
    read = kco.read_hpp_session(session_id)
    assert (read["status"], read["order_id"]) == ("COMPLETED", order_id)
    assert read["klarna_reference"]
    assert kco.hpp_result_url(session) == (
        f"https://shop.example/thanks?order={order_id}&sid={session_id}"
    )
    assert kco.om_order(order_id)["status"] == "AUTHORIZED"
    # The shop heard of each step: the shopper opening the page, then the payment.
    assert _statuses_told(receiver, "/hpp", 2) == ["IN_PROGRESS", "COMPLETED"]
    assert receiver.calls("/hpp")[0].path == f"/hpp?sid={session_id}"


def test_a_declined_shopper_pays_again_by_the_same_link(kco: KcoClient) -> None:
    order_id = kco.create_order()["order_id"]
    session = kco.create_hpp_session(order_id)

    with pytest.raises(KcoApiError) as denied:
        kco.pay_hpp_session(session, order_id, "anna+denied@example.com")

    assert (denied.value.status, denied.value.error_code) == (422, "PURCHASE_DENIED")
    # Headless, the decline leaves the page open (the page's script would report FAILED).
    assert kco.read_hpp_session(session["session_id"])["status"] == "IN_PROGRESS"
    kco.pay_hpp_session(session["redirect_url"], order_id, "anna@example.com")
    assert kco.read_hpp_session(session["session_id"])["status"] == "COMPLETED"


def test_the_sandbox_control_walks_the_other_outcomes(kco: KcoClient) -> None:
    order_id = kco.create_order()["order_id"]
    session = kco.create_hpp_session(order_id)
    session_id = session["session_id"]
    wanted = {
        "BACK": f"https://shop.example/cart?sid={session_id}",
        "FAILED": f"https://shop.example/pay-again?sid={session_id}",
        "CANCELLED": f"https://shop.example/cancelled?sid={session_id}",
    }

    for status, url in wanted.items():
        assert kco.set_hpp_session_status(session_id, "IN_PROGRESS")["status"] == "IN_PROGRESS"
        moved = kco.set_hpp_session_status(session_id, status)
        assert (moved["session_id"], moved["status"]) == (session_id, status)
        assert kco.hpp_result_url(session) == url

    with pytest.raises(KcoApiError) as final:
        kco.set_hpp_session_status(session_id, "IN_PROGRESS")
    assert (final.value.status, final.value.error_code) == (400, "BAD_VALUE")
    # A cancelled session's page goes straight to its result: the shopper cannot pay there.
    with pytest.raises(KcoApiError) as unpaid:
        kco.pay_hpp_session(session, order_id)
    assert unpaid.value.status == 303
    assert f"sends the shopper to {session['redirect_url']}/result" in str(unpaid.value)
    assert kco.read_order(order_id)["status"] == "checkout_incomplete"


def test_an_aborted_order_sends_the_shopper_to_the_error_url(kco: KcoClient) -> None:
    order_id = kco.create_order()["order_id"]
    session = kco.create_hpp_session(order_id)
    kco.abort_order(order_id)

    with pytest.raises(KcoApiError) as unpaid:
        kco.pay_hpp_session(session, order_id)

    assert unpaid.value.status == 303
    assert kco.read_hpp_session(session["session_id"])["status"] == "ERROR"
    assert kco.hpp_result_url(session) == (
        f"https://shop.example/error?sid={session['session_id']}"
    )


def test_without_urls_the_platform_shows_its_own_result_page(kco: KcoClient) -> None:
    order_id = kco.create_order()["order_id"]
    # A full payment_session_url, on the vendor's host: only its path names the order.
    session = kco.create_hpp_session(
        f"https://api.kustom.co/checkout/v3/orders/{order_id}", merchant_urls={}
    )
    kco.set_hpp_session_status(session["session_id"], "IN_PROGRESS")
    kco.set_hpp_session_status(session["session_id"], "BACK")

    assert kco.hpp_result_url(session) is None


def test_distribution_is_recorded_on_the_timeline_never_sent(kco: KcoClient) -> None:
    order_id = kco.create_order()["order_id"]
    session = kco.create_hpp_session(order_id, options={"page_title": "Pay for order 42"})
    session_id = session["session_id"]

    kco.distribute_hpp_session(session_id, "email", email="anna@example.com")
    kco.distribute_hpp_session(session_id, "sms", phone="0701234567", phone_country="SE")

    sent = [e for e in kco.events(order_id) if e["kind"] == "hpp.distribution"]
    assert [(e["method"], e["contact"], e["sent"]) for e in sent] == [
        ("email", "a***@example.com", False),
        ("sms", "SE ******4567", False),
    ]
    assert sent[0]["message"] == f"Pay for order 42: {session['redirect_url']}"
    with pytest.raises(KcoApiError) as missing:
        kco.distribute_hpp_session(session_id, "sms", phone="0701234567")
    assert (missing.value.status, missing.value.error_code) == (400, "MISSING_CONTACT_DATA")


def test_a_disabled_session_takes_no_payment_and_no_distribution(kco: KcoClient) -> None:
    order_id = kco.create_order()["order_id"]
    session = kco.create_hpp_session(order_id)

    kco.disable_hpp_session(session["session_id"])
    kco.disable_hpp_session(session["session_id"])  # again: 204 again

    assert kco.read_hpp_session(session["session_id"])["status"] == "DISABLED"
    with pytest.raises(KcoApiError) as refused:
        kco.distribute_hpp_session(session["session_id"], "email", email="anna@example.com")
    assert (refused.value.status, refused.value.error_code) == (400, "CONSTRAINT_VIOLATION")
    with pytest.raises(KcoApiError) as unpaid:
        kco.pay_hpp_session(session, order_id)
    assert unpaid.value.status == 303
    assert kco.hpp_result_url(session) is None  # no URL for DISABLED: the platform's page


def test_errors_are_the_vendors(kco: KcoClient) -> None:
    with pytest.raises(KcoApiError) as unknown:
        kco.read_hpp_session(str(uuid.uuid4()))
    assert (unknown.value.status, unknown.value.error_code) == (404, "NOT_FOUND")
    with pytest.raises(KcoApiError) as no_order:
        kco.create_hpp_session(str(uuid.uuid4()))
    assert (no_order.value.status, no_order.value.error_code) == (404, "NOT_FOUND")
    order_id = kco.create_order()["order_id"]
    with pytest.raises(KcoApiError) as bad_url:
        kco.create_hpp_session(order_id, merchant_urls={"success": "shop.example/thanks"})
    assert bad_url.value.error_messages == ["Bad value: merchant_urls.success"]
    kco.complete(order_id)
    with pytest.raises(KcoApiError) as paid:
        kco.create_hpp_session(order_id)
    assert (paid.value.status, paid.value.error_code) == (400, "BAD_VALUE")


def test_an_expired_session_is_not_found_anywhere(kco: KcoClient) -> None:
    session = kco.create_hpp_session(kco.create_order()["order_id"])

    kco.set_hpp_session_status(session["session_id"], "EXPIRED")

    with pytest.raises(KcoApiError) as read:
        kco.read_hpp_session(session["session_id"])
    assert (read.value.status, read.value.error_code) == (404, "NOT_FOUND")
    with pytest.raises(KcoApiError) as page:
        kco.hpp_result_url(session)
    assert (page.value.status, page.value.error_code) == (404, None)  # an HTML page


def test_a_session_id_does_not_name_the_shoppers_page(kco: KcoClient) -> None:
    with pytest.raises(ValueError, match="created session or its redirect_url"):
        kco.hpp_result_url(str(uuid.uuid4()))
    with pytest.raises(ValueError, match="created session or its redirect_url"):
        kco.hpp_result_url({"session_id": "x"})


def test_the_async_client_does_the_same(kco_sandbox: KcoSandbox) -> None:
    """Every HPP method once, awaited (the operations are shared; this checks the driving)."""

    async def run() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with kco_sandbox.async_client() as kco:
            order_id = (await kco.create_order())["order_id"]
            session = await kco.create_hpp_session(order_id, options={"page_title": "Pay"})
            session_id = session["session_id"]
            seen["order_id"], seen["session_id"] = order_id, session_id
            await kco.distribute_hpp_session(session_id, "token", access_id=str(uuid.uuid4()))
            seen["open"] = await kco.hpp_result_url(session)
            seen["redirect_url"] = session["redirect_url"]
            seen["paid"] = await kco.pay_hpp_session(session, order_id, "anna@example.com")
            seen["read"] = await kco.read_hpp_session(session_id)
            seen["result"] = await kco.hpp_result_url(session)

            other = await kco.create_hpp_session((await kco.create_order())["order_id"])
            seen["forced"] = await kco.set_hpp_session_status(other["session_id"], "ERROR")
            await kco.disable_hpp_session(other["session_id"])
            seen["disabled"] = await kco.read_hpp_session(other["session_id"])
            seen["kinds"] = [e["kind"] for e in await kco.events(order_id)]
        return seen

    seen = asyncio.run(run())

    assert seen["open"] == seen["redirect_url"]
    assert seen["paid"]["status"] == "checkout_complete"
    assert (seen["read"]["status"], seen["read"]["order_id"]) == ("COMPLETED", seen["order_id"])
    assert seen["result"] == (
        f"https://shop.example/thanks?order={seen['order_id']}&sid={seen['session_id']}"
    )
    assert seen["forced"]["status"] == "ERROR"
    assert seen["disabled"]["status"] == "DISABLED"
    assert "hpp.distribution" in seen["kinds"]
