"""The client's Customer Token API against a real server (this session's `kco_sandbox`): mint a
token, read it, charge it, cancel it, and suspend it with the sandbox's switch; and the plugin's
`kco_customer_token` fixture."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from kco_sandbox.client import (
    KcoApiError,
    KcoClient,
    KcoSandbox,
    example_subscription_order,
    example_token_order,
)


def test_the_fixture_is_a_new_active_token_each_test(
    kco: KcoClient, kco_customer_token: str
) -> None:
    assert kco.read_token(kco_customer_token) == {
        "payment_method_type": "INVOICE",
        "status": "ACTIVE",
    }
    assert kco_customer_token != kco.mint_token()


def test_two_charges_open_two_order_management_orders(
    kco: KcoClient, kco_customer_token: str
) -> None:
    first = kco.charge_token(kco_customer_token, merchant_reference1="2026-01")
    second = kco.charge_token(
        kco_customer_token,
        example_token_order(order_amount=10000),
        auto_capture=True,
        merchant_reference1="2026-02",
    )

    assert first["fraud_status"] == second["fraud_status"] == "ACCEPTED"
    assert first["authorized_payment_method"] == {"type": "invoice"}
    assert first["order_id"] != second["order_id"]
    one, two = kco.om_order(first["order_id"]), kco.om_order(second["order_id"])
    assert (one["status"], one["order_amount"], one["captured_amount"]) == (
        "AUTHORIZED",
        10000,
        0,
    )
    assert (two["status"], two["captured_amount"]) == ("CAPTURED", 10000)
    assert (one["merchant_reference1"], two["merchant_reference1"]) == ("2026-01", "2026-02")
    assert one["billing_address"]["email"] == "anna@example.com"
    assert one["order_lines"][0]["subscription"] == {
        "name": "T-Shirt of the month",
        "interval": "MONTH",
        "interval_count": 1,
    }


def test_a_repeated_idempotency_key_answers_the_first_charge(
    kco: KcoClient, kco_customer_token: str
) -> None:
    key = str(uuid.uuid4())
    once = kco.charge_token(kco_customer_token, idempotency_key=key)
    again = kco.charge_token(kco_customer_token, idempotency_key=key, order_amount=1)

    assert again == once
    other = kco.charge_token(kco_customer_token, idempotency_key=str(uuid.uuid4()))
    assert other["order_id"] != once["order_id"]


def test_a_cancelled_token_is_refused_for_good(kco: KcoClient, kco_customer_token: str) -> None:
    kco.cancel_token(kco_customer_token)
    kco.cancel_token(kco_customer_token)  # again: 202 again

    assert kco.read_token(kco_customer_token)["status"] == "CANCELLED"
    with pytest.raises(KcoApiError) as refused:
        kco.charge_token(kco_customer_token)
    assert (refused.value.status, refused.value.error_code) == (403, "TOKEN_CANCELLED")
    with pytest.raises(KcoApiError) as stuck:
        kco.reinstate_token(kco_customer_token)
    assert (stuck.value.status, stuck.value.error_code) == (400, "BAD_VALUE")


def test_the_sandbox_switch_suspends_and_reinstates(
    kco: KcoClient, kco_customer_token: str
) -> None:
    assert kco.suspend_token(kco_customer_token)["status"] == "SUSPENDED"
    with pytest.raises(KcoApiError) as refused:
        kco.charge_token(kco_customer_token)
    assert (refused.value.status, refused.value.error_code) == (403, "TOKEN_SUSPENDED")

    assert kco.reinstate_token(kco_customer_token)["status"] == "ACTIVE"
    assert kco.charge_token(kco_customer_token)["fraud_status"] == "ACCEPTED"


def test_a_token_minted_by_card_from_an_order_of_my_own(kco: KcoClient) -> None:
    order = example_subscription_order(merchant_reference1="sub-42", recurring=False)
    token = kco.mint_token("bo@example.com", order=order, payment_method="card")

    read = kco.read_token(token)
    assert (read["payment_method_type"], read["card"]["brand"]) == ("CARD", "VISA")
    charged = kco.charge_token(token)
    assert charged["authorized_payment_method"] == {"type": "card"}
    assert kco.om_order(charged["order_id"])["billing_address"]["email"] == "bo@example.com"


def test_the_personas_decide_each_charge(kco: KcoClient) -> None:
    declined = kco.mint_token("anna+token-denied@example.com")
    with pytest.raises(KcoApiError) as refused:
        kco.charge_token(declined)
    assert (refused.value.status, refused.value.error_code) == (403, "PAYMENT_METHOD_FAILED")

    pending = kco.mint_token("anna+pend-accept-05@example.com")
    assert kco.charge_token(pending)["fraud_status"] == "PENDING"


def test_errors_are_the_vendors(kco: KcoClient, kco_customer_token: str) -> None:
    unknown = str(uuid.uuid4())
    with pytest.raises(KcoApiError) as missing:
        kco.read_token(unknown)
    assert (missing.value.status, missing.value.error_code) == (404, "NOT_FOUND")
    with pytest.raises(KcoApiError) as no_token:
        kco.charge_token(unknown)
    assert (no_token.value.status, no_token.value.error_code) == (404, "TOKEN_NOT_FOUND")
    with pytest.raises(KcoApiError) as bad:
        kco.charge_token(kco_customer_token, order_amount=1)
    assert (bad.value.status, bad.value.error_code) == (400, "BAD_VALUE")
    with pytest.raises(KcoApiError) as currency:
        kco.charge_token(kco_customer_token, purchase_currency="EUR")
    assert currency.value.error_code == "PAYMENT_METHOD_CURRENCY_MISMATCH"


def test_a_completed_order_without_a_token_is_the_servers_fault() -> None:
    """A server that broke its contract (no `recurring_token` after a recurring purchase):
    stood in for at the network edge, as no kco-sandbox answers so."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/checkout/v3/orders":
            return httpx.Response(201, json={"order_id": "o-1"})
        # The purchase, then the read of the completed order: neither names a token.
        return httpx.Response(200, json={"order_id": "o-1", "status": "checkout_complete"})

    client = KcoClient("http://sandbox.test", "u", "p", transport=httpx.MockTransport(answer))
    with client, pytest.raises(KcoApiError) as broken:
        client.mint_token()
    assert broken.value.status == 200
    assert broken.value.error_messages == [
        "expected a recurring_token on the completed order in the answer"
    ]


