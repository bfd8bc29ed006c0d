"""The migrations build exactly the schema the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData

from jukinet.nodes.identity import provision_retention as retention
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
            # The provision log's month partitions on PostgreSQL (migration 0007) are
            # the migration's own, beyond the declared tables.
            context = MigrationContext.configure(
                conn, opts={"include_object": retention.declared_elsewhere}
            )
            drift = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert drift == []


def test_each_identity_kind_has_only_its_own_tables(database: UrlFactory) -> None:
    """The code registry is the national node's, the forwarding outbox the prefecture's."""
    assert "issued_codes" in national_metadata.tables
    assert "outbox" not in national_metadata.tables
    assert "outbox" in prefecture_metadata.tables
    assert "issued_codes" not in prefecture_metadata.tables


def test_a_hash_chained_audit_log_becomes_a_merkle_tree_of_the_same_entries(
    database: UrlFactory,
) -> None:
    """R12: the migration to the tree keeps every entry and builds its tree from them."""
    from alembic import command
    from sqlalchemy import text

    from jukinet.audit import log, merkle
    from jukinet.nodes.municipality.setup import MIGRATIONS
    from jukinet.storage.migrations import alembic_config

    engine = make_engine(database("old"))
    try:
        command.upgrade(alembic_config(engine, MIGRATIONS, ()), "0005_operator_cards")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO audit_head VALUES (1, 3, :h, :s)"),
                         {"h": "a" * 64, "s": b"old"})  # fmt: skip
            for seq in (1, 2, 3):
                conn.execute(
                    text("INSERT INTO audit_log VALUES (:seq, '2026-12-01T00:00:00.000000+00:00',"
                         " 'operator:clerk', '131016', 'resident.show', '12345678901', 'ok', '',"
                         " :p, :h)"),
                    {"seq": seq, "p": "0" * 64, "h": "1" * 64},
                )  # fmt: skip
        migrate(engine)
        with engine.connect() as conn:
            lines = [e.line() for e in log.entries(conn)]
            head = log.lock_head(conn)
            stored = conn.execute(text("SELECT count(*) FROM audit_tree")).scalar_one()
    finally:
        engine.dispose()
    assert len(lines) == 3
    assert head == (3, merkle.root_of_leaves(merkle.leaf_hash(x) for x in lines)[1].hex())
    assert stored == merkle.stored_hash_count(3)
