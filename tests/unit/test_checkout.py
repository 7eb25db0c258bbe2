from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from kco_sandbox.domain.checkout.lifecycle import (
    ALLOWED,
    EXPIRES,
    WIRE_STATUS,
    Action,
    CheckoutStatus,
    require,
)
from kco_sandbox.domain.checkout.record import (
    CHECKOUT_LIFETIME,
    as_document,
    build_order,
    merge,
    new_record,
)
from kco_sandbox.domain.errors import BadValue, NotFound, OrderExpired, ReadOnlyOrder
from kco_sandbox.domain.market import VENDOR_MARKETS
from tests.factories import make_line, make_order

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def build(body: dict[str, Any], stored: dict[str, Any] | None = None) -> Any:
    return build_order(stored or {}, body, VENDOR_MARKETS, allow_http_callbacks=True)


def bad_value(body: dict[str, Any], stored: dict[str, Any] | None = None) -> str:
    with pytest.raises(BadValue) as info:
        build(body, stored)
    return info.value.messages[0]


def test_merge_keeps_what_is_not_sent_and_merges_objects() -> None:
    stored = {"a": 1, "obj": {"x": 1, "y": 2}, "arr": [1, 2, 3]}
    assert merge(stored, {"obj": {"y": 5}, "arr": [9]}) == {
        "a": 1,
        "obj": {"x": 1, "y": 5},
        "arr": [9],
    }


def test_merge_treats_null_as_not_given() -> None:
    assert merge({"a": 1, "obj": {"x": 1}}, {"a": None, "obj": {"x": None}}) == {
        "a": 1,
        "obj": {"x": 1},
    }


def test_read_only_and_unknown_fields_are_ignored() -> None:
    body = make_order(
        order_id="attacker-chosen",
        status="checkout_complete",
        html_snippet="<script>",
        started_at="2001-01-01T00:00:00Z",
        unknown_field={"deep": True},
    )
    body["merchant_urls"]["id"] = "57141"
    document = as_document(build(body))
    assert not {"order_id", "status", "html_snippet", "started_at", "unknown_field"} & set(document)
    assert "id" not in document["merchant_urls"]


def test_countries_are_lower_case_and_currencies_upper_case() -> None:
    order = build(make_order(purchase_country="SE", purchase_currency="sek"))
    assert (order.purchase_country, order.purchase_currency) == ("se", "SEK")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"purchase_country": None}, "Bad value: purchase_country (may not be null)"),
        ({"locale": 7}, "Bad value: locale"),
        ({"locale": "sv_SE"}, "Bad value: locale"),
        ({"purchase_currency": "SEKK"}, "Bad value: purchase_currency"),
        ({"order_amount": -1}, "Bad value: order_amount"),
        ({"order_amount": 1.5}, "Bad value: order_amount"),
        ({"order_amount": True}, "Bad value: order_amount"),
        ({"order_lines": {}}, "Bad value: order_lines"),
        ({"merchant_urls": "https://x"}, "Bad value: merchant_urls"),
        ({"merchant_reference1": "x" * 256}, "Bad value: merchant_reference1"),
        ({"merchant_data": "x" * 6001}, "Bad value: merchant_data"),
        ({"options": {"color_button": "red"}}, "Bad value: options.color_button"),
        ({"options": {"acquiring_channel": "PHONE"}}, "Bad value: options.acquiring_channel"),
        ({"options": {"allowed_customer_types": []}}, "Bad value: options.allowed_customer_types"),
        ({"attachment": {"content_type": "x"}}, "Bad value: attachment.body (may not be null)"),
        ({"order_lines": [make_line()] * 1001}, "Bad value: order_lines"),
    ],
)
def test_schema_errors_name_the_path(change: dict[str, Any], message: str) -> None:
    body = make_order()
    for key, value in change.items():
        if value is None:
            del body[key]
        else:
            body[key] = value
    assert bad_value(body) == message


