"""What a settlement run pays out: transactions from captures, refunds and reversals, fees, and
each payout's Totals with its debt.

A run takes what the platform recorded (`Source`s: Order Management captures and refunds, and
reversals the sandbox was asked for) that no payout holds yet, made before a cut-off, and makes
one payout per currency and cut-off:

- every capture a `SALE` (`PURCHASE`) and its fees: `FEE` `PURCHASE_FEE_PERCENTAGE`
  (`percent_bps` of the amount, rounded half up to the minor unit) and `FEE` `PURCHASE_FEE_FIXED`
  (`fixed`), each left out when zero;
- every refund a `RETURN` (`PURCHASE_RETURN`); fees are not given back on refunds;
- every reversal a `REVERSAL` (`REVERSAL`).

Transaction `amount`s carry the sign of their effect on the payout (a SALE positive; RETURN, FEE
and REVERSAL negative), so a payout's transactions sum to its gross amount; `Totals` hold
magnitudes, as the vendor's field descriptions read. The gross amount is
`sale - return - reversal - fee` (no VAT on fees, no commission, holdback or charges are made).
If it is negative nothing is paid: `deposit_amount` is the shortfall and the debt grows by it;
while a debt is open, a later positive gross amount repays it first (`repay_amount`). So over any
run of payouts, the sum of `settlement_amount` minus the closing debt is the sum of the gross
amounts, to the minor unit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from kco_sandbox.domain.settlements.schedule import Schedule

SourceKind = Literal["capture", "refund", "reversal"]
MAX_PERCENT_BPS = 10_000  # 100 %
MAX_FIXED_FEE = 100_000  # 1000.00 in a currency of two decimals
DEFAULT_PERCENT_BPS = 300  # 3 %, the vendor's example payout (a fee of 1047 on a sale of 34900)
DEFAULT_FIXED_FEE = 0


class FeeRate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A merchant's purchase fee: `percent_bps` hundredths of a per cent of each capture, plus
    `fixed` minor units per capture."""

    percent_bps: Annotated[int, Meta(ge=0, le=MAX_PERCENT_BPS)] = DEFAULT_PERCENT_BPS
    fixed: Annotated[int, Meta(ge=0, le=MAX_FIXED_FEE)] = DEFAULT_FIXED_FEE

    def percentage_of(self, amount: int) -> int:
        return (amount * self.percent_bps + 5_000) // 10_000


@dataclass(frozen=True, slots=True)
class Source:
    """A capture, refund or reversal awaiting its payout, with what its lines tell of its order."""

    kind: SourceKind
    source_id: str  # the capture's, refund's or reversal's id
    order_id: str
    amount: int  # positive
    at: datetime  # when it was made, on the merchant's clock
    currency: str
    short_order_id: str  # the order's klarna_reference
    sale_date: datetime  # the order's creation
    purchase_country: str
    shipping_country: str | None = None
    merchant_reference1: str | None = None
    merchant_reference2: str | None = None
    reference: str | None = None  # the merchant's reference on the capture or refund

    @property
    def rank(self) -> tuple[datetime, int, str]:
        """Lines are in the order things happened (ties: captures, refunds, reversals)."""
        return (self.at, ("capture", "refund", "reversal").index(self.kind), self.source_id)


