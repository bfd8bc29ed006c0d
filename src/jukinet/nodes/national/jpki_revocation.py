"""Automatic revocation: the CA revokes a person's certificates when the national node
applies an identity update that makes them wrong (R15; docs/jpki.md, "Revocation").

- name, date of birth, sex or address changed: the signing certificates, which carry
  them (``identity-changed``); the user-authentication certificate carries none and
  stays valid;
- removed by death: both kinds (``death``);
- removed by a move-out: the signing certificates (``move-out``); the card goes on
  being the person's user-authentication card at the new municipality;
- removed by a move-out abroad or ex officio: both kinds (``move-out``).

``NationalStore.apply_one`` calls ``held_before`` before it writes an update and
``revoke_on_change`` after, in the same transaction: an update and the revocations it
causes are one commit, each revocation audited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Connection

from jukinet.audit import log as audit
from jukinet.jpki import Kind, Reason
from jukinet.network.messages import IdentityUpdate
from jukinet.nodes.national.jpki_store import active_certificates, held_identity, record_revocation

__all__ = ["Before", "held_before", "revoke_on_change"]

_BOTH = (Kind.SIGNING, Kind.AUTHENTICATION)


@dataclass(frozen=True, slots=True)
class Before:
    """What the national node held of the person just before the update."""

    person_key: str
    items: tuple[str, date, str, str]  # name, date of birth, sex, address
    status: str


def held_before(conn: Connection, u: IdentityUpdate) -> Before | None:
    """The identity the update lands on (the old code's, for a code change), or None."""
    held = held_identity(conn, u.previous_code or u.resident_code)
    if held is None:
        return None
    items = (held.name, held.date_of_birth, held.sex, held.address)
    return Before(held.person_key, items, held.status)


def _decide(before: Before, u: IdentityUpdate) -> tuple[Reason, tuple[Kind, ...]] | None:
    if before.status == "removed":
        return None  # revoked when the record was removed, if there was anything to revoke
    if u.status == "removed":
        if u.change_reason == "death":
            return Reason.DEATH, _BOTH
        if u.change_reason == "move-out":
            return Reason.MOVE_OUT, (Kind.SIGNING,)
        return Reason.MOVE_OUT, _BOTH
    if before.items != (u.name, u.date_of_birth, u.sex, u.address):
        return Reason.IDENTITY_CHANGED, (Kind.SIGNING,)
    return None


def revoke_on_change(
    conn: Connection,
    before: Before | None,
    u: IdentityUpdate,
    *,
    node: str,
    record: Callable[[audit.Draft], object],
    at: str = "",
) -> int:
    """Revoke what ``u`` makes wrong (module docstring); how many certificates."""
    if before is None:
        return 0  # a person new to this node holds no certificate
    decision = _decide(before, u)
    if decision is None:
        return 0
    reason, kinds = decision
    moment = datetime.fromisoformat(at) if at else datetime.now(UTC)
    active = active_certificates(conn, before.person_key, kinds, moment)
    why = f"identity update {u.seq} from {u.origin} ({u.change_reason})"
    for cert in active:
        record_revocation(conn, cert.serial, moment, reason, node, why)
    if active:
        listed = ", ".join(f"{c.kind} {c.serial}" for c in active)
        record(
            audit.Draft(node, "jpki.revoke", u.resident_code, detail=f"{reason}: {listed}; {why}")
        )
    return len(active)
