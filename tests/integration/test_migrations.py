"""The migrations build exactly the schema the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData

from jukinet.nodes.identity.setup import migrate_identity
from jukinet.nodes.identity.tables import metadata as identity_metadata
from jukinet.storage.database import make_engine, migrate
from jukinet.storage.tables import metadata as register_metadata
from tests.conftest import UrlFactory


@pytest.mark.parametrize(
    ("migrator", "metadata"),
    [(migrate, register_metadata), (migrate_identity, identity_metadata)],
    ids=["municipality", "prefecture-and-national"],
)
def test_the_migrated_database_matches_the_declared_tables(
    database: UrlFactory, migrator: Callable[[Engine], None], metadata: MetaData
) -> None:
    engine = make_engine(database("schema"))
    try:
        migrator(engine)
        with engine.connect() as conn:
            drift = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()
    assert drift == []
