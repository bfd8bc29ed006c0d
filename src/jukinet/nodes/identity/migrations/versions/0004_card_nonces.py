"""the nonces of accepted card proofs

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 01:00:00.000000

- ``card_nonces``: the nonce of every card proof a node accepted for disclosure, until it
  expires, so that a proof is good once (R14; docs/network.md, "Disclosure and the card").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "card_nonces",
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("expires_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_card_nonces")),
    )
    op.create_index(op.f("ix_card_nonces_expires_at"), "card_nonces", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_card_nonces_expires_at"), table_name="card_nonces")
    op.drop_table("card_nonces")
