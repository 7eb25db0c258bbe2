"""Domain rules that a mutation run (scripts/mutation) showed no test pinned down.

Each test names the mutants it kills (mutmut's names, in `docs/testing.md`).
"""

from __future__ import annotations

import msgspec
import pytest

from kco_sandbox.domain.checkout.order import CheckoutOrder
from kco_sandbox.domain.checkout.validation import HTTPS_ONLY_URLS, check_order
from kco_sandbox.domain.errors import BadValue
from kco_sandbox.domain.market import VENDOR_MARKETS
from kco_sandbox.domain.purchase.cart import check_checkboxes
from tests.factories import make_order


def order(**overrides: object) -> CheckoutOrder:
    return msgspec.convert(make_order(**overrides), CheckoutOrder)


def test_the_single_required_checkbox_must_be_ticked() -> None:
    """Kills cart.check_checkboxes 3 and 7-22: the one `additional_checkbox`, when required, is
    checked under its own key and refused with its own field."""
    required = order(
        options={"additional_checkbox": {"text": "Terms", "checked": False, "required": True}}
    )
    for checked in ({}, {"additional_checkbox": False}):
        with pytest.raises(BadValue) as info:
            check_checkboxes(required, checked)
        assert info.value.messages == ["Bad value: options.additional_checkbox (required)"]
    check_checkboxes(required, {"additional_checkbox": True})


@pytest.mark.parametrize("allow_http", [True, False])
def test_https_callback_urls_pass_whether_or_not_http_is_allowed(allow_http: bool) -> None:
    """Kills validation.check_order 35-38 (the `https` scheme misspelt in either tuple)."""
    urls = make_order()["merchant_urls"] | {
        name: f"https://shop.example/{name}" for name in HTTPS_ONLY_URLS
    }
    check_order(order(merchant_urls=urls), VENDOR_MARKETS, allow_http_callbacks=allow_http)
