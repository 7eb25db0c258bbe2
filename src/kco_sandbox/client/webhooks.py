"""Webhook destinations and the sandbox's disputes for both clients: the operations, written once,
and the methods `KcoClient` takes from `WebhookMethods` and `AsyncKcoClient` from
`AsyncWebhookMethods` (the shape of `customer_tokens.py`).

All of these are sandbox paths (`/_sandbox/webhooks`, `/_sandbox/orders/{id}/disputes`): the
vendor manages destinations in its Portal only. A destination's answer carries its
`signing_secret`, which `verify_webhook` (`webhook_verify.py`) checks deliveries with;
`WebhookReceiver` (`receiver.py`) is a local endpoint that does so for a test.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from kco_sandbox.client.operations import (
    SANDBOX,
    Call,
    JsonObject,
    Operation,
    Runs,
    RunsAsync,
    json_object,
    quote_id,
    unexpected,
)

WEBHOOKS: Final = f"{SANDBOX}/webhooks"
ALL_EVENTS: Final = ("*",)


def _one(destination_id: str, tail: str = "") -> str:
    return f"{WEBHOOKS}/{quote_id(destination_id)}{tail}"


def _disputes(order_id: str, tail: str = "") -> str:
    return f"{SANDBOX}/orders/{quote_id(order_id)}/disputes{tail}"


def _object(call: Call) -> Operation[JsonObject]:
    return json_object((yield call))


def _listed(path: str, key: str) -> Operation[list[JsonObject]]:
    """The list under `key` of a `GET` answer."""
    answer = yield Call("GET", path)
    items = json_object(answer).get(key)
    if not isinstance(items, list):
        raise unexpected(answer, f"a {key} list")
    return items


def create_webhook(name: str, url: str, events: Sequence[str]) -> Operation[JsonObject]:
    # A `str` is sent as it is (the server answers 400): no silent list of its characters.
    sent: Any = events if isinstance(events, str) else list(events)
    return _object(Call("POST", WEBHOOKS, {"name": name, "url": url, "events": sent}))


def delete_webhook(destination_id: str) -> Operation[None]:
    yield Call("DELETE", _one(destination_id))


def open_dispute(order_id: str, status: str | None) -> Operation[JsonObject]:
    body = {} if status is None else {"status": status}
    return _object(Call("POST", _disputes(order_id), body))


def update_dispute(order_id: str, dispute_id: str, status: str) -> Operation[JsonObject]:
    path = _disputes(order_id, f"/{quote_id(dispute_id)}")
    return _object(Call("POST", path, {"status": status}))


class WebhookMethods:
    """`KcoClient`'s methods for webhook destinations (`/_sandbox/webhooks`) and disputes
    (`/_sandbox/orders/{id}/disputes`)."""

    def create_webhook(
        self: Runs, name: str, url: str, events: Sequence[str] = ALL_EVENTS
    ) -> JsonObject:
        """A new destination: `{id, name, url, events, signing_secret,
        previous_secret_expires_at, created_at}`. `events` are event types (`capture.created`,
        ...) or `("*",)`, every event; a bad one raises `KcoApiError` `400 BAD_VALUE`, one
        destination too many `403 NOT_ALLOWED`."""
        return self._run(create_webhook(name, url, events))

    def list_webhooks(self: Runs) -> list[JsonObject]:
        """This merchant's destinations, oldest first, each with its `signing_secret`."""
        return self._run(_listed(WEBHOOKS, "webhooks"))

    def get_webhook(self: Runs, destination_id: str) -> JsonObject:
        """The destination; another merchant's or an unknown id raises `404 NOT_FOUND`."""
        return self._run(_object(Call("GET", _one(destination_id))))

    def delete_webhook(self: Runs, destination_id: str) -> None:
        """Delete the destination; its deliveries still queued are not sent."""
        self._run(delete_webhook(destination_id))

    def rotate_webhook_secret(self: Runs, destination_id: str) -> JsonObject:
        """The destination with a new `signing_secret`; the old one keeps signing beside it
        until `previous_secret_expires_at`."""
        return self._run(_object(Call("POST", _one(destination_id, "/rotate-secret"))))

    def send_test_webhook(self: Runs, destination_id: str) -> JsonObject:
        """Queue a `webhook.test` event to this destination only: `{event_id, type,
        callback_id}`."""
        return self._run(_object(Call("POST", _one(destination_id, "/test"))))

    def open_dispute(self: Runs, order_id: str, status: str | None = None) -> JsonObject:
        """Open a dispute on the Order Management order (`dispute.created`): `{dispute_id,
        order_id, status, created_at, updated_at}`; the status defaults to `needs_response`."""
        return self._run(open_dispute(order_id, status))

    def update_dispute(self: Runs, order_id: str, dispute_id: str, status: str) -> JsonObject:
        """Move the dispute to `status` (`under_review`, `won`, `lost`, `closed`,
        `needs_response`): `dispute.updated`, unless it had that status already."""
        return self._run(update_dispute(order_id, dispute_id, status))

    def list_disputes(self: Runs, order_id: str) -> list[JsonObject]:
        """The order's disputes."""
        return self._run(_listed(_disputes(order_id), "disputes"))

    def get_dispute(self: Runs, order_id: str, dispute_id: str) -> JsonObject:
        """One dispute of the order."""
        return self._run(_object(Call("GET", _disputes(order_id, f"/{quote_id(dispute_id)}"))))


class AsyncWebhookMethods:
    """`AsyncKcoClient`'s methods for webhook destinations and disputes: `WebhookMethods`,
    awaited."""

    async def create_webhook(
        self: RunsAsync, name: str, url: str, events: Sequence[str] = ALL_EVENTS
    ) -> JsonObject:
        """A new destination (see `KcoClient.create_webhook`)."""
        return await self._run(create_webhook(name, url, events))

    async def list_webhooks(self: RunsAsync) -> list[JsonObject]:
        """This merchant's destinations, oldest first."""
        return await self._run(_listed(WEBHOOKS, "webhooks"))

    async def get_webhook(self: RunsAsync, destination_id: str) -> JsonObject:
        """The destination."""
        return await self._run(_object(Call("GET", _one(destination_id))))

    async def delete_webhook(self: RunsAsync, destination_id: str) -> None:
        """Delete the destination."""
        await self._run(delete_webhook(destination_id))

    async def rotate_webhook_secret(self: RunsAsync, destination_id: str) -> JsonObject:
        """The destination with a new `signing_secret`."""
        return await self._run(_object(Call("POST", _one(destination_id, "/rotate-secret"))))

    async def send_test_webhook(self: RunsAsync, destination_id: str) -> JsonObject:
        """Queue a `webhook.test` event to this destination only."""
        return await self._run(_object(Call("POST", _one(destination_id, "/test"))))

    async def open_dispute(self: RunsAsync, order_id: str, status: str | None = None) -> JsonObject:
        """Open a dispute on the order (see `KcoClient.open_dispute`)."""
        return await self._run(open_dispute(order_id, status))

    async def update_dispute(
        self: RunsAsync, order_id: str, dispute_id: str, status: str
    ) -> JsonObject:
        """Move the dispute to `status`."""
        return await self._run(update_dispute(order_id, dispute_id, status))

    async def list_disputes(self: RunsAsync, order_id: str) -> list[JsonObject]:
        """The order's disputes."""
        return await self._run(_listed(_disputes(order_id), "disputes"))

    async def get_dispute(self: RunsAsync, order_id: str, dispute_id: str) -> JsonObject:
        """One dispute of the order."""
        return await self._run(
            _object(Call("GET", _disputes(order_id, f"/{quote_id(dispute_id)}")))
        )
