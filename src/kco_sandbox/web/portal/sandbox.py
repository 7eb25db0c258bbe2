"""The portal's sandbox controls: `GET /portal/sandbox` and its forms.

The merchant's own clock (move it forward: `DeliveryService.advance`, as
`POST /_sandbox/clock/advance` does, with its bounds and messages), its callback faults (the
services behind `/_sandbox/callbacks/faults`), its open checkouts with a link to complete each
as a shopper, and the test personas. All of it exists only while the sandbox API is on
(`--no-sandbox-api` answers 404 here too), and touches only the signed-in merchant.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from kco_sandbox.domain.errors import KcoError
from kco_sandbox.domain.faults import Faults
from kco_sandbox.domain.purchase import persona as personas
from kco_sandbox.web.context import AppContext
from kco_sandbox.web.errors import status_of
from kco_sandbox.web.portal.actions import major
from kco_sandbox.web.portal.render import page
from kco_sandbox.web.portal.routes import posted_form, signed_in
from kco_sandbox.web.portal.session import PortalSession

PRESETS: Final = (("Advance 1 hour", 3600), ("Advance 1 day", 86400), ("Advance 28 days", 2419200))
UNITS: Final = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
FAULT_FIELDS: Final = ("drop", "timeout", "duplicate", "delay_ms")
DONE: Final = {
    "clock": "The clock moved forward; every callback that fell due was attempted.",
    "faults": "The faults are set: they apply to this merchant's next callbacks.",
    "cleared": "The faults are cleared: callbacks go out normally again.",
}


@dataclass(frozen=True, slots=True)
class PersonaRow:
    pattern: str  # as the persona table writes it: `name+denied@domain`
    meaning: str
    example: str  # an address to type, made from the pattern
    outcome: str  # what the platform makes of `example` (read from the code, not the table)


def persona_rows() -> tuple[list[PersonaRow], list[str]]:
    """The persona table of `domain/purchase/persona.py`'s docstring, each row with an example
    address checked against `persona_for`; and the notes under the table."""
    rows: list[PersonaRow] = []
    lines = (personas.__doc__ or "").splitlines()
    table = [line for line in lines if line.startswith("|")]
    for line in table[2:]:  # past the header and its rule
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) < 2:
            continue
        pattern = cells[0].strip("`")
        example = pattern.replace("name", "anna").replace("domain", "example.com")
        example = example.replace("NN", "05")
        outcome = personas.persona_for(example).outcome.value
        rows.append(PersonaRow(pattern, cells[1].replace("`", ""), example, outcome))
    after = "\n".join(lines[lines.index(table[-1]) + 1 :] if table else [])
    paragraphs = after.replace("`", "").split("\n\n")
    notes = [" ".join(part.split()) for part in paragraphs if part.strip()]
    return rows, notes


def _enabled(request: Request) -> AppContext | None:
    ctx: AppContext = request.app.state.ctx
    return ctx if ctx.settings.sandbox_api else None


def _off(request: Request) -> Response:
    message = "The sandbox controls are switched off on this server (--no-sandbox-api)."
    return page(request, "refused.html", {"message": message}, status=404)


def _cursor(at: datetime, order_id: str) -> str:
    text = f"{at.isoformat()}|{order_id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _before(token: str | None) -> tuple[datetime, str] | None:
    """`?before=` as the page wrote it; anything else starts from the newest."""
    if not token:
        return None
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        at_text, order_id = text.split("|", 1)
        at = datetime.fromisoformat(at_text)
    except (binascii.Error, UnicodeError, ValueError):
        return None
    return (at, order_id) if at.tzinfo is not None and order_id else None


def _duration(offset: timedelta) -> str:
    seconds = int(offset.total_seconds())
    if seconds == 0:
        return "not moved"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    units = ((days, "d"), (hours, "h"), (minutes, "min"), (secs, "s"))
    return "+ " + " ".join(f"{n} {unit}" for n, unit in units if n)


async def _render(
    request: Request,
    ctx: AppContext,
    session: PortalSession,
    error: dict[str, Any] | None = None,
    status: int = 200,
    values: dict[str, str] | None = None,
) -> Response:
    merchant = session.merchant
    clocks = ctx.delivery.clocks
    faults = await ctx.read(lambda: ctx.sandbox.faults(merchant))
    before = _before(request.query_params.get("before"))
    open_page = await ctx.read(lambda: ctx.actions.open_checkouts(merchant, before))
    last = open_page.orders[-1] if open_page.orders else None
    rows, notes = persona_rows()
    done = request.query_params.get("done", "") if error is None else ""
    attempted = request.query_params.get("attempted", "")
    context = {
        "nav": "sandbox",
        "now": clocks.now(merchant.merchant_id),
        "offset": _duration(clocks.offset(merchant.merchant_id)),
        "offset_seconds": clocks.offset(merchant.merchant_id).total_seconds(),
        "scale": clocks.scale,
        "presets": PRESETS,
        "units": UNITS,
        "faults": faults,
        "faults_clear": faults.is_clear(),
        "open_orders": [{"order": o, "amount": major(o.order_amount)} for o in open_page.orders],
        "later": _cursor(last.started_at, last.order_id) if last and open_page.more else None,
        "paged": before is not None,
        "personas": rows,
        "persona_notes": notes,
        "done": DONE.get(done, ""),
        "attempted": attempted if attempted.isdigit() else "",
        "error": error,
        "values": values or {},
    }
    return page(request, "sandbox.html", context, session, status=status)


async def sandbox_page(request: Request) -> Response:
    ctx = _enabled(request)
    if ctx is None:
        return _off(request)
    session = signed_in(request)
    return await _render(request, ctx, session)


def _seconds(form_seconds: str, amount: str, unit: str) -> float:
    """The seconds a clock form asks for: a preset button's, or the custom amount times its unit."""
    text = form_seconds or amount
    factor = 1 if form_seconds else UNITS.get(unit, 0)
    if not factor:
        raise ValueError("Choose seconds, minutes, hours or days.")
    if not re.fullmatch(r"\d{1,12}(?:\.\d{1,6})?", text.replace(",", ".")):
        raise ValueError(
            f"“{text}” is not a number of {unit}: type a whole or decimal number, 0 or more."
        )
    try:
        return float(Decimal(text.replace(",", ".")) * factor)
    except InvalidOperation:  # pragma: no cover - the pattern lets only numbers through
        raise ValueError(f"“{text}” is not a number") from None


