"""Persistence: SQLAlchemy Core tables, one store for SQLite and PostgreSQL, Alembic migrations."""
