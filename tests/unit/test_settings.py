"""The merchants file: what `load_merchants_file` accepts, and how it names what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.settings import (
    DEFAULT_MERCHANT_NAME,
    Settings,
    check_profile,
    load_merchants_file,
    unique_merchants,
)


def test_a_merchants_file_is_read_with_its_defaults(tmp_path: Path) -> None:
    path = tmp_path / "merchants.json"
    path.write_text(
        '[{"username": "de", "password": "k1", "name": "DE Shop", "markets": ["de", "AT"]},'
        ' {"username": "all", "password": "k2", "name": null, "markets": []}]'
    )
    assert load_merchants_file(path) == [
        Merchant("de", "k1", "DE Shop", ("DE", "AT")),
        Merchant("all", "k2", DEFAULT_MERCHANT_NAME, None),
    ]


def test_a_merchants_file_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    # A folder: reading it fails for every user, root too (a file without read permission would
    # not fail for root).
    folder = tmp_path / "merchants"
    folder.mkdir()
    with pytest.raises(ValueError, match=r"merchants: cannot read it \(Is a directory\)$"):
        load_merchants_file(folder)


def test_names_that_are_not_strings_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text('[{"username": "a", "password": "k", "name": 5}]')
    with pytest.raises(ValueError, match=r'entry 1 \("a"\): "name" must be a string, got a number'):
        load_merchants_file(path)


def test_a_username_given_twice_names_both_places() -> None:
    shop = Merchant("shop", "k", DEFAULT_MERCHANT_NAME)
    with pytest.raises(
        ValueError, match=r'^merchant username "shop" is given twice by a and by b$'
    ):
        unique_merchants([("a", shop), ("b", shop)])
    assert unique_merchants([("a", shop)]) == [shop]


# Profiles


def test_the_local_profile_keeps_everything_on() -> None:
    settings = check_profile(Settings())
    assert settings.demo_shop_on
    assert settings.private_callbacks_on


def test_the_shared_profile_turns_off_the_demo_shop_and_private_callbacks() -> None:
    settings = check_profile(Settings(profile="shared", public_url="https://kco.example"))
    assert not settings.demo_shop_on
    assert not settings.private_callbacks_on


def test_explicit_choices_win_over_the_profile() -> None:
    settings = Settings(
        profile="shared", public_url="https://kco.example", demo_shop=True, private_callbacks=True
    )
    assert settings.demo_shop_on
    assert settings.private_callbacks_on
    assert not Settings(demo_shop=False).demo_shop_on
    assert not Settings(private_callbacks=False).private_callbacks_on


def test_the_demo_shop_goes_with_the_sandbox_api_unless_asked_for() -> None:
    assert not Settings(sandbox_api=False).demo_shop_on
    assert Settings(sandbox_api=False, demo_shop=True).demo_shop_on


def test_the_shared_profile_needs_a_public_url() -> None:
    with pytest.raises(ValueError, match="the shared profile needs --public-url"):
        check_profile(Settings(profile="shared"))


def test_an_unknown_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown profile 'public'"):
        check_profile(Settings(profile="public"))
