"""The Settlements API v1 on both engines: captures and refunds become a payout when the
merchant's clock passes the daily cut-off; the eight endpoints, their pagination, errors and
reports; the sandbox's fee rate and reversals; one merchant never sees another's payouts."""

from __future__ import annotations

import csv
import io
import random
import re
import zlib
from decimal import Decimal
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.factories import MERCHANT, OTHER_MERCHANT, make_order

ORDERS = "/checkout/v3/orders"
OM = "/ordermanagement/v1/orders"
SET = "/settlements/v1"
DAY = 86400
TOTAL_FIELDS = {
    "commission_amount",
    "repay_amount",
    "sale_amount",
    "holdback_amount",
    "settlement_amount",
    "reversal_amount",
    "release_amount",
    "return_amount",
    "fee_amount",
    "charge_amount",
    "credit_amount",
    "fee_refund_amount",
    "tax_refund_amount",
    "deposit_amount",
    "opening_debt_balance_amount",
    "closing_debt_balance_amount",
    "tax_amount",
    "fee_correction_amount",
}


def bought(client: TestClient, **overrides: Any) -> str:
    """A completed order (50000 SEK unless overridden): its Order Management id."""
    created = client.post(ORDERS, json=make_order(**overrides))
    assert created.status_code == 201, created.text
    order_id: str = created.json()["order_id"]
    done = client.post(f"/_sandbox/orders/{order_id}/complete", json={})
    assert done.status_code == 200, done.text
    return order_id


def capture(client: TestClient, order_id: str, amount: int, **extra: Any) -> str:
    made = client.post(f"{OM}/{order_id}/captures", json={"captured_amount": amount, **extra})
    assert made.status_code == 201, made.text
    return made.headers["Capture-Id"]


def refund(client: TestClient, order_id: str, amount: int, **extra: Any) -> None:
    made = client.post(f"{OM}/{order_id}/refunds", json={"refunded_amount": amount, **extra})
    assert made.status_code == 201, made.text


def advance(client: TestClient, seconds: int = DAY) -> None:
    moved = client.post("/_sandbox/clock/advance", json={"seconds": seconds})
    assert moved.status_code == 200, moved.text


