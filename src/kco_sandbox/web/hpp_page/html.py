"""The Hosted Payment Page's HTML: the session page around the hosted checkout, and our result
page for an outcome whose merchant URL is empty.

The session page shows the merchant's `page_title` and `logo_url`, the hosted checkout of the
session's Checkout order in its iframe (the same page an `html_snippet` shows), and the shopper's
Back and Cancel buttons. Its one script, `/hpp/hpp.page.js`, speaks the checkout iframe's
messages (docs/checkout-page.md) in place of the snippet's bootstrap and sends the browser to the
session's result (docs/hpp-api.md).
"""

from __future__ import annotations

from importlib.resources import files
from typing import Final

from kco_sandbox.domain.hpp import PAYMENTS_PATH, HppSession, HppStatus
from kco_sandbox.web.api.snippet import js, page_url
from kco_sandbox.web.checkout_page.html import esc, safe_url

CSS: Final = files("kco_sandbox.web.hpp_page").joinpath("static/hpp.page.css").read_bytes()
SCRIPT: Final = files("kco_sandbox.web.hpp_page").joinpath("static/hpp.page.js").read_bytes()
CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' http: https: data:; "
    "frame-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
TOKEN_FIELD: Final = "form_token"

# What our own result page says for each outcome.
_RESULTS: Final = {
    HppStatus.COMPLETED: ("Thank you!", "Your purchase is complete. You can close this page."),
    HppStatus.CANCELLED: ("Payment cancelled", "The payment was cancelled."),
    HppStatus.BACK: ("Back to the store", "You left the payment page."),
    HppStatus.FAILED: ("Payment declined", "The payment did not go through."),
    HppStatus.ERROR: ("Something went wrong", "The payment could not be completed."),
    HppStatus.DISABLED: ("Link no longer valid", "The store has disabled this payment link."),
}


def _frame(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<link rel="stylesheet" href="/hpp/hpp.page.css">
</head><body>
<p id="testdrive-marker" class="marker">TEST DRIVE</p>
{body}
</body></html>"""


def _form(session: HppSession, action: str, label: str, token: str, hidden: bool = False) -> str:
    return (
        f'<form method="post" action="{PAYMENTS_PATH}/{session.short_id}/{action}" '
        f'id="hpp-{action}-form"{" hidden" if hidden else ""}>'
        f'<input type="hidden" name="{TOKEN_FIELD}" value="{esc(token)}">'
        f'<button type="submit" id="hpp-{action}" class="link">{esc(label)}</button></form>'
    )


def session_page(session: HppSession, base_url: str, token: str) -> str:
    """The page at `redirect_url` while the shopper pays."""
    options = session.options
    title = options.page_title or "Complete your purchase"
    logo = ""
    if options.logo_url:
        logo = f'<img id="hpp-logo" alt="" src="{esc(safe_url(options.logo_url))}">'
    here = f"{PAYMENTS_PATH}/{session.short_id}"
    config = {
        "iframe": page_url(base_url, session.order_id),
        "result": f"{here}/result",
        "state": f"{here}/state",
    }
    body = f"""<header id="hpp-header">{logo}<h1 id="hpp-title">{esc(title)}</h1></header>
<main id="hpp-main">
<div id="hpp-checkout"></div>
</main>
<nav id="hpp-actions">
{_form(session, "back", "Back to the store", token)}
{_form(session, "cancel", "Cancel payment", token)}
{_form(session, "decline", "Declined", token, hidden=True)}
</nav>
<script id="hpp-config" type="application/json">{js(config)}</script>
<script src="/hpp/hpp.page.js"></script>"""
    return _frame(title, body)


def result_page(session: HppSession, retry_url: str | None) -> str:
    """Our own page for an outcome whose merchant URL is empty (and for a disabled link)."""
    heading, text = _RESULTS.get(session.status, ("Payment", "The payment is open."))
    retry = ""
    if retry_url is not None:
        retry = f'<p><a id="hpp-retry" href="{esc(retry_url)}">Try again</a></p>'
    body = (
        f'<main id="hpp-result" data-status="{esc(session.status.value)}">'
        f'<h1 id="hpp-result-heading">{esc(heading)}</h1><p>{esc(text)}</p>{retry}</main>'
    )
    return _frame(heading, body)


def missing_page() -> str:
    body = (
        '<main id="hpp-result" data-status="NOT_FOUND">'
        '<h1 id="hpp-not-found">This payment link is not valid</h1>'
        "<p>It may have expired. Ask the store for a new one.</p></main>"
    )
    return _frame("Payment link not found", body)
