"""What a copy of the resident record would print, before it is issued (the window's
preview, docs/ui.md): the same ``build_copy`` as ``copies.issue_copy``, with no serial
drawn, nothing signed and nothing recorded but the audited read (R12)."""

from __future__ import annotations

from datetime import date

from jukinet.domain.access import Permission, Session
from jukinet.domain.codes import parse_resident_code
from jukinet.domain.copies import CopyOptions, Issuer, ResidentCopy, build_copy
from jukinet.errors import ResidentNotFound
from jukinet.nodes.municipality import service
from jukinet.nodes.municipality.copies import options_summary
from jukinet.nodes.municipality.store import RegisterStore, RegisterTx

PREVIEW_SERIAL = "—"  # a preview has no serial: only an issued copy draws one


def preview_copy(
    store: RegisterStore, session: Session, issuer: Issuer, code: str, options: CopyOptions,
    today: date,
) -> ResidentCopy:  # fmt: skip
    def work(tx: RegisterTx) -> tuple[ResidentCopy, str, str]:
        record = tx.record(parse_resident_code(code))
        if record is None:
            raise ResidentNotFound(f"No record of this municipality carries code {code.strip()}.")
        copy = build_copy(record, tx.members(record.household_id), options, issuer=issuer,
                          serial=PREVIEW_SERIAL, issued_on=today)  # fmt: skip
        detail = f"{len(copy.persons)} person(s); {options_summary(options)}"
        return copy, str(record.resident_code), detail

    return service.run(store, session, Permission.READ_RECORD, "copy.preview", code.strip(), work)
