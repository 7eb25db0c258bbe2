"""The client's Settlements API against a real server (this session's `kco_sandbox`): captures,
refunds and reversals paid out once the clock passes a cut-off (`settle`), the payout read back,
its transactions page by page, its reports, the sandbox's fee control, and the errors.

The session's merchant is shared with the other tests, whose captures may fall into the same
payout as this test's: each test finds its own order's lines (`order_id`) and checks a payout's
sums whatever else it holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from kco_sandbox.client import (
    AsyncKcoClient,
    KcoApiError,
    KcoClient,
    KcoSandbox,
    parse_settlement_csv,
)

# The fee the tests set (2.5 % and 1.00 kr per capture), so their fee lines are known exactly.
FEE = {"percent_bps": 250, "fixed": 100}


@pytest.fixture
def fee(kco: KcoClient) -> Iterator[dict[str, int]]:
    default = kco.reset_settlement_fee()
    assert kco.set_settlement_fee(**FEE) == FEE
    yield FEE
    assert kco.reset_settlement_fee() == default == kco.settlement_fee()


def bought(kco: KcoClient, **fields: Any) -> str:
    """An authorized order of 500.00 kr, acknowledged (so no pushes wait on the clock moving)."""
    order_id = str(kco.create_order(**fields)["order_id"])
    kco.complete(order_id, "anna@example.com")
    kco.acknowledge(order_id)
    return order_id


def minor(amount: int) -> Decimal:
    """Minor units as the CSV writes them: major units, two decimals."""
    return Decimal(amount) / 100


def net(totals: dict[str, int]) -> int:
    """What a payout's lines sum to: its amount before debt."""
    return (
        totals["sale_amount"]
        - totals["return_amount"]
        - totals["reversal_amount"]
        - totals["fee_amount"]
    )


def test_a_capture_and_a_refund_are_paid_out_once_the_day_is_settled(
    kco: KcoClient, fee: dict[str, int]
) -> None:
    order_id = bought(kco, merchant_reference1="a;b")
    capture_id = kco.capture(order_id, 30000, reference="cap-1")["capture_id"]
    kco.refund(order_id, 5000, reference="ref-1")

    made = kco.settle()

    lines = list(kco.iter_transactions(order_id=order_id))
    assert [(t["type"], t["detailed_type"], t["amount"]) for t in lines] == [
        ("SALE", "PURCHASE", 30000),
        ("FEE", "PURCHASE_FEE_PERCENTAGE", -750),
        ("FEE", "PURCHASE_FEE_FIXED", -100),
        ("RETURN", "PURCHASE_RETURN", -5000),
    ]
    assert lines[0]["capture_id"] == capture_id
    assert lines[0]["merchant_capture_reference"] == "cap-1"
    assert lines[3]["merchant_refund_reference"] == "ref-1"
    reference = lines[0]["payment_reference"]
    payout = kco.get_payout(reference)
    assert payout in made  # the payout the day's cut-off made
    assert (payout["currency_code"], payout["merchant_settlement_type"]) == ("SEK", "NET")
    assert payout["transactions"].endswith(
        f"/settlements/v1/transactions?payment_reference={reference}"
    )
    totals = payout["totals"]
    assert totals["sale_amount"] >= 30000
    assert totals["fee_amount"] >= 850
    assert (
        totals["settlement_amount"]
        == net(totals) - totals["repay_amount"] + totals["deposit_amount"]
    )

    rows = kco.payout_rows(reference)
    assert {row["payment_reference"] for row in rows} == {reference}
    assert sum(row["amount"] for row in rows) == minor(net(totals))
    assert {row["total_settlement_amount"] for row in rows} == {minor(totals["settlement_amount"])}
    mine = [row for row in rows if row["order_id"] == order_id]
    assert [row["amount"] for row in mine] == [
        Decimal("300.00"),
        Decimal("-7.50"),
        Decimal("-1.00"),
        Decimal("-50.00"),
    ]
    assert {row["merchant_reference1"] for row in mine} == {"a;b"}  # quoted, read back whole
    assert parse_settlement_csv(kco.payout_csv(reference)) == rows
    assert kco.payout_pdf(reference).startswith(b"%PDF-")


