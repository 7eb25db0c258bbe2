"""The Settlements API (payouts, transactions, reports) and its sandbox controls for both clients:
the operations, written once, and the methods `KcoClient` takes from `SettlementMethods` and
`AsyncKcoClient` from `AsyncSettlementMethods` (the shape of `customer_tokens.py`).

The platform makes a merchant's payouts at a daily cut-off on the merchant's own clock, from its
captures, refunds and reversals; `settle` moves the clock a day and returns what that made. The
two lists are paged: `list_payouts` and `list_transactions` answer one page, `iter_payouts` and
`iter_transactions` walk every page by its `pagination.next`. Reports are bytes as served;
`parse_settlement_csv` (`settlement_csv.py`) reads a CSV one into rows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final
from urllib.parse import parse_qs, urlencode, urlsplit

from kco_sandbox.client.operations import (
    SANDBOX,
    Call,
    JsonObject,
    Operation,
    Runs,
    RunsAsync,
    advance,
    clock,
    json_array,
    json_object,
    quote_id,
    unexpected,
)
from kco_sandbox.client.settlement_csv import parse_settlement_csv

DateLike = str | date | datetime

SETTLEMENTS: Final = "/settlements/v1"
PAYOUTS: Final = f"{SETTLEMENTS}/payouts"
TRANSACTIONS: Final = f"{SETTLEMENTS}/transactions"
REPORTS: Final = f"{SETTLEMENTS}/reports"
FEES: Final = f"{SANDBOX}/settlements/fees"
REVERSALS: Final = f"{SANDBOX}/settlements/reversals"
MAX_PAGE_SIZE: Final = 500  # the API's own bound on `size`
DAY_SECONDS: Final = 86400


def date_text(value: DateLike) -> str:
    """A `start_date` / `end_date` as the API reads it: text as given; an aware `datetime` in
    UTC (`2026-01-31T23:59:59Z`); a naive one as it is (the API takes it as UTC); a `date` as
    `2026-01-31` (its midnight, UTC)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.isoformat()
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _path(path: str, **params: object) -> str:
    """`path` with the parameters that are not None as its query string."""
    given = {name: value for name, value in params.items() if value is not None}
    return f"{path}?{urlencode(given)}" if given else path


def _dated(start: DateLike | None, end: DateLike | None) -> dict[str, str | None]:
    return {
        "start_date": None if start is None else date_text(start),
        "end_date": None if end is None else date_text(end),
    }


def payouts_path(
    start: DateLike | None,
    end: DateLike | None,
    currency: str | None,
    size: int | None,
    offset: int | None,
) -> str:
    return _path(PAYOUTS, **_dated(start, end), currency_code=currency, size=size, offset=offset)


def transactions_path(
    payment_reference: str | None, order_id: str | None, size: int | None, offset: int | None
) -> str:
    return _path(
        TRANSACTIONS,
        payment_reference=payment_reference,
        order_id=order_id,
        size=size,
        offset=offset,
    )


def read_json(path: str) -> Operation[JsonObject]:
    return json_object((yield Call("GET", path)))


def page(path: str, key: str) -> Operation[tuple[list[JsonObject], str | None]]:
    """One page of a list (`payouts` or `transactions`) and the path of the next, or None.

    The next page is the query of `pagination.next` on this page's own path, so it goes to the
    client's base URL even when the server names itself otherwise (`--public-url`). A `next` that
    does not move forward is the server's fault, not a reason to walk for ever."""
    answer = yield Call("GET", path)
    body = json_object(answer)
    items = body.get(key)
    pagination = body.get("pagination")
    if not isinstance(items, list) or not isinstance(pagination, dict):
        raise unexpected(answer, f"{key} and pagination")
    following = pagination.get("next")
    if not following:
        return items, None
    query = urlsplit(str(following)).query
    if _offset(query) <= _offset(urlsplit(path).query):
        raise unexpected(answer, "a pagination.next further on")
    return items, f"{urlsplit(path).path}?{query}"


def _offset(query: str) -> int:
    found = parse_qs(query).get("offset", ["0"])[-1]
    return int(found) if found.isascii() and found.isdigit() else -1


