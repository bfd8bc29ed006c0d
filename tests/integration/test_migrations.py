"""The migrations build exactly the schema the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData

from jukinet.nodes.municipality.setup import migrate
from jukinet.nodes.municipality.tables import metadata as register_metadata
from jukinet.nodes.national import store as national
from jukinet.nodes.national.tables import metadata as national_metadata
from jukinet.nodes.prefecture import store as prefecture
from jukinet.nodes.prefecture.tables import metadata as prefecture_metadata
from jukinet.storage.database import make_engine
from tests.conftest import UrlFactory


@pytest.mark.parametrize(
    ("migrator", "metadata"),
    [
        (migrate, register_metadata),
        (prefecture.migrate, prefecture_metadata),
        (national.migrate, national_metadata),
    ],
    ids=["municipality", "prefecture", "national"],
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


def test_each_identity_kind_has_only_its_own_tables(database: UrlFactory) -> None:
    """The code registry is the national node's, the forwarding outbox the prefecture's."""
    assert "issued_codes" in national_metadata.tables
    assert "outbox" not in national_metadata.tables
    assert "outbox" in prefecture_metadata.tables
    assert "issued_codes" not in prefecture_metadata.tables