def test_the_summary_and_the_range_reports_of_a_payout_date(
    kco: KcoClient, fee: dict[str, int]
) -> None:
    kco.capture(bought(kco), 12345)
    [payout] = [p for p in kco.settle() if p["currency_code"] == "SEK"]
    day = payout["payout_date"]

    [summary] = kco.payouts_summary(day, day, currency_code="SEK")
    assert summary["summary_settlement_currency"] == "SEK"
    assert summary["summary_payout_date_start"] == summary["summary_payout_date_end"] == day
    assert summary["summary_total_sale_amount"] == payout["totals"]["sale_amount"]
    assert summary["summary_total_settlement_amount"] == payout["totals"]["settlement_amount"]
    # Aware datetimes are sent in UTC: the payout date seen from Stockholm is the same instant.
    stockholm = datetime.fromisoformat(day).astimezone(ZoneInfo("Europe/Stockholm"))
    dated = kco.list_payouts(start_date=stockholm, end_date=stockholm, currency_code="SEK")
    assert dated["payouts"] == [payout]

    assert parse_settlement_csv(kco.payouts_csv(day, day)) == kco.payout_rows(
        payout["payment_reference"]
    )
    assert kco.payouts_pdf(day, day).startswith(b"%PDF-")
    later = datetime.fromisoformat(day) + timedelta(seconds=1)
    assert kco.payouts_summary(later, later + timedelta(hours=1)) == []


def test_pages_follow_next_and_the_iterators_walk_them_all(
    kco: KcoClient, fee: dict[str, int]
) -> None:
    order_id = bought(kco)
    for _ in range(3):
        kco.capture(order_id, 10000)
    kco.settle()

    first = kco.list_transactions(order_id=order_id, size=2)
    assert first["pagination"]["count"] == 2
    assert first["pagination"]["total"] == 9  # a sale and two fees per capture
    assert first["pagination"]["next"].startswith(kco.base_url)
    middle = kco.list_transactions(order_id=order_id, size=2, offset=4)
    assert middle["pagination"]["prev"].endswith("offset=2&size=2")
    walked = list(kco.iter_transactions(order_id=order_id, size=2))
    assert len(walked) == 9
    assert walked[:2] == first["transactions"]
    assert walked[4:6] == middle["transactions"]
    assert [t["type"] for t in walked] == ["SALE", "FEE", "FEE"] * 3
    assert walked == list(kco.iter_transactions(order_id=order_id))

    everything = kco.list_payouts(size=500)
    assert everything["pagination"]["total"] <= 500  # all on one page, to compare with
    one_by_one = list(kco.iter_payouts(size=1))
    assert one_by_one == everything["payouts"]
    assert list(kco.iter_payouts(currency_code="XXX")) == []


def test_a_reversal_is_taken_back_by_the_next_payout(kco: KcoClient, fee: dict[str, int]) -> None:
    order_id = bought(kco)
    kco.capture(order_id, 20000)
    kco.settle()

    reversal = kco.add_reversal(order_id, 1500)
    assert (reversal["order_id"], reversal["amount"]) == (order_id, 1500)
    assert reversal["currency_code"] == "SEK"
    kco.settle()

    lines = list(kco.iter_transactions(order_id=order_id))
    assert [(t["type"], t["amount"]) for t in lines] == [
        ("SALE", 20000),
        ("FEE", -500),
        ("FEE", -100),
        ("REVERSAL", -1500),
    ]
    assert lines[3]["payment_reference"] != lines[0]["payment_reference"]
    taken_back = kco.get_payout(lines[3]["payment_reference"])
    assert taken_back["totals"]["reversal_amount"] >= 1500


def test_errors_are_the_platforms(kco: KcoClient) -> None:
    for call in (kco.get_payout, kco.payout_csv, kco.payout_pdf, kco.payout_rows):
        with pytest.raises(KcoApiError) as missing:
            call("NOSUCHRF")
        assert (missing.value.status, missing.value.error_code) == (404, "NOT_FOUND")
    with pytest.raises(KcoApiError) as too_big:
        kco.list_payouts(size=501)
    assert (too_big.value.status, too_big.value.error_code) == (400, "BAD_VALUE")
    with pytest.raises(KcoApiError) as too_small:
        next(kco.iter_transactions(size=0))
    assert too_small.value.status == 400
    with pytest.raises(KcoApiError) as backwards:
        kco.payouts_summary("2026-02-01", "2026-01-01")
    assert backwards.value.error_messages
    with pytest.raises(KcoApiError) as unknown:
        kco.add_reversal("no-such-order", 100)
    assert (unknown.value.status, unknown.value.error_code) == (404, "NO_SUCH_ORDER")
    with pytest.raises(KcoApiError) as expensive:
        kco.set_settlement_fee(10001)
    assert expensive.value.status == 400
    with pytest.raises(ValueError, match="whole number of days"):
        kco.settle(0)