def payouts(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    answer = client.get(f"{SET}/payouts", params=params)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["payouts"]
    return found


def root(client: TestClient) -> str:
    """The absolute base the API's links name (the Host the client sent)."""
    return str(client.base_url).rstrip("/")


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error_code"] == code
    assert isinstance(body["error_messages"], list)
    assert body["correlation_id"]


def test_no_payout_before_the_cutoff_then_one_after_a_day(client: TestClient) -> None:
    order_id = bought(client, merchant_reference1="1001")
    capture_id = capture(client, order_id, 30000, reference="cap-1")
    refund(client, order_id, 5000, reference="ref-1")
    assert payouts(client) == []
    advance(client)
    [payout] = payouts(client)
    assert re.fullmatch(r"[A-Z0-9]{8}", payout["payment_reference"])
    # 23:59 in Stockholm on 1 January (CET) is 22:59 UTC.
    assert payout["payout_date"] == "2026-01-01T22:59:00Z"
    assert payout["currency_code"] == "SEK"
    assert payout["merchant_id"] == MERCHANT.merchant_id
    assert payout["merchant_settlement_type"] == "NET"
    totals = payout["totals"]
    assert set(totals) == TOTAL_FIELDS
    assert totals["sale_amount"] == 30000
    assert totals["return_amount"] == 5000
    assert totals["fee_amount"] == 900  # 3 % of 30000
    assert totals["settlement_amount"] == 30000 - 5000 - 900
    ref = payout["payment_reference"]
    assert payout["transactions"] == (f"{root(client)}{SET}/transactions?payment_reference={ref}")

    lines = client.get(f"{SET}/transactions", params={"payment_reference": ref}).json()
    kinds = [(t["type"], t["detailed_type"], t["amount"]) for t in lines["transactions"]]
    assert kinds == [
        ("SALE", "PURCHASE", 30000),
        ("FEE", "PURCHASE_FEE_PERCENTAGE", -900),
        ("RETURN", "PURCHASE_RETURN", -5000),
    ]
    sale, fee, returned = lines["transactions"]
    assert sale["capture_id"] == capture_id == fee["capture_id"]
    assert sale["merchant_capture_reference"] == "cap-1"
    assert sale["merchant_reference1"] == "1001"
    assert sale["order_id"] == order_id
    assert sale["payout"] == f"{root(client)}{SET}/payouts/{ref}"
    assert sale["purchase_country"] == "SE"
    assert returned["capture_id"] == ""
    assert returned["refund_id"]
    assert returned["merchant_refund_reference"] == "ref-1"
    assert lines["pagination"] == {"count": 3, "total": 3, "offset": 0}

    single = client.get(f"{SET}/payouts/{ref}")
    assert single.status_code == 200
    assert single.json() == payout


def test_reading_late_gives_the_same_payouts_as_reading_every_day(
    client: TestClient,
) -> None:
    first = bought(client)
    capture(client, first, 10000)
    advance(client)
    second = bought(client)
    capture(client, second, 20000)
    advance(client, 3 * DAY)  # nobody read in between: two cut-offs settle in one read
    found = payouts(client)
    assert [(p["payout_date"], p["totals"]["sale_amount"]) for p in found] == [
        ("2026-01-02T22:59:00Z", 20000),
        ("2026-01-01T22:59:00Z", 10000),
    ]
    assert payouts(client) == found  # a second read settles nothing more


def test_debt_is_carried_and_repaid(client: TestClient) -> None:
    order_id = bought(client)
    capture(client, order_id, 10000)
    advance(client)
    assert payouts(client)[0]["totals"]["settlement_amount"] == 9700
    refund(client, order_id, 10000)  # after the payout: the next one goes negative
    advance(client)
    debt = payouts(client)[0]["totals"]
    assert (debt["settlement_amount"], debt["deposit_amount"]) == (0, 10000)
    assert debt["closing_debt_balance_amount"] == 10000
    other = bought(client)
    capture(client, other, 50000)
    advance(client)
    repaid = payouts(client)[0]["totals"]
    assert repaid["opening_debt_balance_amount"] == 10000
    assert repaid["repay_amount"] == 10000
    assert repaid["closing_debt_balance_amount"] == 0
    assert repaid["settlement_amount"] == 50000 - 1500 - 10000


def test_fees_per_merchant_through_the_sandbox(client: TestClient) -> None:
    assert client.get("/_sandbox/settlements/fees").json() == {"percent_bps": 300, "fixed": 0}
    changed = client.put("/_sandbox/settlements/fees", json={"percent_bps": 150, "fixed": 100})
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"percent_bps": 150, "fixed": 100}
    order_id = bought(client)
    capture(client, order_id, 10001)
    advance(client)
    [payout] = payouts(client)
    assert payout["totals"]["fee_amount"] == 150 + 100  # 1.5 % of 10001, rounded, + 1.00
    bad = client.put("/_sandbox/settlements/fees", json={"percent_bps": 10001, "fixed": 0})
    assert_error(bad, 400, "BAD_VALUE")
    assert_error(client.put("/_sandbox/settlements/fees", json={"fixed": 0}), 400, "BAD_VALUE")
    reset = client.delete("/_sandbox/settlements/fees")
    assert reset.json() == {"percent_bps": 300, "fixed": 0}


def test_a_reversal_lands_in_the_next_payout(client: TestClient) -> None:
    order_id = bought(client)
    capture(client, order_id, 40000)
    made = client.post(
        "/_sandbox/settlements/reversals", json={"order_id": order_id, "amount": 2500}
    )
    assert made.status_code == 201, made.text
    assert made.json()["currency_code"] == "SEK"
    advance(client)
    totals = payouts(client)[0]["totals"]
    assert totals["reversal_amount"] == 2500
    assert totals["settlement_amount"] == 40000 - 1200 - 2500
    lines = client.get(f"{SET}/transactions", params={"order_id": order_id}).json()
    [reversal] = [t for t in lines["transactions"] if t["type"] == "REVERSAL"]
    assert reversal["amount"] == -2500
    assert reversal["capture_id"] == ""
    assert reversal["reversal_reference"].startswith("krn:")
    too_much = client.post(
        "/_sandbox/settlements/reversals", json={"order_id": order_id, "amount": 40001}
    )
    assert_error(too_much, 400, "BAD_VALUE")
    unknown = client.post("/_sandbox/settlements/reversals", json={"order_id": "nope", "amount": 1})
    assert_error(unknown, 404, "NO_SUCH_ORDER")


