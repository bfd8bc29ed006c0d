"""sector pseudonyms kept per person and sector

Revision ID: 0008_hj_pseudonyms
Revises: 0007
Create Date: 2026-12-02 16:00:00.000000

``pseudonyms`` holds each person's sector pseudonym once it has been computed
(``nodes/identity/pseudonym_store``): a batch reads it with the identity instead of
computing an HMAC and its base32 per person and call. Derived from the person key
and the node's secret only (no new information, R1); nothing to move on upgrade, as
the rows are made when first needed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_hj_pseudonyms"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pseudonyms",
        sa.Column("person_key", sa.String(length=32), nullable=False),
        sa.Column("sector", sa.Text(), nullable=False),
        sa.Column("pseudonym", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("person_key", "sector", name=op.f("pk_pseudonyms")),
    )


def downgrade() -> None:
    op.drop_table("pseudonyms")
