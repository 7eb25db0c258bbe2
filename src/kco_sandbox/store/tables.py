"""The schema, in one place. Migrations under `migrations/versions` create exactly this."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

merchants = Table(
    "merchants",
    metadata,
    Column("merchant_id", String(255), primary_key=True),
    Column("api_key", String(255), nullable=False),
    Column("name", String(255), nullable=False),
    Column("markets", Text, nullable=True),  # JSON array of country codes; NULL = every market
    Column("created_at", DateTime(timezone=True), nullable=False),
)

checkout_orders = Table(
    "checkout_orders",
    metadata,
    Column("order_id", String(36), primary_key=True),
    Column("merchant_id", String(255), ForeignKey("merchants.merchant_id"), nullable=False),
    Column("status", String(32), nullable=False),
    Column("version", Integer, nullable=False),
    Column("document", Text, nullable=False),  # the merchant-writable order as JSON
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("last_modified_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True), nullable=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("session", Text, nullable=False, server_default="{}"),  # what the shopper did, JSON
)

# Everything that happened to an order, in order: merchant callbacks with their answers, ...
order_events = Table(
    "order_events",
    metadata,
    Column("event_id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", String(36), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("detail", Text, nullable=False),  # JSON
)

# Order Management: the order row; its document keeps running totals of the order's captures
# and refunds (amounts, counts), which are rows of their own below (migration 0010).
om_orders = Table(
    "om_orders",
    metadata,
    Column("order_id", String(36), primary_key=True),
    Column("merchant_id", String(255), ForeignKey("merchants.merchant_id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("document", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# One row per capture, numbered 1, 2, ... per order in the order they were made (`seq`, the
# order's `capture_count` when it was made): an order's captures are one range of the key.
om_captures = Table(
    "om_captures",
    metadata,
    Column("order_id", String(36), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("capture_id", String(36), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("document", Text, nullable=False),  # the capture as JSON
)

# One row per refund, numbered per order as the captures are.
om_refunds = Table(
    "om_refunds",
    metadata,
    Column("order_id", String(36), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("refund_id", String(36), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("document", Text, nullable=False),  # the refund as JSON
)

# What the first successful call under each `Klarna-Idempotency-Key` did, replayed for repeats:
# the operation (an `OmAction` value; "unknown" on rows migration 0005 could not name), the order
# it acted on, and the id of the capture or refund it created (NULL if it created nothing). A key
# is scoped to one operation on one order (and capture): `scope`, from
# `domain.order_management.idempotency.scope`, is part of the key.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("merchant_id", String(255), primary_key=True),
    Column("idempotency_key", String(255), primary_key=True),
    Column("scope", String(255), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("operation", String(64), nullable=False),
    Column("order_id", String(36), nullable=True),
    Column("created_id", String(36), nullable=True),
)

# Customer tokens (migration 0011): one per `recurring_token` a completed recurring checkout
# minted, owned by its merchant; `email` is the shopper's persona (it decides each charge),
# `details` what the shopper gave at the checkout, as JSON.
customer_tokens = Table(
    "customer_tokens",
    metadata,
    Column("token", String(36), primary_key=True),
    Column("merchant_id", String(255), ForeignKey("merchants.merchant_id"), nullable=False),
    Column("order_id", String(36), nullable=False),  # the checkout order that minted it
    Column("status", String(16), nullable=False),  # ACTIVE, CANCELLED or SUSPENDED
    Column("payment_method_type", String(32), nullable=False),
    Column("email", String(255), nullable=False),
    Column("details", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Minted, charged or its status changed: retention deletes a token unused for the window.
    Column("last_used_at", DateTime(timezone=True), nullable=False),
)

# The outbox: one row per callback to deliver (push, notification), its request frozen.
callbacks = Table(
    "callbacks",
    metadata,
    Column("callback_id", String(36), primary_key=True),
    Column("order_id", String(36), nullable=False),
    Column("merchant_id", String(255), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("url", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),  # the schedule counts from here
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    Column("locked_until", DateTime(timezone=True), nullable=True),  # a worker's lease
    Column("created_at", DateTime(timezone=True), nullable=False),
    # A webhook's destination id, an HPP status update's session id (migration 0012).
    Column("target", String(64), nullable=True),
)

# Each HTTP try of a callback, as it happened.
callback_attempts = Table(
    "callback_attempts",
    metadata,
    Column("attempt_id", Integer, primary_key=True, autoincrement=True),
    Column("callback_id", String(36), nullable=False),
    Column("order_id", String(36), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("duration_ms", Float, nullable=False),
    Column("error", Text, nullable=True),
)

# The platform's own settings that must survive a restart (the clock's offset).
platform_state = Table(
    "platform_state",
    metadata,
    Column("key", String(320), primary_key=True),  # "clock_offset_seconds:" + a merchant id
    Column("value", Text, nullable=False),
)

Index("ix_callbacks_due", callbacks.c.status, callbacks.c.next_attempt_at)
Index("ix_callbacks_order", callbacks.c.order_id)
Index("ix_callback_attempts_order", callback_attempts.c.order_id)
Index("ix_checkout_orders_expires_at", checkout_orders.c.expires_at)
Index("ix_order_events_order_id", order_events.c.order_id, order_events.c.event_id)
# Reading an order's timeline a page at a time, in time order (`events.py`), and retention
# (`retention.py`): candidates per merchant by time, an order's keys, old keys.
Index(
    "ix_order_events_order_at", order_events.c.order_id, order_events.c.at, order_events.c.event_id
)
Index(
    "ix_callback_attempts_order_at",
    callback_attempts.c.order_id,
    callback_attempts.c.started_at,
    callback_attempts.c.attempt_id,
)
Index(
    "ix_checkout_orders_merchant_expires",
    checkout_orders.c.merchant_id,
    checkout_orders.c.expires_at,
)
Index("ix_om_orders_merchant_created", om_orders.c.merchant_id, om_orders.c.created_at)
# A capture or refund by its id within its order (GET, capture-level actions): migration 0010.
Index("ix_om_captures_capture_id", om_captures.c.order_id, om_captures.c.capture_id, unique=True)
Index("ix_om_refunds_refund_id", om_refunds.c.order_id, om_refunds.c.refund_id, unique=True)
# The portal's list of a merchant's orders, newest first, a page at a time (migration 0009).
Index(
    "ix_checkout_orders_merchant_started",
    checkout_orders.c.merchant_id,
    checkout_orders.c.started_at,
    checkout_orders.c.order_id,
)
Index("ix_idempotency_keys_order", idempotency_keys.c.order_id)
Index("ix_idempotency_keys_created", idempotency_keys.c.merchant_id, idempotency_keys.c.created_at)
# Retention's tokens unused for the window, per merchant (migration 0011).
Index(
    "ix_customer_tokens_merchant_last_used",
    customer_tokens.c.merchant_id,
    customer_tokens.c.last_used_at,
)

# --- Settlements (migration 0013) ---

# Settlements: one row per payout (one merchant, one currency, one cut-off: `payout_date`, unique
# together, so two readers settling at once cannot both write it); `totals` is the Totals as JSON.
settlement_payouts = Table(
    "settlement_payouts",
    metadata,
    Column("payment_reference", String(16), primary_key=True),
    Column("merchant_id", String(255), ForeignKey("merchants.merchant_id"), nullable=False),
    Column("currency_code", String(3), nullable=False),
    Column("payout_date", DateTime(timezone=True), nullable=False),
    Column("totals", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Each line of a payout (`line` numbers them within it). (`order_id`, `source_id`,
# `detailed_type`) is unique: a capture, refund or reversal (`source_id`) is settled once.
settlement_transactions = Table(
    "settlement_transactions",
    metadata,
    Column("payment_reference", String(16), primary_key=True),
    Column("line", Integer, primary_key=True, autoincrement=False),
    Column("merchant_id", String(255), nullable=False),
    Column("payout_date", DateTime(timezone=True), nullable=False),
    Column("order_id", String(36), nullable=False),
    Column("source_id", String(36), nullable=False),
    Column("detailed_type", String(64), nullable=False),
    Column("document", Text, nullable=False),  # the Transaction as JSON
)

# Reversals (disputes lost) a merchant asked for through the sandbox API, waiting for a payout.
settlement_reversals = Table(
    "settlement_reversals",
    metadata,
    Column("reversal_id", String(36), primary_key=True),
    Column("merchant_id", String(255), ForeignKey("merchants.merchant_id"), nullable=False),
    Column("order_id", String(36), nullable=False),
    Column("amount", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

Index(
    "ix_settlement_payouts_key",
    settlement_payouts.c.merchant_id,
    settlement_payouts.c.currency_code,
    settlement_payouts.c.payout_date,
    unique=True,
)
Index(
    "ix_settlement_payouts_merchant_date",
    settlement_payouts.c.merchant_id,
    settlement_payouts.c.payout_date,
)
Index(
    "ix_settlement_transactions_source",
    settlement_transactions.c.order_id,
    settlement_transactions.c.source_id,
    settlement_transactions.c.detailed_type,
    unique=True,
)
Index(
    "ix_settlement_transactions_merchant",
    settlement_transactions.c.merchant_id,
    settlement_transactions.c.payout_date,
    settlement_transactions.c.payment_reference,
    settlement_transactions.c.line,
)
Index("ix_settlement_reversals_created", settlement_reversals.c.created_at)
# What a settlement run looks for: captures and refunds made since the last cut-off.
Index("ix_om_captures_created", om_captures.c.created_at)
Index("ix_om_refunds_created", om_refunds.c.created_at)


# --- Hosted Payment Page sessions (migration 0014) ---

# One row per HPP session: the Checkout order it wraps (`order_id`), the short id of the
# shopper's link, its status and version, and the merchant's `merchant_urls` and `options` as
# JSON; `klarna_reference` once COMPLETED.
hpp_sessions = Table(
    "hpp_sessions",
    metadata,
    Column("session_id", String(36), primary_key=True),
    Column("short_id", String(16), nullable=False),
    Column("merchant_id", String(255), ForeignKey("merchants.merchant_id"), nullable=False),
    Column("order_id", String(36), nullable=False),
    Column("status", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("merchant_urls", Text, nullable=False),
    Column("options", Text, nullable=False),
    Column("klarna_reference", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)
Index("ix_hpp_sessions_short_id", hpp_sessions.c.short_id, unique=True)
Index("ix_hpp_sessions_order", hpp_sessions.c.order_id)

# Each distribution of an HPP session (recorded, never sent): counted against the daily limits.
hpp_distributions = Table(
    "hpp_distributions",
    metadata,
    Column("distribution_id", Integer, primary_key=True, autoincrement=True),
    Column("merchant_id", String(255), nullable=False),
    Column("session_id", String(36), nullable=False),
    Column("order_id", String(36), nullable=False),
    Column("method", String(8), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)
Index(
    "ix_hpp_distributions_merchant",
    hpp_distributions.c.merchant_id,
    hpp_distributions.c.method,
    hpp_distributions.c.at,
)
Index("ix_hpp_distributions_order", hpp_distributions.c.order_id)

# --- Webhook destinations (migration 0015) ---

# A merchant's webhook destinations: where events go, which types (JSON array, ["*"] = all),
# the signing secret, and the rotated-out secret with the time until which it still signs.
webhook_destinations = Table(
    "webhook_destinations",
    metadata,
    Column("destination_id", String(36), primary_key=True),
    Column("merchant_id", String(255), ForeignKey("merchants.merchant_id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("url", Text, nullable=False),
    Column("events", Text, nullable=False),
    Column("secret", String(128), nullable=False),
    Column("previous_secret", String(128), nullable=True),
    Column("previous_until", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index(
    "ix_webhook_destinations_merchant",
    webhook_destinations.c.merchant_id,
    webhook_destinations.c.created_at,
    webhook_destinations.c.destination_id,
)

# Disputes a test opened through the sandbox API (their changes are `dispute.*` events).
disputes = Table(
    "disputes",
    metadata,
    Column("dispute_id", String(36), primary_key=True),
    Column("order_id", String(36), nullable=False),
    Column("merchant_id", String(255), nullable=False),
    Column("status", String(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
Index("ix_disputes_order", disputes.c.order_id)
