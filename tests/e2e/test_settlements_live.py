"""A day of captures and refunds on a live server (`kco-sandbox serve`, its real clock) shows up,
once the merchant's clock moved a day, as one payout whose CSV report sums to what was captured,
less refunds and fees."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import httpx

from tests.factories import MERCHANT, make_order
from tests.live import LiveServer

AUTH = (MERCHANT.merchant_id, MERCHANT.api_key)


def test_a_day_of_captures_and_refunds_is_one_payout(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url, auth=AUTH, timeout=30) as http:
        captured = refunded = fees = 0
        for capture_amount, refund_amount in ((50000, 10000), (12345, 0), (30000, 30000)):
            order_id = http.post("/checkout/v3/orders", json=make_order()).json()["order_id"]
            done = http.post(f"/_sandbox/orders/{order_id}/complete", json={})
            assert done.status_code == 200, done.text
            om = f"/ordermanagement/v1/orders/{order_id}"
            made = http.post(f"{om}/captures", json={"captured_amount": capture_amount})
            assert made.status_code == 201, made.text
            captured += capture_amount
            fees += (capture_amount * 300 + 5000) // 10000  # the default: 3 %
            if refund_amount:
                back = http.post(f"{om}/refunds", json={"refunded_amount": refund_amount})
                assert back.status_code == 201, back.text
                refunded += refund_amount
        assert http.get("/settlements/v1/payouts").json()["payouts"] == []

        moved = http.post("/_sandbox/clock/advance", json={"seconds": 86400})
        assert moved.status_code == 200, moved.text
        listed = http.get("/settlements/v1/payouts")
        assert listed.status_code == 200, listed.text
        [payout] = listed.json()["payouts"]
        expected = captured - refunded - fees
        assert payout["totals"]["settlement_amount"] == expected
        assert payout["transactions"].startswith(live_server.url)

        report = http.get(
            "/settlements/v1/reports/payout-with-transactions",
            params={"payment_reference": payout["payment_reference"]},
        )
        assert report.status_code == 200
        assert report.headers["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(report.text), delimiter=";"))
        assert sum(Decimal(row["amount"]) for row in rows) == Decimal(expected) / 100
        assert sum(row["type"] == "SALE" for row in rows) == 3
        assert sum(row["type"] == "RETURN" for row in rows) == 2

        pdf = http.get(
            "/settlements/v1/reports/payout",
            params={"payment_reference": payout["payment_reference"]},
        )
        assert pdf.status_code == 200
        assert pdf.headers["Content-Type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF-")