def summary(start: DateLike, end: DateLike, currency: str | None) -> Operation[list[JsonObject]]:
    path = _path(f"{PAYOUTS}/summary", **_dated(start, end), currency_code=currency)
    return json_array((yield Call("GET", path)))


def report(name: str, **params: object) -> Operation[bytes]:
    """A report's bytes as served (CSV or PDF)."""
    return (yield Call("GET", _path(f"{REPORTS}/{name}", **params))).content


def payout_rows(payment_reference: str) -> Operation[list[dict[str, Any]]]:
    answer = yield Call(
        "GET", _path(f"{REPORTS}/payout-with-transactions", payment_reference=payment_reference)
    )
    try:
        return parse_settlement_csv(answer.content)
    except ValueError:
        raise unexpected(answer, "a semicolon-separated CSV report") from None


def write_fee(method: str, body: JsonObject | None) -> Operation[JsonObject]:
    return json_object((yield Call(method, FEES, body)))


def add_reversal(order_id: str, amount: int) -> Operation[JsonObject]:
    return json_object((yield Call("POST", REVERSALS, {"order_id": order_id, "amount": amount})))


def settle(days: int) -> Operation[list[JsonObject]]:
    """Move the merchant's clock `days` days of 24 hours, then read the payouts dated in the
    time it moved over (the cut-offs it passed), newest first, every page."""
    if not isinstance(days, int) or days < 1:
        raise ValueError(f"settle moves the clock a whole number of days, 1 or more, not {days!r}")
    before = _instant((yield from clock())["now"])
    after = _instant((yield from advance(days * DAY_SECONDS))["now"])
    # The clock shows milliseconds: a cut-off at `before` itself had passed already.
    path: str | None = payouts_path(
        before + timedelta(milliseconds=1), after, None, MAX_PAGE_SIZE, None
    )
    made: list[JsonObject] = []
    while path is not None:
        items, path = yield from page(path, "payouts")
        made += items
    return made


def _instant(text: Any) -> datetime:
    """A clock's `now` (`2026-01-31T22:59:00.123Z`), aware."""
    return datetime.fromisoformat(str(text))


