"""The JPKI CA's records in the national database (R15): queries of ``jpki_certificates``,
``jpki_revocations`` and ``jpki_crls`` (``nodes/national/tables.py``), each inside the
caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Connection, func, insert, select

from jukinet.jpki import Kind, Reason, Revoked
from jukinet.nodes.identity.tables import identities
from jukinet.nodes.national.tables import jpki_certificates, jpki_crls, jpki_revocations

__all__ = [
    "Held",
    "Issued",
    "LatestCrl",
    "active_certificates",
    "bound",
    "held_identity",
    "latest_crl",
    "record_certificate",
    "record_crl",
    "record_revocation",
    "revocation_count",
    "revoked_for_crl",
    "serial_hex",
    "stamp",
]


def serial_hex(serial: int) -> str:
    return f"{serial:040x}"


def stamp(moment: datetime) -> str:
    """A time as stored: ISO 8601 in UTC, so that stored times compare as text."""
    return moment.astimezone(UTC).isoformat()


@dataclass(frozen=True, slots=True)
class Held:
    """The national identity record a certificate is issued from (R1 items only)."""

    person_key: str
    resident_code: str
    name: str
    date_of_birth: date
    sex: str
    address: str
    status: str
    origin: str


@dataclass(frozen=True, slots=True)
class Issued:
    """A certificate of the CA that is neither revoked nor expired."""

    serial: str
    kind: Kind
    resident_code: str


@dataclass(frozen=True, slots=True)
class LatestCrl:
    number: int
    this_update: datetime
    revocations: int
    der: bytes


def held_identity(conn: Connection, resident_code: str) -> Held | None:
    """The identity held now under exactly this code (not a retired one)."""
    row = conn.execute(
        select(
            identities.c.person_key, identities.c.resident_code, identities.c.name,
            identities.c.date_of_birth, identities.c.sex, identities.c.address,
            identities.c.status, identities.c.origin,
        ).where(identities.c.resident_code == resident_code)
    ).first()  # fmt: skip
    return Held(**row._mapping) if row else None


def active_certificates(
    conn: Connection, person_key: str, kinds: Iterable[Kind], now: datetime
) -> list[Issued]:
    """The person's certificates of ``kinds`` not revoked and not yet expired."""
    revoked = select(jpki_revocations.c.serial)
    rows = conn.execute(
        select(jpki_certificates.c.serial, jpki_certificates.c.kind,
               jpki_certificates.c.resident_code)
        .where(
            jpki_certificates.c.person_key == person_key,
            jpki_certificates.c.kind.in_([k.value for k in kinds]),
            jpki_certificates.c.not_after >= stamp(now),
            jpki_certificates.c.serial.not_in(revoked),
        )
        .order_by(jpki_certificates.c.issued_at)
    ).all()  # fmt: skip
    return [Issued(r.serial, Kind(r.kind), r.resident_code) for r in rows]


def record_certificate(
    conn: Connection,
    *,
    serial: int,
    kind: Kind,
    held: Held,
    municipality: str,
    issued_at: datetime,
    not_after: datetime,
    der: bytes,
) -> None:
    conn.execute(
        insert(jpki_certificates).values(
            serial=serial_hex(serial), kind=kind.value, person_key=held.person_key,
            resident_code=held.resident_code, municipality=municipality,
            issued_at=stamp(issued_at), not_after=stamp(not_after), der=der,
        )
    )  # fmt: skip


def record_revocation(
    conn: Connection, serial: str, at: datetime, reason: Reason, by: str, detail: str
) -> None:
    conn.execute(
        insert(jpki_revocations).values(
            serial=serial, revoked_at=stamp(at), reason=reason.value, revoked_by=by,
            detail=detail[:200],
        )
    )  # fmt: skip


def revocation_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(jpki_revocations)).scalar_one())


def revoked_for_crl(conn: Connection, now: datetime) -> list[Revoked]:
    """Every revoked certificate not yet expired (an expired one may leave the CRL,
    RFC 5280 §3.3), by serial."""
    rows = conn.execute(
        select(jpki_revocations.c.serial, jpki_revocations.c.revoked_at,
               jpki_revocations.c.reason)
        .join(jpki_certificates, jpki_certificates.c.serial == jpki_revocations.c.serial)
        .where(jpki_certificates.c.not_after >= stamp(now))
        .order_by(jpki_revocations.c.serial)
    ).all()  # fmt: skip
    return [
        Revoked(int(r.serial, 16), datetime.fromisoformat(r.revoked_at), Reason(r.reason))
        for r in rows
    ]


def latest_crl(conn: Connection) -> LatestCrl | None:
    row = conn.execute(select(jpki_crls).order_by(jpki_crls.c.number.desc()).limit(1)).first()
    if row is None:
        return None
    return LatestCrl(
        row.number, datetime.fromisoformat(row.this_update), row.revocations, bytes(row.der)
    )


def record_crl(
    conn: Connection,
    number: int,
    this_update: datetime,
    next_update: datetime,
    revocations: int,
    der: bytes,
) -> None:
    conn.execute(
        insert(jpki_crls).values(
            number=number, this_update=stamp(this_update),
            next_update=stamp(next_update), revocations=revocations, der=der,
        )
    )  # fmt: skip


def bound(conn: Connection, serial: int, resident_code: str, now: datetime) -> bool:
    """Whether ``serial`` is a user-authentication certificate issued to the person who
    holds ``resident_code`` now, neither revoked nor expired (R14: a card proves its
    holder).

    By the person, not the code it was issued under: the certificate carries no code,
    so a code change (R6) leaves the card's certificate valid for the new code, and a
    retired code, which no identity holds, proves nobody.
    """
    holder = select(identities.c.person_key).where(identities.c.resident_code == resident_code)
    row = conn.execute(
        select(jpki_certificates.c.serial).where(
            jpki_certificates.c.serial == serial_hex(serial),
            jpki_certificates.c.kind == Kind.AUTHENTICATION.value,
            jpki_certificates.c.person_key.in_(holder.scalar_subquery()),
            jpki_certificates.c.not_after >= stamp(now),
            jpki_certificates.c.serial.not_in(select(jpki_revocations.c.serial)),
        )
    ).first()
    return row is not None
