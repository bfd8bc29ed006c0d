"""the provision log: one Merkle-tree leaf per provision row (R14)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 07:00:00.000000

- ``provisions`` gains ``leaf`` (its index in the provision log), ``basis`` (the
  affair's legal basis) and ``commitment`` (the keyed commitment to the person). Rows
  of an existing node have none until the node logs them when it starts
  (``nodes/identity/provision_log.catch_up``).
- ``provision_tree``, ``provision_head``, ``provision_checkpoints``: the log's stored
  hashes, head and signed checkpoints (docs/audit.md, "The provision log").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("provisions") as batch:
        batch.add_column(sa.Column("leaf", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("basis", sa.Text(), nullable=True))
        batch.add_column(sa.Column("commitment", sa.String(length=64), nullable=True))
        batch.create_unique_constraint(op.f("uq_provisions_leaf"), ["leaf"])
    op.create_table(
        "provision_tree",
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("idx", name=op.f("pk_provision_tree")),
    )
    op.create_table(
        "provision_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("edge", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provision_head")),
    )
    op.create_table(
        "provision_checkpoints",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("cosignatures", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("size", name=op.f("pk_provision_checkpoints")),
    )


def downgrade() -> None:
    op.drop_table("provision_checkpoints")
    op.drop_table("provision_head")
    op.drop_table("provision_tree")
    with op.batch_alter_table("provisions") as batch:
        batch.drop_constraint(op.f("uq_provisions_leaf"), type_="unique")
        batch.drop_column("commitment")
        batch.drop_column("basis")
        batch.drop_column("leaf")
