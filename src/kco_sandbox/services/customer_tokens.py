"""Customer Token API use-cases: one method per vendor operation, and the sandbox's suspend switch.

A charge looks the token up (unknown: `TOKEN_NOT_FOUND`; another merchant's: `TOKEN_FORBIDDEN`),
then the idempotency key: a key already used on this token answers what its first call answered
(the same order), whatever the body and whatever the token's status now, so a client retrying
after a lost answer never gets a second order or a refusal for its own success. Only then are the
token's status, the body's arithmetic and the persona judged, and the order opened
(`open_order`, as a completed checkout opens one) with its key in one transaction.

A charge and a status change mark the token used (on the merchant's clock): retention deletes a
token unused for its window, and a charge on a deleted token is `TOKEN_NOT_FOUND`.
"""

from __future__ import annotations

from dataclasses import dataclass

from kco_sandbox.clock import MerchantClocks
from kco_sandbox.domain.customer_token import (
    CustomerToken,
    TokenOrderRequest,
    TokenStatus,
    cancelled,
    charge_record,
    check_order,
    judge_charge,
    owned,
)
from kco_sandbox.domain.errors import BadValue, NotFound, TokenNotFound
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.domain.order_management.opening import open_order
from kco_sandbox.ids import IdFactory
from kco_sandbox.services.order_management import new_klarna_reference
from kco_sandbox.store import Store
from kco_sandbox.store.orders import KeyAlreadyUsed


@dataclass(frozen=True, slots=True)
class TokenOrder:
    """What a charge answers: the order it opened (or, replayed, its first call opened)."""

    order_id: str
    fraud_status: str
    token: CustomerToken


@dataclass(frozen=True, slots=True)
class CustomerTokenService:
    store: Store
    clock: MerchantClocks
    new_id: IdFactory

    def get_token(self, merchant: Merchant, token: str) -> CustomerToken:
        found = self.store.tokens.get(token)
        if found is None:
            raise NotFound("Invalid customer-token ID")
        return owned(found, merchant.merchant_id)

    def create_order(
        self,
        merchant: Merchant,
        token: str,
        request: TokenOrderRequest,
        idempotency_key: str | None = None,
    ) -> TokenOrder:
        found = self.store.tokens.get(token)
        if found is None:
            raise TokenNotFound("Invalid customer-token ID")
        found = owned(found, merchant.merchant_id)
        if idempotency_key is not None:
            replayed = self._replay(found, idempotency_key)
            if replayed is not None:
                return replayed
        charge = judge_charge(found, request)
        check_order(request)
        now = self.clock.now(merchant.merchant_id)
        record = charge_record(found, request, charge, self.new_id(), now)
        opened = open_order(record, new_klarna_reference(), now, self.new_id())
        try:
            if not self.store.tokens.charge(token, opened, idempotency_key, now):
                raise TokenNotFound("Invalid customer-token ID")  # pruned since the read
        except KeyAlreadyUsed:
            assert idempotency_key is not None
            replayed = self._replay(found, idempotency_key)
            if replayed is None:  # the winner's order is gone (retention): never seen in a race
                raise
            return replayed
        return TokenOrder(opened.order_id, opened.fraud_status, found)

    def _replay(self, token: CustomerToken, key: str) -> TokenOrder | None:
        order_id = self.store.tokens.charged_order(token.merchant_id, key, token.token)
        if order_id is None:
            return None
        found = self.store.orders.get(order_id)
        # The order's fraud status as the first call answered it (a decision made since is
        # the Order Management API's to show).
        fraud_status = found[0].fraud_status if found is not None else "ACCEPTED"
        return TokenOrder(order_id, fraud_status, token)

    def cancel(self, merchant: Merchant, token: str, status: str) -> None:
        if status != TokenStatus.CANCELLED:
            raise BadValue("status")
        found = self.store.tokens.get(token)
        if found is None:
            raise NotFound("Invalid token ID")
        changed = cancelled(owned(found, merchant.merchant_id))
        if changed is not None:
            self.store.tokens.set_status(
                token, changed.status, self.clock.now(merchant.merchant_id)
            )

    # The sandbox's control: the platform suspends and reinstates tokens.

    def set_status(self, merchant: Merchant, token: str, status: str) -> CustomerToken:
        """Suspend (`SUSPENDED`) or reinstate (`ACTIVE`) one of the merchant's tokens; a
        cancelled token stays cancelled."""
        if status not in (TokenStatus.ACTIVE, TokenStatus.SUSPENDED):
            raise BadValue("status")
        found = self.get_token(merchant, token)
        if found.status is TokenStatus.CANCELLED:
            raise BadValue("status", "a cancelled token cannot be changed")
        self.store.tokens.set_status(
            token, TokenStatus(status), self.clock.now(merchant.merchant_id)
        )
        return self.get_token(merchant, token)
