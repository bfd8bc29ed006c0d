"""moving with the card: planned move-outs, received certificate information, and the
messages between municipalities (R21)

Revision ID: 0006_moving_with_the_card
Revises: 0005_operator_cards
Create Date: 2026-12-02 03:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_moving_with_the_card"
down_revision = "0005_operator_cards"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "planned_moves",
        sa.Column("move_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("holder", sa.String(length=11), nullable=False),
        sa.Column("persons", sa.Text(), nullable=False),
        sa.Column("destination_code", sa.String(length=6), nullable=False),
        sa.Column("destination", sa.Text(), nullable=False),
        sa.Column("new_head", sa.String(length=11), nullable=True),
        sa.Column("planned_on", sa.Date(), nullable=False),
        sa.Column("notified_on", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("signed", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("changed_at", sa.String(length=32), nullable=False),
        sa.Column("moved_on", sa.Date(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.event_id"], name=op.f("fk_planned_moves_event_id_events")
        ),
        sa.PrimaryKeyConstraint("move_id", name=op.f("pk_planned_moves")),
    )
    op.create_index(op.f("ix_planned_moves_holder"), "planned_moves", ["holder"])
    op.create_table(
        "incoming_moves",
        sa.Column("origin", sa.String(length=6), nullable=False),
        sa.Column("move_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("holder", sa.String(length=11), nullable=False),
        sa.Column("certificate", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("received_at", sa.String(length=32), nullable=False),
        sa.Column("changed_at", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.event_id"], name=op.f("fk_incoming_moves_event_id_events")
        ),
        sa.PrimaryKeyConstraint("origin", "move_id", name=op.f("pk_incoming_moves")),
    )
    op.create_index(op.f("ix_incoming_moves_holder"), "incoming_moves", ["holder"])
    op.create_table(
        "moving_outbox",
        sa.Column("receiver", sa.String(length=6), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("delivered_at", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("receiver", "seq", name=op.f("pk_moving_outbox")),
    )
    op.create_table(
        "moving_inbox",
        sa.Column("sender", sa.String(length=6), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("received_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("sender", "seq", name=op.f("pk_moving_inbox")),
    )


def downgrade() -> None:
    op.drop_table("moving_inbox")
    op.drop_table("moving_outbox")
    op.drop_index(op.f("ix_incoming_moves_holder"), table_name="incoming_moves")
    op.drop_table("incoming_moves")
    op.drop_index(op.f("ix_planned_moves_holder"), table_name="planned_moves")
    op.drop_table("planned_moves")