class Transaction(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One line of a payout, stored as it is answered (but for its payout's reference and link,
    which the reader adds)."""

    type: str
    detailed_type: str
    amount: int
    order_id: str
    short_order_id: str
    capture_date: datetime
    sale_date: datetime
    currency_code: str
    purchase_country: str
    capture_id: str | None = None
    refund_id: str | None = None
    merchant_capture_reference: str | None = None
    merchant_refund_reference: str | None = None
    merchant_reference1: str | None = None
    merchant_reference2: str | None = None
    shipping_country: str | None = None
    reversal_reference: str | None = None


TOTAL_FIELDS = (
    "sale_amount",
    "return_amount",
    "reversal_amount",
    "fee_amount",
    "fee_correction_amount",
    "fee_refund_amount",
    "tax_amount",
    "tax_refund_amount",
    "commission_amount",
    "holdback_amount",
    "release_amount",
    "charge_amount",
    "credit_amount",
    "repay_amount",
    "deposit_amount",
    "opening_debt_balance_amount",
    "closing_debt_balance_amount",
    "settlement_amount",
)


class Totals(msgspec.Struct, frozen=True, kw_only=True):
    """A payout's Totals, all 18 of the vendor's fields, in minor units (magnitudes)."""

    sale_amount: int = 0
    return_amount: int = 0
    reversal_amount: int = 0
    fee_amount: int = 0
    fee_correction_amount: int = 0
    fee_refund_amount: int = 0
    tax_amount: int = 0
    tax_refund_amount: int = 0
    commission_amount: int = 0
    holdback_amount: int = 0
    release_amount: int = 0
    charge_amount: int = 0
    credit_amount: int = 0
    repay_amount: int = 0
    deposit_amount: int = 0
    opening_debt_balance_amount: int = 0
    closing_debt_balance_amount: int = 0
    settlement_amount: int = 0

    @property
    def gross(self) -> int:
        """The vendor's settlement arithmetic before debt (the fields this platform fills)."""
        return (
            self.sale_amount
            - self.return_amount
            - self.reversal_amount
            - self.fee_amount
            + self.fee_correction_amount
            + self.fee_refund_amount
            - self.tax_amount
            + self.tax_refund_amount
            + self.commission_amount
            - self.holdback_amount
            + self.release_amount
            - self.charge_amount
            + self.credit_amount
        )


@dataclass(frozen=True, slots=True)
class Line:
    """A transaction and the source it settles (its unique key with `detailed_type`)."""

    source_id: str
    transaction: Transaction


@dataclass(frozen=True, slots=True)
class PayoutDraft:
    payment_reference: str
    currency_code: str
    payout_date: datetime  # the cut-off
    totals: Totals
    lines: list[Line] = field(default_factory=list)


def lines_of(source: Source, fee: FeeRate) -> list[Line]:
    """The transactions one source makes (see the module docstring)."""
    base = Transaction(
        type="",
        detailed_type="",
        amount=0,
        order_id=source.order_id,
        short_order_id=source.short_order_id,
        capture_date=source.at,
        sale_date=source.sale_date,
        currency_code=source.currency,
        purchase_country=source.purchase_country,
        merchant_reference1=source.merchant_reference1,
        merchant_reference2=source.merchant_reference2,
        shipping_country=source.shipping_country,
    )
    replace = msgspec.structs.replace
    if source.kind == "refund":
        returned = replace(
            base,
            type="RETURN",
            detailed_type="PURCHASE_RETURN",
            amount=-source.amount,
            capture_id="",  # the vendor's: no capture on a return
            refund_id=source.source_id,
            merchant_refund_reference=source.reference,
        )
        return [Line(source.source_id, returned)]
    if source.kind == "reversal":
        reversed_ = replace(
            base,
            type="REVERSAL",
            detailed_type="REVERSAL",
            amount=-source.amount,
            capture_id="",
            reversal_reference=f"krn:kustom:eu1:dispute:sandbox:{source.source_id}",
        )
        return [Line(source.source_id, reversed_)]
    captured = replace(
        base, capture_id=source.source_id, merchant_capture_reference=source.reference
    )
    lines = [
        Line(
            source.source_id,
            replace(captured, type="SALE", detailed_type="PURCHASE", amount=source.amount),
        )
    ]
    for detailed, amount in (
        ("PURCHASE_FEE_PERCENTAGE", fee.percentage_of(source.amount)),
        ("PURCHASE_FEE_FIXED", fee.fixed),
    ):
        if amount:
            fee_line = replace(captured, type="FEE", detailed_type=detailed, amount=-amount)
            lines.append(Line(source.source_id, fee_line))
    return lines


def totals_of(lines: Iterable[Line], opening_debt: int) -> Totals:
    """The Totals of a payout's lines, given the debt open before it."""
    sums = {"SALE": 0, "RETURN": 0, "REVERSAL": 0, "FEE": 0}
    for line in lines:
        sums[line.transaction.type] += abs(line.transaction.amount)
    base = Totals(
        sale_amount=sums["SALE"],
        return_amount=sums["RETURN"],
        reversal_amount=sums["REVERSAL"],
        fee_amount=sums["FEE"],
    )
    gross = base.gross
    repay = min(gross, opening_debt) if gross > 0 else 0
    deposit = -gross if gross < 0 else 0
    return msgspec.structs.replace(
        base,
        repay_amount=repay,
        deposit_amount=deposit,
        opening_debt_balance_amount=opening_debt,
        closing_debt_balance_amount=opening_debt + deposit - repay,
        settlement_amount=max(gross, 0) - repay,
    )


def payout_cutoff(source: Source, schedule: Schedule, last_payout: datetime | None) -> datetime:
    """The cut-off whose payout takes `source`: the first after it was made, or, if that one was
    settled already (a commit that raced the run), the first after the latest payout."""
    cutoff = schedule.cutoff_after(source.at)
    if last_payout is not None and cutoff <= last_payout:
        return schedule.cutoff_after(last_payout)
    return cutoff


def plan(
    sources: Iterable[Source],
    schedule: Schedule,
    due_until: datetime,
    last_payout: datetime | None,
    debts: dict[str, int],
    fee: FeeRate,
    new_reference: Callable[[], str],
) -> list[PayoutDraft]:
    """The payouts of every cut-off up to `due_until`, oldest first, one per currency.

    A source belongs to the first cut-off after it was made; one that reached the store after
    that cut-off was settled (`last_payout`, a commit racing the run) goes to the next payout
    still to come instead. `debts` (per currency, the debt open now) is consumed in order.
    """
    groups: dict[tuple[datetime, str], list[Source]] = {}
    for source in sources:
        cutoff = payout_cutoff(source, schedule, last_payout)
        if cutoff <= due_until:
            groups.setdefault((cutoff, source.currency), []).append(source)
    debt = dict(debts)
    drafts = []
    for (cutoff, currency), members in sorted(groups.items()):
        lines = [line for s in sorted(members, key=lambda s: s.rank) for line in lines_of(s, fee)]
        totals = totals_of(lines, debt.get(currency, 0))
        debt[currency] = totals.closing_debt_balance_amount
        drafts.append(PayoutDraft(new_reference(), currency, cutoff, totals, lines))
    return drafts
