"""The hosted checkout page's forms carry a token of their order, and a post without it is refused.

A page of another origin cannot read the checkout page, so it cannot know the token; a post it
makes a shopper's browser send is answered 403 with the step again (a fresh token in it) and
changes nothing. The sandbox API's headless purchase needs no token: Basic auth guards it.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from kco_sandbox.clock import FrozenClock
from kco_sandbox.platform import build_services, create_app
from kco_sandbox.settings import Settings
from kco_sandbox.store import Store
from kco_sandbox.web.app import build_app
from tests.conftest import BASE_URL
from tests.page_support import ADDRESS, NO_AUTH, ORDERS, TOKEN, create, page, step_of, token_in

REFUSED = "This form could not be accepted"


def token_of(html: str) -> str:
    token = token_in(html)
    assert token, html
    return token


def post(client: TestClient, order_id: str, step: str, data: dict[str, str]) -> Any:
    return client.post(
        f"/kco/checkout/{order_id}/{step}", data=data, auth=NO_AUTH, follow_redirects=False
    )


def identified(client: TestClient, order_id: str) -> None:
    token = token_of(page(client, order_id))
    answer = post(
        client,
        order_id,
        "identify",
        {"email": "a@example.com", "postal_code": "11122", "form_token": token},
    )
    assert answer.status_code == 303, answer.text


def test_every_form_of_every_step_carries_the_orders_token(client: TestClient) -> None:
    order_id = create(
        client,
        shipping_options=[{"id": "a", "name": "A", "price": 0, "tax_amount": 0, "tax_rate": 0}],
    )
    screens = [page(client, order_id)]
    identified(client, order_id)
    token = token_of(screens[0])
    assert post(client, order_id, "address", {**ADDRESS, "form_token": token}).status_code == 303
    chosen = post(client, order_id, "shipping", {"shipping_option": "a", "form_token": token})
    assert chosen.status_code == 303
    for query in (
        "?step=address",
        "?step=shipping",
        "?step=payment",
        "?step=summary&payment_method=card",
    ):
        screens.append(page(client, order_id, query))
    assert [step_of(s) for s in screens] == [
        "identify",
        "address",
        "shipping",
        "payment",
        "summary",
    ]
    for html in screens:
        assert html.count("<form ") == len(TOKEN.findall(html)) == 1, step_of(html)
        assert TOKEN.findall(html) == [token]  # one token per order, whatever the step
    other = create(client)
    assert token_of(page(client, other)) != token


@pytest.mark.parametrize("presented", [None, "", "not-the-token", "other-order"])
def test_an_identify_post_without_the_right_token_is_refused_and_changes_nothing(
    client: TestClient, presented: str | None
) -> None:
    order_id = create(client)
    other = create(client)
    form = {"email": "mallory@example.com", "postal_code": "11122"}
    if presented == "other-order":
        form["form_token"] = token_of(page(client, other))
    elif presented is not None:
        form["form_token"] = presented
    refused = post(client, order_id, "identify", form)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert REFUSED in refused.text
    assert step_of(refused.text) == "identify"
    assert 'value="mallory@example.com"' in refused.text  # what was typed is not lost
    assert refused.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors *" in refused.headers["content-security-policy"]
    # Nothing changed: the shopper is still to identify, and the merchant sees no e-mail.
    assert step_of(page(client, order_id)) == "identify"
    assert "mallory@example.com" not in page(client, order_id)
    assert "mallory@example.com" not in client.get(f"{ORDERS}/{order_id}").text
    # The refusal's page carries the right token: sending it again goes through.
    again = post(client, order_id, "identify", {**form, "form_token": token_of(refused.text)})
    assert again.status_code == 303, again.text
    assert step_of(page(client, order_id)) == "address"


@pytest.mark.parametrize("step", ["address", "shipping", "payment", "buy", "signup"])
def test_no_later_step_acts_without_the_token(client: TestClient, step: str) -> None:
    order_id = create(
        client,
        shipping_options=[{"id": "a", "name": "A", "price": 0, "tax_amount": 0, "tax_rate": 0}],
    )
    identified(client, order_id)
    before = client.get(f"{ORDERS}/{order_id}").json()
    form = {**ADDRESS, "shipping_option": "a", "payment_method": "invoice", "otp": "123456"}
    refused = post(client, order_id, step, form)
    assert refused.status_code == 403
    assert REFUSED in refused.text
    assert step_of(refused.text) == "address"  # the step the shopper may see next
    assert client.get(f"{ORDERS}/{order_id}").json() == before
    assert step_of(page(client, order_id)) == "address"


def test_a_purchase_goes_through_with_the_token(client: TestClient) -> None:
    order_id = create(client)
    identified(client, order_id)
    token = token_of(page(client, order_id))
    assert post(client, order_id, "address", {**ADDRESS, "form_token": token}).status_code == 303
    bought = post(client, order_id, "buy", {"payment_method": "invoice", "form_token": token})
    assert bought.status_code == 200, bought.text
    assert client.get(f"{ORDERS}/{order_id}").json()["status"] == "checkout_complete"


def test_a_token_of_another_server_is_refused(
    client: TestClient, store: Store, clock: FrozenClock, settings: Settings
) -> None:
    """A server with a key of its own (not the one kept in this database) makes tokens this one
    refuses."""
    order_id = create(client)
    other = build_app(settings, build_services(settings, store, clock), list(settings.merchants))
    with TestClient(other, base_url=BASE_URL) as elsewhere:
        foreign = token_of(page(elsewhere, order_id))
    assert foreign != token_of(page(client, order_id))
    form = {"email": "a@example.com", "postal_code": "11122", "form_token": foreign}
    assert post(client, order_id, "identify", form).status_code == 403


def test_a_token_survives_a_restart_on_the_same_database(
    client: TestClient, store: Store, clock: FrozenClock, settings: Settings
) -> None:
    """The key is kept with the data: a page left open across a restart (or served by another
    process on the same database) still posts."""
    order_id = create(client)
    token = token_of(page(client, order_id))
    again = create_app(settings, store, clock, list(settings.merchants))
    with TestClient(again, base_url=BASE_URL) as restarted:
        form = {"email": "a@example.com", "postal_code": "11122", "form_token": token}
        assert post(restarted, order_id, "identify", form).status_code == 303


def test_the_sandbox_apis_purchase_needs_no_token(client: TestClient) -> None:
    order_id = create(client)
    completed = client.post(f"/_sandbox/orders/{order_id}/complete", json={})
    assert completed.status_code == 200, completed.text
    assert completed.json()["status"] == "checkout_complete"
