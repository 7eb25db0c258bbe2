"""Hosted Payment Page use-cases: the merchant's four operations, the shopper's page and the
sandbox's controls.

The merchant creates a session for one of its open Checkout orders, reads it, distributes it
(recorded, never sent) and disables it. Another merchant's session, an unknown one and one past
its `expires_at` (on the merchant's clock) are all `404 NOT_FOUND`. The shopper's page moves the
session through its statuses (`domain/hpp.py`); a change writes only if the session did not
move meanwhile, and is otherwise tried again on the fresh session.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from kco_sandbox.clock import MerchantClocks
from kco_sandbox.domain.callback_hosts import HostPattern, refused_url_field
from kco_sandbox.domain.checkout.lifecycle import CheckoutStatus
from kco_sandbox.domain.checkout.record import CheckoutRecord
from kco_sandbox.domain.errors import BadValue, Conflict, ConstraintViolation, NotFound
from kco_sandbox.domain.hpp import (
    HppAction,
    HppSession,
    HppStatus,
    SessionRequest,
    check_urls,
    new_session,
    order_id_of,
)
from kco_sandbox.domain.hpp_distribution import Distribution, DistributionRequest, judge
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.ids import IdFactory
from kco_sandbox.store import Store

# Bounds per Checkout order (every table bounded while the order lives; retention takes them
# with it): the vendor calls more than one session per order unwise, so a few are plenty.
MAX_SESSIONS_PER_ORDER = 20
MAX_DISTRIBUTIONS_PER_ORDER = 200
_TRIES = 5  # a status change re-reads and retries this often when the session kept moving
_DAY = timedelta(days=1)
# The sandbox's forced statuses, by the action that reaches each.
FORCED = {
    HppStatus.IN_PROGRESS: HppAction.OPEN,
    HppStatus.FAILED: HppAction.DECLINE,
    HppStatus.BACK: HppAction.BACK,
    HppStatus.CANCELLED: HppAction.CANCEL,
    HppStatus.ERROR: HppAction.ERROR,
}


@dataclass(frozen=True, slots=True)
class HppService:
    store: Store
    clock: MerchantClocks
    new_id: IdFactory
    allow_http_callbacks: bool = True
    callback_hosts: tuple[HostPattern, ...] = ()  # where callbacks may go (`--callback-host`)
    email_limit: int = 100  # e-mail distributions per merchant in 24 hours
    sms_limit: int = 20

    # The merchant's API

    def create(self, merchant: Merchant, request: SessionRequest) -> HppSession:
        check_urls(request.merchant_urls, https_status_update=not self.allow_http_callbacks)
        # As for a checkout's callback URLs: a string check here, the addresses at each call.
        status_update = request.merchant_urls.status_update if request.merchant_urls else None
        if refused_url_field({"status_update": status_update}, self.callback_hosts):
            raise BadValue("merchant_urls.status_update")
        order_id = order_id_of(request.payment_session_url)
        now = self.clock.now(merchant.merchant_id)
        record = self.store.checkouts.get(order_id)
        if record is None or record.merchant_id != merchant.merchant_id or record.is_expired(now):
            raise NotFound("Payment session not found or expired")
        if record.status is not CheckoutStatus.CHECKOUT_INCOMPLETE:
            raise BadValue("payment_session_url", f"the order is {record.status.value}")
        if self.store.hpp.count_of_order(order_id)[0] >= MAX_SESSIONS_PER_ORDER:
            raise BadValue(
                "payment_session_url", f"an order has at most {MAX_SESSIONS_PER_ORDER} sessions"
            )
        session = new_session(
            self.new_id(), merchant.merchant_id, order_id, record.expires_at, request, now
        )
        self.store.hpp.add(session)
        return session

    def read(self, merchant: Merchant, session_id: str) -> HppSession:
        found = self.store.hpp.get(session_id)
        now = self.clock.now(merchant.merchant_id)
        if found is None or found.merchant_id != merchant.merchant_id or found.is_expired(now):
            raise NotFound("Session not found or expired")
        return found

    def disable(self, merchant: Merchant, session_id: str) -> None:
        """DELETE: a completed session is `400`; a cancelled or disabled one stays as it is."""
        for _ in range(_TRIES):
            session = self.read(merchant, session_id)
            if session.status is HppStatus.COMPLETED:
                raise BadValue("session_id", "the session is completed")
            after = session.moved(HppAction.DISABLE, self.clock.now(merchant.merchant_id))
            if after is None or after is session:
                return  # CANCELLED or DISABLED already
            if self.store.hpp.save(session, after, "merchant disabled"):
                return
        raise Conflict("The session kept changing; try again")

    def distribute(
        self, merchant: Merchant, session_id: str, request: DistributionRequest, link: str
    ) -> Distribution:
        session = self.read(merchant, session_id)
        if session.status is HppStatus.DISABLED:
            raise ConstraintViolation("The session is disabled by the merchant")
        if session.status in (HppStatus.COMPLETED, HppStatus.CANCELLED):
            raise ConstraintViolation(f"The session is {session.status.value}")
        sent = judge(request, session, link)
        if self.store.hpp.count_of_order(session.order_id)[1] >= MAX_DISTRIBUTIONS_PER_ORDER:
            raise ConstraintViolation(
                f"An order's sessions are distributed {MAX_DISTRIBUTIONS_PER_ORDER} times at most"
            )
        now = self.clock.now(merchant.merchant_id)
        limit = {"email": self.email_limit, "sms": self.sms_limit}.get(sent.method)
        if limit is not None:
            used = self.store.hpp.distributions_since(merchant.merchant_id, sent.method, now - _DAY)
            if used >= limit:
                raise ConstraintViolation(
                    f"Daily limit reached: {limit} {sent.method} distributions in 24 hours"
                )
        self.store.hpp.record_distribution(session, sent.method, now, sent.event(session_id))
        return sent

    # The shopper's page

    def page(self, short_id: str) -> tuple[HppSession, CheckoutRecord | None]:
        """The session behind a shopper's link and its Checkout order (None if the order is
        gone or expired); `NotFound` for an unknown or expired session."""
        session = self.by_link(short_id)
        record = self.store.checkouts.get(session.order_id)
        now = self.clock.now(session.merchant_id)
        if record is not None and record.is_expired(now):
            record = None
        return session, record

    def act(self, short_id: str, action: HppAction) -> HppSession:
        """The shopper's `action`; a move the status does not allow leaves the session as it is
        (the page then shows where the session stands)."""
        for _ in range(_TRIES):
            session = self.by_link(short_id)
            after = session.moved(action, self.clock.now(session.merchant_id))
            if after is None or after is session:
                return session
            if self.store.hpp.save(session, after, f"shopper: {action.value}"):
                return after
        raise Conflict("The session kept changing; try again")

    def by_link(self, short_id: str) -> HppSession:
        """The session behind a shopper's link; `NotFound` for an unknown or expired one."""
        found = self.store.hpp.by_short_id(short_id)
        if found is None or found.is_expired(self.clock.now(found.merchant_id)):
            raise NotFound("Session not found or expired")
        return found

    # The sandbox's controls

    def force(self, merchant: Merchant, session_id: str, status: str) -> HppSession:
        """Move a session as the shopper would (IN_PROGRESS, FAILED, BACK, CANCELLED, ERROR),
        or end its life now (`EXPIRED`: it answers 404 from then on)."""
        session = self.read(merchant, session_id)
        now = self.clock.now(merchant.merchant_id)
        if status == "EXPIRED":
            self.store.hpp.expire(session, now)
            return replace(session, expires_at=now)
        action = next((act for st, act in FORCED.items() if st.value == status), None)
        if action is None:
            raise BadValue("status")
        for _ in range(_TRIES):
            after = session.moved(action, now)
            if after is None:
                raise BadValue("status", f"not reachable from {session.status.value}")
            if after is session or self.store.hpp.save(session, after, "sandbox"):
                return after
            session = self.read(merchant, session_id)
        raise Conflict("The session kept changing; try again")
