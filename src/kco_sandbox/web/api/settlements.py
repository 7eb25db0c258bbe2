"""`/settlements/v1` handlers: payouts, their summary, transactions and the four reports; and the
sandbox's settlement controls under `/_sandbox/settlements/`.

Every endpoint is a `GET` with its parameters in the query string; a merchant sees only its own
payouts (another merchant's `payment_reference` is a 404, as an unknown one is). Reading settles
first what the merchant's clock has passed (`services/settlements.py`), so the service call may
write and runs as a write. Rules of the query string (the vendor documents types and the `size`
maximum; the answers are ours, in the vendor's error body):

- `size` 1 to 500 (default 20), `offset` 0 or more (default 0); anything else is `400 BAD_VALUE`;
- `start_date` / `end_date`: an ISO 8601 date-time (a zone-less one is UTC) or a bare date
  (its midnight, UTC); both bounds are inclusive; a date that cannot be read is a 400;
- `currency_code`: three capital letters; `payment_reference` and `order_id`: printable, at
  most 255 characters.

Pagination links (`next`, `prev`) are absolute, on the base URL the client used, with the same
filters and only `offset` (and `size`) changed.

The sandbox controls: `GET|PUT|DELETE /_sandbox/settlements/fees` (the merchant's purchase fee;
DELETE returns to the server's default) and `POST /_sandbox/settlements/reversals`
(`{"order_id", "amount"}`: a reversal the next payout pays back).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kco_sandbox.domain.checkout.order import Doc
from kco_sandbox.domain.errors import BadValue
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.domain.order_management.order import OM_MAX_AMOUNT
from kco_sandbox.domain.settlements.ledger import (
    MAX_FIXED_FEE,
    MAX_PERCENT_BPS,
    TOTAL_FIELDS,
    FeeRate,
    Totals,
)
from kco_sandbox.domain.settlements.payout import Page, Payout, SettledTransaction
from kco_sandbox.domain.settlements.summary import SUMMED, Summary
from kco_sandbox.services.settlements import Reversal
from kco_sandbox.web.api import settlement_reports as reports
from kco_sandbox.web.body import decode, read_body
from kco_sandbox.web.context import AppContext
from kco_sandbox.web.wire import mark_recordable

BASE = "/settlements/v1"
MAX_SIZE = 500
DEFAULT_SIZE = 20
MAX_OFFSET = 1_000_000_000
_CURRENCY = re.compile(r"[A-Z]{3}")
_encode = msgspec.json.Encoder().encode


class FeeBody(Doc, kw_only=True):
    percent_bps: Annotated[int, Meta(ge=0, le=MAX_PERCENT_BPS)]
    fixed: Annotated[int, Meta(ge=0, le=MAX_FIXED_FEE)]


class ReversalBody(Doc, kw_only=True):
    order_id: Annotated[str, Meta(min_length=1, max_length=255)]
    amount: Annotated[int, Meta(ge=1, le=OM_MAX_AMOUNT)]


def _context(request: Request) -> tuple[AppContext, Merchant]:
    ctx: AppContext = request.app.state.ctx
    merchant = ctx.auth.merchant_for(request.headers.get("authorization"))
    mark_recordable(request.scope, merchant.merchant_id)
    return ctx, merchant


def _json(value: Any, status_code: int = 200) -> Response:
    return Response(_encode(value), status_code=status_code, media_type="application/json")


# The query string


def _text(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    if len(value) > 255 or not value.isprintable():
        raise BadValue(name)
    return value


def _number(request: Request, name: str, default: int, low: int, high: int) -> int:
    value = _text(request, name)
    if value is None:
        return default
    if not value.isascii() or not value.isdigit() or not low <= int(value) <= high:
        raise BadValue(name, f"a whole number from {low} to {high}")
    return int(value)


def _date(request: Request, name: str, required: bool = False) -> datetime | None:
    value = _text(request, name)
    if value is None:
        if required:
            raise BadValue(name, "required")
        return None
    try:
        parsed = datetime.fromisoformat(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: a zone pushing it out of years 1-9999
        raise BadValue(name, "an ISO 8601 date-time like 2026-01-31T23:59:59Z") from None


def _range(request: Request, required: bool) -> tuple[datetime | None, datetime | None]:
    start = _date(request, "start_date", required)
    end = _date(request, "end_date", required)
    if start is not None and end is not None and end < start:
        raise BadValue("end_date", "before start_date")
    return start, end


def _currency(request: Request) -> str | None:
    value = _text(request, "currency_code")
    if value is not None and not _CURRENCY.fullmatch(value):
        raise BadValue("currency_code", "an ISO 4217 code like SEK")
    return value


def _paging(request: Request) -> tuple[int, int]:
    size = _number(request, "size", DEFAULT_SIZE, 1, MAX_SIZE)
    return _number(request, "offset", 0, 0, MAX_OFFSET), size


# Rendering


def time_text(value: datetime) -> str:
    """`2026-01-31T22:59:00Z`: UTC to the second, as the vendor's examples write times."""
    return f"{value.astimezone(UTC):%Y-%m-%dT%H:%M:%S}Z"


