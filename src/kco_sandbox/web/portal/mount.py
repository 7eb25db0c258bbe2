"""`mount`: the portal in the platform's app, at `/portal`, with its static files, its shared
state (`app.state.portal`) and the answers to "not signed in" and "bad form"."""

from __future__ import annotations

import hashlib
import hmac

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from kco_sandbox.web.context import AppContext
from kco_sandbox.web.portal import (
    actions,
    export,
    journal,
    live,
    order,
    orders,
    sandbox,
    webhooks,
)
from kco_sandbox.web.portal.routes import EXCEPTION_HANDLERS, Portal, routes
from kco_sandbox.web.portal.session import Sessions, SignInThrottle

PAGES: list[BaseRoute] = (
    orders.ROUTES
    + order.ROUTES
    + actions.ROUTES
    + sandbox.ROUTES
    + journal.ROUTES
    + export.ROUTES
    + live.ROUTES
    + webhooks.ROUTES
)


def mount(app: Starlette, ctx: AppContext) -> None:
    # The session key is derived from the server's stored secret: sign-ins survive a restart
    # and hold in every process on the same database, and differ from the form-token key.
    key = hmac.new(ctx.form_key, b"kco-sandbox portal", hashlib.sha256).digest()
    app.state.portal = Portal(Sessions(key, ctx.auth), SignInThrottle())
    static = StaticFiles(packages=[("kco_sandbox.web.portal", "static")])
    app.routes.append(Mount("/portal/static", app=static, name="portal_static"))
    app.routes.extend(routes(PAGES))
    for kind, handler in EXCEPTION_HANDLERS.items():
        app.add_exception_handler(kind, handler)
