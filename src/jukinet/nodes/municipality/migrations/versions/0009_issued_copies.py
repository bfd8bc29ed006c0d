"""issued copies: every signed copy of the resident record this municipality issued

Revision ID: 0009_issued_copies
Revises: 0008_audit_merkle_tree
Create Date: 2026-12-02 03:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_issued_copies"
down_revision = "0008_audit_merkle_tree"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "issued_copies",
        sa.Column("serial", sa.String(length=32), nullable=False),
        sa.Column("issued_at", sa.String(length=32), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("clerk", sa.String(length=80), nullable=False),
        sa.Column("subject_code", sa.String(length=11), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("wide_area", sa.Boolean(), nullable=False),
        sa.Column("home_code", sa.String(length=6), nullable=False),
        sa.PrimaryKeyConstraint("serial", name=op.f("pk_issued_copies")),
    )
    op.create_index(
        op.f("ix_issued_copies_subject_code"), "issued_copies", ["subject_code"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_issued_copies_subject_code"), table_name="issued_copies")
    op.drop_table("issued_copies")