def test_a_server_breaking_its_contract_is_told_not_followed() -> None:
    """Answers no kco-sandbox gives, stood in for at the network edge: a `next` page that
    does not move forward (which would be walked for ever) and a report that is no CSV."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/payouts"):
            stuck = "http://sandbox.test/settlements/v1/payouts?offset=0&size=1"
            return httpx.Response(
                200, json={"payouts": [{}], "pagination": {"count": 1, "next": stuck}}
            )
        return httpx.Response(200, content=b"type;amount\r\nSALE;ten\r\n")

    client = KcoClient("http://sandbox.test", "u", "p", transport=httpx.MockTransport(answer))
    with client:
        with pytest.raises(KcoApiError) as stuck:
            list(client.iter_payouts(size=1))
        assert stuck.value.error_messages == ["expected a pagination.next further on in the answer"]
        with pytest.raises(KcoApiError) as broken:
            client.payout_rows("ABCDEFGH")
        assert broken.value.error_messages == [
            "expected a semicolon-separated CSV report in the answer"
        ]


def test_the_async_client_does_the_same(kco_sandbox: KcoSandbox) -> None:
    """Every settlement method once, awaited (the operations are shared; this checks the
    driving, the async iterators above all)."""

    async def run(kco: AsyncKcoClient) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        seen["default"] = await kco.reset_settlement_fee()
        seen["fee"] = await kco.set_settlement_fee(**FEE)
        try:
            order_id = (await kco.create_order())["order_id"]
            await kco.complete(order_id, "anna@example.com")
            await kco.acknowledge(order_id)
            await kco.capture(order_id, 40000)
            seen["made"] = await kco.settle()
            await kco.refund(order_id, 40000)
            await kco.add_reversal(order_id, 1000)
            await kco.settle(days=2)
        finally:
            seen["reset"] = await kco.reset_settlement_fee()
            seen["after"] = await kco.settlement_fee()
        seen["lines"] = [t async for t in kco.iter_transactions(order_id=order_id, size=1)]
        reference = seen["lines"][0]["payment_reference"]
        seen["page"] = await kco.list_transactions(payment_reference=reference, size=500)
        seen["payout"] = await kco.get_payout(reference)
        day = seen["payout"]["payout_date"]
        seen["listed"] = await kco.list_payouts(start_date=day, end_date=day)
        seen["walked"] = [p async for p in kco.iter_payouts(size=1)]
        seen["all"] = (await kco.list_payouts(size=500))["payouts"]
        seen["summary"] = await kco.payouts_summary(day, day)
        seen["rows"] = await kco.payout_rows(reference)
        seen["csv"] = await kco.payout_csv(reference)
        seen["range_csv"] = await kco.payouts_csv(day, day)
        seen["pdf"] = await kco.payout_pdf(reference)
        seen["range_pdf"] = await kco.payouts_pdf(day, day)
        try:
            await kco.get_payout("NOSUCHRF")
        except KcoApiError as missing:
            seen["missing"] = (missing.status, missing.error_code)
        try:
            await kco.list_transactions(size=501)
        except KcoApiError as too_big:
            seen["too_big"] = (too_big.status, too_big.error_code)
        return seen

    async def main() -> dict[str, Any]:
        async with kco_sandbox.async_client() as kco:
            return await run(kco)

    seen = asyncio.run(main())

    assert seen["fee"] == FEE
    assert seen["reset"] == seen["after"] == seen["default"]
    assert [(t["type"], t["amount"]) for t in seen["lines"]] == [
        ("SALE", 40000),
        ("FEE", -1000),
        ("FEE", -100),
        ("RETURN", -40000),
        ("REVERSAL", -1000),
    ]
    assert seen["payout"] in seen["made"]
    assert seen["payout"] in seen["listed"]["payouts"]
    assert seen["walked"] == seen["all"]
    assert seen["page"]["pagination"]["total"] == len(seen["rows"])
    totals = seen["payout"]["totals"]
    assert sum(row["amount"] for row in seen["rows"]) == minor(net(totals))
    assert parse_settlement_csv(seen["csv"]) == seen["rows"]
    assert parse_settlement_csv(seen["range_csv"]) == seen["rows"]
    assert "SEK" in [s["summary_settlement_currency"] for s in seen["summary"]]
    assert seen["pdf"].startswith(b"%PDF-")
    assert seen["range_pdf"].startswith(b"%PDF-")
    assert seen["missing"] == (404, "NOT_FOUND")
    assert seen["too_big"] == (400, "BAD_VALUE")
