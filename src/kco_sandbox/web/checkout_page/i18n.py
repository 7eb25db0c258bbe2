"""The checkout page's languages: its texts from message catalogues, country names and amounts.

The page's texts are written in English in the code, each marked where it is used: `t("…")` for
plain text, `t.markup("…", link=…)` for a sentence with markup put into it, and `N_("…")` in a
table the text is looked up from later. `locales/messages.pot` is the template Babel extracts from
those marks (docs/checkout-page.md, "Languages"); `locales/<language>.po` translates it. The
language is the language part of the order's `locale` (`sv-SE` → Swedish, `de-AT` → German,
`no-NO` and `nn-NO` → Norwegian Bokmål); any other language gets English, the catalogues' source.

Country names come from Babel's locale data (CLDR) in the same language. Amounts are formatted
the way the language writes them (`1 249,00 kr`); in English they keep the page's long-standing
`1249.00 SEK`, which merchants' test suites read.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib.resources import files
from typing import Final

from babel import Locale
from babel.messages.pofile import read_po
from babel.numbers import format_currency

SOURCE_LANGUAGE: Final = "en"
# The languages with a catalogue, the source language first.
LANGUAGES: Final = ("en", "sv", "de", "nb", "fi", "da", "nl")
# Other codes of a language with a catalogue.
_ALIASES: Final = {"no": "nb", "nn": "nb"}


def N_(message: str) -> str:  # gettext's name for "translate later"
    """`message` unchanged: marks a text for the catalogue where it is kept to be looked up."""
    return message


def language_of(locale: str | None) -> str:
    """The page's language for an order's `locale`: its language part if it has a catalogue,
    else English."""
    language = (locale or "").split("-")[0].lower()
    language = _ALIASES.get(language, language)
    return language if language in LANGUAGES else SOURCE_LANGUAGE


@cache
def catalogue(language: str) -> Mapping[str, str]:
    """The translations of a language: English text → translated text (English: none)."""
    if language == SOURCE_LANGUAGE:
        return {}
    path = files("kco_sandbox.web.checkout_page").joinpath(f"locales/{language}.po")
    with path.open("rb") as po:
        read = read_po(po, locale=language)
    return {
        str(message.id): str(message.string)
        for message in read
        if message.id and message.string and not message.fuzzy
    }


@dataclass(frozen=True, slots=True)
class Text:
    """The page's texts in one language."""

    language: str
    messages: Mapping[str, str]

    def __call__(self, message: str, **values: object) -> str:
        """`message` in this language (plain text, to be escaped), `%(name)s` filled in."""
        text = self.messages.get(message) or message
        return text % values if values else text

    def markup(self, message: str, **parts: str) -> str:
        """`message` in this language, escaped, with `parts` (markup already) put in its
        `%(name)s` places."""
        text = html.escape(self.messages.get(message) or message, quote=True)
        return text % parts if parts else text

    def country(self, code: str) -> str:
        """The name of a country (ISO alpha-2) in this language; the code if CLDR has none."""
        name = _locale(self.language).territories.get(code.upper())
        return str(name) if name else code.upper()

    def money(self, amount: int, currency: str) -> str:
        """An amount in minor units, with its currency, as this language writes it."""
        if self.language == SOURCE_LANGUAGE:
            sign = "-" if amount < 0 else ""
            return f"{sign}{abs(amount) / 100:.2f} {currency}"
        return format_currency(
            Decimal(amount) / 100, currency.upper(), locale=_locale(self.language)
        )


@cache
def _locale(language: str) -> Locale:
    return Locale.parse(language)


def text_for(locale: str | None) -> Text:
    """The page's texts for an order's `locale`."""
    language = language_of(locale)
    return Text(language, catalogue(language))
