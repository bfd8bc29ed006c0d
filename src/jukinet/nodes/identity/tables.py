"""The tables every identity node holds: identity information only (R1).

Prefecture and national nodes hold only identity confirmation information
(本人確認情報): the four items, the resident code, the change information (reason,
date), the status, and the bookkeeping of delivery and provision. No table has a
column for anything else; a test pins the column sets. Each kind adds its own
tables in ``nodes/<kind>/tables.py`` (the national code registry, the prefecture's
outbox) and migrates them in its own chain on top of the shared one
(``nodes/identity/migrations/versions``). Queries use the tables of this module.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from jukinet.audit.tables import audit_tables
from jukinet.storage.database import NAMING_CONVENTION

security_log = logging.getLogger("jukinet.security")

metadata = MetaData(naming_convention=NAMING_CONVENTION)

_Id = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER keys only


def _identity_columns() -> list[Column[Any]]:
    """The four items, the status and the change information (R1) — and nothing else."""
    return [
        Column("name", Text, nullable=False),
        Column("date_of_birth", Date, nullable=False),
        Column("sex", String(6), nullable=False),
        Column("address", Text, nullable=False),
        Column("status", String(8), nullable=False),
        Column("change_reason", String(32), nullable=False),
        Column("change_date", Date, nullable=False),
        Column("origin", String(6), nullable=False),  # the municipality that recorded it
        Column("recorded_at", String(40), nullable=False),  # when it was recorded there
    ]


node = Table(
    "node",
    metadata,
    Column("key", String(40), primary_key=True),
    Column("value", Text, nullable=False),
)

# Current identity per resident code. ``person_key`` is this node's own random link
# between the codes one person has held (R6 code changes); it means nothing elsewhere.
identities = Table(
    "identities",
    metadata,
    Column("resident_code", String(11), primary_key=True),
    Column("person_key", String(32), nullable=False, index=True),
    *_identity_columns(),
    Column("applied_at", String(32), nullable=False),
    # Derived from name and address (jukinet.domain.names.fold), for search by the 4
    # items: no new information, kept in step on every write (applying.write).
    Column("name_folded", Text, nullable=False),
    Column("address_folded", Text, nullable=False),
)
Index("ix_identities_origin", identities.c.origin, identities.c.resident_code)  # export
Index("ix_identities_name_folded", identities.c.name_folded, identities.c.date_of_birth)

# One row per applied update, never changed: the full change history (R22).
identity_history = Table(
    "identity_history",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("person_key", String(32), nullable=False, index=True),
    Column("resident_code", String(11), nullable=False),
    Column("previous_code", String(11)),
    *_identity_columns(),
    Column("sender", String(64), nullable=False),
    Column("sender_seq", BigInteger, nullable=False),
    Column("applied_at", String(32), nullable=False),
    # An update is applied once, whatever the sender resends.
    UniqueConstraint("sender", "sender_seq"),
)

# Codes retired by a code change (R6): never usable again, still leading to the person.
retired_codes = Table(
    "retired_codes",
    metadata,
    Column("code", String(11), primary_key=True),
    Column("person_key", String(32), nullable=False, index=True),
    Column("retired_on", Date, nullable=False),
)

# Each person's sector pseudonym (``pseudonym``), kept once computed so that a batch
# reads it with the identity (``pseudonym_store``). Derived from the person key and the
# node's secret: no new information (R1). A person keeps the key across code changes
# (R6), so a row never needs to change; rows are made on a person's first provision
# in the sector.
pseudonyms = Table(
    "pseudonyms",
    metadata,
    Column("person_key", String(32), primary_key=True),
    Column("sector", Text, primary_key=True),
    Column("pseudonym", String(20), nullable=False),
    sqlite_with_rowid=False,
)

inbox_state = Table(
    "inbox_state",
    metadata,
    Column("sender", String(64), primary_key=True),
    Column("last_seq", BigInteger, nullable=False),
    Column("updated_at", String(32), nullable=False),
)

# Updates refused on arrival, kept instead of applied (docs/network.md, "Quarantine"):
# the update as it came (identity information only, R1), why it was refused, and the
# operator's decision. The sender's queue goes on past it; a later update of the same
# person from the same sender waits here too. Rows are never deleted.
quarantine = Table(
    "quarantine",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("sender", String(64), nullable=False),
    Column("sender_seq", BigInteger, nullable=False),
    Column("resident_code", String(11), nullable=False, index=True),
    Column("previous_code", String(11)),
    Column("payload", Text, nullable=False),  # the IdentityUpdate as JSON
    Column("reason", Text, nullable=False),
    Column("quarantined_at", String(32), nullable=False),
    Column("resolution", String(8)),  # released | dropped; NULL while open
    Column("resolved_at", String(32)),
    Column("resolved_by", String(64)),
    Column("note", Text),
    UniqueConstraint("sender", "sender_seq"),
)

# One row per person provided per call to an administrative body (R2, R14): who got
# what about whom, when, for which affair. Written in the same transaction as the
# answer is decided; append-only (no code updates a row). Kept 7 years, then pruned
# (``provision_retention``; on PostgreSQL partitioned by month, migration 0007).
# ``person_key`` ties the rows of one person across
# code changes (R6) for disclosure; ``resident_code`` is the code as asked.
provisions = Table(
    "provisions",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("at", String(32), nullable=False, index=True),
    Column("node", String(64), nullable=False),  # this node's id
    Column("agency", String(64), nullable=False),  # the caller's node id
    Column("recipient", String(64), nullable=False),  # legal-table recipient code
    Column("affair", String(64), nullable=False),
    Column("function", String(8), nullable=False),  # lookup | search | verify | batch
    Column("person_key", String(32), nullable=False),  # indexed by provision_persons
    Column("resident_code", String(11), nullable=False),
    Column("fields", Text, nullable=False),  # comma-separated; "" for verify
    Column("request_id", String(32), nullable=False),
    # The row's leaf in the provision log (provision_log.py): its index, the affair's
    # legal basis when provided, and the keyed commitment to the person (never the code).
    # NULL on rows written before the log existed, until the node logs them on start.
    Column("leaf", BigInteger, unique=True),
    Column("basis", Text),
    Column("commitment", String(64)),
    # An agency's own history (provision_history): its rows in time order (migration 0009).
    Index("ix_provisions_agency_at", "agency", "at", "id"),
)

# One row per signed request that provided anything (R2, R7, R14; docs/network.md,
# "Non-repudiation"): what the caller sent and signed, kept so that anyone holding the
# caller's public key can show, offline, that the agency asked for what its provision
# rows say. The provision rows of the request carry its ``request_id``. The signature
# (RFC 9421, the network's one shape) covers the method, the URL's authority, path and
# query and the Content-Digest, and the digest covers the body: with the body stored
# too, the resident code and affair asked are themselves signed. ``public_key`` is the
# signer's Ed25519 key as the directory listed it when the request was verified (keys
# rotate), ``certificate`` the SHA-256 of the TLS client certificate it came over (NULL
# for a request that came over no TLS, in process). Append-only, pruned with the
# provision rows (``provision_retention``).
provision_requests = Table(
    "provision_requests",
    metadata,
    Column("request_id", String(32), primary_key=True),
    Column("at", String(32), nullable=False, index=True),
    Column("keyid", String(64), nullable=False),  # the signer: the caller's node id
    Column("method", String(8), nullable=False),
    Column("url", Text, nullable=False),  # as the caller addressed it (what it signed)
    Column("content_digest", Text, nullable=False),
    Column("signature_input", Text, nullable=False),
    Column("signature", Text, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("public_key", String(64), nullable=False),  # hex, 32 bytes raw Ed25519
    Column("certificate", String(64)),  # hex SHA-256 of the client certificate (DER)
)

# The person index of ``provisions`` for the disclosure query (a person's rows, newest
# first): clustered by (person key, id), written in sorted runs of the newest rows
# (``provision_store.index_persons``) rather than an entry at random per row; the rows
# above the last run (``node.persons_indexed_upto``) are read by a range scan.
provision_persons = Table(
    "provision_persons",
    metadata,
    Column("person_key", String(32), primary_key=True),
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("at", String(32), nullable=False),
    sqlite_with_rowid=False,
)

# The provision log's Merkle tree (R14; docs/audit.md, "The provision log"): the stored
# hashes in Go tlog's layout, the head (size, root, right edge) and the signed
# checkpoints, like the audit log's own (audit/tables.py).
provision_tree = Table(
    "provision_tree",
    metadata,
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)
provision_head = Table(
    "provision_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("size", BigInteger, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("edge", LargeBinary, nullable=False),
)
provision_checkpoints = Table(
    "provision_checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("at", String(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("cosignatures", Text, nullable=False, default=""),
)

# The nonces of the card proofs this node accepted (R14; docs/network.md, "Disclosure
# and the card"): a proof is good once. A row is kept until ``expires_at`` (the proof's
# time plus the allowed clock skew), after which the proof is refused as stale anyway.
card_nonces = Table(
    "card_nonces",
    metadata,
    Column("nonce", String(32), primary_key=True),
    Column("expires_at", String(32), nullable=False, index=True),
)

_audit = audit_tables(metadata)
audit_log, audit_head = _audit.log, _audit.head
