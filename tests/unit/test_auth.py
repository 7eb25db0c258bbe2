from __future__ import annotations

import base64

import pytest

from kco_sandbox.domain.errors import Unauthorized
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.web.auth import REMEMBERED, Authenticator
from tests.factories import MERCHANT, OTHER_MERCHANT

auth = Authenticator([MERCHANT, OTHER_MERCHANT])


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_classic_basic_user_and_key() -> None:
    assert auth.merchant_for(basic(MERCHANT.merchant_id, MERCHANT.api_key)) == MERCHANT
    assert auth.merchant_for(basic(OTHER_MERCHANT.merchant_id, OTHER_MERCHANT.api_key)) == (
        OTHER_MERCHANT
    )


def test_bare_key_form() -> None:
    assert auth.merchant_for(f"Basic {MERCHANT.api_key}") == MERCHANT


@pytest.mark.parametrize("spaces", [" ", "  ", "\t"])
def test_any_whitespace_after_basic(spaces: str) -> None:
    classic = basic(MERCHANT.merchant_id, MERCHANT.api_key).removeprefix("Basic ")
    assert auth.merchant_for(f"Basic{spaces}{MERCHANT.api_key}") == MERCHANT
    assert auth.merchant_for(f"basic{spaces}{classic}") == MERCHANT


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Basic",
        "Basic ",
        "Bearer kco_test_api_first",
        basic(MERCHANT.merchant_id, "wrong"),
        basic(OTHER_MERCHANT.merchant_id, MERCHANT.api_key),  # a key with someone else's name
        basic("", ""),
        "Basic !!!not-base64!!!",
        "Basic kco_test_api_firs",
    ],
)
def test_everything_else_is_unauthorized(header: str | None) -> None:
    with pytest.raises(Unauthorized):
        auth.merchant_for(header)


def test_a_remembered_credential_signs_in_as_before_and_the_memory_is_bounded() -> None:
    merchant = Merchant("shop", "secret-key", "Shop")
    auth = Authenticator([merchant])
    header = "Basic " + base64.b64encode(b"shop:secret-key").decode()
    assert auth.merchant_for(header) is merchant
    assert auth.merchant_for(header) is merchant  # from memory
    # Every spelling that signs in is remembered, up to the bound, never past it.
    for spaces in range(1, REMEMBERED + 50):
        assert auth.merchant_for("Basic" + " " * spaces + "secret-key") is merchant
        assert len(auth._accepted) <= REMEMBERED


def test_a_refused_credential_is_not_remembered() -> None:
    auth = Authenticator([Merchant("shop", "secret-key", "Shop")])
    wrong = "Basic " + base64.b64encode(b"shop:wrong").decode()
    for _ in range(2):
        with pytest.raises(Unauthorized):
            auth.merchant_for(wrong)
    assert wrong not in auth._accepted
