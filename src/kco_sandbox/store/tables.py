"""The schema, in one place. Migrations under `migrations/versions` create exactly this."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
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

# Order Management: the order document holds its captures and refunds (amounts are derived).
om_orders = Table(
    "om_orders",
    metadata,
    Column("order_id", String(36), primary_key=True),
    Column("merchant_id", String(255), ForeignKey("merchants.merchant_id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("document", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# The first successful answer to each `Klarna-Idempotency-Key`, replayed for repeats.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("merchant_id", String(255), primary_key=True),
    Column("idempotency_key", String(255), primary_key=True),
    Column("status", Integer, nullable=False),
    Column("headers", Text, nullable=False),  # JSON object
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

Index("ix_checkout_orders_expires_at", checkout_orders.c.expires_at)
Index("ix_order_events_order_id", order_events.c.order_id, order_events.c.event_id)
