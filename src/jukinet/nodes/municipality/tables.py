"""The municipality register's tables (SQLAlchemy Core).

Current state lives in ``persons`` and ``households``; every version of both
lives in the history tables, so removed records (除票) and every past state stay
readable. Nothing here is ever deleted.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from jukinet.audit.tables import audit_tables
from jukinet.network.outbox import outbox_table
from jukinet.storage.database import NAMING_CONVENTION

metadata = MetaData(naming_convention=NAMING_CONVENTION)

node = Table(
    "node",
    metadata,
    Column("key", String(40), primary_key=True),
    Column("value", Text, nullable=False),
)


def _address_columns() -> list[Column[object]]:
    return [
        Column("lg_code", String(6), nullable=False),
        Column("municipality_name", Text, nullable=False),
        Column("town", Text, nullable=False),
        Column("block", Text, nullable=False),
        Column("building", Text, nullable=False),
    ]


persons = Table(
    "persons",
    metadata,
    Column("person_id", String(32), primary_key=True),
    Column("resident_code", String(11), nullable=False, unique=True),
    Column("family_name", Text, nullable=False),
    Column("given_name", Text, nullable=False),
    Column("family_kana", Text, nullable=False),
    Column("given_kana", Text, nullable=False),
    Column("date_of_birth", Date, nullable=False),
    Column("sex", String(6), nullable=False),
    Column("household_id", Integer, nullable=False, index=True),
    Column("relationship", Text, nullable=False),
    *_address_columns(),
    Column("domicile", Text, nullable=False),
    Column("domicile_head", Text, nullable=False),
    Column("became_resident_on", Date, nullable=False),
    Column("address_fixed_on", Date, nullable=False),
    Column("notified_on", Date, nullable=False),
    Column("previous_address", Text, nullable=False),
    Column("entry_reason", String(24), nullable=False),
    Column("entry_date", Date, nullable=False),
    Column("identity_changed_by", String(24), nullable=False),
    Column("identity_changed_on", Date, nullable=False),
    Column("removal_reason", String(24)),
    Column("removal_date", Date),
    Column("destination", Text, nullable=False),
    Column("version", Integer, nullable=False),
)

households = Table(
    "households",
    metadata,
    Column("household_id", Integer, primary_key=True, autoincrement=False),
    Column("head_person_id", String(32)),
    *_address_columns(),
    Column("dissolved_on", Date),
    Column("version", Integer, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("event_id", Integer, primary_key=True),
    Column("kind", String(24), nullable=False),
    Column("reason", String(24), nullable=False),
    Column("occurred_on", Date, nullable=False),
    Column("recorded_at", String(32), nullable=False),
    Column("operator", String(64), nullable=False),
    Column("payload", Text, nullable=False),
)

record_history = Table(
    "record_history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("person_id", String(32), nullable=False),
    Column("version", Integer, nullable=False),
    Column("event_id", ForeignKey("events.event_id"), nullable=False),
    Column("snapshot", Text, nullable=False),
    UniqueConstraint("person_id", "version"),
)

household_history = Table(
    "household_history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("household_id", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("event_id", ForeignKey("events.event_id"), nullable=False),
    Column("snapshot", Text, nullable=False),
    UniqueConstraint("household_id", "version"),
)

code_pool = Table(
    "code_pool",
    metadata,
    Column("code", String(11), primary_key=True),
    # Codes are drawn in the order of this random key, so assignment is random (R6).
    Column("draw_key", BigInteger, nullable=False),
    Column("assigned", Boolean, nullable=False),
    Column("received_at", String(32), nullable=False),
)
Index("ix_code_pool_unused", code_pool.c.assigned, code_pool.c.draw_key)

retired_codes = Table(
    "retired_codes",
    metadata,
    Column("code", String(11), primary_key=True),
    Column("person_id", String(32), nullable=False, index=True),
    Column("retired_on", Date, nullable=False),
    Column("event_id", ForeignKey("events.event_id"), nullable=False),
)

operators = Table(
    "operators",
    metadata,
    Column("operator_id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("full_name", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("node_code", String(6), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("trained_on", Date),
    Column("pledge_signed_on", Date),
    Column("failed_attempts", Integer, nullable=False),
    Column("locked", Boolean, nullable=False),
    Column("created_at", String(32), nullable=False),
)

# Operator cards (R11): the card's certified authentication key bound to an account.
# An account has at most one card not revoked; a revoked binding is kept (never deleted).
operator_cards = Table(
    "operator_cards",
    metadata,
    Column("card_id", Integer, primary_key=True),
    Column("operator_id", ForeignKey("operators.operator_id"), nullable=False),
    Column("public_key", String(64), nullable=False, unique=True),
    Column("certificate", Text, nullable=False),
    Column("issued_at", String(32), nullable=False),
    Column("revoked_at", String(32)),
    Index("ix_operator_cards_operator_id", "operator_id"),
)

# The resident cards this municipality issued (R15–R17): one row per card, its state
# changed in place by each life-cycle step (audited; domain/card.py says which are legal).
cards = Table(
    "cards",
    metadata,
    Column("card_number", String(16), primary_key=True),
    Column("resident_code", String(11), nullable=False, index=True),
    Column("state", String(10), nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("valid_until", Date, nullable=False),
    Column("auth_serial", String(40), nullable=False),
    Column("sign_serial", String(40)),
    Column("changed_on", Date, nullable=False),
    Column("reason", Text, nullable=False),
    Column("replaced_by", String(16)),
)

# The municipality's code has 6 characters (the column predates other node kinds).
_audit = audit_tables(metadata, node_length=6)
audit_log, audit_head = _audit.log, _audit.head

# Identity updates (R1) waiting for, or already given to, the prefecture: written in
# the same transaction as the event that changed the identity (docs/network.md).
outbox = outbox_table(metadata)

# Copies of the resident record this municipality issued and signed (docs/copies.md):
# one row per copy, never changed; the verification endpoint answers from it.
issued_copies = Table(
    "issued_copies",
    metadata,
    Column("serial", String(32), primary_key=True),  # unique per municipality
    Column("issued_at", String(32), nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("clerk", String(80), nullable=False),
    Column("subject_code", String(11), nullable=False, index=True),
    Column("digest", String(64), nullable=False),
    Column("options", Text, nullable=False),  # JSON of the CopyOptions asked for
    Column("wide_area", Boolean, nullable=False),
    Column("home_code", String(6), nullable=False),
)

# Moving with the card (R21, docs/flows.md "Moving with the card"). At the old
# municipality: each planned move-out (付記転出届) and what became of it. At the new
# one: the move-out certificate information (転出証明書情報) received, pending until
# the move-in uses it. Between the two: the messages sent to each municipality under
# this node's own seq towards it, and the ones taken from each sender (dedupe).
planned_moves = Table(
    "planned_moves",
    metadata,
    Column("move_id", Integer, primary_key=True, autoincrement=False),
    Column("holder", String(11), nullable=False, index=True),
    Column("persons", Text, nullable=False),  # JSON list of resident codes, holder first
    Column("destination_code", String(6), nullable=False),
    Column("destination", Text, nullable=False),
    Column("new_head", String(11)),
    Column("planned_on", Date, nullable=False),
    Column("notified_on", Date, nullable=False),
    Column("channel", String(8), nullable=False),  # mail or online
    Column("signed", Text),  # the online notification as it was received, signed
    Column("state", String(10), nullable=False),  # planned, cancelled, completed
    Column("changed_at", String(32), nullable=False),
    Column("moved_on", Date),
    Column("event_id", ForeignKey("events.event_id")),
)

incoming_moves = Table(
    "incoming_moves",
    metadata,
    Column("origin", String(6), primary_key=True),
    Column("move_id", Integer, primary_key=True, autoincrement=False),
    Column("holder", String(11), nullable=False, index=True),
    Column("certificate", Text, nullable=False),  # the MoveOutCertificate as JSON
    Column("state", String(10), nullable=False),  # pending, cancelled, used
    Column("received_at", String(32), nullable=False),
    Column("changed_at", String(32), nullable=False),
    Column("event_id", ForeignKey("events.event_id")),
)

moving_outbox = Table(
    "moving_outbox",
    metadata,
    Column("receiver", String(6), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("payload", Text, nullable=False),  # the MovingMessage as JSON
    Column("created_at", String(32), nullable=False),
    Column("delivered_at", String(32)),
)

moving_inbox = Table(
    "moving_inbox",
    metadata,
    Column("sender", String(6), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("digest", String(64), nullable=False),  # SHA-256 of the message body
    Column("outcome", Text, nullable=False),  # taken, or why it was refused
    Column("received_at", String(32), nullable=False),
)

# Wide-area copies (R20, 第12条の4): every request another municipality had answered
# here, by its request id, so that the same request is never answered twice (a replay).
wide_area_requests = Table(
    "wide_area_requests",
    metadata,
    Column("request_id", String(32), primary_key=True),
    Column("caller", String(64), nullable=False),
    Column("subject", String(11), nullable=False),
    Column("answered_at", String(32), nullable=False),
)