def test_the_async_client_does_the_same(kco_sandbox: KcoSandbox) -> None:
    """Every token method once, awaited (the operations are shared; this checks the driving)."""

    async def run() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with kco_sandbox.async_client() as kco:
            token = await kco.mint_token(payment_method="direct_debit")
            seen["read"] = await kco.read_token(token)
            key = str(uuid.uuid4())
            seen["charged"] = await kco.charge_token(token, idempotency_key=key)
            seen["again"] = await kco.charge_token(token, idempotency_key=key)
            seen["captured"] = await kco.charge_token(
                token, example_token_order(), auto_capture=True
            )
            seen["om"] = await kco.om_order(seen["captured"]["order_id"])
            seen["suspended"] = await kco.suspend_token(token)
            seen["reinstated"] = await kco.reinstate_token(token)
            await kco.cancel_token(token)
            seen["cancelled"] = await kco.read_token(token)
        return seen

    seen = asyncio.run(run())

    assert seen["read"]["payment_method_type"] == "DIRECT_DEBIT"
    assert seen["read"]["direct_debit"]["masked_number"]
    assert seen["again"] == seen["charged"]
    assert seen["captured"]["authorized_payment_method"] == {"type": "direct_debit"}
    assert (seen["om"]["status"], seen["om"]["captured_amount"]) == ("CAPTURED", 10000)
    assert seen["suspended"]["status"] == "SUSPENDED"
    assert seen["reinstated"]["status"] == "ACTIVE"
    assert seen["cancelled"]["status"] == "CANCELLED"
