"""Alembic migrations of the storage schema (see env.py)."""
