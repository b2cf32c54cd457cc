"""Adapters: the store (SQLAlchemy), catalog files (YAML), callouts (httpx), events."""
