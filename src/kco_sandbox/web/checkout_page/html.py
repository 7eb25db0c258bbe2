"""The frame every checkout screen shares: document head, theme, TEST DRIVE header, page state.

Each screen's markup comes from `steps`, `address` and `summary`; this module wraps it in one HTML
document with the stylesheet, the merchant's colours from `options`, the TEST DRIVE marker and
panel (`testdrive`), and the page state (a JSON script element the page script reads and hands to
the merchant page's bootstrap, see docs/checkout-page.md). Labels arrive translated (`i18n`).
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from importlib.resources import files
from typing import Any, Final

from kco_sandbox.domain.checkout.order import CheckoutOrder
from kco_sandbox.web.api.snippet import js
from kco_sandbox.web.checkout_page.i18n import Text
from kco_sandbox.web.checkout_page.testdrive import testdrive_header

CSS: Final = (
    files("kco_sandbox.web.checkout_page").joinpath("static/checkout.page.css").read_text("utf-8")
)
# Only plain lengths: the value goes into a stylesheet, so anything else could inject rules.
_RADIUS = re.compile(r"^\d{1,3}(\.\d{1,2})?(px|em|rem|%)?$")


def esc(value: object) -> str:
    """HTML-escaped text, for element content and quoted attribute values alike."""
    return html.escape(str(value), quote=True)


def safe_url(url: str) -> str:
    """`url` if it is http(s), else `#`: merchant URLs become links, never `javascript:` ones."""
    return url if re.match(r"^https?://", url, re.IGNORECASE) else "#"


def theme(order: CheckoutOrder) -> str:
    """CSS for the merchant's colour and radius options (colours are schema-checked hex)."""
    options = order.options
    if options is None:
        return ""
    rules: list[str] = []
    if options.color_button:
        rules.append(
            f".primary{{background:{options.color_button};border-color:{options.color_button}}}"
        )
    if options.color_button_text:
        rules.append(f".primary{{color:{options.color_button_text}}}")
    if options.color_checkbox:
        rules.append(
            f"input[type=checkbox],input[type=radio]{{accent-color:{options.color_checkbox}}}"
        )
    if options.color_header:
        rules.append(f"h1,h2,legend{{color:{options.color_header}}}")
    if options.color_link:
        rules.append(f"a{{color:{options.color_link}}}")
    if options.radius_border and _RADIUS.match(options.radius_border):
        radius = options.radius_border
        rules.append(f"button,input,select,.box,.option{{border-radius:{radius}}}")
    return "".join(rules)


def stylesheet(order: CheckoutOrder) -> str:
    """The one inline `<style>` of a screen: the page's CSS and the merchant's theme."""
    return CSS + theme(order)


def content_security_policy(order: CheckoutOrder | None) -> str:
    """The `Content-Security-Policy` of a checkout screen (docs/operations.md, "Headers").

    The page is framed by merchant pages on any origin (`frame-ancestors *`); its one script is
    `/kco/checkout.page.js` (the state element is JSON, never run) and its one stylesheet is the
    inline `<style>`, allowed by its hash; without an order (the not-found page) no style at all.
    """
    style = "'none'"
    if order is not None:
        digest = hashlib.sha256(stylesheet(order).encode("utf-8")).digest()
        style = f"'sha256-{base64.b64encode(digest).decode('ascii')}'"
    return (
        f"default-src 'self'; script-src 'self'; style-src {style}; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors *"
    )


def document(order: CheckoutOrder, step: str, body: str, state: dict[str, Any], t: Text) -> str:
    """One complete checkout screen, in the language of `t`."""
    title = t("Checkout")
    return f"""<!doctype html>
<html lang="{esc(t.language)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<style>{stylesheet(order)}</style>
</head><body data-step="{esc(step)}">
{testdrive_header(t, order)}
<main id="klarna-checkout-{esc(step)}">
{body}
</main>
<div id="client-validation-message" class="error" role="alert" hidden></div>
<script id="kco-page-state" type="application/json">{js(state)}</script>
<script src="/kco/checkout.page.js"></script>
</body></html>"""


def tag(name: str, text: str, attributes: str = "") -> str:
    """`<name attributes>text</name>`, the text escaped (`attributes` are markup already)."""
    return f"<{name}{attributes}>{esc(text)}</{name}>"


def error_box(message: str | None) -> str:
    if not message:
        return ""
    return f'<p class="error" id="step-error" role="alert">{esc(message)}</p>'


def notice_box(message: str | None) -> str:
    if not message:
        return ""
    return f'<p class="notice" id="step-notice" role="status">{esc(message)}</p>'


def field(
    name: str,
    label: str,
    value: str | None,
    *,
    required: bool = False,
    kind: str = "text",
    autocomplete: str = "",
    prefix: str = "",
    hint: str = "",
    wide: bool = True,
) -> str:
    """A labelled input; ids and names are `prefix + name`; `hint` is a line under it."""
    ident = esc(prefix + name)
    auto = f' autocomplete="{esc(autocomplete)}"' if autocomplete else ""
    need = " required" if required else ""
    mark = ' <span class="req" aria-hidden="true">*</span>' if required else ""
    described = f' aria-describedby="{ident}-hint"' if hint else ""
    under = f'<small class="hint" id="{ident}-hint">{esc(hint)}</small>' if hint else ""
    size = "field" if wide else "field half"
    return (
        f'<p class="{size}"><label for="{ident}">{esc(label)}{mark}</label>'
        f'<input id="{ident}" name="{ident}" type="{kind}" value="{esc(value or "")}"'
        f"{auto}{need}{described}>{under}</p>"
    )


def select(
    name: str,
    label: str,
    options: list[tuple[str, str, str]],
    chosen: str | None,
    *,
    required: bool = False,
) -> str:
    """A labelled select; `options` are (id, value, label); an empty choice unless required."""
    ident = esc(name)
    need = " required" if required else ""
    mark = ' <span class="req" aria-hidden="true">*</span>' if required else ""
    items = [] if required or len(options) == 1 else ['<option value="">&ndash;</option>']
    for option_id, value, text in options:
        picked = " selected" if value == chosen else ""
        items.append(
            f'<option id="{esc(option_id)}" value="{esc(value)}"{picked}>{esc(text)}</option>'
        )
    return (
        f'<p class="field"><label for="{ident}">{esc(label)}{mark}</label>'
        f'<select id="{ident}" name="{ident}"{need}>{"".join(items)}</select></p>'
    )


def submit(button_id: str, label: str) -> str:
    return f'<button type="submit" class="primary" id="{esc(button_id)}">{esc(label)}</button>'
