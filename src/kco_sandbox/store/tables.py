"""The schema, in one place. Migrations under `migrations/versions` create exactly this."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
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
)
