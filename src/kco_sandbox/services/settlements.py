"""The Settlements API's use-cases: settle what is due, read payouts and transactions, and the
sandbox's fee rate and reversals.

Settlement runs are made lazily: every read first settles each cut-off of the schedule that the
merchant's clock has passed (`settle_due`), so moving the clock a day and reading the payouts
shows the day's payout. A run is a function of what the store holds and the schedule, never of
when it is made: a reader that comes a week late finds the same payouts, cut-off by cut-off, as
one that read every day (but for their random payment references). A read with nothing due costs
a few reads of the store and no write; two readers settling at once cannot both write
(`store/settlements.py`), and the loser reads the winner's payouts.

The fee rate of a run is the merchant's when it runs, so changing the rate first settles what is
due under the old one: captures made before the change and settled after it are charged the new
rate only if their cut-off had not passed yet, whenever anyone reads.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import msgspec

from kco_sandbox.clock import MerchantClocks
from kco_sandbox.domain.errors import BadValue, Conflict, NoSuchOrder, NotFound
from kco_sandbox.domain.settlements.ledger import FeeRate, payout_cutoff, plan
from kco_sandbox.domain.settlements.payout import Page, Payout, SettledTransaction
from kco_sandbox.domain.settlements.schedule import Schedule
from kco_sandbox.domain.settlements.summary import Summary, summarize
from kco_sandbox.ids import IdFactory
from kco_sandbox.store import Store
from kco_sandbox.store.settlements import AlreadySettled

FEE_KEY = "settlement_fee:"  # + a merchant id: its fee rate as JSON (none stored: the default)
RUN_ATTEMPTS = 5  # runs that lose a race (or draw a taken reference) before answering CONFLICT
MAX_REPORT_TRANSACTIONS = 100_000  # lines one range report may hold
MAX_REVERSALS_PER_ORDER = 20  # the sandbox's reversals of one order (as its disputes)
_REFERENCE_ALPHABET = string.ascii_uppercase + string.digits
_decode_fee = msgspec.json.Decoder(FeeRate).decode
_encode = msgspec.json.Encoder().encode


def new_payment_reference() -> str:
    """Eight upper-case letters and digits, as the vendor's `payment_reference`s are."""
    return "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))


@dataclass(frozen=True, slots=True)
class Reversal:
    reversal_id: str
    order_id: str
    amount: int
    currency_code: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Report:
    """Payouts with their transactions, for the CSV and PDF reports."""

    payouts: list[Payout]
    transactions: list[SettledTransaction]


