"""Alembic environment of the municipality register: runs on the engine handed in by
``jukinet.storage.migrations.migrate``.
"""

from __future__ import annotations

from alembic import context

from jukinet.nodes.municipality.tables import metadata

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=metadata)
    context.run_migrations()
