"""Alembic environment of the identity schema (prefecture and national nodes).

Runs on the engine handed in by ``jukinet.nodes.identity.setup.migrate_identity``.
"""

from __future__ import annotations

from alembic import context

from jukinet.nodes.identity.tables import metadata

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=metadata)
    context.run_migrations()
