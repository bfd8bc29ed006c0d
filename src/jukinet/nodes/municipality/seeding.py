"""Filling a register with synthetic residents (for demos, tests and benchmarks).

Writes in chunks of a few thousand residents, each chunk one transaction with
one event row, a history row per record and an audit entry per record (R12).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from jukinet.audit import log as audit
from jukinet.domain import checks
from jukinet.domain.access import Permission, Session
from jukinet.domain.codes import ResidentCode
from jukinet.domain.identity import Sex
from jukinet.domain.record import HEAD, Address, Household, Name, ResidentRecord
from jukinet.errors import InvalidInput
from jukinet.nodes.municipality import pool
from jukinet.nodes.municipality.pool import CodeSource
from jukinet.nodes.municipality.service import audited
from jukinet.nodes.municipality.store import RegisterStore, RegisterTx
from jukinet.seed.places import Places
from jukinet.seed.population import SyntheticHousehold, generate

CHUNK = 5_000
MAX_RESIDENTS = 20_000_000


@dataclass(frozen=True, slots=True)
class SeedReport:
    households: int
    residents: int
    seconds: float


async def seed(
    store: RegisterStore,
    session: Session,
    places: Places,
    source: CodeSource,
    residents: int,
    *,
    today: date,
    rng_seed: int = 0,
    progress: Callable[[int], None] = lambda n: None,
) -> SeedReport:
    """Add ``residents`` synthetic residents of this municipality to the register.

    Asynchronous only for the pool's top-up from ``source``; the writing is local.
    """
    started = time.perf_counter()
    with audited(store, session.actor, "seed", f"{residents} residents"):
        session.require(Permission.MANAGE_NODE)
        if not 1 <= residents <= MAX_RESIDENTS:
            raise InvalidInput(f"Seed between 1 and {MAX_RESIDENTS:,} residents.")
        # leave the pool comfortably above its low-water mark once seeding is done;
        # the codes are asked for (perhaps of the national node) before any transaction
        short = residents + 2 * store.low_water - pool.remaining(store)
        if short > 0:
            codes = await pool.fresh_codes(store, source, short)
            with store.transaction() as tx:
                added = tx.add_to_pool(codes, audit.now())
                session.require_card()
                tx.audit(
                    audit.Draft(
                        session.actor, "pool.replenish", "code pool", detail=f"{added} codes"
                    )
                )
        # each batch is a transaction of its own: the card is checked before each commit
        rng = random.Random(rng_seed)
        town_count = households = written = 0
        batch: list[SyntheticHousehold] = []
        for household in generate(places, store.code, residents, rng, today):
            batch.append(household)
            town_count += len(household.members)
            if town_count >= CHUNK:
                written += _write(store, session, batch, today)
                households += len(batch)
                progress(written)
                batch, town_count = [], 0
        if batch:
            written += _write(store, session, batch, today)
            households += len(batch)
            progress(written)
        return SeedReport(households, written, time.perf_counter() - started)


def _write(
    store: RegisterStore, session: Session, batch: Iterable[SyntheticHousehold], today: date
) -> int:
    batch = list(batch)
    count = sum(len(h.members) for h in batch)
    with store.transaction() as tx:
        codes = iter(tx.draw_codes(count))
        payload = json.dumps({"households": len(batch), "residents": count})
        event_id = tx.add_event("seed", "ex-officio-entry", today, payload, session.actor)
        records: list[ResidentRecord] = []
        households: list[Household] = []
        for h in batch:
            hid = tx.household_id()
            members = _records(tx, store, h, hid, codes)
            records += members
            households.append(Household(hid, members[0].person_id, members[0].address))
        tx.write_records(records, event_id)
        tx.write_households(households, event_id)
        session.require_card()  # the operator's card left the reader: this batch is not kept
        tx.audit(
            *(
                audit.Draft(
                    session.actor, "seed.entry", r.resident_code, detail=f"event {event_id}"
                )
                for r in records
            )
        )
    return count


def _records(
    tx: RegisterTx,
    store: RegisterStore,
    h: SyntheticHousehold,
    household_id: int,
    codes: Iterable[ResidentCode],
) -> list[ResidentRecord]:
    address = Address(store.code, store.name, h.address.town, h.address.block, h.address.building)
    code_iter = iter(codes)
    out: list[ResidentRecord] = []
    for p in h.members:
        name = Name(p.family_name, p.given_name, p.family_kana, p.given_kana)
        checks.name(name)
        born_here = p.date_of_birth >= h.resident_since
        since = p.date_of_birth if born_here else h.resident_since
        why = "birth" if born_here else "move-in"
        out.append(
            ResidentRecord(
                person_id=tx.person_id(),
                resident_code=next(code_iter),
                name=name,
                date_of_birth=p.date_of_birth,
                sex=Sex(p.sex),
                household_id=household_id,
                relationship=p.relationship,
                address=address,
                domicile=h.domicile,
                domicile_head=h.domicile_head,
                became_resident_on=since,
                address_fixed_on=since,
                notified_on=since,
                previous_address="",
                entry_reason=why,
                entry_date=since,
                identity_changed_by=why,
                identity_changed_on=since,
            )
        )
    if not out or out[0].relationship != HEAD:
        raise InvalidInput("A synthetic household must start with its head.")
    return out
