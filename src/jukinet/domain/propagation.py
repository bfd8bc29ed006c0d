"""Which record changes the prefecture and the national node must learn (R1, R22).

A window event writes new versions of records. Each new record, and each record
whose identity information (the four items, the code) or status changed, is one
``IdentityChanged`` event; the store turns each into an identity update in the
outbox, in the same transaction. Other items of the record (本籍, 世帯主, 続柄 …)
never leave the municipality, so changing only them produces no event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from jukinet.domain.codes import ResidentCode
from jukinet.domain.record import ResidentRecord, identity_core


@dataclass(frozen=True, slots=True)
class IdentityChanged:
    """Event: ``record`` now holds identity information its holders have not yet had."""

    record: ResidentRecord
    previous_code: ResidentCode | None  # set when the event changed the resident code (R6)


def identity_changes(
    records: Sequence[ResidentRecord], before: Mapping[str, ResidentRecord]
) -> list[IdentityChanged]:
    """The events for new versions ``records``, given each one's previous version by person id
    (absent for a person the register did not hold)."""
    changes: list[IdentityChanged] = []
    for r in records:
        old = before.get(r.person_id)
        if old is not None and identity_core(old) == identity_core(r):
            continue
        moved_code = old is not None and old.resident_code != r.resident_code
        changes.append(IdentityChanged(r, old.resident_code if old and moved_code else None))
    return changes
