"""quarantine of refused identity updates

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-10 10:00:00.000000

- ``quarantine``: one row per update refused on arrival (the update, the reason, the
  operator's decision), so that a refused update no longer blocks its sender's queue
  (docs/network.md, "Quarantine").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quarantine",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("sender", sa.String(length=64), nullable=False),
        sa.Column("sender_seq", sa.BigInteger(), nullable=False),
        sa.Column("resident_code", sa.String(length=11), nullable=False),
        sa.Column("previous_code", sa.String(length=11), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("quarantined_at", sa.String(length=32), nullable=False),
        sa.Column("resolution", sa.String(length=8), nullable=True),
        sa.Column("resolved_at", sa.String(length=32), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
        sa.UniqueConstraint("sender", "sender_seq", name=op.f("uq_quarantine_sender_sender_seq")),
    )
    op.create_index(
        op.f("ix_quarantine_resident_code"), "quarantine", ["resident_code"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_quarantine_resident_code"), table_name="quarantine")
    op.drop_table("quarantine")
