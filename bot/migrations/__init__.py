"""Alembic migrations for the coopbot schema; `coopbot db upgrade` applies them."""
