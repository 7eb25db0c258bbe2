"""An order with hundreds of captures and refunds, through the real app on SQLite and PostgreSQL.

Captures and refunds are stored apart from their order: the order's totals, its `GET` answer
(every capture and refund, in the order made), a capture's and a refund's own `GET` and the
capture-level actions must all still agree, however many there are.
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.api.test_management_api import OM, capture, completed, om, refund

CAPTURES = 300
REFUNDS = 50


def test_300_captures_and_50_refunds_on_one_order_add_up_and_are_all_answered(
    client: TestClient,
) -> None:
    order_id = completed(client)  # 50000 authorized
    captured: list[str] = []
    for n in range(CAPTURES):
        made = capture(client, order_id, 100 + n % 3, description=f"box {n}")
        assert made.status_code == 201, made.text
        captured.append(made.headers["capture-id"])
    refunded: list[str] = []
    for n in range(REFUNDS):
        made = refund(client, order_id, 10 + n, reference=f"r-{n}")
        assert made.status_code == 201, made.text
        refunded.append(made.headers["refund-id"])
    captured_amount = sum(100 + n % 3 for n in range(CAPTURES))
    refunded_amount = sum(10 + n for n in range(REFUNDS))

    order = om(client, order_id)
    assert order["status"] == "PART_CAPTURED"
    assert (order["captured_amount"], order["refunded_amount"]) == (
        captured_amount,
        refunded_amount,
    )
    assert order["remaining_authorized_amount"] == 50000 - captured_amount
    assert [c["capture_id"] for c in order["captures"]] == captured
    assert [c["description"] for c in order["captures"]] == [f"box {n}" for n in range(CAPTURES)]
    reference = order["klarna_reference"]
    assert [c["klarna_reference"] for c in order["captures"]] == [
        f"{reference}-{n}" for n in range(1, CAPTURES + 1)
    ]
    assert [r["refund_id"] for r in order["refunds"]] == refunded
    assert [r["reference"] for r in order["refunds"]] == [f"r-{n}" for n in range(REFUNDS)]
    assert client.get(f"{OM}/{order_id}/captures").json() == order["captures"]
    for n in (0, CAPTURES // 2, CAPTURES - 1):
        one = client.get(f"{OM}/{order_id}/captures/{captured[n]}")
        assert one.json() == order["captures"][n]
    for n in (0, REFUNDS - 1):
        one = client.get(f"{OM}/{order_id}/refunds/{refunded[n]}")
        assert one.json() == order["refunds"][n]

    # More refunds than captured are still refused, judged by the totals alone.
    too_much = refund(client, order_id, captured_amount - refunded_amount + 1)
    assert too_much.status_code == 403, too_much.text
    assert refund(client, order_id, captured_amount - refunded_amount).status_code == 201

    # A capture-level action changes its capture and no other.
    middle = f"{OM}/{order_id}/captures/{captured[CAPTURES // 2]}"
    info = {"shipping_info": [{"shipping_company": "DHL", "tracking_number": "T-1"}]}
    assert client.post(f"{middle}/shipping-info", json=info).status_code == 204
    assert client.patch(f"{middle}/extend-due-date", json={"number_of_days": 14}).status_code == 204
    after = om(client, order_id)
    changed = [n for n, c in enumerate(after["captures"]) if c != order["captures"][n]]
    assert changed == [CAPTURES // 2]
    assert after["captures"][CAPTURES // 2]["shipping_info"] == info["shipping_info"]


def test_an_auto_captured_order_lists_its_capture(client: TestClient) -> None:
    order_id = completed(client, options={"auto_capture": True})
    order = om(client, order_id)
    [made] = order["captures"]
    assert made["captured_amount"] == order["order_amount"] == order["captured_amount"]
    assert made["klarna_reference"] == f"{order['klarna_reference']}-1"
    one = client.get(f"{OM}/{order_id}/captures/{made['capture_id']}")
    assert one.json() == made
    assert refund(client, order_id, 100).status_code == 201


@pytest.mark.parametrize("bad_id", ["abc%00def", "abc%01def", "%00"])
def test_a_capture_or_refund_id_with_a_control_character_names_nothing(
    client: TestClient, bad_id: str
) -> None:
    order_id = completed(client)
    assert capture(client, order_id, 100).status_code == 201
    key = {"Klarna-Idempotency-Key": "k-1"}
    answers = [
        client.get(f"{OM}/{order_id}/captures/{bad_id}"),
        client.get(f"{OM}/{order_id}/refunds/{bad_id}"),
        client.get(f"{OM}/{order_id}/captures/{bad_id}/extend-due-date-options"),
        client.post(f"{OM}/{order_id}/captures/{bad_id}/trigger-send-out", headers=key),
        client.patch(
            f"{OM}/{order_id}/captures/{bad_id}/extend-due-date",
            json={"number_of_days": 14},
            headers=key,
        ),
    ]
    assert [a.status_code for a in answers] == [404] * len(answers)
    assert [a.json()["error_code"] for a in answers] == [
        "NO_SUCH_CAPTURE",
        "NOT_FOUND",
        "NO_SUCH_CAPTURE",
        "NO_SUCH_CAPTURE",
        "NO_SUCH_CAPTURE",
    ]