class SettlementService:
    def __init__(
        self,
        store: Store,
        clock: MerchantClocks,
        schedule: Schedule,
        default_fee: FeeRate,
        new_id: IdFactory,
        new_reference: Callable[[], str] = new_payment_reference,
    ) -> None:
        self.store = store
        self.clock = clock
        self.schedule = schedule
        self.default_fee = default_fee
        self.new_id = new_id
        self.new_reference = new_reference

    # Settling

    def settle_due(self, merchant_id: str) -> int:
        """Settle every cut-off the merchant's clock has passed; the number of payouts made."""
        settlements = self.store.settlements
        due_until = self.schedule.cutoff_until(self.clock.now(merchant_id))
        fee = self.fee(merchant_id)
        for _ in range(RUN_ATTEMPTS):
            latest = settlements.latest_payout_date(merchant_id)
            pending = settlements.pending(merchant_id, due_until)
            if all(payout_cutoff(s, self.schedule, latest) > due_until for s in pending):
                return 0  # nothing due: no write
            try:
                return settlements.run(
                    merchant_id,
                    due_until,
                    lambda sources, last, debts: plan(
                        sources, self.schedule, due_until, last, debts, fee, self.new_reference
                    ),
                    self.clock.now(merchant_id),
                )
            except AlreadySettled:
                continue  # another reader settled it (or a reference was taken): look again
        raise Conflict("Settlement is in progress, try again")

    # The fee rate (sandbox control)

    def fee(self, merchant_id: str) -> FeeRate:
        stored = self.store.state.get(FEE_KEY + merchant_id)
        return _decode_fee(stored) if stored is not None else self.default_fee

    def set_fee(self, merchant_id: str, rate: FeeRate | None) -> FeeRate:
        """The merchant's fee rate from now on (None: back to the default), after settling what
        is due at the old rate."""
        self.settle_due(merchant_id)
        chosen = rate if rate is not None else self.default_fee
        self.store.state.set(FEE_KEY + merchant_id, _encode(chosen).decode())
        return chosen

    # Reversals (sandbox control)

    def add_reversal(self, merchant_id: str, order_id: str, amount: int) -> Reversal:
        """A reversal (a dispute lost) of `amount` on one of the merchant's orders, paid back
        by the next payout."""
        found = self.store.orders.get(order_id) if order_id.isprintable() else None
        if found is None or found[0].merchant_id != merchant_id:
            raise NoSuchOrder(f"Order {order_id} was not found")
        order = found[0]
        if amount > order.captured_amount:
            raise BadValue("amount", "more than the order's captured amount")
        if self.store.settlements.reversal_count(order_id) >= MAX_REVERSALS_PER_ORDER:
            raise BadValue("order_id", f"an order has at most {MAX_REVERSALS_PER_ORDER} reversals")
        reversal = Reversal(
            self.new_id(), order_id, amount, order.purchase_currency, self.clock.now(merchant_id)
        )
        self.store.settlements.add_reversal(
            reversal.reversal_id, merchant_id, order_id, amount, reversal.created_at
        )
        return reversal

    # Reading (each settles what is due first)

    def payouts(
        self,
        merchant_id: str,
        start: datetime | None,
        end: datetime | None,
        currency: str | None,
        offset: int,
        size: int,
    ) -> Page[Payout]:
        self.settle_due(merchant_id)
        return self.store.settlements.payouts(merchant_id, start, end, currency, offset, size)

    def payout(self, merchant_id: str, payment_reference: str) -> Payout:
        self.settle_due(merchant_id)
        found = (
            self.store.settlements.payout(merchant_id, payment_reference)
            if payment_reference.isprintable()
            else None
        )
        if found is None:  # another merchant's payout is no payout of this one
            raise NotFound(f"Payout {payment_reference} was not found")
        return found

    def summary(
        self, merchant_id: str, start: datetime, end: datetime, currency: str | None
    ) -> list[Summary]:
        self.settle_due(merchant_id)
        page = self.store.settlements.payouts(merchant_id, start, end, currency, 0, None)
        return summarize((p.currency_code, p.payout_date, p.totals) for p in page.items)

    def transactions(
        self,
        merchant_id: str,
        payment_reference: str | None,
        order_id: str | None,
        offset: int,
        size: int,
    ) -> Page[SettledTransaction]:
        self.settle_due(merchant_id)
        references = [payment_reference] if payment_reference is not None else None
        return self.store.settlements.transactions(merchant_id, references, order_id, offset, size)

    def payout_report(self, merchant_id: str, payment_reference: str) -> Report:
        payout = self.payout(merchant_id, payment_reference)
        lines = self.store.settlements.transactions(merchant_id, [payment_reference], None, 0, None)
        return Report([payout], lines.items)

    def range_report(self, merchant_id: str, start: datetime, end: datetime) -> Report:
        """The payouts dated within [start, end], oldest first, with their transactions."""
        self.settle_due(merchant_id)
        settlements = self.store.settlements
        payouts = list(reversed(settlements.payouts(merchant_id, start, end, None, 0, None).items))
        references = [p.payment_reference for p in payouts]
        if not references:
            return Report([], [])
        lines = settlements.transactions(
            merchant_id, references, None, 0, MAX_REPORT_TRANSACTIONS + 1
        )
        if len(lines.items) > MAX_REPORT_TRANSACTIONS:
            raise BadValue(
                "end_date", f"more than {MAX_REPORT_TRANSACTIONS} transactions; narrow the range"
            )
        return Report(payouts, lines.items)
