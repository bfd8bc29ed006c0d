"""Quarantine: a refused identity update is kept, not a wall in front of its sender's queue.

docs/network.md, "Quarantine". When an update is refused on arrival (the holder rule,
a retired code, the national code registry), the receiver keeps it here with the
reason, acknowledges past it and goes on with the sender's later updates. A later
update of the same person (its resident code or previous code) from the same sender
is held here too while an earlier one is open, so nothing of one person is applied
out of order. A refusal that was only a matter of order (a move-in before the
move-out it needs) resolves itself: once an update of the same person is applied,
the open items naming its codes are tried again (``retry_after``). An operator
resolves the rest: ``release`` re-applies an item (after the cause is fixed, the
person's earlier items first), ``drop`` records that it will not be applied. All are
audited; rows are never deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Connection, Row, func, insert, or_, select, update

from jukinet.audit import log as audit
from jukinet.errors import InvalidInput, JukinetError, NotFound, UpdateRefused
from jukinet.network.messages import IdentityUpdate
from jukinet.nodes.identity.tables import quarantine

if TYPE_CHECKING:
    from jukinet.nodes.identity.store import IdentityStore as Store

RELEASED, DROPPED = "released", "dropped"


@dataclass(frozen=True, slots=True)
class Item:
    """One quarantined update and what became of it."""

    id: int
    sender: str
    sender_seq: int
    resident_code: str
    previous_code: str | None
    reason: str
    quarantined_at: str
    resolution: str | None
    resolved_at: str | None
    resolved_by: str | None
    note: str | None


_FIELDS = [f.name for f in fields(Item)]


def _codes(u: IdentityUpdate) -> list[str]:
    return [c for c in (u.resident_code, u.previous_code) if c is not None]


def _same_person(codes: list[str]) -> ColumnElement[bool]:
    q = quarantine.c
    return or_(q.resident_code.in_(codes), q.previous_code.in_(codes))


def waiting_behind(conn: Connection, sender: str, u: IdentityUpdate) -> None:
    """Refuse ``u`` while an earlier update of the same person from ``sender`` is open."""
    q = quarantine.c
    earlier = conn.execute(
        select(func.min(q.sender_seq)).where(
            q.sender == sender,
            q.resolution.is_(None),
            q.sender_seq < u.seq,
            _same_person(_codes(u)),
        )
    ).scalar()
    if earlier is not None:
        raise UpdateRefused(
            f"Update {u.seq} of resident code {u.resident_code} waits behind quarantined "
            f"update {earlier} of the same person; release or drop update {earlier} first."
        )


def hold(conn: Connection, sender: str, u: IdentityUpdate, reason: str, at: str) -> None:
    """Keep the refused ``u`` in quarantine (inside the applying transaction)."""
    conn.execute(
        insert(quarantine).values(
            sender=sender, sender_seq=u.seq, resident_code=u.resident_code,
            previous_code=u.previous_code, payload=u.model_dump_json(), reason=reason,
            quarantined_at=at,
        )
    )  # fmt: skip


def open_seqs(conn: Connection, sender: str) -> list[int]:
    """The seqs of ``sender`` this node holds in quarantine, unresolved (for the ack)."""
    q = quarantine.c
    query = (
        select(q.sender_seq)
        .where(q.sender == sender, q.resolution.is_(None))
        .order_by(q.sender_seq)
    )
    return [int(s) for s in conn.scalars(query)]


def count_open(conn: Connection) -> int:
    query = select(func.count()).select_from(quarantine).where(quarantine.c.resolution.is_(None))
    return int(conn.execute(query).scalar_one())


def retry_after(store: Store, conn: Connection, applied: IdentityUpdate, at: str) -> int:
    """Apply the open items of the person ``applied`` just changed, where they now pass.

    A refusal may be only a matter of order: a move-in that reaches a node before the
    move-out from the other municipality is refused ("held by municipality …") until
    that move-out is applied. So after each applied update, the open items that name
    one of its codes are tried again, oldest first, each in a savepoint; one that now
    passes is released by the node itself (audited), one that does not stays open for
    an operator. Returns how many were released.
    """
    released = 0
    codes = _codes(applied)
    for _ in range(10):  # a release may open the way for the next item of the person
        rows = conn.execute(
            select(quarantine)
            .where(quarantine.c.resolution.is_(None), _same_person(codes))
            .order_by(quarantine.c.id)
        ).all()
        progress = False
        for row in rows:
            u = IdentityUpdate.model_validate_json(row.payload)
            try:
                with conn.begin_nested():
                    waiting_behind(conn, row.sender, u)
                    store.apply_one(conn, row.sender, u, at)
            except UpdateRefused:
                continue
            note = f"applied once update {applied.seq} of the person made it pass"
            _resolve(conn, row.id, RELEASED, "node", note)
            detail = f"{row.sender} update {u.seq}: {note}"
            store.audit(
                conn,
                audit.Draft("node", "quarantine.release", f"quarantine:{row.id}", detail=detail),
            )
            codes = sorted({*codes, *_codes(u)})
            released, progress = released + 1, True
        if not progress:
            break
    return released


# --- operator's view and decisions (jukinet quarantine list|release|drop) --------------


def items(store: Store, *, open_only: bool = False) -> list[Item]:
    """Every quarantined update, oldest first (only the unresolved ones with ``open_only``)."""
    query = select(*(quarantine.c[f] for f in _FIELDS)).order_by(quarantine.c.id)
    if open_only:
        query = query.where(quarantine.c.resolution.is_(None))
    with store.engine.connect() as conn:
        return [Item(**r._mapping) for r in conn.execute(query)]


def release(store: Store, item_id: int, *, operator: str, note: str | None = None) -> Item:
    """Apply a quarantined update now, by the rules it was refused by; audited.

    Refused (and audited as refused) while the cause lasts, or while an earlier update
    of the same person from the same sender is still open.
    """
    actor = f"operator:{operator}"
    target = f"quarantine:{item_id}"
    try:
        with store.transaction() as conn:
            row = _open_row(conn, item_id)
            u = IdentityUpdate.model_validate_json(row.payload)
            waiting_behind(conn, row.sender, u)
            store.apply_one(conn, row.sender, u)
            done = _resolve(conn, item_id, RELEASED, operator, note)
            detail = f"{row.sender} update {u.seq} applied"
            store.audit(conn, audit.Draft(actor, "quarantine.release", target, detail=detail))
        return done
    except JukinetError as exc:
        store.refused(actor, "quarantine.release", target, exc)
        raise


def drop(store: Store, item_id: int, *, operator: str, note: str) -> Item:
    """Record that a quarantined update will not be applied (``note`` says why); audited."""
    actor = f"operator:{operator}"
    target = f"quarantine:{item_id}"
    try:
        if not note.strip():
            raise InvalidInput("Say why the update is dropped (--note); the decision is kept.")
        with store.transaction() as conn:
            row = _open_row(conn, item_id)
            done = _resolve(conn, item_id, DROPPED, operator, note)
            detail = f"{row.sender} update {row.sender_seq}: {note}"
            store.audit(conn, audit.Draft(actor, "quarantine.drop", target, detail=detail))
        return done
    except JukinetError as exc:
        store.refused(actor, "quarantine.drop", target, exc)
        raise


def _open_row(conn: Connection, item_id: int) -> Row[Any]:
    row = conn.execute(select(quarantine).where(quarantine.c.id == item_id)).first()
    if row is None:
        raise NotFound(f"No quarantined update has number {item_id}.")
    if row.resolution is not None:
        raise InvalidInput(
            f"Quarantined update {item_id} was already {row.resolution} by {row.resolved_by}."
        )
    return row


def _resolve(
    conn: Connection, item_id: int, resolution: str, operator: str, note: str | None
) -> Item:
    conn.execute(
        update(quarantine)
        .where(quarantine.c.id == item_id)
        .values(resolution=resolution, resolved_at=audit.now(), resolved_by=operator, note=note)
    )
    row = conn.execute(
        select(*(quarantine.c[f] for f in _FIELDS)).where(quarantine.c.id == item_id)
    ).one()
    return Item(**row._mapping)
