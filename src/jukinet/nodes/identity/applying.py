"""Writing identity updates (R1, R22): who holds a code now, the identity row and its
history, the forwarding outbox, and the last ``seq`` applied from each sender.

``IdentityStore.apply_batch`` (``store.py``) decides what to apply, in which order and
in which transaction; these are the reads and writes it is made of. ``write`` writes
one update; ``BatchWriter`` writes a batch set-based: the standing of every code in one
query, the rows of all updates in one statement per table.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, insert, or_, select, update

from jukinet.domain.names import fold
from jukinet.network import outbox as ob
from jukinet.network.messages import IdentityUpdate
from jukinet.nodes.identity.authority import Holding, Standing
from jukinet.nodes.identity.tables import (
    identities,
    identity_history,
    inbox_state,
    quarantine,
    retired_codes,
)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def last_seq(conn: Connection, sender: str) -> int:
    query = select(inbox_state.c.last_seq).where(inbox_state.c.sender == sender)
    return int(conn.execute(query).scalar() or 0)


def set_last_seq(conn: Connection, sender: str, last: int, new: bool, at: str) -> None:
    if new:
        conn.execute(insert(inbox_state).values(sender=sender, last_seq=last, updated_at=at))
    else:
        conn.execute(
            update(inbox_state)
            .where(inbox_state.c.sender == sender)
            .values(last_seq=last, updated_at=at)
        )


def _holding(conn: Connection, code: str) -> Holding | None:
    row = conn.execute(
        select(identities.c.person_key, identities.c.origin, identities.c.status).where(
            identities.c.resident_code == code
        )
    ).first()
    return Holding(row.person_key, row.origin, row.status) if row else None


def _retired(conn: Connection, code: str) -> bool:
    query = select(retired_codes.c.code).where(retired_codes.c.code == code)
    return conn.execute(query).first() is not None


def standing(conn: Connection, u: IdentityUpdate) -> Standing:
    """Who holds ``u``'s code (and its previous code) here now, and whether it is retired."""
    current, retired = _holding(conn, u.resident_code), _retired(conn, u.resident_code)
    if u.previous_code is None:
        return Standing(current, retired)
    old = u.previous_code
    return Standing(current, retired, _holding(conn, old), _retired(conn, old))


def _landing(
    u: IdentityUpdate, standing: Standing
) -> tuple[dict[str, Any], Any, str, dict[str, str]]:
    """The update's column values, the identity row it lands on (None: a new person),
    that row's code, and the folded name and address (search by the 4 items follow
    every write). A code change moves the identity to the new code, keeping the person;
    the old code stays retired, pointing to the person."""
    moved = standing.previous if u.previous_code is not None else standing.current
    code = u.previous_code if u.previous_code is not None else u.resident_code
    folded = {"name_folded": fold(u.name), "address_folded": fold(u.address)}
    return _values(u), moved, code, folded


def _values(u: IdentityUpdate) -> dict[str, Any]:
    return {
        "name": u.name, "date_of_birth": u.date_of_birth, "sex": u.sex, "address": u.address,
        "status": u.status, "change_reason": u.change_reason, "change_date": u.change_date,
        "origin": u.origin, "recorded_at": u.recorded_at.isoformat(),
    }  # fmt: skip


def write(
    conn: Connection,
    sender: str,
    u: IdentityUpdate,
    standing: Standing,
    at: str,
    forward_to: Table | None,
) -> None:
    """Write ``u`` (already checked): the identity, its history row and, with
    ``forward_to``, the update into that outbox under this node's own seq."""
    values, moved, code, folded = _landing(u, standing)
    if moved is None:
        person_key = uuid.uuid4().hex
        conn.execute(
            insert(identities).values(
                resident_code=u.resident_code, person_key=person_key, applied_at=at,
                **values, **folded,
            )
        )  # fmt: skip
    else:
        person_key = moved.person_key
        conn.execute(
            update(identities)
            .where(identities.c.resident_code == code)
            .values(resident_code=u.resident_code, applied_at=at, **values, **folded)
        )
    if u.previous_code is not None:
        conn.execute(
            insert(retired_codes).values(
                code=u.previous_code, person_key=person_key, retired_on=u.change_date
            )
        )
    conn.execute(
        insert(identity_history).values(
            person_key=person_key, resident_code=u.resident_code,
            previous_code=u.previous_code, sender=sender, sender_seq=u.seq, applied_at=at,
            **values,
        )
    )  # fmt: skip
    if forward_to is not None:
        ob.enqueue(conn, forward_to, lambda seq: u.model_copy(update={"seq": seq}))


def _codes(u: IdentityUpdate) -> list[str]:
    return [c for c in (u.resident_code, u.previous_code) if c is not None]


