"""A typed Python client of a running kco-sandbox: the vendor's Checkout, Order Management,
Customer Token, Hosted Payment Page and Settlements APIs and the sandbox's own (complete a
purchase, move the clock, read the callbacks, webhook destinations and disputes), and a receiver's
side of webhooks: `verify_webhook` and `WebhookReceiver`.

    from kco_sandbox.client import KcoClient, KcoApiError

    with KcoClient("http://127.0.0.1:8000", "demo-merchant", "kco_test_api_…") as kco:
        order = kco.create_order()                 # the example T-shirt order
        kco.complete(order["order_id"], email="anna@example.com")
        kco.capture(order["order_id"])             # all that remains authorized
        kco.advance("2h")                          # pushes fall due and are attempted
        assert kco.callbacks(order["order_id"])

It knows the platform only by URL and credentials: it imports nothing else of kco_sandbox (a
contract in pyproject.toml), so it can be used against any server, local or in CI.
`local_sandbox(folder)` starts one as a child process (`python -m kco_sandbox serve`).
"""

from kco_sandbox.client.asynchronous import AsyncKcoClient
from kco_sandbox.client.customer_tokens import example_subscription_order, example_token_order
from kco_sandbox.client.duration import parse_duration
from kco_sandbox.client.errors import KcoApiError
from kco_sandbox.client.hpp import example_hpp_merchant_urls
from kco_sandbox.client.operations import JsonObject, example_order
from kco_sandbox.client.receiver import Delivery, WebhookReceiver, webhook_receiver
from kco_sandbox.client.server import (
    KcoSandbox,
    SandboxStartError,
    local_sandbox,
    running_sandbox,
)
from kco_sandbox.client.settlement_csv import parse_settlement_csv
from kco_sandbox.client.sync import KcoClient
from kco_sandbox.client.webhook_verify import WebhookVerificationError, verify_webhook

__all__ = [
    "AsyncKcoClient",
    "Delivery",
    "JsonObject",
    "KcoApiError",
    "KcoClient",
    "KcoSandbox",
    "SandboxStartError",
    "WebhookReceiver",
    "WebhookVerificationError",
    "example_hpp_merchant_urls",
    "example_order",
    "example_subscription_order",
    "example_token_order",
    "local_sandbox",
    "parse_duration",
    "parse_settlement_csv",
    "running_sandbox",
    "verify_webhook",
    "webhook_receiver",
]
