"""the resident cards the municipality issued

Revision ID: 0004_cards
Revises: 0003
Create Date: 2026-12-02 01:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_cards"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cards",
        sa.Column("card_number", sa.String(length=16), nullable=False),
        sa.Column("resident_code", sa.String(length=11), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("auth_serial", sa.String(length=40), nullable=False),
        sa.Column("sign_serial", sa.String(length=40), nullable=True),
        sa.Column("changed_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("replaced_by", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("card_number", name=op.f("pk_cards")),
    )
    op.create_index(op.f("ix_cards_resident_code"), "cards", ["resident_code"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_cards_resident_code"), table_name="cards")
    op.drop_table("cards")
