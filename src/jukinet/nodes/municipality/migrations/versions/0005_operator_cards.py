"""operator cards: the certified key of each operator's card, bound to the account (R11)

Revision ID: 0005_operator_cards
Revises: 0003
Create Date: 2026-12-02 00:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_operator_cards"
down_revision = "0004_cards"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operator_cards",
        sa.Column("card_id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("certificate", sa.Text(), nullable=False),
        sa.Column("issued_at", sa.String(length=32), nullable=False),
        sa.Column("revoked_at", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.operator_id"],
            name=op.f("fk_operator_cards_operator_id_operators"),
        ),
        sa.PrimaryKeyConstraint("card_id", name=op.f("pk_operator_cards")),
        sa.UniqueConstraint("public_key", name=op.f("uq_operator_cards_public_key")),
    )
    op.create_index("ix_operator_cards_operator_id", "operator_cards", ["operator_id"])


def downgrade() -> None:
    op.drop_index("ix_operator_cards_operator_id", table_name="operator_cards")
    op.drop_table("operator_cards")
