"""a batch's shape: sector pseudonyms kept, the provisions' person index written in runs

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 16:00:00.000000

- ``pseudonyms`` holds each person's sector pseudonym once it has been computed
  (``nodes/identity/pseudonym_store``): a batch reads it with the identity instead of
  computing an HMAC and its base32 per person and call. Derived from the person key
  and the node's secret only (no new information, R1); rows are made when needed.
- ``provision_persons`` is the person index of ``provisions`` for the disclosure
  query (a person's rows, newest first), clustered by (person key, id) and written
  in sorted runs of the newest rows (``provision_store.index_persons``) instead of an
  index entry inserted at random per row. The rows above the run's mark
  (``node.persons_indexed_upto``) are found by a range scan of ``provisions``.
  ``ix_provisions_person_key`` goes; the rows already written form the first run.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

MARK = "persons_indexed_upto"


def upgrade() -> None:
    op.create_table(
        "pseudonyms",
        sa.Column("person_key", sa.String(length=32), nullable=False),
        sa.Column("sector", sa.Text(), nullable=False),
        sa.Column("pseudonym", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("person_key", "sector", name=op.f("pk_pseudonyms")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "provision_persons",
        sa.Column("person_key", sa.String(length=32), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("person_key", "id", name=op.f("pk_provision_persons")),
        sqlite_with_rowid=False,
    )
    op.execute("DROP INDEX IF EXISTS ix_provisions_person_key")
    op.execute(
        "INSERT INTO provision_persons (person_key, id, at) "
        "SELECT person_key, id, at FROM provisions ORDER BY person_key, id"
    )
    op.execute(
        f"INSERT INTO node (key, value) SELECT '{MARK}', "
        "CAST(COALESCE(MAX(id), 0) AS VARCHAR(20)) FROM provisions"
    )


def downgrade() -> None:
    op.execute(f"DELETE FROM node WHERE key = '{MARK}'")
    op.create_index(op.f("ix_provisions_person_key"), "provisions", ["person_key"], unique=False)
    op.drop_table("provision_persons")
    op.drop_table("pseudonyms")
