"""Alembic migrations of dondoc's database."""
