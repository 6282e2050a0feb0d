"""Persistence: tables, migrations and the engine/session factory (SQLite or PostgreSQL)."""

from textloop.store.database import Store, open_store

__all__ = ["Store", "open_store"]
