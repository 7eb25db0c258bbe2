"""The settlement schedule and ledger, pure: cut-offs across daylight saving, fees, Totals with
debt, and the properties that make runs trustworthy (money adds up to the minor unit; settling
every day or once a week late gives the same payouts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kco_sandbox.domain.settlements.ledger import (
    FeeRate,
    PayoutDraft,
    Source,
    lines_of,
    plan,
    totals_of,
)
from kco_sandbox.domain.settlements.schedule import Schedule
from kco_sandbox.domain.settlements.summary import summarize

STOCKHOLM = Schedule.parse()
START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(
    ("moment", "cutoff"),
    [
        ("2026-01-01T12:00:00Z", "2026-01-01T22:59:00Z"),  # CET: UTC+1
        ("2026-07-01T12:00:00Z", "2026-07-01T21:59:00Z"),  # CEST: UTC+2
        ("2026-01-01T22:59:00Z", "2026-01-02T22:59:00Z"),  # at the cut-off: the next one's
        ("2026-01-01T22:58:59Z", "2026-01-01T22:59:00Z"),
        ("2026-01-01T23:30:00Z", "2026-01-02T22:59:00Z"),  # after it, already 2 January there
        ("2026-03-29T12:00:00Z", "2026-03-29T21:59:00Z"),  # the day summer time starts
        ("2026-10-25T12:00:00Z", "2026-10-25T22:59:00Z"),  # the day it ends
    ],
)
def test_the_cutoff_after_a_moment(moment: str, cutoff: str) -> None:
    assert STOCKHOLM.cutoff_after(at(moment)) == at(cutoff)


def test_the_last_cutoff_until_now() -> None:
    assert STOCKHOLM.cutoff_until(at("2026-01-02T12:00:00Z")) == at("2026-01-01T22:59:00Z")
    assert STOCKHOLM.cutoff_until(at("2026-01-01T22:59:00Z")) == at("2026-01-01T22:59:00Z")
    assert Schedule.parse("00:00", "UTC").cutoff_until(at("2026-05-05T10:00:00Z")) == at(
        "2026-05-05T00:00:00Z"
    )


@pytest.mark.parametrize(
    ("time", "zone", "message"),
    [
        ("25:00", "UTC", "time of day"),
        ("noon", "UTC", "time of day"),
        ("12:00+01:00", "UTC", "without a zone"),
        ("12:00", "Mars/Olympus", "unknown time zone"),
        ("12:00", "Europe", "unknown time zone"),
    ],
)
def test_a_schedule_that_cannot_be_read(time: str, zone: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Schedule.parse(time, zone)


@pytest.mark.parametrize(
    ("bps", "amount", "fee"),
    [(300, 34900, 1047), (150, 10001, 150), (150, 10050, 151), (50, 100, 1), (0, 999, 0)],
)
def test_the_percentage_fee_rounds_half_up(bps: int, amount: int, fee: int) -> None:
    assert FeeRate(percent_bps=bps).percentage_of(amount) == fee


def source(kind: str = "capture", amount: int = 10000, **overrides: object) -> Source:
    values: dict[str, object] = {
        "kind": kind,
        "source_id": f"{kind}-1",
        "order_id": "order-1",
        "amount": amount,
        "at": START,
        "currency": "SEK",
        "short_order_id": "K1",
        "sale_date": START,
        "purchase_country": "SE",
    }
    values.update(overrides)
    return Source(**values)  # type: ignore[arg-type]


def test_a_capture_makes_a_sale_and_its_fees() -> None:
    lines = lines_of(source(reference="c-1"), FeeRate(percent_bps=300, fixed=150))
    assert [(line.transaction.detailed_type, line.transaction.amount) for line in lines] == [
        ("PURCHASE", 10000),
        ("PURCHASE_FEE_PERCENTAGE", -300),
        ("PURCHASE_FEE_FIXED", -150),
    ]
    assert {line.transaction.capture_id for line in lines} == {"capture-1"}
    assert lines[0].transaction.merchant_capture_reference == "c-1"
    [returned] = lines_of(source("refund", 400), FeeRate())
    assert (returned.transaction.type, returned.transaction.amount) == ("RETURN", -400)
    assert (returned.transaction.capture_id, returned.transaction.refund_id) == ("", "refund-1")


def test_totals_repay_debt_first_and_make_debt_of_a_shortfall() -> None:
    sale = lines_of(source(amount=10000), FeeRate(percent_bps=0))
    refund = lines_of(source("refund", 15000), FeeRate())
    short = totals_of(sale + refund, opening_debt=0)
    assert (short.settlement_amount, short.deposit_amount) == (0, 5000)
    assert short.closing_debt_balance_amount == 5000
    repaid = totals_of(sale, opening_debt=short.closing_debt_balance_amount)
    assert (repaid.repay_amount, repaid.settlement_amount) == (5000, 5000)
    assert repaid.closing_debt_balance_amount == 0
    partly = totals_of(sale, opening_debt=25000)
    assert (partly.repay_amount, partly.settlement_amount) == (10000, 0)
    assert partly.closing_debt_balance_amount == 15000


def test_a_summary_per_currency() -> None:
    a = totals_of(lines_of(source(amount=1000), FeeRate()), 0)
    b = totals_of(lines_of(source(amount=2000), FeeRate()), 0)
    [eur, sek] = summarize(
        [("SEK", START, a), ("SEK", START + timedelta(days=1), b), ("EUR", START, b)]
    )
    assert (eur.currency, sek.currency) == ("EUR", "SEK")
    assert sek.sums["sale_amount"] == 3000
    assert (sek.first_payout, sek.last_payout) == (START, START + timedelta(days=1))


# Properties

sources = st.lists(
    st.builds(
        lambda kind, amount, minutes, currency, n: source(
            kind,
            amount,
            source_id=f"{kind}-{n}",
            at=START + timedelta(minutes=minutes),
            currency=currency,
        ),
        st.sampled_from(["capture", "capture", "refund", "reversal"]),
        st.integers(min_value=0, max_value=2_000_000),
        st.integers(min_value=0, max_value=7 * 24 * 60),
        st.sampled_from(["SEK", "EUR"]),
        st.integers(min_value=0, max_value=10**9),
    ),
    max_size=40,
    unique_by=lambda s: s.source_id,
)
fees = st.builds(
    FeeRate,
    percent_bps=st.integers(min_value=0, max_value=1000),
    fixed=st.integers(min_value=0, max_value=500),
)


def counter() -> object:
    numbers = iter(range(10**6))
    return lambda: f"R{next(numbers):07d}"


def shape(drafts: list[PayoutDraft]) -> list[object]:
    """A plan without its (random) references."""
    return [
        (d.payout_date, d.currency_code, d.totals, [x.transaction for x in d.lines]) for d in drafts
    ]


@given(sources, fees)
@settings(max_examples=150, deadline=None)
def test_every_minor_unit_is_accounted_for(made: list[Source], fee: FeeRate) -> None:
    end = START + timedelta(days=9)
    drafts = plan(made, STOCKHOLM, end, None, {}, fee, counter())  # type: ignore[arg-type]
    for currency in ("SEK", "EUR"):
        mine = [d for d in drafts if d.currency_code == currency]
        of = [s for s in made if s.currency == currency]
        expected = (
            sum(s.amount for s in of if s.kind == "capture")
            - sum(s.amount for s in of if s.kind != "capture")
            - sum(fee.percentage_of(s.amount) + fee.fixed for s in of if s.kind == "capture")
        )
        paid = sum(d.totals.settlement_amount for d in mine)
        closing = mine[-1].totals.closing_debt_balance_amount if mine else 0
        assert paid - closing == expected
        for draft in mine:
            assert draft.totals.settlement_amount >= 0
            assert sum(x.transaction.amount for x in draft.lines) == draft.totals.gross


@given(sources, fees, st.lists(st.integers(min_value=1, max_value=72), min_size=1, max_size=12))
@settings(max_examples=100, deadline=None)
def test_reading_often_or_late_makes_the_same_payouts(
    made: list[Source], fee: FeeRate, steps: list[int]
) -> None:
    end = STOCKHOLM.cutoff_until(START + timedelta(days=9))
    once = plan(made, STOCKHOLM, end, None, {}, fee, counter())  # type: ignore[arg-type]
    # A reader that comes at irregular times, each time settling what is due.
    settled: set[str] = set()
    debts: dict[str, int] = {}
    last: datetime | None = None
    often: list[PayoutDraft] = []
    now = START
    for hours in [*steps, 24 * 10]:
        now = min(now + timedelta(hours=hours), START + timedelta(days=9))
        due = STOCKHOLM.cutoff_until(now)
        pending = [s for s in made if s.source_id not in settled and s.at < due]
        drafts = plan(pending, STOCKHOLM, due, last, debts, fee, counter())  # type: ignore[arg-type]
        for draft in drafts:
            settled.update(line.source_id for line in draft.lines)
            debts[draft.currency_code] = draft.totals.closing_debt_balance_amount
            last = draft.payout_date if last is None else max(last, draft.payout_date)
        often += drafts
    assert shape(often) == shape(once)
