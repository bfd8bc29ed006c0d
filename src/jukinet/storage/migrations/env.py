"""Alembic environment: runs on the engine handed in by ``database.migrate``."""

from __future__ import annotations

from alembic import context

from jukinet.storage.tables import metadata

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=metadata)
    context.run_migrations()
