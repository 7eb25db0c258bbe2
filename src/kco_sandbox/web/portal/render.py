"""The portal's pages: Jinja2 templates (escaped by default) and the headers every page carries.

Every page sends `Content-Security-Policy` (scripts and styles from this origin only, no inline
code, no framing), `X-Content-Type-Options: nosniff` (from the wire middleware),
`Referrer-Policy: same-origin` and `Cache-Control: no-store` (pages show a merchant's data).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from kco_sandbox import __version__
from kco_sandbox.web.portal.session import FORM_FIELD, PortalSession

POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HEADERS: Final = {
    "Content-Security-Policy": POLICY,
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

templates = Environment(
    loader=PackageLoader("kco_sandbox.web.portal", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.globals["version"] = __version__
templates.globals["csrf_field"] = FORM_FIELD


def page(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    session: PortalSession | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """`template` rendered with `context`, the signed-in `session` (its merchant and form token)
    and the request, as an HTML page with the portal's headers."""
    html = templates.get_template(template).render(
        request=request,
        session=session,
        merchant=session.merchant if session else None,
        csrf=session.csrf if session else "",
        sandbox_api=request.app.state.ctx.settings.sandbox_api,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers={**HEADERS, **(headers or {})})