def _totals(totals: Totals) -> dict[str, int]:
    return {name: getattr(totals, name) for name in TOTAL_FIELDS}


def render_payout(payout: Payout, base: str) -> dict[str, Any]:
    return {
        "payment_reference": payout.payment_reference,
        "payout_date": time_text(payout.payout_date),
        "currency_code": payout.currency_code,
        "merchant_settlement_type": "NET",
        "merchant_id": payout.merchant_id,
        "totals": _totals(payout.totals),
        "transactions": f"{base}{BASE}/transactions?"
        + urlencode({"payment_reference": payout.payment_reference}),
    }


def render_transaction(stored: SettledTransaction, base: str) -> dict[str, Any]:
    body: dict[str, Any] = msgspec.structs.asdict(stored.transaction)
    out = {name: value for name, value in body.items() if value is not None}
    out["capture_date"] = time_text(stored.transaction.capture_date)
    out["sale_date"] = time_text(stored.transaction.sale_date)
    out["payment_reference"] = stored.payment_reference
    out["payout"] = f"{base}{BASE}/payouts/{stored.payment_reference}"
    return out


def render_summary(summary: Summary) -> dict[str, Any]:
    out: dict[str, Any] = {
        "summary_settlement_currency": summary.currency,
        "summary_payout_date_start": time_text(summary.first_payout),
        "summary_payout_date_end": time_text(summary.last_payout),
    }
    out.update({f"summary_total_{name}": summary.sums[name] for name in SUMMED})
    return out


def _pagination(
    request: Request, base: str, page: Page[Any], offset: int, size: int
) -> dict[str, Any]:
    out: dict[str, Any] = {"count": len(page.items), "total": page.total, "offset": offset}
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("offset", "size")]

    def link(to: int) -> str:
        return f"{base}{request.url.path}?" + urlencode([*kept, ("offset", to), ("size", size)])

    if offset + len(page.items) < page.total:
        out["next"] = link(offset + size)
    if offset > 0:
        out["prev"] = link(max(0, offset - size))
    return out


def render_fee(rate: FeeRate) -> dict[str, int]:
    return {"percent_bps": rate.percent_bps, "fixed": rate.fixed}


def render_reversal(reversal: Reversal) -> dict[str, Any]:
    return {
        "reversal_id": reversal.reversal_id,
        "order_id": reversal.order_id,
        "amount": reversal.amount,
        "currency_code": reversal.currency_code,
        "created_at": time_text(reversal.created_at),
    }


# The API


async def list_payouts(request: Request) -> Response:
    ctx, merchant = _context(request)
    start, end = _range(request, required=False)
    currency = _currency(request)
    offset, size = _paging(request)
    service = ctx.services.settlements
    page = await ctx.write(
        lambda: service.payouts(merchant.merchant_id, start, end, currency, offset, size)
    )
    base = ctx.base_url(request)
    return _json(
        {
            "payouts": [render_payout(p, base) for p in page.items],
            "pagination": _pagination(request, base, page, offset, size),
        }
    )


async def read_payout(request: Request) -> Response:
    ctx, merchant = _context(request)
    reference: str = request.path_params["payment_reference"]
    service = ctx.services.settlements
    payout = await ctx.write(lambda: service.payout(merchant.merchant_id, reference))
    return _json(render_payout(payout, ctx.base_url(request)))


async def payouts_summary(request: Request) -> Response:
    ctx, merchant = _context(request)
    start, end = _required_range(request)
    currency = _currency(request)
    service = ctx.services.settlements
    found = await ctx.write(lambda: service.summary(merchant.merchant_id, start, end, currency))
    return _json([render_summary(summary) for summary in found])


async def list_transactions(request: Request) -> Response:
    ctx, merchant = _context(request)
    reference = _text(request, "payment_reference")
    order_id = _text(request, "order_id")
    offset, size = _paging(request)
    service = ctx.services.settlements
    page = await ctx.write(
        lambda: service.transactions(merchant.merchant_id, reference, order_id, offset, size)
    )
    base = ctx.base_url(request)
    return _json(
        {
            "transactions": [render_transaction(t, base) for t in page.items],
            "pagination": _pagination(request, base, page, offset, size),
        }
    )