def test_a_lost_dispute_reverses_what_the_shopper_paid_in_the_next_payout(
    client: TestClient,
) -> None:
    order_id = bought(client)
    capture(client, order_id, 40000)
    refund(client, order_id, 5000)
    disputes = f"/_sandbox/orders/{order_id}/disputes"
    won = client.post(disputes, json={}).json()["dispute_id"]
    lost = client.post(disputes, json={}).json()["dispute_id"]
    assert client.post(f"{disputes}/{won}", json={"status": "won"}).status_code == 200
    for _ in range(2):  # the second time changes nothing: one reversal
        moved = client.post(f"{disputes}/{lost}", json={"status": "lost"})
        assert moved.status_code == 200, moved.text
    advance(client)
    totals = payouts(client)[0]["totals"]
    assert totals["reversal_amount"] == 35000  # captured less refunded; the won one is nothing
    assert totals["settlement_amount"] == 0  # 40000 - 5000 - 1200 - 35000 < 0: debt
    assert totals["closing_debt_balance_amount"] == 1200
    lines = client.get(f"{SET}/transactions", params={"order_id": order_id}).json()
    assert [t["amount"] for t in lines["transactions"] if t["type"] == "REVERSAL"] == [-35000]


def test_pagination_links_are_absolute_and_keep_the_filters(client: TestClient) -> None:
    for _ in range(3):
        capture(client, bought(client), 1000)
        advance(client)
    first = client.get(f"{SET}/payouts", params={"currency_code": "SEK", "size": 2}).json()
    assert first["pagination"]["count"] == 2
    assert first["pagination"]["total"] == 3
    assert first["pagination"]["next"] == (
        f"{root(client)}{SET}/payouts?currency_code=SEK&offset=2&size=2"
    )
    assert "prev" not in first["pagination"]
    second = client.get(first["pagination"]["next"]).json()
    assert second["pagination"]["count"] == 1
    assert "next" not in second["pagination"]
    assert second["pagination"]["prev"] == (
        f"{root(client)}{SET}/payouts?currency_code=SEK&offset=0&size=2"
    )
    dates = [p["payout_date"] for p in first["payouts"] + second["payouts"]]
    assert dates == sorted(dates, reverse=True)
    assert payouts(client, currency_code="EUR") == []


def test_date_filters_and_the_summary(client: TestClient) -> None:
    for amount in (1000, 2000):
        capture(client, bought(client), amount)
        advance(client)
    window = {"start_date": "2026-01-02", "end_date": "2026-01-02T23:59:59Z"}
    [only] = payouts(client, **window)
    assert only["totals"]["sale_amount"] == 2000
    both = {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-01-03T00:00:00Z"}
    summary = client.get(f"{SET}/payouts/summary", params=both)
    assert summary.status_code == 200, summary.text
    [sek] = summary.json()
    assert sek["summary_settlement_currency"] == "SEK"
    assert sek["summary_payout_date_start"] == "2026-01-01T22:59:00Z"
    assert sek["summary_payout_date_end"] == "2026-01-02T22:59:00Z"
    assert sek["summary_total_sale_amount"] == 3000
    assert sek["summary_total_fee_amount"] == 90
    assert sek["summary_total_settlement_amount"] == 2910
    assert len(sek) == 14
    empty = {"start_date": "2026-01-01", "end_date": "2026-01-01"}
    assert client.get(f"{SET}/payouts/summary", params=empty).json() == []


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/payouts", {"size": "501"}, "size"),
        ("/payouts", {"size": "0"}, "size"),
        ("/payouts", {"size": "ten"}, "size"),
        ("/payouts", {"offset": "-1"}, "offset"),
        ("/payouts", {"start_date": "yesterday"}, "start_date"),
        ("/payouts", {"end_date": "2026-13-01"}, "end_date"),
        ("/payouts", {"start_date": "0001-01-01T00:00:00+01:00"}, "start_date"),
        ("/payouts", {"currency_code": "sek"}, "currency_code"),
        ("/payouts", {"start_date": "2026-02-01", "end_date": "2026-01-01"}, "end_date"),
        ("/payouts/summary", {"end_date": "2026-01-01"}, "start_date"),
        ("/transactions", {"size": "1000"}, "size"),
        ("/transactions", {"order_id": "a\x00b"}, "order_id"),
        ("/reports/payout-with-transactions", {}, "payment_reference"),
        ("/reports/payout", {}, "payment_reference"),
        ("/reports/payouts-summary-with-transactions", {"start_date": "2026-01-01"}, "end_date"),
        ("/reports/payouts-summary", {}, "start_date"),
    ],
)
def test_bad_parameters_answer_400(
    client: TestClient, path: str, params: dict[str, str], field: str
) -> None:
    answer = client.get(SET + path, params=params)
    assert_error(answer, 400, "BAD_VALUE")
    assert field in answer.json()["error_messages"][0]


