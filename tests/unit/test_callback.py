from __future__ import annotations

import json

import pytest

from kco_sandbox.domain.purchase.callback import (
    Answer,
    Failed,
    Proceed,
    Redirect,
    Refused,
    judge_cart_answer,
    judge_validation,
    shipping_service_request,
)
from tests.factories import make_line

CART = {
    "order_amount": 50000,
    "order_tax_amount": 4545,
    "purchase_currency": "SEK",
    "order_lines": [make_line()],
    "shipping_options": [{"id": "a", "name": "A", "price": 0, "tax_amount": 0, "tax_rate": 0}],
}


def answer(status: int | None, body: object = b"", **kw: object) -> Answer:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Answer(status=status, body=raw, **kw)  # type: ignore[arg-type]


def test_a_200_cart_is_taken() -> None:
    decision = judge_cart_answer(answer(200, CART))
    assert isinstance(decision, Proceed)
    assert decision.cart is not None
    assert decision.cart.order_amount == 50000
    assert decision.cart.shipping_options is not None


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        {"order_amount": 1},  # required keys missing
        {**CART, "order_lines": [{"name": "x"}]},
        {**CART, "purchase_currency": "KRONA"},
        {**CART, "merchant_data": "x" * 1025},
    ],
)
def test_a_200_without_a_valid_cart_fails(body: object) -> None:
    assert isinstance(judge_cart_answer(answer(200, body)), Failed)


@pytest.mark.parametrize("status", [301, 302, 303, 307])
def test_redirects_need_a_location(status: int) -> None:
    assert judge_cart_answer(answer(status, location="https://x/y")) == Redirect("https://x/y")
    assert judge_validation(answer(status, location="https://x/y"), False) == Redirect(
        "https://x/y"
    )
    assert isinstance(judge_validation(answer(status), False), Failed)


def test_a_400_refusal_carries_its_text() -> None:
    refusal = {"error_type": "address_error", "error_text": "No PO boxes"}
    assert judge_cart_answer(answer(400, refusal)) == Refused("address_error", "No PO boxes")
    assert judge_validation(answer(400, refusal), True) == Refused("address_error", "No PO boxes")
    assert judge_validation(answer(400, {"error_type": "unsupported_shipping_address"}), False) == (
        Refused("unsupported_shipping_address", "")
    )
    assert isinstance(judge_validation(answer(400, b"<html>"), False), Failed)


@pytest.mark.parametrize("status", [201, 204, 401, 404, 500, 503])
def test_other_statuses_fail(status: int) -> None:
    assert isinstance(judge_cart_answer(answer(status, CART)), Failed)
    assert isinstance(judge_validation(answer(status), False), Failed)


def test_validation_time_out_approves_unless_success_is_required() -> None:
    timed_out = Answer(status=None, timed_out=True, error="no answer within 3 s")
    assert judge_validation(timed_out, success_required=False) == Proceed()
    assert judge_validation(timed_out, success_required=True) == Failed("no answer within 3 s")
    refused = Answer(status=None, error="ConnectError: refused")
    assert judge_validation(refused, success_required=False) == Failed("ConnectError: refused")
    assert judge_cart_answer(timed_out) == Failed("no answer within 3 s")


def test_the_shipping_service_request_carries_the_callback_fields_only() -> None:
    order = {
        "order_id": "x",
        "status": "checkout_incomplete",
        "html_snippet": "<div>",
        "order_amount": 1,
        "order_tax_amount": 0,
        "order_lines": [],
        "purchase_currency": "SEK",
        "billing_address": {"country": "se"},
        "locale": "sv-SE",
        "merchant_urls": {},
    }
    assert shipping_service_request(order) == {
        "order_amount": 1,
        "order_tax_amount": 0,
        "order_lines": [],
        "purchase_currency": "SEK",
        "billing_address": {"country": "se"},
        "locale": "sv-SE",
    }
