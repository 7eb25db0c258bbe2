"""Testing a shop's checkout against kco-sandbox with pytest: copy this file into your tests.

`pip install kco-sandbox` brings a pytest plugin: the `kco` fixture is a client of a kco-sandbox
started for the test session (docs/pytest-plugin.md). Nothing to configure; run `pytest`.

In your own tests, your shop's code makes the Checkout and Order Management calls; the `kco`
client stands in for the shopper (`complete`), for time (`advance`), and checks what happened.
Here it makes the shop's calls too, to show them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kco_sandbox.client import KcoApiError, KcoClient, WebhookReceiver, example_order


def test_a_shopper_buys_and_the_shop_captures(kco: KcoClient) -> None:
    order = kco.create_order(merchant_reference1="1001")  # the example T-shirt order, 500.00 kr

    bought = kco.complete(order["order_id"], email="anna@example.com")

    assert bought["status"] == "checkout_complete"
    assert bought["fraud_status"] == "ACCEPTED"
    capture = kco.capture(order["order_id"])  # all that is authorized
    assert capture["captured_amount"] == 50000
    assert kco.om_order(order["order_id"])["status"] == "CAPTURED"
    refund = kco.refund(order["order_id"], 10000, description="one T-shirt came back")
    assert refund["refunded_amount"] == 10000


def test_a_denied_shopper_can_try_again(kco: KcoClient) -> None:
    order_id = kco.create_order()["order_id"]

    with pytest.raises(KcoApiError) as denied:
        kco.complete(order_id, email="anna+denied@example.com")

    assert (denied.value.status, denied.value.error_code) == (422, "PURCHASE_DENIED")
    assert kco.complete(order_id, email="anna@example.com")["status"] == "checkout_complete"


def test_errors_are_the_vendors(kco: KcoClient) -> None:
    order_id = kco.create_order()["order_id"]
    kco.complete(order_id)

    with pytest.raises(KcoApiError) as refused:
        kco.capture(order_id, 60000)  # more than was authorized

    assert refused.value.status == 403
    assert refused.value.error_code == "CAPTURE_NOT_ALLOWED"
    assert refused.value.correlation_id  # quote it when asking the vendor's support


def test_a_pending_order_is_decided_later(kco: KcoClient) -> None:
    order_id = kco.create_order()["order_id"]
    assert kco.complete(order_id, email="anna+pend-accept-05@example.com")["fraud_status"] == (
        "PENDING"
    )

    kco.advance("5m")  # the platform's clock, not the wall clock: no waiting

    assert kco.om_order(order_id)["fraud_status"] == "ACCEPTED"


def test_a_shopper_pays_by_link(kco: KcoClient) -> None:
    # No checkout page of the shop's own: a Hosted Payment Page session wraps the order, and the
    # shop sends the shopper to its `redirect_url` (a redirect, an e-mail, a QR code).
    order_id = kco.create_order()["order_id"]
    session = kco.create_hpp_session(
        order_id, merchant_urls={"success": "https://shop.example/thanks?order={{order_id}}"}
    )

    kco.pay_hpp_session(session, order_id, email="anna@example.com")  # the shopper, no browser

    assert kco.read_hpp_session(session["session_id"])["status"] == "COMPLETED"
    # Where the page sends the shopper after paying: the shop's success URL, filled in.
    assert kco.hpp_result_url(session) == f"https://shop.example/thanks?order={order_id}"


@pytest.fixture
def pushes() -> Iterator[tuple[str, list[str]]]:
    """A stand-in for your shop's push endpoint: its URL, and the paths pushed to it.

    With a real shop, point `merchant_urls.push` at your app served in the test (Django's
    `live_server`, a uvicorn thread, ...) and assert what the shop did with the push.
    """
    received: list[str] = []

    class Shop(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    shop = ThreadingHTTPServer(("127.0.0.1", 0), Shop)
    thread = threading.Thread(target=shop.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{shop.server_port}", received
    shop.shutdown()
    shop.server_close()
    thread.join()


def test_the_shop_hears_of_the_purchase_and_acknowledges(
    kco: KcoClient, pushes: tuple[str, list[str]]
) -> None:
    shop_url, received = pushes
    urls = {**example_order()["merchant_urls"], "push": f"{shop_url}/push?id={{checkout.order.id}}"}
    order_id = kco.create_order(merchant_urls=urls)["order_id"]
    kco.complete(order_id)

    kco.advance("2m")  # the first push is due two minutes after the purchase

    assert received == [f"/push?id={order_id}"]
    kco.acknowledge(order_id)  # what the shop does on a push: no more pushes
    kco.advance("2h")
    assert [attempt["status"] for attempt in kco.callbacks(order_id)] == [200]


def test_a_subscription_is_charged_each_month(kco: KcoClient, kco_customer_token: str) -> None:
    # `kco_customer_token`: a shopper bought a subscription with `recurring: true`; the shop kept
    # the completed order's `recurring_token`. Each month the shop charges it, shopper absent.
    charged = kco.charge_token(kco_customer_token, idempotency_key="sub-7/2026-01")
    assert charged["fraud_status"] == "ACCEPTED"
    assert kco.om_order(charged["order_id"])["order_amount"] == 10000  # an ordinary OM order

    again = kco.charge_token(kco_customer_token, idempotency_key="sub-7/2026-01")
    assert again == charged  # a retry with the same key: the same order, nothing new

    kco.cancel_token(kco_customer_token)  # the subscriber left
    with pytest.raises(KcoApiError) as refused:
        kco.charge_token(kco_customer_token)
    assert (refused.value.status, refused.value.error_code) == (403, "TOKEN_CANCELLED")


def test_the_shop_is_told_of_a_capture_by_a_signed_webhook(
    kco: KcoClient, kco_webhooks: WebhookReceiver
) -> None:
    # `kco_webhooks`: a receiver on this machine, a webhook destination of the merchant for this
    # test; it checks each delivery's signature with the destination's secret.
    order_id = kco.create_order()["order_id"]
    kco.complete(order_id, email="anna@example.com")
    capture = kco.capture(order_id, 20000)

    event = kco_webhooks.wait_for("capture.created", timeout=5, order_id=order_id)

    assert event["data"] == {"order_id": order_id, "capture_id": capture["capture_id"]}
