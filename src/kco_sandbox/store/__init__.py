"""Storage: SQLAlchemy Core on SQLite or PostgreSQL, behind the one `Store` facade."""

from kco_sandbox.store.facade import Store

__all__ = ["Store"]