def _reference(request: Request) -> str:
    reference = _text(request, "payment_reference")
    if reference is None:
        raise BadValue("payment_reference", "required")
    return reference


async def payout_csv(request: Request) -> Response:
    ctx, merchant = _context(request)
    reference = _reference(request)
    service = ctx.services.settlements
    report = await ctx.write(lambda: service.payout_report(merchant.merchant_id, reference))
    return reports.csv_response(report, f"{reference}.csv")


async def payout_pdf(request: Request) -> Response:
    ctx, merchant = _context(request)
    reference = _reference(request)
    service = ctx.services.settlements
    report = await ctx.write(lambda: service.payout_report(merchant.merchant_id, reference))
    return reports.payout_pdf_response(report, merchant, f"{reference}.pdf")


def _required_range(request: Request) -> tuple[datetime, datetime]:
    start, end = _range(request, required=True)
    if start is None or end is None:  # cannot happen: required above
        raise BadValue("start_date", "required")
    return start, end


def _range_name(start: datetime, end: datetime, suffix: str) -> str:
    return f"payouts-{start:%Y%m%dT%H%M%S}-{end:%Y%m%dT%H%M%S}.{suffix}"


async def summary_csv(request: Request) -> Response:
    ctx, merchant = _context(request)
    start, end = _required_range(request)
    service = ctx.services.settlements
    report = await ctx.write(lambda: service.range_report(merchant.merchant_id, start, end))
    return reports.csv_response(report, _range_name(start, end, "csv"))


async def summary_pdf(request: Request) -> Response:
    ctx, merchant = _context(request)
    start, end = _required_range(request)
    service = ctx.services.settlements
    report = await ctx.write(lambda: service.range_report(merchant.merchant_id, start, end))
    return reports.summary_pdf_response(
        report, merchant, (start, end), _range_name(start, end, "pdf")
    )


# The sandbox's controls


async def read_fee(request: Request) -> Response:
    ctx, merchant = _context(request)
    await read_body(request, ctx.settings.max_body_bytes)
    service = ctx.services.settlements
    return _json(render_fee(await ctx.read(lambda: service.fee(merchant.merchant_id))))


async def set_fee(request: Request) -> Response:
    ctx, merchant = _context(request)
    body = await decode(request, ctx.settings.max_body_bytes, FeeBody)
    rate = FeeRate(percent_bps=body.percent_bps, fixed=body.fixed)
    service = ctx.services.settlements
    return _json(render_fee(await ctx.write(lambda: service.set_fee(merchant.merchant_id, rate))))


async def reset_fee(request: Request) -> Response:
    ctx, merchant = _context(request)
    await read_body(request, ctx.settings.max_body_bytes)
    service = ctx.services.settlements
    return _json(render_fee(await ctx.write(lambda: service.set_fee(merchant.merchant_id, None))))


async def add_reversal(request: Request) -> Response:
    ctx, merchant = _context(request)
    body = await decode(request, ctx.settings.max_body_bytes, ReversalBody)
    service = ctx.services.settlements
    reversal = await ctx.write(
        lambda: service.add_reversal(merchant.merchant_id, body.order_id, body.amount)
    )
    return _json(render_reversal(reversal), status_code=201)


ROUTES = [
    Route(BASE + "/payouts", list_payouts, methods=["GET"]),
    Route(BASE + "/payouts/summary", payouts_summary, methods=["GET"]),
    Route(BASE + "/payouts/{payment_reference}", read_payout, methods=["GET"]),
    Route(BASE + "/transactions", list_transactions, methods=["GET"]),
    Route(BASE + "/reports/payout-with-transactions", payout_csv, methods=["GET"]),
    Route(BASE + "/reports/payout", payout_pdf, methods=["GET"]),
    Route(BASE + "/reports/payouts-summary-with-transactions", summary_csv, methods=["GET"]),
    Route(BASE + "/reports/payouts-summary", summary_pdf, methods=["GET"]),
]
SANDBOX_ROUTES = [
    Route("/_sandbox/settlements/fees", read_fee, methods=["GET"]),
    Route("/_sandbox/settlements/fees", set_fee, methods=["PUT"]),
    Route("/_sandbox/settlements/fees", reset_fee, methods=["DELETE"]),
    Route("/_sandbox/settlements/reversals", add_reversal, methods=["POST"]),
]
