"""Where a merchant may sell: purchase country → currency and the languages of its locales.

A locale is valid for a country when it is `<language>-<country>` with the language English or
one of the country's own languages (the vendor rejects `en-US` for a Swedish order, accepts
`en-SE`). A merchant may be limited to some of these markets; the default is all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from kco_sandbox.domain.errors import BadValue


@dataclass(frozen=True, slots=True)
class Market:
    country: str  # ISO 3166-1 alpha-2, upper case
    alpha3: str  # ISO 3166-1 alpha-3, lower case: the hosted checkout's own spelling
    currency: str  # ISO 4217, upper case
    languages: tuple[str, ...]  # ISO 639-1, lower case; English is always added


def _m(country: str, alpha3: str, currency: str, *languages: str) -> Market:
    return Market(country, alpha3, currency, languages)


VENDOR_MARKETS: Final[Mapping[str, Market]] = {
    m.country: m
    for m in (
        _m("AT", "aut", "EUR", "de"),
        _m("AU", "aus", "AUD"),
        _m("BE", "bel", "EUR", "nl", "fr"),
        _m("CA", "can", "CAD", "fr"),
        _m("CH", "che", "CHF", "de", "fr", "it"),
        _m("CZ", "cze", "CZK", "cs"),
        _m("DE", "deu", "EUR", "de"),
        _m("DK", "dnk", "DKK", "da"),
        _m("ES", "esp", "EUR", "es", "ca"),
        _m("FI", "fin", "EUR", "fi", "sv"),
        _m("FR", "fra", "EUR", "fr"),
        _m("GB", "gbr", "GBP"),
        _m("GR", "grc", "EUR", "el"),
        _m("IE", "irl", "EUR"),
        _m("IT", "ita", "EUR", "it"),
        _m("NL", "nld", "EUR", "nl"),
        _m("NO", "nor", "NOK", "nb", "nn", "no"),
        _m("NZ", "nzl", "NZD"),
        _m("PL", "pol", "PLN", "pl"),
        _m("PT", "prt", "EUR", "pt"),
        _m("SE", "swe", "SEK", "sv"),
        _m("US", "usa", "USD", "es"),
    )
}


def markets_for(countries: Iterable[str] | None) -> Mapping[str, Market]:
    """The vendor's markets, limited to `countries` when a merchant is configured with some."""
    if countries is None:
        return VENDOR_MARKETS
    wanted = {c.upper() for c in countries}
    unknown = wanted - VENDOR_MARKETS.keys()
    if unknown:
        raise ValueError(f"unknown market(s): {', '.join(sorted(unknown))}")
    return {c: m for c, m in VENDOR_MARKETS.items() if c in wanted}


def check_market(markets: Mapping[str, Market], country: str, currency: str, locale: str) -> None:
    """Raise `BadValue` naming the first of country, currency, locale that does not fit."""
    market = markets.get(country.upper())
    if market is None:
        raise BadValue("purchase_country")
    if currency.upper() != market.currency:
        raise BadValue("purchase_currency")
    language, _, region = locale.partition("-")
    if region.upper() != market.country or language.lower() not in ("en", *market.languages):
        raise BadValue("locale")
