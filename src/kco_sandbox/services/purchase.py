"""The shopper's side of a checkout: identify, give addresses, choose shipping, buy.

The hosted checkout page calls these steps one by one; the sandbox control API calls `complete`,
which runs the very same steps in a row, in memory, writing the order only where it must
(`purchase_batch.py`). Merchant callbacks are real HTTP calls: the order is locked against
merchant updates while one is in flight, and every call is recorded on the order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec

from kco_sandbox.clock import MerchantClocks
from kco_sandbox.domain.checkout.effective import effective_order
from kco_sandbox.domain.checkout.lifecycle import Action, require
from kco_sandbox.domain.checkout.order import Address, Customer
from kco_sandbox.domain.checkout.record import CheckoutRecord
from kco_sandbox.domain.checkout.record import order_url as checkout_url
from kco_sandbox.domain.customer_token import mint
from kco_sandbox.domain.delivery import Callback, CallbackKind, Delivery
from kco_sandbox.domain.errors import (
    BadValue,
    CallbackFailed,
    CallbackRedirect,
    CallbackRefused,
    NotFound,
    PurchaseDenied,
    SignupRequired,
)
from kco_sandbox.domain.market import Market, markets_for
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.domain.order_management.opening import open_order
from kco_sandbox.domain.purchase import cart as purchase
from kco_sandbox.domain.purchase.callback import (
    Answer,
    Decision,
    Failed,
    Proceed,
    Redirect,
    Refused,
    judge_cart_answer,
    judge_validation,
    shipping_service_request,
)
from kco_sandbox.domain.purchase.persona import (
    DEFAULT_EMAIL,
    Outcome,
    is_email,
    one_time_code_passes,
    persona_for,
)
from kco_sandbox.domain.purchase.sample import SAMPLE_DATE_OF_BIRTH, sample_address
from kco_sandbox.ids import IdFactory
from kco_sandbox.outbound.merchant_http import MerchantHttp
from kco_sandbox.services.order_management import new_klarna_reference
from kco_sandbox.services.purchase_batch import Batch, batch, batch_of, writing
from kco_sandbox.services.purchase_terms import (
    PAYMENT_METHODS,
    CallbackTimeouts,
    CompleteRequest,
    Completion,
    payment_methods_for,
)
from kco_sandbox.store import Store

_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class PurchaseService:
    store: Store
    clock: MerchantClocks  # each order's time is its merchant's
    caller: MerchantHttp
    allow_http_callbacks: bool
    timeouts: CallbackTimeouts
    new_id: IdFactory
    delivery: Delivery

    # loading and saving

    def load(self, order_id: str, merchant_id: str | None = None) -> CheckoutRecord:
        """The order as the shopper (or, with `merchant_id`, its merchant) may act on it."""
        current = batch_of(order_id)
        record = current.latest if current is not None else self.store.checkouts.get(order_id)
        if record is None or (merchant_id is not None and record.merchant_id != merchant_id):
            raise NotFound(f"Order {order_id} not found")
        record.visible_to(record.merchant_id, self.clock.now(record.merchant_id))
        require(Action.COMPLETE, record.status)
        return record

    def shopper_view(self, order_id: str) -> CheckoutRecord | None:
        """The order as the hosted page shows it to the shopper; None if unknown or expired."""
        record = self.store.checkouts.get(order_id)
        if record is None or record.is_expired(self.clock.now(record.merchant_id)):
            return None
        return record

    def _save(self, before: CheckoutRecord, after: CheckoutRecord) -> CheckoutRecord:
        current = batch_of(after.order_id)
        if current is not None:
            current.latest = after
            if not current.writing:
                return after
        expected = current.stored_version if current is not None else before.version
        if not self.store.checkouts.save(after, expected):
            raise CallbackFailed("The order changed while the shopper was acting on it; try again")
        if current is not None:
            current.stored_version = after.version
        return after

    def _with_session(self, record: CheckoutRecord, **changes: Any) -> CheckoutRecord:
        session = msgspec.structs.replace(record.session, **changes)
        return self._save(record, record.with_session(session, self.clock.now(record.merchant_id)))

    # merchant callbacks

    def _call(
        self,
        record: CheckoutRecord,
        kind: str,
        url: str,
        body: dict[str, Any],
        timeout: float,
        base_url: str,
    ) -> tuple[CheckoutRecord, Answer]:
        """POST `body` to the merchant with the order locked; the unlocked record and the answer."""
        now = self.clock.now(record.merchant_id)
        current = batch_of(record.order_id)
        # The lock outlives the time-out a little, so it never lapses while the call is open.
        with writing(current):
            locked = self._with_session(record, locked_until=now + timedelta(seconds=timeout + 5))
        order_url = checkout_url(base_url, record.order_id)
        target = purchase.expand_url(url, record.order_id, order_url)
        # One of the merchant's callback slots, so one slow shop cannot hold every thread.
        call = self.caller.post(target, _encode(body), timeout, merchant_id=record.merchant_id)
        answer = call.answer
        self.store.events.add(
            record.order_id,
            self.clock.now(record.merchant_id),
            f"callback.{kind}",
            {
                "url": target,
                "request": body,
                "status": answer.status,
                "location": answer.location,
                "response": answer.body[:2000].decode("utf-8", "replace"),
                "duration_ms": call.duration_ms,
                "error": answer.error,
            },
        )
        with writing(current):
            unlocked = self._with_session(locked, locked_until=None)
        return unlocked, answer

    def _order_view(self, record: CheckoutRecord) -> dict[str, Any]:
        view: dict[str, Any] = msgspec.to_builtins(effective_order(record.order, record.session))
        if record.session.selected_shipping_option is not None:
            view["selected_shipping_option"] = msgspec.to_builtins(
                record.session.selected_shipping_option
            )
        return view

    def _cart_callback(
        self, record: CheckoutRecord, kind: str, url: str, base_url: str
    ) -> CheckoutRecord:
        body = shipping_service_request(self._order_view(record))
        record, answer = self._call(
            record, kind, url, body, self.timeouts.shipping_service, base_url
        )
        decision = judge_cart_answer(answer)
        self._raise_unless_proceed(decision)
        assert isinstance(decision, Proceed)
        if decision.cart is None:
            return record
        try:
            order = purchase.apply_cart(
                record.order, decision.cart, self._markets(record), self.allow_http_callbacks
            )
        except BadValue as exc:
            raise CallbackFailed(f"The merchant's cart breaks a rule: {exc.messages[0]}") from None
        return self._save(record, record.with_cart(order, self.clock.now(record.merchant_id)))

    def _markets(self, record: CheckoutRecord) -> Mapping[str, Market]:
        merchant = self.store.merchants.get(record.merchant_id)
        return markets_for(merchant.markets if merchant is not None else None)

    @staticmethod
    def _raise_unless_proceed(decision: Decision) -> None:
        if isinstance(decision, Redirect):
            raise CallbackRedirect(decision.url)
        if isinstance(decision, Refused):
            raise CallbackRefused(decision.error_type, decision.error_text)
        if isinstance(decision, Failed):
            raise CallbackFailed(decision.reason)

    # the steps

    def identify(self, order_id: str, email: str, postal_code: str | None) -> CheckoutRecord:
        if not is_email(email):
            raise BadValue("email")
        record = self.load(order_id)
        return self._with_session(record, email=email, postal_code=postal_code)

    def set_addresses(
        self,
        order_id: str,
        billing: Address,
        shipping: Address | None,
        customer: Customer | None,
        national_identification_number: str | None,
        base_url: str,
    ) -> CheckoutRecord:
        record = self.load(order_id)
        order = record.order
        billing_country = (billing.country or order.purchase_country).lower()
        billing = msgspec.structs.replace(billing, country=billing_country)
        shipping = shipping or billing
        shipping = msgspec.structs.replace(
            shipping, country=(shipping.country or billing_country).lower()
        )
        _check_country(
            billing_country,
            order.billing_countries or order.shipping_countries,
            order.purchase_country,
            "billing_address.country",
        )
        _check_country(
            shipping.country or billing_country,
            order.shipping_countries,
            order.purchase_country,
            "shipping_address.country",
        )
        previous_billing = record.session.billing_address
        previous_shipping = record.session.shipping_address
        record = self._with_session(
            record,
            billing_address=billing,
            shipping_address=shipping,
            customer=customer or Customer(type="person"),
            national_identification_number=national_identification_number,
        )
        urls = order.merchant_urls
        country_changed = (
            billing_country
            != (
                (previous_billing.country if previous_billing else None) or order.purchase_country
            ).lower()
        )
        if urls.country_change and country_changed:
            record = self._cart_callback(record, "country_change", urls.country_change, base_url)
        if urls.address_update and (billing, shipping) != (previous_billing, previous_shipping):
            record = self._cart_callback(record, "address_update", urls.address_update, base_url)
        return record

    def select_shipping(
        self, order_id: str, option_id: str | None, base_url: str
    ) -> CheckoutRecord:
        record = self.load(order_id)
        option = purchase.choose_option(record.order, option_id)
        if option is None:
            return record
        url = record.order.merchant_urls.shipping_option_update
        record = self._with_session(
            record, selected_shipping_option=option, platform_shipping=url is None
        )
        if url:
            record = self._cart_callback(record, "shipping_option_update", url, base_url)
        return record

    def sign_up(self, order_id: str, one_time_code: str) -> CheckoutRecord:
        if not one_time_code_passes(one_time_code):
            raise BadValue("one_time_code")
        return self._with_session(self.load(order_id), signed_up=True)

    def buy(
        self,
        order_id: str,
        payment_method: str,
        checkboxes: dict[str, bool],
        base_url: str,
    ) -> Completion:
        if payment_method not in PAYMENT_METHODS:
            raise BadValue("payment_method")
        record = self.load(order_id)
        order = record.order
        if payment_method not in payment_methods_for(order.recurring):
            raise BadValue("payment_method", "a recurring order offers no financing")
        session = record.session
        if session.billing_address is None:
            raise BadValue("billing_address", "may not be null")
        purchase.check_mandatory(order, session)
        purchase.check_checkboxes(order, checkboxes)
        states = purchase.checkbox_states(order, checkboxes)
        record = self._with_session(record, payment_method=payment_method, checkboxes=states)
        persona = persona_for(record.session.email or DEFAULT_EMAIL)
        if persona.outcome is Outcome.REQUIRE_SIGNUP and not record.session.signed_up:
            raise SignupRequired("The shopper must sign up first (one-time code)")
        if order.merchant_urls.validation:
            view = self._order_view(record)
            view |= {"order_id": record.order_id, "status": "checkout_incomplete"}
            requested = purchase.merchant_requested(order, states)
            if requested is not None:
                view["merchant_requested"] = requested
            required = bool(order.options and order.options.require_validate_callback_success)
            timeout = (
                self.timeouts.validation_success_required if required else self.timeouts.validation
            )
            record, answer = self._call(
                record, "validation", order.merchant_urls.validation, view, timeout, base_url
            )
            self._raise_unless_proceed(judge_validation(answer, required))
        if persona.outcome is Outcome.DENIED:
            self.store.events.add(
                record.order_id,
                self.clock.now(record.merchant_id),
                "purchase.denied",
                {"email": persona.email},
            )
            raise PurchaseDenied("The purchase was denied; choose another payment method")
        return self._authorize(record, persona.outcome, persona.decision_after, base_url)

    def _authorize(
        self,
        record: CheckoutRecord,
        outcome: Outcome,
        decision_after: timedelta | None,
        base_url: str,
    ) -> Completion:
        now = self.clock.now(record.merchant_id)
        pending = decision_after is not None
        session = msgspec.structs.replace(
            record.session,
            fraud_status="PENDING" if pending else "ACCEPTED",
            pending_decision=("accept" if outcome is Outcome.PENDING_ACCEPT else "reject")
            if pending
            else None,
            decision_due_at=now + decision_after if decision_after is not None else None,
            recurring_token=self.new_id() if record.order.recurring else None,
            # The completed order keeps the shipping line as one of its own lines from now on.
            platform_shipping=False,
        )
        order = effective_order(record.order, record.session)
        completed = record.completed(session, order, now)
        # The Order Management order opens, and the push (and a pending order's notification) is
        # queued, in the same transaction as the completion: all of it, or nothing.
        opened = open_order(completed, new_klarna_reference(), now, self.new_id())
        queued = self._after_purchase_callbacks(completed, now, base_url)
        event = {"fraud_status": session.fraud_status, "payment_method": session.payment_method}
        current = batch_of(record.order_id)
        expected = current.stored_version if current is not None else record.version
        if not self.store.complete_checkout(
            completed, expected, opened, queued, event, mint(completed)
        ):
            raise CallbackFailed("The order changed while the shopper was acting on it; try again")
        order_url = checkout_url(base_url, record.order_id)
        redirect = purchase.expand_url(
            record.order.merchant_urls.confirmation, record.order_id, order_url
        )
        return Completion(completed, redirect)

    def _after_purchase_callbacks(
        self, record: CheckoutRecord, now: datetime, base_url: str
    ) -> list[Callback]:
        """The push, and for a pending order the notification of its decision, frozen now."""
        urls = record.order.merchant_urls
        order_url = checkout_url(base_url, record.order_id)

        def queued(kind: CallbackKind, url: str, body: bytes, start: datetime) -> Callback:
            schedule = self.delivery.schedule_for(kind)
            return Callback(
                callback_id=self.new_id(),
                order_id=record.order_id,
                merchant_id=record.merchant_id,
                kind=kind,
                url=purchase.expand_url(url, record.order_id, order_url),
                body=body,
                starts_at=start,
                next_attempt_at=schedule.attempt_at(start, 0),
            )

        queue = [queued(CallbackKind.PUSH, urls.push, b"", now)]
        due = record.session.decision_due_at
        if urls.notification and due is not None:
            accepted = record.session.pending_decision == "accept"
            event = {
                "order_id": record.order_id,
                "event_type": "FRAUD_RISK_ACCEPTED" if accepted else "FRAUD_RISK_REJECTED",
            }
            queue.append(queued(CallbackKind.NOTIFICATION, urls.notification, _encode(event), due))
        return queue

    def complete(
        self, merchant: Merchant, order_id: str, request: CompleteRequest, base_url: str
    ) -> Completion:
        """Every step in a row, as a shopper would take them, in one batch."""
        record = self.load(order_id, merchant.merchant_id)
        with batch(record) as current:
            try:
                return self._complete(current, request, base_url)
            except Exception:
                self._keep(current)
                raise

    def _keep(self, current: Batch) -> None:
        """Write what a failed batch's steps did, unless someone changed the order meanwhile."""
        if current.pending:
            self.store.checkouts.save(current.latest, current.stored_version)

    def _complete(self, current: Batch, request: CompleteRequest, base_url: str) -> Completion:
        order_id, record = current.order_id, current.latest
        country = record.order.purchase_country
        self.identify(order_id, request.email, None)
        billing = request.billing_address or sample_address(country, request.email)
        if billing.email is None:
            billing = msgspec.structs.replace(billing, email=request.email)
        customer = Customer(
            type="person", date_of_birth=request.date_of_birth or SAMPLE_DATE_OF_BIRTH
        )
        self.set_addresses(
            order_id,
            billing,
            request.shipping_address,
            customer,
            request.national_identification_number,
            base_url,
        )
        self.select_shipping(order_id, request.shipping_option_id, base_url)
        if persona_for(request.email).outcome is Outcome.REQUIRE_SIGNUP:
            self.sign_up(order_id, "123456")
        return self.buy(order_id, request.payment_method, request.checkboxes, base_url)


def _check_country(
    country: str, allowed: list[str] | None, purchase_country: str, path: str
) -> None:
    permitted = {c.lower() for c in allowed} if allowed else {purchase_country.lower()}
    if country.lower() not in permitted:
        raise BadValue(path, "not among the countries the merchant ships or bills to")