@pytest.mark.parametrize(
    ("line_change", "message"),
    [
        ({"quantity": 0.5}, "Bad value: order_lines[1].quantity"),
        ({"quantity": -1}, "Bad value: order_lines[1].quantity"),
        ({"quantity": None}, "Bad value: order_lines[1].quantity (may not be null)"),
        ({"tax_rate": 10001}, "Bad value: order_lines[1].tax_rate"),
        ({"unit_price": 100_000_001}, "Bad value: order_lines[1].unit_price"),
        ({"reference": "x" * 256}, "Bad value: order_lines[1].reference"),
        ({"name": ""}, "Bad value: order_lines[1].name"),
        ({"total_discount_amount": -1}, "Bad value: order_lines[1].total_discount_amount"),
        (
            {"subscription": {"interval": "HOUR", "interval_count": 1}},
            "Bad value: order_lines[1].subscription.interval",
        ),
    ],
)
def test_line_schema_errors_name_the_line(line_change: dict[str, Any], message: str) -> None:
    body = make_order(order_lines=[make_line(), make_line(**line_change)])
    assert bad_value(body) == message


def test_missing_required_line_field() -> None:
    line = make_line()
    del line["total_tax_amount"]
    assert bad_value(make_order(order_lines=[line])) == (
        "Bad value: order_lines[0].total_tax_amount (may not be null)"
    )


def test_missing_merchant_url() -> None:
    body = make_order()
    del body["merchant_urls"]["push"]
    assert bad_value(body) == "Bad value: merchant_urls.push (may not be null)"


def test_update_merges_onto_the_stored_order_and_revalidates() -> None:
    stored = as_document(build(make_order(merchant_reference1="A")))
    updated = build({"merchant_reference2": "B"}, stored)
    assert (updated.merchant_reference1, updated.merchant_reference2) == ("A", "B")
    # Lines sent replace the stored ones; amounts must then add up again.
    two = [make_line(), make_line()]
    assert bad_value({"order_lines": two}, stored) == "Bad value: order_amount"
    replaced = build({"order_lines": two, "order_amount": 100000, "order_tax_amount": 9090}, stored)
    assert len(replaced.order_lines) == 2


def record() -> Any:
    return new_record("oid", "merchant", build(make_order()), NOW)


def test_a_new_record_is_incomplete_and_lives_48_hours() -> None:
    r = record()
    assert r.status is CheckoutStatus.CHECKOUT_INCOMPLETE
    assert r.expires_at == NOW + CHECKOUT_LIFETIME == NOW + timedelta(hours=48)
    assert not r.is_expired(NOW + timedelta(hours=47, minutes=59))
    assert r.is_expired(NOW + timedelta(hours=48))


def test_an_update_extends_the_lifetime_and_bumps_the_version() -> None:
    later = NOW + timedelta(hours=40)
    r = record().with_order(build(make_order()), later)
    assert (r.version, r.last_modified_at, r.expires_at) == (2, later, later + CHECKOUT_LIFETIME)


def test_an_aborted_order_is_read_only_and_reads_as_incomplete() -> None:
    aborted = record().aborted(NOW)
    assert aborted.status is CheckoutStatus.ABORTED
    assert WIRE_STATUS[aborted.status] == "checkout_incomplete"
    with pytest.raises(ReadOnlyOrder):
        aborted.with_order(build(make_order()), NOW)
    with pytest.raises(ReadOnlyOrder):
        aborted.aborted(NOW)


def test_visibility_is_per_merchant_and_ends_at_expiry() -> None:
    r = record()
    assert r.visible_to("merchant", NOW) is r
    with pytest.raises(NotFound) as other:
        r.visible_to("someone-else", NOW)
    assert not isinstance(other.value, OrderExpired)
    with pytest.raises(OrderExpired):
        r.visible_to("merchant", NOW + CHECKOUT_LIFETIME)


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("status", list(CheckoutStatus))
def test_lifecycle_table_decides_every_pair(action: Action, status: CheckoutStatus) -> None:
    if status in ALLOWED[action]:
        require(action, status)
    else:
        with pytest.raises(ReadOnlyOrder):
            require(action, status)


def test_every_status_has_a_wire_value_and_expiry_rule() -> None:
    assert set(WIRE_STATUS) == set(CheckoutStatus)
    assert set(WIRE_STATUS.values()) == {"checkout_incomplete", "checkout_complete"}
    assert CheckoutStatus.CHECKOUT_COMPLETE not in EXPIRES


def test_documents_round_trip() -> None:
    order = build(
        make_order(options={"auto_capture": True}, gui={"options": ["minimal_confirmation"]})
    )
    assert msgspec.convert(as_document(order), type(order)) == order
