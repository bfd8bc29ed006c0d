"""the provision log's rows partitioned by month on PostgreSQL

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 13:00:00.000000

On PostgreSQL ``provisions`` becomes a table partitioned by range of ``at`` (its ISO
8601 time in UTC), one partition a month (``provisions_y2026m12``) and a default one
for a row no month holds yet; the partitions of the next months are made ahead by
``jukinet identity partitions`` (and when the node opens), and a month past the
retention is dropped whole by ``jukinet identity prune``
(``nodes/identity/provision_retention``). A partitioned table's keys must hold the
partition key: the primary key is (id, at) and the leaf's unique constraint (leaf, at)
(the leaf index is unique anyway: one writer appends the log, ``provision_log``).
Existing rows are moved into their months. SQLite keeps one table.
"""

from __future__ import annotations

from alembic import op

from jukinet.nodes.identity import provision_retention as retention

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_COLUMNS = ("id, at, node, agency, recipient, affair, function, person_key, resident_code, "
            "fields, request_id, leaf, basis, commitment")  # fmt: skip


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    conn = op.get_bind()
    op.execute("ALTER TABLE provisions RENAME TO provisions_unpartitioned")
    op.execute("ALTER SEQUENCE provisions_id_seq OWNED BY NONE")
    for old in ("pk_provisions", "uq_provisions_leaf"):
        op.execute(f"ALTER TABLE provisions_unpartitioned RENAME CONSTRAINT {old} TO {old}_old")
    for old in ("ix_provisions_at", "ix_provisions_person_key"):
        op.execute(f"ALTER INDEX {old} RENAME TO {old}_old")
    op.execute(
        "CREATE TABLE provisions ("
        " id BIGINT NOT NULL DEFAULT nextval('provisions_id_seq'),"
        " at VARCHAR(32) NOT NULL, node VARCHAR(64) NOT NULL, agency VARCHAR(64) NOT NULL,"
        " recipient VARCHAR(64) NOT NULL, affair VARCHAR(64) NOT NULL,"
        " function VARCHAR(8) NOT NULL, person_key VARCHAR(32) NOT NULL,"
        " resident_code VARCHAR(11) NOT NULL, fields TEXT NOT NULL,"
        " request_id VARCHAR(32) NOT NULL, leaf BIGINT, basis TEXT, commitment VARCHAR(64),"
        " CONSTRAINT pk_provisions PRIMARY KEY (id, at),"
        " CONSTRAINT uq_provisions_leaf UNIQUE (leaf, at)"
        ") PARTITION BY RANGE (at)"
    )
    op.execute("ALTER SEQUENCE provisions_id_seq OWNED BY provisions.id")
    op.execute("CREATE INDEX ix_provisions_at ON provisions (at)")
    op.execute("CREATE INDEX ix_provisions_person_key ON provisions (person_key)")
    op.execute(f"CREATE TABLE {retention.DEFAULT} PARTITION OF provisions DEFAULT")
    first = conn.exec_driver_sql("SELECT min(at) FROM provisions_unpartitioned").scalar()
    retention.make_months(conn, retention.month_of(first) if first else None)
    op.execute(
        f"INSERT INTO provisions ({_COLUMNS}) SELECT {_COLUMNS} FROM provisions_unpartitioned"
    )
    op.execute("DROP TABLE provisions_unpartitioned")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE provisions RENAME TO provisions_partitioned")
    op.execute("ALTER SEQUENCE provisions_id_seq OWNED BY NONE")
    op.execute("ALTER TABLE provisions_partitioned RENAME CONSTRAINT pk_provisions TO pk_old")
    op.execute("ALTER TABLE provisions_partitioned RENAME CONSTRAINT uq_provisions_leaf TO uq_old")
    op.execute("ALTER INDEX ix_provisions_at RENAME TO ix_provisions_at_old")
    op.execute("ALTER INDEX ix_provisions_person_key RENAME TO ix_provisions_person_key_old")
    op.execute(
        "CREATE TABLE provisions (LIKE provisions_partitioned INCLUDING DEFAULTS,"
        " CONSTRAINT pk_provisions PRIMARY KEY (id), CONSTRAINT uq_provisions_leaf UNIQUE (leaf))"
    )
    op.execute("ALTER SEQUENCE provisions_id_seq OWNED BY provisions.id")
    op.execute("CREATE INDEX ix_provisions_at ON provisions (at)")
    op.execute("CREATE INDEX ix_provisions_person_key ON provisions (person_key)")
    op.execute(f"INSERT INTO provisions ({_COLUMNS}) SELECT {_COLUMNS} FROM provisions_partitioned")
    op.execute("DROP TABLE provisions_partitioned CASCADE")
