"""The Settlements API's reports: CSV (one payout, or a date range, with transactions) and PDF
(one payout summed up, or a range's summary), made with fpdf2.

CSV: semicolon-separated, a header row, one row per transaction, amounts in major units with a
`.` and two decimals (every currency the platform sells in has two), times in UTC. The first ten
columns are the vendor's default ones, in its order; then the transaction's other fields, then
its payout's reference, date and totals (the same on each row of a payout), so that one file
holds what the vendor spreads over a header block and rows. Text a spreadsheet would run as a
formula (a cell starting with `=`, `+`, `-` or `@`, but for amounts) is prefixed with `'`.

PDF: the vendor's sections (header, transactions, fees, debt, the amount paid out), in the
built-in Helvetica font, so it carries no font file; text it cannot show (outside Latin-1) is
written as `?`. Its creation date is the payout's date, so the same payout gives the same bytes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import UTC, datetime

from starlette.responses import Response

from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.domain.settlements.ledger import Totals
from kco_sandbox.domain.settlements.payout import Payout, SettledTransaction
from kco_sandbox.domain.settlements.summary import summarize
from kco_sandbox.services.settlements import Report

FIRST_COLUMNS = (
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
)
EXTRA_COLUMNS = (
    "detailed_type",
    "refund_id",
    "merchant_capture_reference",
    "merchant_refund_reference",
    "purchase_country",
    "shipping_country",
    "reversal_reference",
    "payment_reference",
    "payout_date",
    "total_sale_amount",
    "total_return_amount",
    "total_reversal_amount",
    "total_fee_amount",
    "total_repay_amount",
    "total_deposit_amount",
    "total_settlement_amount",
)
COLUMNS = FIRST_COLUMNS + EXTRA_COLUMNS
_FORMULA_START = ("=", "+", "-", "@")


def decimal(minor: int) -> str:
    """Minor units as a major-unit decimal: -1047 → `-10.47`."""
    sign = "-" if minor < 0 else ""
    return f"{sign}{abs(minor) // 100}.{abs(minor) % 100:02d}"


def _time(value: datetime) -> str:
    return f"{value.astimezone(UTC):%Y-%m-%dT%H:%M:%S}Z"


def _cell(value: str | None) -> str:
    text = value or ""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _row(line: SettledTransaction, payout: Payout) -> list[str]:
    t = line.transaction
    totals = payout.totals
    return [
        t.type,
        _time(t.capture_date),
        _time(t.sale_date),
        t.order_id,
        _cell(t.short_order_id),
        t.capture_id or "",
        _cell(t.merchant_reference1),
        _cell(t.merchant_reference2),
        decimal(t.amount),
        t.currency_code,
        t.detailed_type,
        t.refund_id or "",
        _cell(t.merchant_capture_reference),
        _cell(t.merchant_refund_reference),
        t.purchase_country,
        t.shipping_country or "",
        t.reversal_reference or "",
        line.payment_reference,
        _time(payout.payout_date),
        decimal(totals.sale_amount),
        decimal(totals.return_amount),
        decimal(totals.reversal_amount),
        decimal(totals.fee_amount),
        decimal(totals.repay_amount),
        decimal(totals.deposit_amount),
        decimal(totals.settlement_amount),
    ]


def csv_text(report: Report) -> str:
    payouts = {p.payment_reference: p for p in report.payouts}
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for line in report.transactions:
        writer.writerow(_row(line, payouts[line.payment_reference]))
    return out.getvalue()


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def csv_response(report: Report, filename: str) -> Response:
    return Response(csv_text(report), media_type="text/csv", headers=_attachment(filename))


# PDF


class _Document:
    """A plain A4 report: a title, then label/value lines under section headings."""

    def __init__(self, created: datetime) -> None:
        # Imported here, not with the module: fpdf2 takes longer to load than the rest of the
        # app's start-up, and most servers never write a PDF.
        from fpdf import FPDF

        self.pdf = FPDF(format="A4")
        self.pdf.set_creation_date(created)
        self.pdf.set_auto_page_break(auto=True, margin=15)
        self.pdf.add_page()

    def title(self, text: str) -> None:
        self.pdf.set_font("Helvetica", style="B", size=16)
        self._line(text, 10)

    def heading(self, text: str) -> None:
        self.pdf.ln(3)
        self.pdf.set_font("Helvetica", style="B", size=12)
        self._line(text, 8)

    def pair(self, label: str, value: str) -> None:
        self.pdf.set_font("Helvetica", size=10)
        self.pdf.cell(80, 6, _latin1(label))
        self.pdf.cell(0, 6, _latin1(value), new_x="LMARGIN", new_y="NEXT")

    def _line(self, text: str, height: float) -> None:
        self.pdf.cell(0, height, _latin1(text), new_x="LMARGIN", new_y="NEXT")

    def output(self) -> bytes:
        return bytes(self.pdf.output())


def _latin1(text: str) -> str:
    """What the built-in font can show: Latin-1, anything else as `?`."""
    return text.encode("latin-1", "replace").decode("latin-1")


def _money(minor: int, currency: str) -> str:
    return f"{decimal(minor)} {currency}"


def _header(doc: _Document, merchant: Merchant) -> None:
    doc.pair("Merchant ID", merchant.merchant_id)
    doc.pair("Company", merchant.name)


def _totals_sections(doc: _Document, totals: Totals, currency: str) -> None:
    doc.heading("Transactions")
    doc.pair("Sales", _money(totals.sale_amount, currency))
    doc.pair("Refunds", _money(-totals.return_amount, currency))
    doc.pair("Reversals", _money(-totals.reversal_amount, currency))
    doc.heading("Fees")
    doc.pair("Total fees", _money(-totals.fee_amount, currency))
    doc.pair("VAT on fees", _money(-totals.tax_amount, currency))
    doc.pair("Fee refunds", _money(totals.fee_refund_amount, currency))
    doc.heading("Debt")
    doc.pair("Opening", _money(totals.opening_debt_balance_amount, currency))
    doc.pair("Repaid", _money(-totals.repay_amount, currency))
    doc.pair("Added", _money(totals.deposit_amount, currency))
    doc.pair("Closing", _money(totals.closing_debt_balance_amount, currency))
    doc.heading("Payout")
    doc.pair("Settlement amount", _money(totals.settlement_amount, currency))


def _pdf_response(content: bytes, filename: str) -> Response:
    return Response(content, media_type="application/pdf", headers=_attachment(filename))


def _capture_period(lines: Iterable[SettledTransaction]) -> str:
    dates = [line.transaction.capture_date for line in lines]
    return f"{_time(min(dates))} to {_time(max(dates))}" if dates else "-"


def payout_pdf_response(report: Report, merchant: Merchant, filename: str) -> Response:
    payout = report.payouts[0]
    doc = _Document(payout.payout_date)
    doc.title("Payout report")
    _header(doc, merchant)
    doc.pair("Payment reference", payout.payment_reference)
    doc.pair("Payout date", _time(payout.payout_date))
    doc.pair("Currency", payout.currency_code)
    doc.pair("Capture period", _capture_period(report.transactions))
    doc.pair("Transactions", str(len(report.transactions)))
    _totals_sections(doc, payout.totals, payout.currency_code)
    return _pdf_response(doc.output(), filename)


def summary_pdf_response(
    report: Report, merchant: Merchant, window: tuple[datetime, datetime], filename: str
) -> Response:
    start, end = window
    doc = _Document(end)
    doc.title("Payouts summary")
    _header(doc, merchant)
    doc.pair("From", _time(start))
    doc.pair("To", _time(end))
    doc.pair("Payouts", str(len(report.payouts)))
    for summary in summarize((p.currency_code, p.payout_date, p.totals) for p in report.payouts):
        currency = summary.currency
        doc.heading(f"{currency}: {_time(summary.first_payout)} to {_time(summary.last_payout)}")
        for name, amount in summary.sums.items():
            doc.pair(name.replace("_", " ").capitalize(), _money(amount, currency))
    if report.payouts:
        doc.heading("Payouts")
        for payout in report.payouts:
            doc.pair(
                f"{payout.payment_reference}  {_time(payout.payout_date)}",
                _money(payout.totals.settlement_amount, payout.currency_code),
            )
    return _pdf_response(doc.output(), filename)
