"""The provision log's retention (R14; MISSION.md: provision records 7 years): rows past
it are pruned, newer ones kept, the Merkle tree kept whole; on PostgreSQL by month
partitions, a month wholly past the retention dropped as a table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from jukinet.audit import merkle
from jukinet.nodes.identity import provision_log, provision_store
from jukinet.nodes.identity import provision_retention as retention
from jukinet.nodes.identity import tables as ids
from tests.conftest import UrlFactory
from tests.integration.provision.nodes import Node

FIXED = ("national:national", "agency:pension-fund", "jpf", "national-pension-status", "lookup")


def _provide(node: Node, at: datetime, person: str) -> None:
    store = node.store
    with store.transaction() as conn:
        provision_store.log_provisions(
            conn, at.isoformat(timespec="microseconds"), FIXED, [(person, "12345678901", "name")],
            "req", "住民基本台帳法 別表第一", store.disclosure_secret(conn),
        )  # fmt: skip


def _ats(node: Node) -> list[str]:
    with node.store.engine.connect() as conn:
        return list(conn.scalars(select(ids.provisions.c.at).order_by(ids.provisions.c.at)))


def test_rows_past_a_shortened_retention_are_pruned_and_newer_kept(national: Node) -> None:
    """R14: with one day kept, rows of 3 months and 2 days ago go, today's stay; the tree
    of hashes stays whole and a kept row's inclusion proof still verifies."""
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=92), now - timedelta(days=2)
    _provide(national, old, "k-old")
    _provide(national, recent, "k-recent")
    _provide(national, now, "k-now")
    with national.store.transaction() as conn:  # the old row's month, made late (PG)
        made = retention.make_months(conn, retention.month_of(old.isoformat()))
        tree = conn.execute(select(func.count()).select_from(ids.provision_tree)).scalar_one()
    pg = national.store.engine.dialect.name == "postgresql"
    assert (retention.partition_name(retention.month_of(old.isoformat())) in made) is pg
    assert len(_ats(national)) == 3  # moved out of the default partition, none lost

    done = retention.prune(national.store, retention.cutoff_of(now, days=1), actor="ops")

    assert done.rows == 2
    assert _ats(national) == [now.isoformat(timespec="microseconds")]
    old_month = retention.partition_name(retention.month_of(old.isoformat()))
    assert (old_month in done.partitions) is pg
    with national.store.engine.connect() as conn:
        assert (
            conn.execute(select(func.count()).select_from(ids.provision_tree)).scalar_one() == tree
        )
        if pg:
            assert old_month not in retention.months(conn).values()
        kept = conn.execute(select(ids.provisions)).one()
        size, root = provision_log.size(conn)
        proof = provision_log.inclusion(conn, int(kept.leaf), size)
    merkle.check_record(
        proof, size, root, int(kept.leaf), merkle.leaf_hash(provision_log.leaf_of(kept))
    )
    [entry] = [e for e in national.audit() if e.operation == "provisions.prune"]
    assert entry.actor == "ops" and entry.detail.startswith("pruned 2 provision records older than")


def test_the_default_retention_is_seven_years(national: Node) -> None:
    """MISSION.md, "Retention": a row of 6 years 11 months ago is kept, one of 7 years
    and a day ago is pruned."""
    now = datetime.now(UTC)
    kept, gone = now - timedelta(days=365 * 7 - 30), now - timedelta(days=365 * 7 + 3)
    _provide(national, kept, "k1")
    _provide(national, gone, "k2")
    done = retention.prune(national.store, retention.cutoff_of(now))
    assert done.rows == 1
    assert _ats(national) == [kept.isoformat(timespec="microseconds")]


def test_partitions_are_made_ahead_and_a_provision_of_a_month_without_one_is_kept(
    national: Node,
) -> None:
    """R14: the months ahead exist after the node opens (PostgreSQL); a row of a month
    far ahead lands in the default partition and moves into its month when made."""
    with national.store.engine.connect() as conn:
        if not retention.partitioned(conn):
            assert national.store.engine.dialect.name == "sqlite"
            return
        held = sorted(retention.months(conn))
    this = datetime.now(UTC).date().replace(day=1)
    assert held[0] <= this and len([m for m in held if m >= this]) == retention.AHEAD + 1
    far = datetime.now(UTC) + timedelta(days=400)
    _provide(national, far, "k-far")
    with national.store.transaction() as conn:
        made = retention.make_months(conn, today=far.date())
        rows = conn.exec_driver_sql(f"SELECT count(*) FROM {retention.DEFAULT}").scalar_one()
    assert retention.partition_name(far.date().replace(day=1)) in made
    assert rows == 0 and len(_ats(national)) == 1


def test_the_migration_moves_existing_provision_rows_into_their_months(
    database: UrlFactory,
) -> None:
    """R14: an upgraded node keeps every provision row, in its month on PostgreSQL, and
    the ids go on from where they were."""
    from alembic import command

    from jukinet.nodes.identity.schema import SHARED_VERSIONS
    from jukinet.nodes.national.store import MIGRATIONS
    from jukinet.nodes.national.store import migrate as national_migrate
    from jukinet.storage.database import make_engine
    from jukinet.storage.migrations import alembic_config

    engine = make_engine(database("upgrade"))
    try:
        command.upgrade(alembic_config(engine, MIGRATIONS, [SHARED_VERSIONS]), "0006")
        with engine.begin() as conn:
            for at in ("2025-03-04T05:06:07.000000+00:00", "2026-11-30T23:59:59.999999+00:00"):
                conn.execute(
                    ids.provisions.insert().values(
                        at=at, node="n", agency="a", recipient="r", affair="f",
                        function="lookup", person_key="k", resident_code="12345678901",
                        fields="name", request_id="q", leaf=None,
                    )
                )  # fmt: skip
        national_migrate(engine)
        with engine.begin() as conn:
            rows = conn.execute(select(ids.provisions.c.id, ids.provisions.c.at)).all()
            conn.execute(
                ids.provisions.insert().values(
                    at=datetime.now(UTC).isoformat(), node="n", agency="a", recipient="r",
                    affair="f", function="lookup", person_key="k", resident_code="12345678901",
                    fields="name", request_id="q",
                )
            )  # fmt: skip
            new_id = conn.execute(select(func.max(ids.provisions.c.id))).scalar_one()
            held = retention.months(conn) if retention.partitioned(conn) else {}
    finally:
        engine.dispose()
    assert sorted(r.id for r in rows) == [1, 2] and new_id == 3
    if engine.dialect.name == "postgresql":
        assert "provisions_y2025m03" in held.values() and "provisions_y2026m11" in held.values()
