"""The Hosted Payment Page API v1 on both engines: create a session for a checkout order, read,
distribute and disable it; the shopper's page moves it; status callbacks reach a real receiver."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from kco_sandbox.clock import FrozenClock
from kco_sandbox.outbound.merchant_http import MerchantHttp
from kco_sandbox.platform import create_app
from kco_sandbox.settings import Settings
from kco_sandbox.store import Store
from tests.conftest import BASE_URL
from tests.factories import MERCHANT, OTHER_MERCHANT, make_order
from tests.receiver import Receiver, Reply

ORDERS = "/checkout/v3/orders"
SESSIONS = "/hpp/v1/sessions"


def new_order(client: TestClient, **overrides: Any) -> str:
    created = client.post(ORDERS, json=make_order(**overrides))
    assert created.status_code == 201, created.text
    order_id: str = created.json()["order_id"]
    return order_id


def create(client: TestClient, order_id: str, **body: Any) -> dict[str, Any]:
    payload = {"payment_session_url": f"https://api.kustom.co{ORDERS}/{order_id}"} | body
    response = client.post(SESSIONS, json=payload)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    assert response.headers["Location"] == created["session_url"]
    return created


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code
    assert isinstance(body["error_messages"], list)
    assert body["correlation_id"]


def events(client: TestClient, order_id: str) -> list[dict[str, Any]]:
    answer = client.get(f"/_sandbox/orders/{order_id}/events", params={"limit": 1000})
    assert answer.status_code == 200
    found: list[dict[str, Any]] = answer.json()["events"]
    return found


def short_path(created: dict[str, Any]) -> str:
    redirect: str = created["redirect_url"]
    return "/" + redirect.split("/", 3)[3]


def test_create_answers_all_eight_fields_on_the_requests_own_host(client: TestClient) -> None:
    order_id = new_order(client)
    created = create(client, order_id)
    session_id = created["session_id"]
    base = "http://testserver"
    assert created["session_url"] == f"{base}{SESSIONS}/{session_id}"
    assert created["distribution_url"] == f"{base}{SESSIONS}/{session_id}/distribution"
    assert created["manual_identification_check_url"].endswith(f"{session_id}/manual-id-check")
    assert created["redirect_url"].startswith(f"{base}/hpp/payments/")
    assert created["qr_code_url"] == created["redirect_url"] + "/qr"
    assert set(created["distribution_module"]) == {"token", "standalone_url", "generation_url"}
    assert created["expires_at"].endswith("Z")
    order = client.get(f"{ORDERS}/{order_id}").json()
    # One hour before the order's own expiry, 48 hours after its last change (the vendor's rule).
    started = datetime.fromisoformat(order["last_modified_at"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(created["expires_at"].replace("Z", "+00:00"))
    assert expires - started == timedelta(hours=47)
    read = client.get(f"{SESSIONS}/{session_id}")
    assert read.status_code == 200
    assert read.json() == {
        "session_id": session_id,
        "status": "WAITING",
        "updated_at": read.json()["updated_at"],
        "expires_at": created["expires_at"],
    }


def test_create_accepts_the_bare_path_and_refuses_what_names_no_open_order(
    client: TestClient,
) -> None:
    order_id = new_order(client)
    bare = client.post(SESSIONS, json={"payment_session_url": f"{ORDERS}/{order_id}"})
    assert bare.status_code == 201
    assert_error(client.post(SESSIONS, json={}), 400, "BAD_VALUE")
    nonsense = client.post(SESSIONS, json={"payment_session_url": "https://shop.example/x"})
    assert_error(nonsense, 400, "BAD_VALUE")
    unknown = client.post(SESSIONS, json={"payment_session_url": f"{ORDERS}/no-such-order"})
    assert_error(unknown, 404, "NOT_FOUND")
    bad_url = client.post(
        SESSIONS,
        json={"payment_session_url": f"{ORDERS}/{order_id}", "merchant_urls": {"success": "x"}},
    )
    assert_error(bad_url, 400, "BAD_VALUE")
    assert "merchant_urls.success" in bad_url.json()["error_messages"][0]
    done = client.post(f"/_sandbox/orders/{order_id}/complete", json={})
    assert done.status_code == 200
    completed = client.post(SESSIONS, json={"payment_session_url": f"{ORDERS}/{order_id}"})
    assert_error(completed, 400, "BAD_VALUE")


def test_another_merchants_order_and_session_are_not_found(client: TestClient) -> None:
    order_id = new_order(client)
    created = create(client, order_id)
    other = (OTHER_MERCHANT.merchant_id, OTHER_MERCHANT.api_key)
    session_url = f"{SESSIONS}/{created['session_id']}"
    assert_error(client.get(session_url, auth=other), 404, "NOT_FOUND")
    assert_error(client.delete(session_url, auth=other), 404, "NOT_FOUND")
    distribution = client.post(
        f"{session_url}/distribution",
        json={"method": "email", "contact_information": {"email": "anna@example.com"}},
        auth=other,
    )
    assert_error(distribution, 404, "NOT_FOUND")
    theirs = client.post(SESSIONS, json={"payment_session_url": f"{ORDERS}/{order_id}"}, auth=other)
    assert_error(theirs, 404, "NOT_FOUND")
    assert client.get(session_url).json()["status"] == "WAITING"


def test_delete_disables_is_idempotent_and_refuses_a_completed_session(
    client: TestClient,
) -> None:
    created = create(client, new_order(client))
    url = f"{SESSIONS}/{created['session_id']}"
    assert client.delete(url).status_code == 204
    assert client.get(url).json()["status"] == "DISABLED"
    assert client.delete(url).status_code == 204
    order_id = new_order(client)
    done = create(client, order_id)
    assert client.post(f"/_sandbox/orders/{order_id}/complete", json={}).status_code == 200
    completed = client.get(f"{SESSIONS}/{done['session_id']}").json()
    assert completed["status"] == "COMPLETED"
    assert completed["order_id"] == order_id
    assert completed["klarna_reference"]
    assert_error(client.delete(f"{SESSIONS}/{done['session_id']}"), 400, "BAD_VALUE")


def test_expiry_on_the_platform_clock_makes_the_session_not_found(client: TestClient) -> None:
    created = create(client, new_order(client))
    url = f"{SESSIONS}/{created['session_id']}"
    assert client.post("/_sandbox/clock/advance", json={"seconds": 46 * 3600}).status_code == 200
    assert client.get(url).status_code == 200
    assert client.post("/_sandbox/clock/advance", json={"seconds": 3600}).status_code == 200
    assert_error(client.get(url), 404, "NOT_FOUND")
    assert_error(client.delete(url), 404, "NOT_FOUND")
    page = client.get(short_path(created))
    assert page.status_code == 404
    assert "hpp-not-found" in page.text


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"method": "email", "contact_information": {}}, 400, "MISSING_CONTACT_DATA"),
        (
            {"method": "email", "contact_information": {"email": "nope"}},
            400,
            "CONSTRAINT_VIOLATION",
        ),
        ({"method": "fax"}, 400, "CONSTRAINT_VIOLATION"),
        ({"method": "EMAIL"}, 400, "CONSTRAINT_VIOLATION"),
        ({"method": 5}, 400, "CONSTRAINT_VIOLATION"),
        (
            {"method": "sms", "contact_information": {"phone": "0701234567"}},
            400,
            "MISSING_CONTACT_DATA",
        ),
        (
            {
                "method": "sms",
                "contact_information": {"phone": "0701234567", "phone_country": "JP"},
            },
            400,
            "UNSUPPORTED_COUNTRY",
        ),
        ({"method": "token", "contact_information": {}}, 400, "MISSING_CONTACT_DATA"),
    ],
)
def test_distribution_refusals_use_the_vendors_codes(
    client: TestClient, body: dict[str, Any], status: int, code: str
) -> None:
    created = create(client, new_order(client))
    answer = client.post(created["distribution_url"].removeprefix("http://testserver"), json=body)
    assert_error(answer, status, code)


def test_distribution_is_recorded_on_the_orders_timeline_never_sent(client: TestClient) -> None:
    order_id = new_order(client)
    created = create(client, order_id, options={"page_title": "Pay for order 42"})
    url = created["distribution_url"].removeprefix("http://testserver")
    for body in (
        {"method": "email", "contact_information": {"email": "anna@example.com"}},
        {"method": "sms", "contact_information": {"phone": "0701234567", "phone_country": "se"}},
        {"method": "token", "contact_information": {"access_id": "klarna:5a5e8e70-1a96"}},
    ):
        assert client.post(url, json=body).status_code == 204
    recorded = [e for e in events(client, order_id) if e["kind"] == "hpp.distribution"]
    assert [e["method"] for e in recorded] == ["email", "sms", "token"]
    assert recorded[0]["contact"] == "a***@example.com"
    assert recorded[1]["contact"] == "SE ******4567"
    assert recorded[0]["link"] == created["redirect_url"]
    assert recorded[0]["message"] == f"Pay for order 42: {created['redirect_url']}"
    assert all(e["sent"] is False for e in recorded)
    assert client.delete(f"{SESSIONS}/{created['session_id']}").status_code == 204
    disabled = client.post(
        url, json={"method": "email", "contact_information": {"email": "a@b.se"}}
    )
    assert_error(disabled, 400, "CONSTRAINT_VIOLATION")


def test_the_daily_email_limit_holds_per_merchant(
    client: TestClient,
) -> None:
    created = create(client, new_order(client))
    url = created["distribution_url"].removeprefix("http://testserver")
    body = {"method": "email", "contact_information": {"email": "anna@example.com"}}
    for _ in range(100):
        assert client.post(url, json=body).status_code == 204
    assert_error(client.post(url, json=body), 400, "CONSTRAINT_VIOLATION")
    assert client.post("/_sandbox/clock/advance", json={"seconds": 86401}).status_code == 200
    fresh = create(client, new_order(client))
    again = client.post(fresh["distribution_url"].removeprefix("http://testserver"), json=body)
    assert again.status_code == 204


def test_the_shoppers_page_opens_the_session_and_back_goes_to_the_back_url(
    client: TestClient,
) -> None:
    order_id = new_order(client)
    created = create(
        client,
        order_id,
        merchant_urls={
            "back": "https://shop.example/pay/42?sid={{session_id}}&o={{order_id}}",
            "cancel": "https://shop.example/cancelled/{{session_id}}",
        },
        options={"page_title": "Pay <now>", "logo_url": "https://shop.example/logo.png"},
    )
    session_id = created["session_id"]
    page = client.get(short_path(created))
    assert page.status_code == 200
    assert "Pay &lt;now&gt;" in page.text
    assert f"/kco/checkout/{order_id}" in page.text
    assert "frame-src 'self'" in page.headers["Content-Security-Policy"]
    assert client.get(f"{SESSIONS}/{session_id}").json()["status"] == "IN_PROGRESS"
    token = page.text.split('name="form_token" value="', 1)[1].split('"', 1)[0]
    forged = client.post(
        short_path(created) + "/back", data={"form_token": "x"}, follow_redirects=False
    )
    assert forged.status_code == 303
    assert client.get(f"{SESSIONS}/{session_id}").json()["status"] == "IN_PROGRESS"
    back = client.post(
        short_path(created) + "/back", data={"form_token": token}, follow_redirects=False
    )
    assert back.status_code == 303
    result = client.get(back.headers["location"], follow_redirects=False)
    assert (
        result.headers["location"] == f"https://shop.example/pay/42?sid={session_id}&o={order_id}"
    )
    assert client.get(f"{SESSIONS}/{session_id}").json()["status"] == "BACK"
    # Back is not final: opening the page again is a retry.
    assert client.get(short_path(created)).status_code == 200
    assert client.get(f"{SESSIONS}/{session_id}").json()["status"] == "IN_PROGRESS"
    cancel = client.post(
        short_path(created) + "/cancel", data={"form_token": token}, follow_redirects=False
    )
    result = client.get(cancel.headers["location"], follow_redirects=False)
    assert result.headers["location"] == f"https://shop.example/cancelled/{session_id}"
    assert client.get(f"{SESSIONS}/{session_id}").json()["status"] == "CANCELLED"
    # A final session's page goes to its result, and the status stays.
    again = client.get(short_path(created), follow_redirects=False)
    assert again.status_code == 303
    assert client.get(f"{SESSIONS}/{session_id}").json()["status"] == "CANCELLED"


def test_an_outcome_without_a_url_shows_our_result_page(client: TestClient) -> None:
    created = create(client, new_order(client), merchant_urls={"failure": "https://shop.example/f"})
    session_id = created["session_id"]
    forced = client.post(f"/_sandbox/hpp/sessions/{session_id}", json={"status": "IN_PROGRESS"})
    assert forced.json()["status"] == "IN_PROGRESS"
    error = client.post(f"/_sandbox/hpp/sessions/{session_id}", json={"status": "ERROR"})
    assert error.json()["status"] == "ERROR"
    # ERROR without an error URL falls back to the failure URL.
    result = client.get(short_path(created) + "/result", follow_redirects=False)
    assert result.headers["location"] == "https://shop.example/f"
    assert client.get(short_path(created)).status_code == 200
    client.post(f"/_sandbox/hpp/sessions/{session_id}", json={"status": "BACK"})
    page = client.get(short_path(created) + "/result")
    assert page.status_code == 200
    assert 'data-status="BACK"' in page.text
    assert 'id="hpp-retry"' in page.text
    assert_error(
        client.post(f"/_sandbox/hpp/sessions/{session_id}", json={"status": "COMPLETED"}),
        400,
        "BAD_VALUE",
    )
    expired = client.post(f"/_sandbox/hpp/sessions/{session_id}", json={"status": "EXPIRED"})
    assert expired.status_code == 200
    assert_error(client.get(f"{SESSIONS}/{session_id}"), 404, "NOT_FOUND")


def test_an_aborted_order_turns_the_opened_page_into_an_error(client: TestClient) -> None:
    order_id = new_order(client)
    created = create(client, order_id, merchant_urls={"error": "https://shop.example/e"})
    assert client.post(f"{ORDERS}/{order_id}/abort").status_code == 200
    page = client.get(short_path(created), follow_redirects=False)
    assert page.status_code == 303
    result = client.get(page.headers["location"], follow_redirects=False)
    assert result.headers["location"] == "https://shop.example/e"
    assert client.get(f"{SESSIONS}/{created['session_id']}").json()["status"] == "ERROR"


def test_the_qr_code_is_a_png_of_the_link_and_the_state_is_polled(client: TestClient) -> None:
    created = create(client, new_order(client))
    qr = client.get(short_path(created) + "/qr")
    assert qr.status_code == 200
    assert qr.headers["content-type"] == "image/png"
    assert qr.content.startswith(b"\x89PNG\r\n\x1a\n")
    state = client.get(short_path(created) + "/state")
    assert state.json() == {"status": "WAITING"}
    assert client.get("/hpp/payments/nosuchlink/state").status_code == 404
    assert client.get("/hpp/payments/nosuchlink/qr").status_code == 404


def test_status_callbacks_reach_the_merchant_and_are_retried(
    client: TestClient, receiver: Receiver
) -> None:
    order_id = new_order(client)
    receiver.on("/hpp-status", Reply(status=500))
    created = create(
        client,
        order_id,
        merchant_urls={"status_update": receiver.url + "/hpp-status?id={{session_id}}&secret=s3"},
    )
    session_id = created["session_id"]
    client.get(short_path(created))  # IN_PROGRESS: told at once
    assert client.post("/_sandbox/clock/advance", json={"seconds": 0}).status_code == 200
    first = receiver.calls("/hpp-status")
    assert len(first) == 1
    assert first[0].path == f"/hpp-status?id={session_id}&secret=s3"
    body = first[0].json()
    assert body["session"]["status"] == "IN_PROGRESS"
    assert body["session"]["session_id"] == session_id
    assert len(body["event_id"]) == 36
    # Failed: tried again after 5, 10 and 20 seconds, four calls in all, then given up.
    for seconds in (5, 10, 20, 60):
        client.post("/_sandbox/clock/advance", json={"seconds": seconds})
    assert len(receiver.calls("/hpp-status")) == 4
    receiver.on("/hpp-status", Reply(status=204))
    assert client.post(f"/_sandbox/orders/{order_id}/complete", json={}).status_code == 200
    client.post("/_sandbox/clock/advance", json={"seconds": 0})
    client.post("/_sandbox/clock/advance", json={"seconds": 60})
    calls = receiver.calls("/hpp-status")
    assert len(calls) == 5  # delivered at once, not retried
    completed = calls[-1].json()
    assert completed["session"]["status"] == "COMPLETED"
    assert completed["session"]["order_id"] == order_id
    assert completed["event_id"] != body["event_id"]
    # Disabling is not told; every attempt shows on the order's timeline.
    kinds = [e["kind"] for e in events(client, order_id)]
    assert kinds.count("hpp_status.attempt") == 5
    assert "hpp.created" in kinds
    assert kinds.count("hpp.status") == 2
    # The portal names them as a merchant would.
    form = {"username": MERCHANT.merchant_id, "password": MERCHANT.api_key, "next": ""}
    assert client.post("/portal/sign-in", data=form, follow_redirects=False).status_code == 303
    page = client.get(f"/portal/orders/{order_id}", auth=None).text
    assert "HPP status update · attempt 4" in page  # the first change's last try
    assert "Hosted Payment Page: status" in page
    assert page.count("HPP status update · attempt 1") == 2  # each change counts its own
    journal = client.get("/portal/journal?kind=callbacks", auth=None).text
    assert "HPP status update" in journal


def test_the_portal_shows_what_a_distribution_would_have_sent(client: TestClient) -> None:
    order_id = new_order(client)
    created = create(client, order_id)
    url = created["distribution_url"].removeprefix("http://testserver")
    body = {"method": "email", "contact_information": {"email": "anna@example.com"}}
    assert client.post(url, json=body).status_code == 204
    form = {"username": MERCHANT.merchant_id, "password": MERCHANT.api_key, "next": ""}
    assert client.post("/portal/sign-in", data=form, follow_redirects=False).status_code == 303
    page = client.get(f"/portal/orders/{order_id}", auth=None)
    assert page.status_code == 200
    assert "Hosted Payment Page: distribution" in page.text
    assert "email to a***@example.com" in page.text
    assert "a***@example.com" in page.text
    assert created["redirect_url"] in page.text


def test_a_status_update_url_on_a_host_not_allowed_is_refused_at_creation(
    store: Store, clock: FrozenClock, settings: Settings, merchant_http: MerchantHttp
) -> None:
    limited = replace(settings, callback_hosts=("shop.example", "*.shop.example"))
    for merchant in limited.merchants:
        store.merchants.put(merchant, clock.now())
    app = create_app(limited, store, clock, list(limited.merchants), caller=merchant_http)
    with TestClient(app, base_url=BASE_URL) as client:
        client.auth = (MERCHANT.merchant_id, MERCHANT.api_key)
        order_id = new_order(client)
        path = f"{ORDERS}/{order_id}"
        refused = client.post(
            SESSIONS,
            json={
                "payment_session_url": path,
                "merchant_urls": {"status_update": "https://127.0.0.1:9/hpp"},
            },
        )
        assert_error(refused, 400, "BAD_VALUE")
        assert "merchant_urls.status_update" in refused.json()["error_messages"][0]
        allowed = client.post(
            SESSIONS,
            json={
                "payment_session_url": path,
                "merchant_urls": {"status_update": "https://hooks.shop.example/hpp"},
            },
        )
        assert allowed.status_code == 201


def test_an_orders_sessions_and_their_distributions_are_bounded(client: TestClient) -> None:
    from kco_sandbox.services.hpp import MAX_DISTRIBUTIONS_PER_ORDER, MAX_SESSIONS_PER_ORDER

    order_id = new_order(client)
    sessions = [create(client, order_id) for _ in range(MAX_SESSIONS_PER_ORDER)]
    one_more = client.post(
        "/hpp/v1/sessions", json={"payment_session_url": f"/checkout/v3/orders/{order_id}"}
    )
    assert_error(one_more, 400, "BAD_VALUE")
    assert "at most" in one_more.json()["error_messages"][0]
    url = sessions[0]["distribution_url"].removeprefix("http://testserver")
    body = {"method": "token", "contact_information": {"access_id": "till-1"}}
    for _ in range(MAX_DISTRIBUTIONS_PER_ORDER):
        assert client.post(url, json=body).status_code == 204
    assert_error(client.post(url, json=body), 400, "CONSTRAINT_VIOLATION")
