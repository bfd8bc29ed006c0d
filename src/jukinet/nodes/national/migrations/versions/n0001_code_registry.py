"""the national code registry (R6): every resident code ever issued

Revision ID: national_0001
Revises:
Depends on: 0001 (the shared identity tables)
Create Date: 2026-12-01 20:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "national_0001"
down_revision = None
branch_labels = ("national",)
depends_on = "0001"


def upgrade() -> None:
    op.create_table(
        "issued_codes",
        sa.Column("code", sa.String(length=11), nullable=False),
        sa.Column("municipality", sa.String(length=6), nullable=False),
        sa.Column("issued_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_issued_codes")),
    )


def downgrade() -> None:
    op.drop_table("issued_codes")
