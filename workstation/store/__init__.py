"""The local SQLite store."""

from workstation.store.database import Store, StoreError, open_store

__all__ = ["Store", "StoreError", "open_store"]
