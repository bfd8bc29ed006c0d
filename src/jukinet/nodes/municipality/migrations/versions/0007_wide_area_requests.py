"""wide-area requests: the request ids this municipality answered (R20, 第12条の4)

Revision ID: 0007_wide_area_requests
Revises: 0006_moving_with_the_card
Create Date: 2026-12-02 03:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_wide_area_requests"
down_revision = "0006_moving_with_the_card"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wide_area_requests",
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("caller", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=11), nullable=False),
        sa.Column("answered_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_wide_area_requests")),
    )


def downgrade() -> None:
    op.drop_table("wide_area_requests")
