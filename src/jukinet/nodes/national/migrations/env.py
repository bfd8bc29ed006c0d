"""Alembic environment of the national node: its own chain and the shared identity chain.

Runs on the engine handed in by ``jukinet.storage.migrations.migrate``.
"""

from __future__ import annotations

from alembic import context

from jukinet.nodes.national.tables import metadata

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=metadata)
    context.run_migrations()
