"""The checkout page's server side without a browser: steps, form posts, escaping, no 500s."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.factories import make_order
from tests.page_support import ADDRESS, NO_AUTH, ORDERS, create, page, step_of, token_in

STEPS = ["identify", "address", "shipping", "payment", "buy", "signup"]


def form_token(client: TestClient, order_id: str) -> str:
    """The token the order's checkout forms carry, as a browser finds it in the page."""
    return token_in(client.get(f"/kco/checkout/{order_id}", auth=NO_AUTH).text)


def post(client: TestClient, order_id: str, step: str, **data: Any) -> Any:
    """A form post of `step`, with the order's form token as the page's forms carry it."""
    data = {"form_token": form_token(client, order_id), **data}
    return client.post(
        f"/kco/checkout/{order_id}/{step}", data=data, auth=NO_AUTH, follow_redirects=False
    )


def test_steps_follow_what_the_shopper_did(client: TestClient) -> None:
    order_id = create(
        client,
        shipping_options=[{"id": "a", "name": "A", "price": 0, "tax_amount": 0, "tax_rate": 0}],
    )
    assert step_of(page(client, order_id)) == "identify"
    assert step_of(page(client, order_id, "?step=summary&payment_method=card")) == "identify"
    moved = post(client, order_id, "identify", email="a@example.com", postal_code="11122")
    assert moved.status_code == 303
    assert moved.headers["location"].endswith("?step=address&customer_type=person")
    assert step_of(page(client, order_id)) == "address"
    assert post(client, order_id, "address", **ADDRESS).status_code == 303
    assert step_of(page(client, order_id)) == "shipping"
    assert post(client, order_id, "shipping", shipping_option="a").status_code == 303
    assert step_of(page(client, order_id)) == "payment"
    assert step_of(page(client, order_id, "?step=identify")) == "identify"
    summary = page(client, order_id, "?step=summary&payment_method=card")
    assert step_of(summary) == "summary"
    assert 'id="buy-button"' in summary


def test_errors_are_shown_on_the_step(client: TestClient) -> None:
    order_id = create(client)
    bad = post(client, order_id, "identify", email="not-an-address", postal_code="1")
    assert bad.status_code == 400
    assert "Enter a valid e-mail address." in bad.text
    assert 'value="not-an-address"' in bad.text
    post(client, order_id, "identify", email="a@example.com", postal_code="11122")
    missing = post(client, order_id, "address", **{**ADDRESS, "city": ""})
    assert missing.status_code == 400
    assert "City is required." in missing.text
    assert step_of(missing.text) == "address"


def test_mandatory_options_mark_fields_and_are_enforced(client: TestClient) -> None:
    order_id = create(
        client,
        purchase_country="GB",
        purchase_currency="GBP",
        locale="en-GB",
        options={"title_mandatory": True, "phone_mandatory": True, "date_of_birth_mandatory": True},
    )
    post(client, order_id, "identify", email="a@example.com", postal_code="SW1A 2AA")
    html = page(client, order_id)
    for name in ("title", "phone", "date_of_birth"):
        assert re.search(rf'id="{name}" name="{name}"[^>]* required', html), name
    assert 'id="title__option__miss"' in html
    refused = post(
        client,
        order_id,
        "address",
        **ADDRESS,
        phone="+44700000000",
        title="Mr",
        date_of_birth="21.03.1941",
    )
    assert "Use the form YYYY-MM-DD." in refused.text


def test_merchant_and_shopper_text_is_escaped(client: TestClient) -> None:
    evil = '<script>alert("x")</script>'
    order_id = create(
        client,
        order_lines=[{**make_order()["order_lines"][0], "name": evil}],
        options={"additional_checkbox": {"text": evil, "checked": False, "required": False}},
    )
    html = page(client, order_id)
    assert evil not in html
    assert "&lt;script&gt;" in html
    bad = post(client, order_id, "identify", email=evil, postal_code=evil)
    assert evil not in bad.text


def test_unknown_orders_and_steps_are_not_found(client: TestClient) -> None:
    assert client.get("/kco/checkout/nope", auth=NO_AUTH).status_code == 404
    order_id = create(client)
    assert post(client, order_id, "nothing").status_code == 404


@pytest.mark.parametrize("step", STEPS)
def test_a_completed_order_shows_its_confirmation(client: TestClient, step: str) -> None:
    order_id = create(client)
    assert client.post(f"/_sandbox/orders/{order_id}/complete", json={}).status_code == 200
    assert post(client, order_id, step, email="x@example.com").status_code == 303
    html = page(client, order_id)
    assert step_of(html) == "confirmation"
    assert "load_confirmation" in html


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    step=st.sampled_from(STEPS),
    fields=st.dictionaries(
        st.sampled_from(
            [
                "email",
                "postal_code",
                "country",
                "given_name",
                "payment_method",
                "otp",
                "shipping_option",
                "checkbox",
                "customer_type",
                "title",
                "separate_shipping_address",
                "date_of_birth",
                "checkboxes_shown",
            ]
        ),
        st.text(max_size=30),
    ),
)
def test_no_form_input_makes_a_server_error(
    client: TestClient, step: str, fields: dict[str, str]
) -> None:
    order_id = create(client, options={"allow_separate_shipping_address": True})
    post(client, order_id, "identify", email="a@example.com", postal_code="11122")
    response = post(client, order_id, step, **fields)
    assert response.status_code < 500, response.text
    raw = client.post(
        f"/kco/checkout/{order_id}/{step}",
        content=b"\xff%zz=&&email=%E0%A4%A" + b"a" * 70000,
        headers={"content-type": "application/x-www-form-urlencoded"},
        auth=NO_AUTH,
        follow_redirects=False,
    )
    assert raw.status_code < 500


def test_merchant_urls_become_links_only_when_they_are_http(client: TestClient) -> None:
    urls = make_order()["merchant_urls"] | {"terms": "javascript:alert(1)"}
    response = client.post(ORDERS, json=make_order(merchant_urls=urls))
    if response.status_code != 201:
        pytest.skip("the API refuses such a terms URL already")
    order_id = response.json()["order_id"]
    post(client, order_id, "identify", email="a@example.com", postal_code="11122")
    post(client, order_id, "address", **ADDRESS)
    html = page(client, order_id, "?step=summary&payment_method=invoice")
    assert 'id="terms-link" target="_blank" rel="noopener" href="#"' in html
    assert "javascript:" not in html