def test_another_merchants_payout_is_not_found(client: TestClient) -> None:
    capture(client, bought(client), 1000)
    advance(client)
    ref = payouts(client)[0]["payment_reference"]
    other = (OTHER_MERCHANT.merchant_id, OTHER_MERCHANT.api_key)
    assert_error(client.get(f"{SET}/payouts/{ref}", auth=other), 404, "NOT_FOUND")
    assert client.get(f"{SET}/payouts", auth=other).json()["payouts"] == []
    lines = client.get(f"{SET}/transactions", params={"payment_reference": ref}, auth=other)
    assert lines.json()["transactions"] == []
    report = client.get(
        f"{SET}/reports/payout-with-transactions", params={"payment_reference": ref}, auth=other
    )
    assert_error(report, 404, "NOT_FOUND")
    assert_error(client.get(f"{SET}/payouts/NOSUCHREF"), 404, "NOT_FOUND")
    assert client.get(f"{SET}/payouts").status_code == 200
    assert client.get(f"{SET}/payouts", auth=None).status_code == 401


def test_the_csv_report_sums_to_the_payout(client: TestClient) -> None:
    order_id = bought(client, merchant_reference1="=SUM(A1)")
    capture(client, order_id, 12345)
    refund(client, order_id, 2345)
    advance(client)
    ref = payouts(client)[0]["payment_reference"]
    report = client.get(
        f"{SET}/reports/payout-with-transactions", params={"payment_reference": ref}
    )
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("text/csv")
    assert report.headers["content-disposition"] == f'attachment; filename="{ref}.csv"'
    rows = list(csv.DictReader(io.StringIO(report.text), delimiter=";"))
    assert list(rows[0])[:10] == [
        "type",
        "capture_date",
        "sale_date",
        "order_id",
        "short_order_id",
        "capture_id",
        "merchant_reference1",
        "merchant_reference2",
        "amount",
        "posting_currency",
    ]
    assert [r["type"] for r in rows] == ["SALE", "FEE", "RETURN"]
    assert sum(Decimal(r["amount"]) for r in rows) == Decimal("123.45") - Decimal("3.70") - Decimal(
        "23.45"
    )
    assert rows[0]["total_settlement_amount"] == "96.30"
    assert rows[0]["merchant_reference1"] == "'=SUM(A1)"  # never a formula in a spreadsheet
    assert {r["payment_reference"] for r in rows} == {ref}

    window = {"start_date": "2026-01-01", "end_date": "2026-01-31"}
    ranged = client.get(f"{SET}/reports/payouts-summary-with-transactions", params=window)
    assert ranged.status_code == 200
    assert ranged.text == report.text
    assert ranged.headers["content-disposition"].endswith('.csv"')


