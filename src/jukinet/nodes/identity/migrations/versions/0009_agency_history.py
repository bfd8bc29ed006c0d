"""an agency's own provision history: its rows in time order

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 16:30:00.000000

``POST /provision/history`` (``nodes/identity/provision_history``) reads one agency's
provision rows of a window of time, in (at, id) order, a page at a time by keyset:
the index ``ix_provisions_agency_at`` (agency, at, id) is that range, already sorted.
On PostgreSQL the index of the partitioned table is made on every month's partition,
and on those made later (migration 0007).
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_provisions_agency_at", "provisions", ["agency", "at", "id"])


def downgrade() -> None:
    op.drop_index("ix_provisions_agency_at", table_name="provisions")
