"""the municipality register

Revision ID: 0001
Revises:
Create Date: 2026-11-26 19:52:42.762844
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("node", sa.String(length=6), nullable=False),
        sa.Column("operation", sa.String(length=48), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
    )
    op.create_table(
        "code_pool",
        sa.Column("code", sa.String(length=11), nullable=False),
        sa.Column("draw_key", sa.BigInteger(), nullable=False),
        sa.Column("assigned", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_code_pool")),
    )
    op.create_index("ix_code_pool_unused", "code_pool", ["assigned", "draw_key"], unique=False)
    op.create_table(
        "events",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.String(length=32), nullable=False),
        sa.Column("operator", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_events")),
    )
    op.create_table(
        "households",
        sa.Column("household_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("head_person_id", sa.String(length=32), nullable=True),
        sa.Column("lg_code", sa.String(length=6), nullable=False),
        sa.Column("municipality_name", sa.Text(), nullable=False),
        sa.Column("town", sa.Text(), nullable=False),
        sa.Column("block", sa.Text(), nullable=False),
        sa.Column("building", sa.Text(), nullable=False),
        sa.Column("dissolved_on", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("household_id", name=op.f("pk_households")),
    )
    op.create_table(
        "node",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_node")),
    )
    op.create_table(
        "operators",
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("full_name", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("node_code", sa.String(length=6), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("trained_on", sa.Date(), nullable=True),
        sa.Column("pledge_signed_on", sa.Date(), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("operator_id", name=op.f("pk_operators")),
        sa.UniqueConstraint("username", name=op.f("uq_operators_username")),
    )
    op.create_table(
        "persons",
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("resident_code", sa.String(length=11), nullable=False),
        sa.Column("family_name", sa.Text(), nullable=False),
        sa.Column("given_name", sa.Text(), nullable=False),
        sa.Column("family_kana", sa.Text(), nullable=False),
        sa.Column("given_kana", sa.Text(), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(length=6), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("relationship", sa.Text(), nullable=False),
        sa.Column("lg_code", sa.String(length=6), nullable=False),
        sa.Column("municipality_name", sa.Text(), nullable=False),
        sa.Column("town", sa.Text(), nullable=False),
        sa.Column("block", sa.Text(), nullable=False),
        sa.Column("building", sa.Text(), nullable=False),
        sa.Column("domicile", sa.Text(), nullable=False),
        sa.Column("domicile_head", sa.Text(), nullable=False),
        sa.Column("became_resident_on", sa.Date(), nullable=False),
        sa.Column("address_fixed_on", sa.Date(), nullable=False),
        sa.Column("notified_on", sa.Date(), nullable=False),
        sa.Column("previous_address", sa.Text(), nullable=False),
        sa.Column("entry_reason", sa.String(length=24), nullable=False),
        sa.Column("entry_date", sa.Date(), nullable=False),
        sa.Column("identity_changed_by", sa.String(length=24), nullable=False),
        sa.Column("identity_changed_on", sa.Date(), nullable=False),
        sa.Column("removal_reason", sa.String(length=24), nullable=True),
        sa.Column("removal_date", sa.Date(), nullable=True),
        sa.Column("destination", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_persons")),
        sa.UniqueConstraint("resident_code", name=op.f("uq_persons_resident_code")),
    )
    op.create_index(op.f("ix_persons_household_id"), "persons", ["household_id"], unique=False)
    op.create_table(
        "household_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.event_id"], name=op.f("fk_household_history_event_id_events")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household_history")),
        sa.UniqueConstraint(
            "household_id", "version", name=op.f("uq_household_history_household_id_version")
        ),
    )
    op.create_table(
        "record_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.event_id"], name=op.f("fk_record_history_event_id_events")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_history")),
        sa.UniqueConstraint(
            "person_id", "version", name=op.f("uq_record_history_person_id_version")
        ),
    )
    op.create_table(
        "retired_codes",
        sa.Column("code", sa.String(length=11), nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("retired_on", sa.Date(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.event_id"], name=op.f("fk_retired_codes_event_id_events")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_retired_codes")),
    )
    op.create_index(
        op.f("ix_retired_codes_person_id"), "retired_codes", ["person_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_retired_codes_person_id"), table_name="retired_codes")
    op.drop_table("retired_codes")
    op.drop_table("record_history")
    op.drop_table("household_history")
    op.drop_index(op.f("ix_persons_household_id"), table_name="persons")
    op.drop_table("persons")
    op.drop_table("operators")
    op.drop_table("node")
    op.drop_table("households")
    op.drop_table("events")
    op.drop_index("ix_code_pool_unused", table_name="code_pool")
    op.drop_table("code_pool")
    op.drop_table("audit_log")
    op.drop_table("audit_head")