def pdf_text(content: bytes) -> str:
    """The text drawn in a PDF's (Flate-compressed) content streams."""
    assert content.startswith(b"%PDF-")
    assert content.rstrip().endswith(b"%%EOF")
    texts = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", content, re.DOTALL):
        try:
            texts.append(zlib.decompress(match.group(1)).decode("latin-1"))
        except zlib.error:
            continue
    return "".join(re.findall(r"\((.*?)\) ?Tj", "".join(texts)))


def test_the_pdf_reports_carry_the_totals(client: TestClient) -> None:
    capture(client, bought(client), 34900)
    advance(client)
    ref = payouts(client)[0]["payment_reference"]
    report = client.get(f"{SET}/reports/payout", params={"payment_reference": ref})
    assert report.status_code == 200
    assert report.headers["content-type"] == "application/pdf"
    assert report.headers["content-disposition"] == f'attachment; filename="{ref}.pdf"'
    text = pdf_text(report.content)
    assert ref in text
    assert "349.00 SEK" in text  # the sale
    assert "338.53 SEK" in text  # paid out: 349.00 - 10.47
    again = client.get(f"{SET}/reports/payout", params={"payment_reference": ref})
    assert again.content == report.content
    window = {"start_date": "2026-01-01", "end_date": "2026-01-31"}
    summary = client.get(f"{SET}/reports/payouts-summary", params=window)
    assert summary.status_code == 200
    assert summary.headers["content-type"] == "application/pdf"
    assert "338.53 SEK" in pdf_text(summary.content)
    missing = client.get(f"{SET}/reports/payout", params={"payment_reference": "NOSUCHRF"})
    assert_error(missing, 404, "NOT_FOUND")


def test_currencies_make_payouts_of_their_own(client: TestClient) -> None:
    capture(client, bought(client), 1000)
    euro = bought(
        client,
        purchase_country="FI",
        purchase_currency="EUR",
        locale="fi-FI",
    )
    capture(client, euro, 2000)
    advance(client)
    found = {p["currency_code"]: p["totals"]["sale_amount"] for p in payouts(client)}
    assert found == {"EUR": 2000, "SEK": 1000}
    summary = client.get(
        f"{SET}/payouts/summary", params={"start_date": "2026-01-01", "end_date": "2026-01-02"}
    ).json()
    assert [s["summary_settlement_currency"] for s in summary] == ["EUR", "SEK"]


def test_odd_query_strings_never_answer_500(client: TestClient) -> None:
    capture(client, bought(client), 1000)
    advance(client)
    rng = random.Random(7)
    alphabet = ["", "0", "500", "501", "-1", "2026-01-01", "9999-12-31T23:59:59-01:00", "SEK"]
    alphabet += ["\u00e9", "%", "'", "\x7f", "x" * 300, "2026-01-01T25:00:00Z", "1e3", "NaN"]
    names = ["start_date", "end_date", "currency_code", "size", "offset"]
    names += ["payment_reference", "order_id"]
    paths = [
        "/payouts",
        "/payouts/summary",
        "/payouts/ABCDEFGH",
        "/transactions",
        "/reports/payout-with-transactions",
        "/reports/payout",
        "/reports/payouts-summary-with-transactions",
        "/reports/payouts-summary",
    ]
    for _ in range(150):
        params = {rng.choice(names): rng.choice(alphabet) for _ in range(rng.randint(0, 4))}
        answer = client.get(SET + rng.choice(paths), params=params)
        assert answer.status_code in (200, 400, 404), (params, answer.text)
        if answer.status_code != 200:
            assert answer.json()["error_code"] in ("BAD_VALUE", "NOT_FOUND")


def test_an_orders_reversals_are_bounded(client: TestClient) -> None:
    from kco_sandbox.services.settlements import MAX_REVERSALS_PER_ORDER

    order_id = bought(client)
    capture(client, order_id, 40000)
    body = {"order_id": order_id, "amount": 1}
    for _ in range(MAX_REVERSALS_PER_ORDER):
        assert client.post("/_sandbox/settlements/reversals", json=body).status_code == 201
    assert_error(client.post("/_sandbox/settlements/reversals", json=body), 400, "BAD_VALUE")
