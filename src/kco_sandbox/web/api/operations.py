"""What operators look at: the health probe, the Prometheus metrics, and the access log.

- `GET /_sandbox/health`: no credentials (a container probe has none), nothing secret; served
  even with `--no-sandbox-api`. 200 when the database answers and the delivery worker run here
  (if any) is alive, else 503.
- `GET /_sandbox/metrics`: the Prometheus text format, no credentials; part of the sandbox API,
  so `--no-sandbox-api` switches it off with the rest.
- `request_observer`: what `WireMiddleware` calls once per answered request: it counts the request
  and writes the access line (at `info`; skipped, credentials check and all, above it).

docs/operations.md describes all three for operators.
"""

from __future__ import annotations

import logging
from typing import Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import Scope

from kco_sandbox import __version__, logs
from kco_sandbox.domain.errors import Unauthorized
from kco_sandbox.metrics import CONTENT_TYPE, Metrics
from kco_sandbox.web.api.order_management_render import om_time
from kco_sandbox.web.auth import Authenticator
from kco_sandbox.web.context import AppContext
from kco_sandbox.web.wire import Observer

_encode = msgspec.json.Encoder().encode
UNMATCHED: Final = "unmatched"
# Probes and scrapers must see the answer of now, never a cached one.
_NO_STORE: Final = {"Cache-Control": "no-store"}


async def health(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    checked = await ctx.read(ctx.services.health.check)
    body = {
        "status": "ok" if checked.ok else "unavailable",
        "version": __version__,
        "database": "ok" if checked.database_ok else "unreachable",
        "worker": checked.worker,
        "clock": om_time(checked.now),
    }
    return Response(
        _encode(body),
        status_code=200 if checked.ok else 503,
        media_type="application/json",
        headers=_NO_STORE,
    )


async def metrics(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    outbox = await ctx.read(ctx.services.health.outbox)
    return Response(ctx.services.metrics.render(outbox), media_type=CONTENT_TYPE, headers=_NO_STORE)


HEALTH_ROUTES = [Route("/_sandbox/health", health, methods=["GET"])]
METRICS_ROUTES = [Route("/_sandbox/metrics", metrics, methods=["GET"])]


def route_template(scope: Scope) -> str:
    """The template of the route that answered (`/checkout/v3/orders/{order_id}`), with the
    prefix of the app it is mounted in (`/demo/...`); `unmatched` when no route did."""
    route = scope.get("route")
    template: str | None = getattr(route, "path_format", None)
    if template is None:
        return UNMATCHED
    # A mounted app's router sets its own route: its mount point is the part of `root_path` the
    # mount added (nothing when no mount matched). A mount that matched while its app found no
    # route leaves itself as the route, its template already holding its path.
    root: str = scope.get("root_path", "")
    outer: str = scope.get("app_root_path", root)
    prefix = root[len(outer) :]
    if isinstance(route, Mount):
        prefix = prefix[: len(prefix) - len(route.path)]
    return prefix + template


def _authorization(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return str(value.decode("latin-1"))
    return None


def request_observer(auth: Authenticator, metrics: Metrics | None) -> Observer:
    """Count each answered request in `metrics` (when served) and write its access line."""
    # Authorization values already found valid → the merchant's user name: a repeat caller costs
    # a look-up, not a second check. Only valid ones are kept (bounded by the merchants' few
    # spellings), so a stream of wrong credentials cannot grow it.
    known: dict[str, str] = {}

    def merchant_of(scope: Scope, status: int) -> str:
        header = _authorization(scope)
        if header is None or status == 401:
            return "-"
        name = known.get(header)
        if name is None:
            try:
                name = auth.merchant_for(header).merchant_id
            except Unauthorized:
                return "-"
            if len(known) < 256:
                known[header] = name
        return name

    def observe(scope: Scope, status: int, seconds: float, correlation_id: str) -> None:
        if metrics is not None:
            metrics.request(scope["method"], route_template(scope), status, seconds)
        if logs.ACCESS.isEnabledFor(logging.INFO):
            # The raw path is still percent-encoded: no line breaks or spaces from the client
            # get into the line. It comes without the query string, where tokens travel.
            raw = scope.get("raw_path")
            path = raw.decode("latin-1") if raw else scope["path"]
            logs.access(
                scope["method"],
                path,
                status,
                seconds * 1000,
                merchant_of(scope, status),
                correlation_id,
            )

    return observe
