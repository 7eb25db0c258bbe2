"""Whatever JSON a client sends, the answer is a success or a precise 4xx, never a 500."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.factories import make_order

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)

PATHS = [
    ("purchase_country",),
    ("purchase_currency",),
    ("locale",),
    ("order_amount",),
    ("order_tax_amount",),
    ("order_lines",),
    ("order_lines", 0),
    ("order_lines", 0, "quantity"),
    ("order_lines", 0, "unit_price"),
    ("order_lines", 0, "tax_rate"),
    ("order_lines", 0, "name"),
    ("order_lines", 0, "subscription"),
    ("merchant_urls",),
    ("merchant_urls", "validation"),
    ("options",),
    ("options", "additional_checkboxes"),
    ("billing_address",),
    ("shipping_options",),
    ("external_payment_methods",),
    ("attachment",),
    ("gui",),
    ("unknown",),
]


def mutated(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(make_order())
    target: Any = body
    for key in path[:-1]:
        target = target.setdefault(key, {}) if isinstance(key, str) else target[key]
    target[path[-1]] = value
    return body


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(path=st.sampled_from(PATHS), value=json_values, update=st.booleans())
def test_any_json_gets_success_or_a_vendor_400(
    client: TestClient, path: tuple[Any, ...], value: Any, update: bool
) -> None:
    body = mutated(path, value)
    if update:
        created = client.post("/checkout/v3/orders", json=make_order())
        response = client.post(created.headers["location"], json=body)
        expected = 200
    else:
        response = client.post("/checkout/v3/orders", json=body)
        expected = 201
    assert response.status_code in (expected, 400), response.text
    if response.status_code == 400:
        error = response.json()
        assert error["error_code"] == "BAD_VALUE"
        assert error["error_messages"][0].startswith("Bad value: ")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=64))
def test_any_bytes_get_a_vendor_400_or_success(client: TestClient, raw: bytes) -> None:
    response = client.post("/checkout/v3/orders", content=raw)
    assert response.status_code in (201, 400)
