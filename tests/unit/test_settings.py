"""The merchants file: what `load_merchants_file` accepts, and how it names what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.settings import DEFAULT_MERCHANT_NAME, load_merchants_file, unique_merchants


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
