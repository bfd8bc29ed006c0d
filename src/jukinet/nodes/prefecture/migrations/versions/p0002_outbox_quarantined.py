"""the outbox marks updates the national node holds in quarantine

Revision ID: prefecture_0002
Revises: prefecture_0001
Create Date: 2026-12-10 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "prefecture_0002"
down_revision = "prefecture_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("quarantined_at", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("quarantined_at")
