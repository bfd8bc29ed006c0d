"""The national node's schema: the identity tables (``nodes/identity/tables.py``), the
code registry (R6), every resident code ever issued to a municipality, and the JPKI
certification authority's records (R15): every certificate it issued to a card key,
every revocation, and the CRLs it signed (docs/jpki.md)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, LargeBinary, String, Table

from jukinet.nodes.identity.schema import kind_metadata

metadata = kind_metadata()

issued_codes = Table(
    "issued_codes",
    metadata,
    Column("code", String(11), primary_key=True),
    Column("municipality", String(6), nullable=False),
    Column("issued_at", String(32), nullable=False),
)

# One row per certificate issued, never changed. ``person_key`` ties it to the person
# (identities.person_key), so that it follows a code change (R6) and is revoked when
# their identity changes; ``resident_code`` is the code as the municipality asked.
jpki_certificates = Table(
    "jpki_certificates",
    metadata,
    Column("serial", String(40), primary_key=True),  # hex, 40 digits
    Column("kind", String(16), nullable=False),  # signing | authentication
    Column("person_key", String(32), nullable=False, index=True),
    Column("resident_code", String(11), nullable=False),
    Column("municipality", String(6), nullable=False),  # who asked for it
    Column("issued_at", String(32), nullable=False),
    Column("not_after", String(32), nullable=False),
    Column("der", LargeBinary, nullable=False),
)

# At most one revocation per certificate; rows are never changed or deleted.
jpki_revocations = Table(
    "jpki_revocations",
    metadata,
    Column("serial", String(40), ForeignKey("jpki_certificates.serial"), primary_key=True),
    Column("revoked_at", String(32), nullable=False),
    Column("reason", String(20), nullable=False),  # jukinet.jpki.Reason
    Column("revoked_by", String(64), nullable=False),  # a municipality, or this node
    Column("detail", String(200), nullable=False),
)

# Every CRL the CA signed, newest = highest number. ``revocations`` is how many
# revocation rows existed when it was signed: fewer now means it is out of date.
jpki_crls = Table(
    "jpki_crls",
    metadata,
    Column("number", BigInteger, primary_key=True, autoincrement=False),
    Column("this_update", String(32), nullable=False),
    Column("next_update", String(32), nullable=False),
    Column("revocations", Integer, nullable=False),
    Column("der", LargeBinary, nullable=False),
)
