"""Webhooks: a merchant's destinations (create, list, read, delete, rotate the secret, send a test
event), the sandbox's disputes that raise `dispute.*` events, and the signer of each attempt.

Events themselves are queued by the write paths (`Store.webhooks.emit_on`, inside the write's
transaction) and delivered by `DeliveryService` with the other callbacks; `WebhookSigner`
is registered with it for the `webhook` kind and makes the Standard Webhooks headers at each
attempt, with the destination's secrets as they are at that moment (a deleted destination's
deliveries stop: `LookupError`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from kco_sandbox.clock import MerchantClocks
from kco_sandbox.domain.callback_hosts import HostPattern, refused_url_field
from kco_sandbox.domain.delivery import Callback
from kco_sandbox.domain.errors import BadValue, Conflict, NoSuchOrder, NotAllowed, NotFound
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.domain.webhook import (
    TEST_EVENT,
    Destination,
    Event,
    check_destination,
    event_id_of,
)
from kco_sandbox.domain.webhook_disputes import (
    MAX_DISPUTES_PER_ORDER,
    Dispute,
    DisputeStatus,
    check_status,
)
from kco_sandbox.domain.webhook_signature import SECRET_BYTES, format_secret, signature_headers
from kco_sandbox.ids import IdFactory
from kco_sandbox.store import Store

MAX_DESTINATIONS = 20  # per merchant (`--webhook-destinations`)
ROTATION_WINDOW = 600.0  # seconds a rotated-out secret still signs (`--webhook-rotation-window`)
ROTATE_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class WebhookSigner:
    """Registered with `DeliveryService` for the `webhook` kind (`platform.delivery_headers`)."""

    store: Store

    def __call__(self, callback: Callback, at: datetime) -> Mapping[str, str]:
        """The headers of an attempt of `callback` at `at` (its merchant's clock): signed with
        the destination's current secret, and the previous one while its window lasts.
        `LookupError` if the destination is gone, which stops the delivery."""
        destination = self.store.webhooks.get(callback.target or "")
        if destination is None or destination.merchant_id != callback.merchant_id:
            raise LookupError(f"webhook destination {callback.target} is gone")
        return signature_headers(
            destination.signing_secrets(at), event_id_of(callback.body), at, callback.body
        )


@dataclass(frozen=True, slots=True)
class WebhookService:
    store: Store
    clock: MerchantClocks
    new_id: IdFactory
    allow_http: bool = True  # as for the checkout's callback URLs (`--allow-http-callbacks`)
    callback_hosts: tuple[HostPattern, ...] = ()  # hosts a URL may name; empty: any
    max_destinations: int = MAX_DESTINATIONS
    rotation_window: float = ROTATION_WINDOW
    # The random bytes of a new secret (injectable: tests pin secrets).
    random_bytes: Callable[[int], bytes] = secrets.token_bytes

    # Destinations

    def create(self, merchant: Merchant, name: object, url: object, events: object) -> Destination:
        wanted = check_destination(name, url, events, self.allow_http)
        if refused_url_field({"url": wanted.url}, self.callback_hosts):
            raise BadValue("url", "not an allowed callback host")
        destination = Destination(
            destination_id=self.new_id(),
            merchant_id=merchant.merchant_id,
            name=wanted.name,
            url=wanted.url,
            events=wanted.events,
            secret=self._new_secret(),
            created_at=self.clock.now(merchant.merchant_id),
        )
        if not self.store.webhooks.add(destination, self.max_destinations):
            raise NotAllowed(
                f"A merchant has at most {self.max_destinations} webhook destinations; "
                "delete one first"
            )
        return destination

    def destinations(self, merchant: Merchant) -> list[Destination]:
        return self.store.webhooks.of_merchant(merchant.merchant_id)

    def get(self, merchant: Merchant, destination_id: str) -> Destination:
        found = self.store.webhooks.get(destination_id)
        if found is None or found.merchant_id != merchant.merchant_id:
            # Another merchant's destination does not exist for this one.
            raise NotFound(f"Webhook destination {destination_id} not found")
        return found

    def delete(self, merchant: Merchant, destination_id: str) -> None:
        if not self.store.webhooks.delete(merchant.merchant_id, destination_id):
            raise NotFound(f"Webhook destination {destination_id} not found")

    def rotate_secret(self, merchant: Merchant, destination_id: str) -> Destination:
        """A new current secret; the old one still signs for the rotation window."""
        window = timedelta(seconds=self.rotation_window)
        for _ in range(ROTATE_ATTEMPTS):
            current = self.get(merchant, destination_id)
            now = self.clock.now(merchant.merchant_id)
            rotated = current.rotated(self._new_secret(), now, window)
            if self.store.webhooks.save_secrets(rotated, current.secret):
                return rotated
        raise Conflict(f"Webhook destination {destination_id} is being rotated; try again")

    def send_test(self, merchant: Merchant, destination_id: str) -> tuple[Event, str]:
        """Queue a `webhook.test` event to this destination alone; the event and callback id."""
        destination = self.get(merchant, destination_id)
        event = Event(
            event_id=self.store.webhooks.new_event_id(),
            merchant_id=merchant.merchant_id,
            at=self.clock.now(merchant.merchant_id),
            type=TEST_EVENT,
            data={"destination_id": destination.destination_id},
        )
        return event, self.store.webhooks.send_test(destination, event)

    def _new_secret(self) -> str:
        return format_secret(self.random_bytes(SECRET_BYTES))

    # Disputes (a sandbox extension: events to test `dispute.*` handlers with)

    def open_dispute(self, merchant: Merchant, order_id: str, status: object) -> Dispute:
        self._own_order(merchant, order_id)
        now = self.clock.now(merchant.merchant_id)
        dispute = Dispute(
            dispute_id=self.new_id(),
            order_id=order_id,
            merchant_id=merchant.merchant_id,
            status=check_status(status, DisputeStatus.NEEDS_RESPONSE),
            created_at=now,
            updated_at=now,
        )
        if not self.store.disputes.open(dispute, MAX_DISPUTES_PER_ORDER):
            raise BadValue("order_id", f"an order has at most {MAX_DISPUTES_PER_ORDER} disputes")
        return dispute

    def update_dispute(
        self, merchant: Merchant, order_id: str, dispute_id: str, status: object
    ) -> Dispute:
        wanted = check_status(status)
        for _ in range(ROTATE_ATTEMPTS):
            current = self.get_dispute(merchant, order_id, dispute_id)
            changed = self.store.disputes.change(
                current,
                wanted,
                self.clock.now(merchant.merchant_id),
                self._reversal(current, wanted),
            )
            if changed is not None:
                return changed
        raise Conflict(f"Dispute {dispute_id} is being changed; try again")

    def _reversal(self, dispute: Dispute, status: DisputeStatus) -> tuple[str, int] | None:
        """A dispute that becomes `lost` reverses what the shopper still has paid on the order
        (captured less refunded): the next payout takes it back (a settlement `REVERSAL`)."""
        if status is not DisputeStatus.LOST or dispute.status is DisputeStatus.LOST:
            return None
        found = self.store.orders.get(dispute.order_id)
        if found is None:
            return None
        paid = found[0].captured_amount - found[0].refunded_amount
        return (self.new_id(), paid) if paid > 0 else None

    def get_dispute(self, merchant: Merchant, order_id: str, dispute_id: str) -> Dispute:
        self._own_order(merchant, order_id)
        found = self.store.disputes.get(order_id, dispute_id)
        if found is None:
            raise NotFound(f"Dispute {dispute_id} not found for order {order_id}")
        return found

    def list_disputes(self, merchant: Merchant, order_id: str) -> list[Dispute]:
        self._own_order(merchant, order_id)
        return self.store.disputes.of_order(order_id)

    def _own_order(self, merchant: Merchant, order_id: str) -> None:
        found = self.store.orders.get(order_id) if order_id.isprintable() else None
        if found is None or found[0].merchant_id != merchant.merchant_id:
            raise NoSuchOrder(f"Order {order_id} not found")
