"""The portal's table of contents, mounted at `/portal`, and the sign-in pages.

Each page module adds its routes here; a handler gets the signed-in session from `signed_in`
(a redirect to the sign-in page when there is none) and checks a post's form token with
`posted_form`.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from kco_sandbox.domain.errors import Unauthorized
from kco_sandbox.web.forms import Form, read_form
from kco_sandbox.web.portal.render import page
from kco_sandbox.web.portal.session import (
    FORM_FIELD,
    PortalSession,
    Sessions,
    SignInThrottle,
    csrf_ok,
)


@dataclass(frozen=True, slots=True)
class Portal:
    """What the portal's handlers share, kept on the app as `app.state.portal`."""

    sessions: Sessions
    throttle: SignInThrottle


class NotSignedIn(Exception):
    """Raised by `signed_in`; answered with a redirect to the sign-in page."""

    def __init__(self, back_to: str) -> None:
        self.back_to = back_to


class BadForm(Exception):
    """A post without the session's form token (or too large): answered 403, nothing done."""


def portal(request: Request) -> Portal:
    state: Portal = request.app.state.portal
    return state


def signed_in(request: Request) -> PortalSession:
    """The request's session, or `NotSignedIn` (the sign-in page then comes back here)."""
    session = portal(request).sessions.current(request)
    if session is None:
        raise NotSignedIn(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    return session


async def posted_form(request: Request, session: PortalSession) -> Form:
    """The posted form, once its form token is the session's; else `BadForm`."""
    form = await read_form(request)
    if not csrf_ok(session, form.get(FORM_FIELD)):
        raise BadForm()
    return form


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a path inside the portal only (no open redirect)."""
    if target and target.startswith("/portal") and not urlsplit(target).netloc:
        return target
    return "/portal/orders"


async def sign_in_page(request: Request) -> Response:
    if portal(request).sessions.current(request) is not None:
        return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
    return page(request, "sign_in.html", {"next": _safe_next(request.query_params.get("next"))})


async def sign_in(request: Request) -> Response:
    ctx = request.app.state.ctx
    form = await read_form(request)
    username = form.get("username")
    password = form.values.get("password", [""])[-1][:255]  # a password keeps its spaces
    target = _safe_next(form.get("next"))
    client = request.client.host if request.client else "-"
    throttle = portal(request).throttle
    wait = throttle.wait(client, username)
    if wait > 0:
        message = f"Too many wrong passwords: try again in {int(wait) + 1} seconds."
        return page(
            request,
            "sign_in.html",
            {"next": target, "error": message, "username": username},
            status=429,
        )
    try:
        merchant = ctx.auth.sign_in(username, password)
    except Unauthorized:
        throttle.failed(client, username)
        message = "That user name and password do not match a merchant of this server."
        return page(
            request,
            "sign_in.html",
            {"next": target, "error": message, "username": username},
            status=401,
        )
    throttle.succeeded(client, username)
    response = RedirectResponse(target, status_code=303)
    portal(request).sessions.sign_in(request, response, merchant)
    return response


async def sign_out(request: Request) -> Response:
    session = signed_in(request)
    await posted_form(request, session)
    response = RedirectResponse("/portal/sign-in", status_code=303)
    Sessions.sign_out(response)
    return response


async def home(request: Request) -> Response:
    return RedirectResponse("/portal/orders", status_code=303)


def not_signed_in(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NotSignedIn)
    return RedirectResponse(f"/portal/sign-in?next={quote(exc.back_to)}", status_code=303)


def bad_form(request: Request, exc: Exception) -> Response:
    message = (
        "This form could not be accepted (it came from another page, or the sign-in has "
        "expired). Go back, reload the page and try again."
    )
    return page(request, "refused.html", {"message": message}, status=403)


PAGES: list[BaseRoute] = [
    Route("/", home, methods=["GET"]),
    Route("/sign-in", sign_in_page, methods=["GET"]),
    Route("/sign-in", sign_in, methods=["POST"]),
    Route("/sign-out", sign_out, methods=["POST"]),
]


def routes(extra: list[BaseRoute]) -> list[BaseRoute]:
    """The portal's routes under `/portal`: the sign-in pages, then `extra` (the other pages);
    the bare `/portal` (what `serve` prints) goes to the orders too."""
    return [Route("/portal", home, methods=["GET"]), Mount("/portal", routes=PAGES + extra)]


EXCEPTION_HANDLERS = {NotSignedIn: not_signed_in, BadForm: bad_form}