class SettlementMethods:
    """`KcoClient`'s methods of the Settlements API (`/settlements/v1`) and its sandbox controls
    (`/_sandbox/settlements/`)."""

    def list_payouts(
        self: Runs,
        *,
        start_date: DateLike | None = None,
        end_date: DateLike | None = None,
        currency_code: str | None = None,
        size: int | None = None,
        offset: int | None = None,
    ) -> JsonObject:
        """One page of payouts, newest first: `{payouts, pagination}`. The dates filter on the
        payout date, both bounds inclusive (`date_text` says how each type is sent); `size` is
        1 to 500 (the server's default 20)."""
        path = payouts_path(start_date, end_date, currency_code, size, offset)
        return self._run(read_json(path))

    def iter_payouts(
        self: Runs,
        *,
        start_date: DateLike | None = None,
        end_date: DateLike | None = None,
        currency_code: str | None = None,
        size: int = MAX_PAGE_SIZE,
    ) -> Iterator[JsonObject]:
        """Every payout the filters select, newest first, page by page (`size` each) as the
        iteration goes, following each page's `pagination.next`."""
        path: str | None = payouts_path(start_date, end_date, currency_code, size, None)
        while path is not None:
            items, path = self._run(page(path, "payouts"))
            yield from items

    def get_payout(self: Runs, payment_reference: str) -> JsonObject:
        """The payout: `{payment_reference, payout_date, currency_code, totals, ...}`; another
        merchant's or an unknown reference raises `KcoApiError` `404 NOT_FOUND`."""
        return self._run(read_json(f"{PAYOUTS}/{quote_id(payment_reference)}"))

    def payouts_summary(
        self: Runs, start_date: DateLike, end_date: DateLike, *, currency_code: str | None = None
    ) -> list[JsonObject]:
        """The payouts dated in the range summed up, one object per currency."""
        return self._run(summary(start_date, end_date, currency_code))

    def list_transactions(
        self: Runs,
        *,
        payment_reference: str | None = None,
        order_id: str | None = None,
        size: int | None = None,
        offset: int | None = None,
    ) -> JsonObject:
        """One page of settled transactions (of a payout, of an order, or all):
        `{transactions, pagination}`."""
        path = transactions_path(payment_reference, order_id, size, offset)
        return self._run(read_json(path))

    def iter_transactions(
        self: Runs,
        *,
        payment_reference: str | None = None,
        order_id: str | None = None,
        size: int = MAX_PAGE_SIZE,
    ) -> Iterator[JsonObject]:
        """Every settled transaction the filters select, page by page as the iteration goes."""
        path: str | None = transactions_path(payment_reference, order_id, size, None)
        while path is not None:
            items, path = self._run(page(path, "transactions"))
            yield from items

    def payout_csv(self: Runs, payment_reference: str) -> bytes:
        """The payout's transactions as the CSV report (`reports/payout-with-transactions`)."""
        name = "payout-with-transactions"
        return self._run(report(name, payment_reference=payment_reference))

    def payout_rows(self: Runs, payment_reference: str) -> list[dict[str, Any]]:
        """The payout's CSV report read into rows (`parse_settlement_csv`): amounts are
        `Decimal`s in major units, and the `amount`s sum to the payout's amount before debt."""
        return self._run(payout_rows(payment_reference))

    def payout_pdf(self: Runs, payment_reference: str) -> bytes:
        """The payout summed up, as the PDF report (`reports/payout`)."""
        return self._run(report("payout", payment_reference=payment_reference))

    def payouts_csv(self: Runs, start_date: DateLike, end_date: DateLike) -> bytes:
        """Every payout dated in the range with its transactions, oldest first, as CSV."""
        name = "payouts-summary-with-transactions"
        return self._run(report(name, **_dated(start_date, end_date)))

    def payouts_pdf(self: Runs, start_date: DateLike, end_date: DateLike) -> bytes:
        """The range summed up per currency, and its payouts, as the PDF report."""
        return self._run(report("payouts-summary", **_dated(start_date, end_date)))

    def settlement_fee(self: Runs) -> JsonObject:
        """This merchant's purchase fee: `{percent_bps, fixed}` (a sandbox control)."""
        return self._run(write_fee("GET", None))

    def set_settlement_fee(self: Runs, percent_bps: int, fixed: int = 0) -> JsonObject:
        """Charge `percent_bps` hundredths of a per cent of each capture plus `fixed` minor
        units from the payouts still to come (what is due is settled at the old rate first).
        Returns the rate now in force."""
        body = {"percent_bps": percent_bps, "fixed": fixed}
        return self._run(write_fee("PUT", body))

    def reset_settlement_fee(self: Runs) -> JsonObject:
        """Return to the server's default fee. Returns the rate now in force."""
        return self._run(write_fee("DELETE", None))

    def add_reversal(self: Runs, order_id: str, amount: int) -> JsonObject:
        """Reverse `amount` of the order's captured money, as a lost dispute does (a sandbox
        control); the next payout in its currency takes it back. Returns `{reversal_id,
        order_id, amount, currency_code, created_at}`."""
        return self._run(add_reversal(order_id, amount))

    def settle(self: Runs, days: int = 1) -> list[JsonObject]:
        """Move this merchant's clock `days` days of 24 hours, so the daily cut-off passes and what
        was captured, refunded or reversed before is paid out; returns the payouts dated in the
        time moved over, newest first (none for days without transactions)."""
        return self._run(settle(days))


