"""The checkout page's message catalogues: the template is the code's, every language translates
all of it, and the page picks the language, country names and amounts from the order's locale."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from kco_sandbox.web.checkout_page.i18n import LANGUAGES, language_of, text_for

PAGE = Path(str(files("kco_sandbox.web.checkout_page")))
KEYWORDS = {"t": None, "markup": None, "N_": None}  # as docs/checkout-page.md extracts them
TRANSLATED = [language for language in LANGUAGES if language != "en"]


def template() -> Catalog:
    with (PAGE / "locales" / "messages.pot").open("rb") as pot:
        return read_po(pot)


def translations(language: str) -> Catalog:
    with (PAGE / "locales" / f"{language}.po").open("rb") as po:
        return read_po(po, locale=language)


def marked_in_code() -> set[str]:
    found = extract_from_dir(str(PAGE), keywords=KEYWORDS, comment_tags=())
    return {str(message) for _file, _line, message, _comments, _context in found}


def test_the_template_holds_exactly_the_texts_the_code_marks() -> None:
    # To regenerate: the `pybabel extract` command in docs/checkout-page.md, "Languages".
    assert {str(m.id) for m in template() if m.id} == marked_in_code()


def test_no_text_is_marked_where_extraction_cannot_see_it() -> None:
    # Inside an f-string a `t("…")` is invisible to extraction (Python 3.11 tokenizes the whole
    # f-string as one string): every literal the page passes to `t` must be in the template.
    call = re.compile(r"""\bt(?:\.markup)?\(\s*(?:"([^"\\]*)"|'([^'\\]*)')\s*[,)]""")
    known = {str(m.id) for m in template() if m.id}
    for path in PAGE.glob("*.py"):
        if path.name == "i18n.py":  # which shows the marks in its docstring
            continue
        for double, single in call.findall(path.read_text("utf-8")):
            assert (double or single) in known, f"{path.name}: {double or single!r}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_language_translates_every_text(language: str) -> None:
    catalogue = translations(language)
    ids = {str(m.id) for m in template() if m.id}
    done = {str(m.id) for m in catalogue if m.id and m.string and not m.fuzzy}
    assert ids - done == set(), f"{language}: not translated"
    assert done - ids == set(), f"{language}: no longer in the template"
    # Babel's checks: the same %(name)s placeholders in the translation as in the text.
    problems = [(str(m.id), [str(e) for e in errors]) for m, errors in catalogue.check()]
    assert problems == []


@pytest.mark.parametrize(
    ("locale", "language"),
    [
        ("sv-SE", "sv"),
        ("sv-FI", "sv"),
        ("de-DE", "de"),
        ("de-AT", "de"),
        ("de-CH", "de"),
        ("nb-NO", "nb"),
        ("no-NO", "nb"),
        ("nn-NO", "nb"),
        ("fi-FI", "fi"),
        ("da-DK", "da"),
        ("nl-NL", "nl"),
        ("nl-BE", "nl"),
        ("en-GB", "en"),
        ("en-US", "en"),
        ("fr-FR", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_the_language_is_the_locales_language_part(locale: str | None, language: str) -> None:
    assert language_of(locale) == language


def test_texts_are_translated_and_filled_in() -> None:
    assert text_for("sv-SE")("Continue") == "Fortsätt"
    assert text_for("de-AT")("Thank you, %(name)s!", name="Hans") == "Vielen Dank, Hans!"
    assert text_for("en-GB")("Thank you, %(name)s!", name="Ann") == "Thank you, Ann!"
    assert text_for("nl-NL")("a text no catalogue has") == "a text no catalogue has"
    # Markup: the translation is escaped, the parts are put in as they are.
    link = '<a href="/x">x</a>'
    assert text_for("sv-SE").markup("By buying you accept the %(terms)s.", terms=link) == (
        f"Genom att köpa godkänner du {link}."
    )


@pytest.mark.parametrize(
    ("locale", "code", "name"),
    [
        ("en-SE", "SE", "Sweden"),
        ("sv-SE", "SE", "Sverige"),
        ("de-DE", "DE", "Deutschland"),
        ("nb-NO", "NO", "Norge"),
        ("fi-FI", "FI", "Suomi"),
        ("da-DK", "DK", "Danmark"),
        ("nl-NL", "NL", "Nederland"),
        ("sv-SE", "XX", "XX"),
    ],
)
def test_countries_are_named_in_the_pages_language(locale: str, code: str, name: str) -> None:
    assert text_for(locale).country(code) == name


@pytest.mark.parametrize(
    ("locale", "amount", "currency", "written"),
    [
        ("en-SE", 124900, "SEK", "1249.00 SEK"),  # as the page has always written it
        ("en-GB", -500, "GBP", "-5.00 GBP"),
        ("sv-SE", 124900, "SEK", "1\xa0249,00\xa0kr"),
        ("de-DE", 2490, "EUR", "24,90\xa0€"),
        ("nl-NL", 2490, "EUR", "€\xa024,90"),
        ("fi-FI", 2490, "EUR", "24,90\xa0€"),
        ("da-DK", 19900, "DKK", "199,00\xa0kr."),
    ],
)
def test_amounts_are_written_the_languages_way(
    locale: str, amount: int, currency: str, written: str
) -> None:
    assert text_for(locale).money(amount, currency) == written
