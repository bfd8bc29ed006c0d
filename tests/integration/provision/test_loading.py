"""The identity schema's migration for provision (folded names, the pseudonym secret)
and a node's own legal table.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from jukinet.domain.legal import LegalTable
from jukinet.nodes.identity import provision as pv
from jukinet.nodes.identity import tables as ids
from jukinet.nodes.national.store import migrate as national_migrate
from jukinet.storage.database import make_engine
from tests.conftest import UrlFactory
from tests.integration.provision.nodes import TABLE


def test_the_migration_backfills_folded_names_and_makes_a_pseudonym_secret(
    database: UrlFactory,
) -> None:
    from alembic import command

    from jukinet.nodes.identity.schema import SHARED_VERSIONS
    from jukinet.nodes.national.store import MIGRATIONS
    from jukinet.storage.migrations import alembic_config

    engine = make_engine(database("migrate"))
    try:
        command.upgrade(alembic_config(engine, MIGRATIONS, [SHARED_VERSIONS]), "0001")
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO identities (resident_code, person_key, name, date_of_birth, sex, "
                "address, status, change_reason, change_date, origin, recorded_at, applied_at) "
                "VALUES ('12345678901', 'k', '髙橋　ﾀﾛｳ', '1950-01-01', 'male', "
                "'東京都１丁目', 'resident', 'birth', '1950-01-01', '131016', 'x', 'y')"
            )
        national_migrate(engine)
        with engine.connect() as conn:
            row = conn.execute(select(ids.identities.c.name_folded,
                                      ids.identities.c.address_folded)).one()  # fmt: skip
            secret = conn.execute(
                select(ids.node.c.value).where(ids.node.c.key == "pseudonym_secret")
            ).scalar_one()
        assert tuple(row) == ("高橋タロウ", "東京都1丁目")
        assert len(bytes.fromhex(secret)) == 32
    finally:
        engine.dispose()


def test_a_nodes_own_legal_table_replaces_the_shipped_one(tmp_path: Path) -> None:
    assert pv.load_table(tmp_path) == TABLE
    (tmp_path / pv.LEGAL_TABLE_FILE).write_text(
        'version = "own"\nrecipients = []\n', encoding="utf-8"
    )
    own: LegalTable = pv.load_table(tmp_path)
    assert own.version == "own" and own.recipients == ()
