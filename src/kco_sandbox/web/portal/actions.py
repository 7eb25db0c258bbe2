"""The order page's actions: `POST /portal/orders/{order_id}/actions/{action}`.

Each action calls the same Order Management method as the API (through `OrderActionsService`
for the amounts a form may leave empty), so the vendor's rules and messages apply. Success
redirects (303) to the order page with `?done=<action>`, so a reload does not repeat it; a
refusal renders the order page again with the vendor's error code and messages in an alert and
the error's 4xx status; a bad amount does the same with 400. Either way the action joins the
order's timeline as a `portal.action` event.

`_actions.html` asks `portal_actions(request, om)` (a template global set here) which actions to
offer: the lifecycle table decides, not the template.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Match, Route

from kco_sandbox.domain.errors import KcoError, NotFound
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.domain.order_management.order import OM_MAX_AMOUNT
from kco_sandbox.services.order_actions import ACTIONS, offered
from kco_sandbox.web.context import AppContext
from kco_sandbox.web.errors import status_of
from kco_sandbox.web.portal import order
from kco_sandbox.web.portal.render import page, templates
from kco_sandbox.web.portal.routes import posted_form, signed_in

# Where a refused action leaves its error for `_actions.html` (the order page's own handler
# renders the page; the request state is shared with it).
STATE_KEY: Final = "portal_action"
# Every market of the platform prices in hundredths (see domain/market.py).
MINOR_UNITS: Final = 100
_AMOUNT = re.compile(r"\d{1,12}(?:[.,]\d{1,2})?")
_SPACES = re.compile(r"[\s\u00a0\u202f']")  # "1 250,00" and "1'250.00" as people type them

DONE: Final[Mapping[str, str]] = {
    "acknowledge": "The order is acknowledged.",
    "capture": "Captured. The capture is listed under Captures.",
    "refund": "Refunded. The refund is listed under Refunds.",
    "cancel": "The order is cancelled.",
    "release": "The remaining authorization is released.",
    "extend": "The authorization is extended.",
    "accept": "Accepted now: FRAUD_RISK_ACCEPTED goes to the order's notification URL.",
    "reject": "Rejected now: FRAUD_RISK_REJECTED goes to the order's notification URL.",
    "push": "A push is queued, due now.",
}
NAMES: Final[Mapping[str, str]] = {
    "acknowledge": "Acknowledge",
    "capture": "Capture",
    "refund": "Refund",
    "cancel": "Cancel",
    "release": "Release remaining authorization",
    "extend": "Extend authorization",
    "accept": "Accept",
    "reject": "Reject",
    "push": "Resend push",
}


class BadAmount(ValueError):
    """An amount field that is not a money amount; its message is shown as it is."""


def parse_amount(text: str) -> int | None:
    """Minor units of an amount typed in major units ("12.50" → 1250), exactly (no float ever
    touches it); None for an empty field (the form's "all that is left")."""
    cleaned = _SPACES.sub("", text)
    if not cleaned:
        return None
    if not _AMOUNT.fullmatch(cleaned):
        raise BadAmount(
            f"“{text}” is not an amount: type it in major units with at most two decimals, "
            "e.g. 12.50 (or leave it empty for all that is left)."
        )
    minor = Decimal(cleaned.replace(",", ".")) * MINOR_UNITS
    if minor > OM_MAX_AMOUNT:
        raise BadAmount(f"“{text}” is more than the largest amount an order may have.")
    return int(minor)


def portal_actions(request: Request, om: Mapping[str, Any] | None) -> dict[str, Any]:
    """What `_actions.html` shows: the actions offered, the notice of one just done
    (`?done=`), and a refused action's error (set by `order_action` on the request)."""
    done = request.query_params.get("done", "")
    failed = request.scope.get("state", {}).get(STATE_KEY)
    amounts: dict[str, str] = {}
    if om is not None:
        captured, refunded = int(om["captured_amount"]), int(om["refunded_amount"])
        amounts = {
            "remaining": major(int(om["remaining_authorized_amount"])),
            "refundable": major(max(captured - refunded, 0)),
            "currency": str(om.get("purchase_currency", "")),
        }
    return {
        "offered": offered(om),
        "done": DONE.get(done, "") if failed is None else "",
        "error": failed,
        "names": NAMES,
        **amounts,
    }


def major(minor: int) -> str:
    """Minor units as the major amount people read and type: 1250 → "12.50"."""
    return f"{Decimal(minor) / MINOR_UNITS:.2f}"


templates.globals["portal_actions"] = portal_actions


def _perform(
    ctx: AppContext, merchant: Merchant, order_id: str, action: str, amount: int | None, base: str
) -> None:
    m = ctx.management
    if action == "acknowledge":
        m.acknowledge(merchant, order_id)
    elif action == "capture":
        ctx.actions.capture(merchant, order_id, amount)
    elif action == "refund":
        ctx.actions.refund(merchant, order_id, amount)
    elif action == "cancel":
        m.cancel(merchant, order_id)
    elif action == "release":
        m.release_remaining_authorization(merchant, order_id)
    elif action == "extend":
        m.extend_authorization_time(merchant, order_id)
    elif action in ("accept", "reject"):
        ctx.actions.decide_fraud(merchant, order_id, accept=action == "accept")
    else:  # "push"
        ctx.actions.resend_push(merchant, order_id, base)


def _not_found(request: Request, session: Any, order_id: str) -> Response:
    message = f"There is no order {order_id} among this merchant's orders."
    return page(request, "refused.html", {"message": message}, session, status=404)


async def order_action(request: Request) -> Response:
    session = signed_in(request)
    form = await posted_form(request, session)
    ctx: AppContext = request.app.state.ctx
    order_id: str = request.path_params["order_id"]
    action: str = request.path_params["action"]
    if action not in ACTIONS:
        return _not_found(request, session, order_id)
    merchant = session.merchant
    typed = form.get("amount")
    detail: dict[str, Any] = {
        "operation": action,
        "path": request.url.path,
        "name": NAMES[action],
    }
    try:
        amount = parse_amount(typed) if action in ("capture", "refund") else None
    except BadAmount as exc:
        failure = {"code": "BAD_VALUE", "messages": [str(exc)], "action": action, "typed": typed}
        return await _again(request, order_id, failure, 400)
    if amount is not None:
        detail["amount"] = amount
    base = ctx.base_url(request)
    try:
        await ctx.write(lambda: _perform(ctx, merchant, order_id, action, amount, base))
    except NotFound:
        return _not_found(request, session, order_id)
    except KcoError as exc:
        status = status_of(exc)
        failed = {**detail, "error_code": exc.code, "error_messages": exc.messages}
        await ctx.write(lambda: ctx.actions.record(merchant, order_id, failed, status))
        failure = {"code": exc.code, "messages": exc.messages, "action": action, "typed": typed}
        return await _again(request, order_id, failure, status)
    await ctx.write(lambda: ctx.actions.record(merchant, order_id, detail, 200))
    target = f"/portal/orders/{quote(order_id, safe='')}?done={action}#actions"
    return RedirectResponse(target, status_code=303)


async def _again(request: Request, order_id: str, failure: dict[str, Any], status: int) -> Response:
    """The order page again, with `failure` in its actions area and `status`."""
    request.scope.setdefault("state", {})[STATE_KEY] = failure
    path = f"/orders/{order_id}"
    for route in order.ROUTES:
        if not isinstance(route, Route):
            continue
        scope = {**request.scope, "method": "GET", "query_string": b""}
        scope["path"] = f"/portal{path}"
        match, child = route.matches({**scope, "path": path, "root_path": ""})
        if match is Match.FULL:
            scope["path_params"] = child.get("path_params", {})
            response: Response = await route.endpoint(Request(scope, request.receive))
            if 200 <= response.status_code < 300:
                response.status_code = status
            return response
    # The order page is not there (a build without it): the error on a page of its own.
    message = f"{failure['code']}: {' '.join(failure['messages'])}"
    session = signed_in(request)
    return page(request, "refused.html", {"message": message}, session, status=status)


ROUTES: list[BaseRoute] = [
    Route("/orders/{order_id}/actions/{action}", order_action, methods=["POST"]),
]