async def advance_clock(request: Request) -> Response:
    ctx = _enabled(request)
    if ctx is None:
        return _off(request)
    session = signed_in(request)
    form = await posted_form(request, session)
    values = {"amount": form.get("amount"), "unit": form.get("unit")}
    try:
        seconds = _seconds(form.get("seconds"), form.get("amount"), form.get("unit") or "seconds")
    except ValueError as exc:
        error = {"form": "clock", "code": "BAD_VALUE", "messages": [str(exc)]}
        return await _render(request, ctx, session, error, 400, values)
    merchant_id = session.merchant.merchant_id
    try:
        advanced = await ctx.write(lambda: ctx.delivery.advance(merchant_id, seconds))
    except KcoError as exc:
        error = {"form": "clock", "code": exc.code, "messages": exc.messages}
        return await _render(request, ctx, session, error, status_of(exc), values)
    target = f"/portal/sandbox?done=clock&attempted={advanced.attempted}#clock"
    return RedirectResponse(target, status_code=303)


async def set_faults(request: Request) -> Response:
    ctx = _enabled(request)
    if ctx is None:
        return _off(request)
    session = signed_in(request)
    form = await posted_form(request, session)
    values = {name: form.get(name) for name in FAULT_FIELDS}
    counts: dict[str, int] = {}
    for name, text in values.items():
        if text and not (text.isascii() and text.isdigit() and len(text) <= 9):
            message = f"{name}: “{text}” is not a whole number, 0 or more."
            error = {"form": "faults", "code": "BAD_VALUE", "messages": [message]}
            return await _render(request, ctx, session, error, 400, values)
        counts[name] = int(text) if text else 0
    try:
        wanted = ctx.delivery.check_faults(Faults(**counts))
        await ctx.write(lambda: ctx.sandbox.set_faults(session.merchant, wanted))
    except KcoError as exc:
        error = {"form": "faults", "code": exc.code, "messages": exc.messages}
        return await _render(request, ctx, session, error, status_of(exc), values)
    return RedirectResponse("/portal/sandbox?done=faults#faults", status_code=303)


async def clear_faults(request: Request) -> Response:
    ctx = _enabled(request)
    if ctx is None:
        return _off(request)
    session = signed_in(request)
    await posted_form(request, session)
    await ctx.write(lambda: ctx.sandbox.clear_faults(session.merchant))
    return RedirectResponse("/portal/sandbox?done=cleared#faults", status_code=303)


ROUTES: list[BaseRoute] = [
    Route("/sandbox", sandbox_page, methods=["GET"]),
    Route("/sandbox/clock", advance_clock, methods=["POST"]),
    Route("/sandbox/faults", set_faults, methods=["POST"]),
    Route("/sandbox/faults/clear", clear_faults, methods=["POST"]),
]