class AsyncSettlementMethods:
    """`AsyncKcoClient`'s methods of the Settlements API: `SettlementMethods`, awaited (the
    iterators are `async for` ones)."""

    async def list_payouts(
        self: RunsAsync,
        *,
        start_date: DateLike | None = None,
        end_date: DateLike | None = None,
        currency_code: str | None = None,
        size: int | None = None,
        offset: int | None = None,
    ) -> JsonObject:
        """One page of payouts (see `KcoClient.list_payouts`)."""
        path = payouts_path(start_date, end_date, currency_code, size, offset)
        return await self._run(read_json(path))

    async def iter_payouts(
        self: RunsAsync,
        *,
        start_date: DateLike | None = None,
        end_date: DateLike | None = None,
        currency_code: str | None = None,
        size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[JsonObject]:
        """Every payout the filters select, newest first, page by page."""
        path: str | None = payouts_path(start_date, end_date, currency_code, size, None)
        while path is not None:
            items, path = await self._run(page(path, "payouts"))
            for item in items:
                yield item

    async def get_payout(self: RunsAsync, payment_reference: str) -> JsonObject:
        """The payout (see `KcoClient.get_payout`)."""
        return await self._run(read_json(f"{PAYOUTS}/{quote_id(payment_reference)}"))

    async def payouts_summary(
        self: RunsAsync,
        start_date: DateLike,
        end_date: DateLike,
        *,
        currency_code: str | None = None,
    ) -> list[JsonObject]:
        """The payouts dated in the range summed up, one object per currency."""
        return await self._run(summary(start_date, end_date, currency_code))

    async def list_transactions(
        self: RunsAsync,
        *,
        payment_reference: str | None = None,
        order_id: str | None = None,
        size: int | None = None,
        offset: int | None = None,
    ) -> JsonObject:
        """One page of settled transactions: `{transactions, pagination}`."""
        path = transactions_path(payment_reference, order_id, size, offset)
        return await self._run(read_json(path))

    async def iter_transactions(
        self: RunsAsync,
        *,
        payment_reference: str | None = None,
        order_id: str | None = None,
        size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[JsonObject]:
        """Every settled transaction the filters select, page by page."""
        path: str | None = transactions_path(payment_reference, order_id, size, None)
        while path is not None:
            items, path = await self._run(page(path, "transactions"))
            for item in items:
                yield item

    async def payout_csv(self: RunsAsync, payment_reference: str) -> bytes:
        """The payout's transactions as the CSV report."""
        name = "payout-with-transactions"
        return await self._run(report(name, payment_reference=payment_reference))

    async def payout_rows(self: RunsAsync, payment_reference: str) -> list[dict[str, Any]]:
        """The payout's CSV report read into rows (see `KcoClient.payout_rows`)."""
        return await self._run(payout_rows(payment_reference))

    async def payout_pdf(self: RunsAsync, payment_reference: str) -> bytes:
        """The payout summed up, as the PDF report."""
        return await self._run(report("payout", payment_reference=payment_reference))

    async def payouts_csv(self: RunsAsync, start_date: DateLike, end_date: DateLike) -> bytes:
        """Every payout dated in the range with its transactions, as CSV."""
        name = "payouts-summary-with-transactions"
        return await self._run(report(name, **_dated(start_date, end_date)))

    async def payouts_pdf(self: RunsAsync, start_date: DateLike, end_date: DateLike) -> bytes:
        """The range summed up per currency, and its payouts, as the PDF report."""
        return await self._run(report("payouts-summary", **_dated(start_date, end_date)))

    async def settlement_fee(self: RunsAsync) -> JsonObject:
        """This merchant's purchase fee: `{percent_bps, fixed}`."""
        return await self._run(write_fee("GET", None))

    async def set_settlement_fee(self: RunsAsync, percent_bps: int, fixed: int = 0) -> JsonObject:
        """Set this merchant's purchase fee (see `KcoClient.set_settlement_fee`)."""
        body = {"percent_bps": percent_bps, "fixed": fixed}
        return await self._run(write_fee("PUT", body))

    async def reset_settlement_fee(self: RunsAsync) -> JsonObject:
        """Return to the server's default fee."""
        return await self._run(write_fee("DELETE", None))

    async def add_reversal(self: RunsAsync, order_id: str, amount: int) -> JsonObject:
        """Reverse `amount` of the order's captured money (a sandbox control)."""
        return await self._run(add_reversal(order_id, amount))

    async def settle(self: RunsAsync, days: int = 1) -> list[JsonObject]:
        """Move this merchant's clock `days` days and return the payouts that made (see
        `KcoClient.settle`)."""
        return await self._run(settle(days))
