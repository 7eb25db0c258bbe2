"""Settlements reconcile with Order Management to the minor unit, on both engines: random
sequences of partial captures and refunds on several orders in two currencies, with the clock
moving and the payouts read at random moments (refunds land before and after payouts), always
give payouts whose amounts, less the debt left open, are what was captured, less refunds and
fees; and each order's captured and refunded amounts are its SALE and RETURN transactions."""

from __future__ import annotations

import random
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.api.test_settlements import SET, advance, bought, payouts

OM = "/ordermanagement/v1/orders"


def every(client: TestClient, path: str, key: str, **params: Any) -> list[dict[str, Any]]:
    """Every element of a paginated list, following `next`."""
    found: list[dict[str, Any]] = []
    page = client.get(path, params={**params, "size": 500}).json()
    while True:
        found += page[key]
        link = page["pagination"].get("next")
        if link is None:
            return found
        page = client.get(link).json()


def fee(amount: int) -> int:
    return (amount * 300 + 5000) // 10000  # the default rate: 3 %, rounded half up


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_payouts_reconcile_with_the_orders(client: TestClient, seed: int) -> None:
    rng = random.Random(seed)
    markets = [
        {"purchase_country": "SE", "purchase_currency": "SEK", "locale": "sv-SE"},
        {"purchase_country": "FI", "purchase_currency": "EUR", "locale": "fi-FI"},
    ]
    orders = {}
    for _ in range(4):
        market = rng.choice(markets)
        orders[bought(client, **market)] = market["purchase_currency"]
    captured = dict.fromkeys(orders, 0)
    refunded = dict.fromkeys(orders, 0)
    fees = {"SEK": 0, "EUR": 0}
    net = {"SEK": 0, "EUR": 0}
    for _ in range(30):
        order_id = rng.choice(list(orders))
        currency = orders[order_id]
        action = rng.choice(["capture", "capture", "refund", "advance", "read"])
        if action == "capture" and captured[order_id] < 50000:
            amount = rng.randint(1, 50000 - captured[order_id])
            made = client.post(f"{OM}/{order_id}/captures", json={"captured_amount": amount})
            assert made.status_code == 201, made.text
            captured[order_id] += amount
            fees[currency] += fee(amount)
            net[currency] += amount - fee(amount)
        elif action == "refund" and refunded[order_id] < captured[order_id]:
            amount = rng.randint(1, captured[order_id] - refunded[order_id])
            made = client.post(f"{OM}/{order_id}/refunds", json={"refunded_amount": amount})
            assert made.status_code == 201, made.text
            refunded[order_id] += amount
            net[currency] -= amount
        elif action == "advance":
            advance(client, rng.randint(1, 20) * 3600)
        elif action == "read":
            payouts(client)  # settles what is due now: an early reader
    advance(client, 2 * 86400)
    found = every(client, f"{SET}/payouts", "payouts")
    for currency in ("SEK", "EUR"):
        mine = sorted(
            (p for p in found if p["currency_code"] == currency), key=lambda p: p["payout_date"]
        )
        paid = sum(p["totals"]["settlement_amount"] for p in mine)
        debt = mine[-1]["totals"]["closing_debt_balance_amount"] if mine else 0
        assert paid - debt == net[currency], currency
        assert sum(p["totals"]["fee_amount"] for p in mine) == fees[currency]
    for order_id in orders:
        om = client.get(f"{OM}/{order_id}").json()
        assert (om["captured_amount"], om["refunded_amount"]) == (
            captured[order_id],
            refunded[order_id],
        )
        lines = every(client, f"{SET}/transactions", "transactions", order_id=order_id)
        assert sum(t["amount"] for t in lines if t["type"] == "SALE") == captured[order_id]
        assert -sum(t["amount"] for t in lines if t["type"] == "RETURN") == refunded[order_id]