def _chunks(items: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# Executed with one parameter set per moved identity: the SET clause is their keys.
_moved = update(identities).where(identities.c.resident_code == bindparam("b_code"))


class BatchWriter:
    """The writes of one received batch, set-based, with exactly ``write``'s effect.

    It reads, in one query per table, who holds each code the batch names, which of
    them are retired, and whether quarantine holds anything of these codes; it
    collects each update's rows and ``flush`` writes them with one statement per
    table. The cached standing is only good for a code no update of this batch has
    written yet: ``fast(u)`` says whether ``u`` may use it; otherwise the caller
    flushes and applies ``u`` one by one against the database (``IdentityStore.apply_one``),
    as it does for every update while quarantine holds something of the batch's codes.
    Within a flush every row is of a different code, so the order of the statements
    does not matter; the outbox seqs follow the order of the updates.
    """

    def __init__(
        self,
        conn: Connection,
        sender: str,
        updates: Sequence[IdentityUpdate],
        at: str,
        forward_to: Table | None,
    ) -> None:
        self.conn, self.sender, self.at, self.forward_to = conn, sender, at, forward_to
        codes = sorted({c for u in updates for c in _codes(u)})
        self.codes = codes
        self._held: dict[str, Holding] = {}
        self._retired: set[str] = set()
        self.quarantine_open = False
        i, q = identities.c, quarantine.c
        for chunk in _chunks(codes):
            query = select(i.resident_code, i.person_key, i.origin, i.status)
            for row in conn.execute(query.where(i.resident_code.in_(chunk))):
                self._held[row.resident_code] = Holding(row.person_key, row.origin, row.status)
            found = select(retired_codes.c.code).where(retired_codes.c.code.in_(chunk))
            self._retired.update(conn.scalars(found))
            naming = or_(q.resident_code.in_(chunk), q.previous_code.in_(chunk))
            open_ = select(func.count()).where(q.resolution.is_(None), naming)
            self.quarantine_open |= bool(conn.execute(open_).scalar_one())
        self._touched: set[str] = set()
        self._next_seq: int | None = None
        self._clear()

    def _clear(self) -> None:
        self._new: list[dict[str, Any]] = []
        self._moves: list[dict[str, Any]] = []
        self._retire: list[dict[str, Any]] = []
        self._history: list[dict[str, Any]] = []
        self._forward: list[dict[str, Any]] = []

    def fast(self, u: IdentityUpdate) -> bool:
        """Whether ``u`` may be checked against the standing read for the batch."""
        return not self.quarantine_open and self._touched.isdisjoint(_codes(u))

    def touch(self, u: IdentityUpdate) -> None:
        """``u``'s codes are (or may be) changed from what was read: none is cached any more."""
        self._touched.update(_codes(u))
        self._next_seq = None  # the outbox may have grown meanwhile: read its top again

    def standing(self, u: IdentityUpdate) -> Standing:
        """As ``standing(conn, u)``, from what was read for the batch (``fast(u)`` only)."""
        current, retired = self._held.get(u.resident_code), u.resident_code in self._retired
        if u.previous_code is None:
            return Standing(current, retired)
        old = u.previous_code
        return Standing(current, retired, self._held.get(old), old in self._retired)

    def write(self, u: IdentityUpdate, standing: Standing) -> None:
        """Collect ``u``'s rows (checked already), as ``write`` would write them."""
        values, moved, code, folded = _landing(u, standing)
        if moved is None:
            person_key = uuid.uuid4().hex
            self._new.append({"resident_code": u.resident_code, "person_key": person_key,
                              "applied_at": self.at, **values, **folded})  # fmt: skip
        else:
            person_key = moved.person_key
            self._moves.append({"b_code": code, "resident_code": u.resident_code,
                                "applied_at": self.at, **values, **folded})  # fmt: skip
        if u.previous_code is not None:
            self._retire.append(
                {"code": u.previous_code, "person_key": person_key, "retired_on": u.change_date}
            )
        self._history.append({"person_key": person_key, "resident_code": u.resident_code,
                              "previous_code": u.previous_code, "sender": self.sender,
                              "sender_seq": u.seq, "applied_at": self.at, **values})  # fmt: skip
        if self.forward_to is not None:
            if self._next_seq is None:
                top = select(func.coalesce(func.max(self.forward_to.c.seq), 0))
                self._next_seq = int(self.conn.execute(top).scalar_one()) + 1
            seq, self._next_seq = self._next_seq, self._next_seq + 1
            payload = u.model_copy(update={"seq": seq}).model_dump_json()
            self._forward.append({"seq": seq, "payload": payload, "created_at": now()})
        self._touched.update(_codes(u))

    def flush(self) -> None:
        """Write what was collected: one statement per table."""
        conn = self.conn
        if self._new:
            conn.execute(insert(identities), self._new)
        if self._moves:
            conn.execute(_moved, self._moves)
        if self._retire:
            conn.execute(insert(retired_codes), self._retire)
        if self._history:
            conn.execute(insert(identity_history), self._history)
        if self._forward and self.forward_to is not None:
            conn.execute(insert(self.forward_to), self._forward)
        self._clear()
