"""provision to administrative bodies: provision log, folded names, pseudonym secret

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 10:00:00.000000

- ``provisions``: one row per person provided per call (R2, R14), append-only, kept
  7 years (no pruning job yet).
- ``identities.name_folded`` / ``address_folded``: the name and address folded by
  ``jukinet.domain.names.fold`` for search by the 4 items; derived, no new
  information; backfilled here, kept in step by ``applying.write``.
- ``node.pseudonym_secret``: 32 random bytes (hex), the key of the sector
  pseudonyms (``jukinet.nodes.identity.pseudonym``).
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

from jukinet.domain.names import fold

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_identities = sa.table(
    "identities",
    sa.column("resident_code", sa.String),
    sa.column("name", sa.Text),
    sa.column("address", sa.Text),
    sa.column("name_folded", sa.Text),
    sa.column("address_folded", sa.Text),
)
_node = sa.table("node", sa.column("key", sa.String), sa.column("value", sa.Text))


def upgrade() -> None:
    op.create_table(
        "provisions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("affair", sa.String(length=64), nullable=False),
        sa.Column("function", sa.String(length=8), nullable=False),
        sa.Column("person_key", sa.String(length=32), nullable=False),
        sa.Column("resident_code", sa.String(length=11), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provisions")),
    )
    op.create_index(op.f("ix_provisions_at"), "provisions", ["at"], unique=False)
    op.create_index(op.f("ix_provisions_person_key"), "provisions", ["person_key"], unique=False)

    op.add_column("identities", sa.Column("name_folded", sa.Text(), nullable=True))
    op.add_column("identities", sa.Column("address_folded", sa.Text(), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.select(_identities.c.resident_code, _identities.c.name,
                                  _identities.c.address)).all()  # fmt: skip
    for code, name, address in rows:
        conn.execute(
            sa.update(_identities)
            .where(_identities.c.resident_code == code)
            .values(name_folded=fold(name), address_folded=fold(address))
        )
    with op.batch_alter_table("identities") as batch:
        batch.alter_column("name_folded", existing_type=sa.Text(), nullable=False)
        batch.alter_column("address_folded", existing_type=sa.Text(), nullable=False)
    op.create_index(
        "ix_identities_name_folded", "identities", ["name_folded", "date_of_birth"], unique=False
    )

    conn.execute(sa.insert(_node).values(key="pseudonym_secret", value=secrets.token_hex(32)))


def downgrade() -> None:
    conn = op.get_bind()
    conn.execute(sa.delete(_node).where(_node.c.key == "pseudonym_secret"))
    op.drop_index("ix_identities_name_folded", table_name="identities")
    with op.batch_alter_table("identities") as batch:
        batch.drop_column("address_folded")
        batch.drop_column("name_folded")
    op.drop_index(op.f("ix_provisions_person_key"), table_name="provisions")
    op.drop_index(op.f("ix_provisions_at"), table_name="provisions")
    op.drop_table("provisions")
