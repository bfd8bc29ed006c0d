"""Finding a resident at the window by name and date of birth (docs/ui.md, "The window
app"): the name is compared folded (``domain.names.fold``: width, kana, spaces and
variant kanji such as 髙/高, 﨑/崎 unified), as the identity nodes' search by the four
items compares it (``domain.provision.search_key``). An audited read (R12)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from jukinet.domain.access import Permission, Session
from jukinet.domain.names import fold
from jukinet.domain.provision import search_key
from jukinet.domain.record import ResidentRecord
from jukinet.nodes.municipality import service
from jukinet.nodes.municipality.store import RegisterStore, RegisterTx
from jukinet.nodes.municipality.tables import persons

MAX_FOUND = 50  # more than a window ever needs for one name and one date of birth


def find_residents(
    store: RegisterStore, session: Session, name: str, date_of_birth: date
) -> list[ResidentRecord]:
    """The records (current or removed) whose folded name — in kanji or in its reading —
    is ``name`` folded, born on ``date_of_birth``; residents first, then by code."""

    def work(tx: RegisterTx) -> tuple[list[ResidentRecord], str, str]:
        wanted = search_key(name)  # InvalidInput (audited) if nothing is left of it
        rows = tx.conn.execute(
            select(
                persons.c.person_id, persons.c.family_name, persons.c.given_name,
                persons.c.family_kana, persons.c.given_kana,
            ).where(persons.c.date_of_birth == date_of_birth)
        ).all()  # fmt: skip
        ids = [
            r.person_id
            for r in rows
            if wanted in (fold(r.family_name + r.given_name), fold(r.family_kana + r.given_kana))
        ][:MAX_FOUND]
        found = sorted(
            (tx.record_by_person(p) for p in ids),
            key=lambda rec: (not rec.is_resident, str(rec.resident_code)),
        )
        codes = ",".join(str(r.resident_code) for r in found)
        return found, f"name+birth {date_of_birth.isoformat()}", f"{len(found)} found: {codes}"

    target = f"name+birth {date_of_birth.isoformat()}"
    return service.run(store, session, Permission.READ_RECORD, "resident.search", target, work)
