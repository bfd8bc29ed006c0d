"""Writing one identity update (R1, R22): who holds its code now, the identity row and
its history, the forwarding outbox, and the last ``seq`` applied from each sender.

``IdentityStore.apply_batch`` (``store.py``) decides what to apply, in which order and
in which transaction; these are the reads and writes it is made of.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import Connection, Table, insert, select, update

from jukinet.domain.names import fold
from jukinet.network import outbox as ob
from jukinet.network.messages import IdentityUpdate
from jukinet.nodes.identity.authority import Holding, Standing
from jukinet.nodes.identity.tables import identities, identity_history, inbox_state, retired_codes


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
    values = {
        "name": u.name, "date_of_birth": u.date_of_birth, "sex": u.sex, "address": u.address,
        "status": u.status, "change_reason": u.change_reason, "change_date": u.change_date,
        "origin": u.origin, "recorded_at": u.recorded_at.isoformat(),
    }  # fmt: skip
    # Which row the update lands on: a code change moves the identity to the new
    # code, keeping the person; the old code stays retired, pointing to the person.
    moved = standing.previous if u.previous_code is not None else standing.current
    code = u.previous_code if u.previous_code is not None else u.resident_code
    # The folded name and address (search by the 4 items) follow every write.
    folded = {"name_folded": fold(u.name), "address_folded": fold(u.address)}
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
