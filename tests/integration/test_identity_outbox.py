"""Identity updates leave with the event that makes them: the transactional outbox (R1, R22)."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from sqlalchemy import select

from jukinet.domain import events as ev
from jukinet.domain.access import Session
from jukinet.domain.identity import Sex
from jukinet.errors import EventRefused
from jukinet.network import outbox as ob
from jukinet.network.messages import IdentityUpdate
from jukinet.nodes.municipality import service
from jukinet.nodes.municipality.pool import LocalCodeSource
from jukinet.nodes.municipality.seeding import seed
from jukinet.nodes.municipality.store import RegisterStore
from jukinet.nodes.municipality.tables import outbox
from jukinet.seed.places import Places
from tests.helpers import KANDA, TODAY, arrival, name, person
from tests.integration.conftest import RECENT, Family


def updates(store: RegisterStore) -> list[IdentityUpdate]:
    with store.engine.connect() as conn:
        return [IdentityUpdate.model_validate_json(p) for p in conn.scalars(
            select(outbox.c.payload).order_by(outbox.c.seq))]  # fmt: skip


def test_a_move_in_puts_one_update_per_person_in_order(
    store: RegisterStore, family: Family
) -> None:
    sent = updates(store)
    assert [u.seq for u in sent] == [1, 2, 3]
    assert [u.resident_code for u in sent] == list(family.codes)
    head = sent[0]
    assert head.origin == "131016"
    assert (head.name, head.sex, head.status, head.change_reason) == (
        "山田 太郎", "male", "resident", "move-in-abroad",
    )  # fmt: skip
    assert head.address == "東京都千代田区丸の内一丁目1番1号"


def test_the_update_carries_identity_information_only(store: RegisterStore, family: Family) -> None:
    """R1: the message has the 4 items, the code, the change info and nothing else."""
    fields = set(IdentityUpdate.model_fields)
    assert fields == {
        "seq", "origin", "resident_code", "previous_code", "name", "date_of_birth", "sex",
        "address", "status", "change_reason", "change_date", "recorded_at",
    }  # fmt: skip
    payload = updates(store)[0].model_dump_json()
    for private in ("本籍", '丸の内一丁目1番"', "世帯主", "household", "domicile"):
        assert private not in payload


def test_a_move_within_updates_every_member(
    store: RegisterStore, clerk: Session, family: Family
) -> None:
    service.record_event(
        store, clerk, ev.MoveWithin(family.household_id, KANDA, RECENT, RECENT), TODAY
    )
    moved = updates(store)[3:]
    assert {u.resident_code for u in moved} == set(family.codes)
    assert {u.change_reason for u in moved} == {"move-within"}
    assert all(u.address.startswith("東京都千代田区神田神保町") for u in moved)


def test_a_death_sends_the_removal(store: RegisterStore, clerk: Session, family: Family) -> None:
    """R24 groundwork: the removal and its date reach the prefecture."""
    service.record_event(store, clerk, ev.Death(family.child.resident_code, RECENT, RECENT), TODAY)
    last = updates(store)[-1]
    assert (last.resident_code, last.status, last.change_reason, last.change_date) == (
        family.child.resident_code, "removed", "death", RECENT,
    )  # fmt: skip


def test_a_code_change_names_the_previous_code(
    store: RegisterStore, clerk: Session, family: Family
) -> None:
    r = service.record_event(
        store, clerk, ev.CodeChange(family.head.resident_code, TODAY, TODAY), TODAY
    )
    last = updates(store)[-1]
    assert last.previous_code == family.head.resident_code
    assert last.resident_code == r.records[0].resident_code
    assert last.change_reason == "code-change"


def test_changes_outside_identity_information_send_nothing(
    store: RegisterStore, clerk: Session, supervisor: Session, family: Family
) -> None:
    """A household split, a head change or a domicile correction is not R1: nothing leaves."""
    before = len(updates(store))
    service.record_event(
        store,
        clerk,
        ev.HouseholdSplit(
            (family.child.resident_code,), family.child.resident_code, {}, RECENT, RECENT
        ),
        TODAY,
    )
    service.record_event(
        store,
        supervisor,
        ev.MinorCorrection(
            family.head.resident_code, "domicile", "東京都港区芝公園四丁目2番", "typo", TODAY
        ),
        TODAY,
    )
    assert len(updates(store)) == before


def test_a_refused_event_sends_nothing(
    store: RegisterStore, clerk: Session, family: Family
) -> None:
    before = len(updates(store))
    with pytest.raises(EventRefused):
        service.record_event(
            store, clerk, ev.Death(family.head.resident_code, RECENT, RECENT), TODAY
        )
    assert len(updates(store)) == before


def test_a_birth_then_a_name_change(store: RegisterStore, clerk: Session, family: Family) -> None:
    born = service.record_event(
        store,
        clerk,
        ev.Birth(
            family.spouse.resident_code, name(given="桜", gk="サクラ"), Sex.FEMALE, RECENT, RECENT
        ),
        TODAY,
    ).records[0]
    service.record_event(
        store,
        clerk,
        ev.NameChange(born.resident_code, name(given="櫻", gk="サクラ"), TODAY, TODAY),
        TODAY,
    )
    *_, birth, rename = updates(store)
    assert (birth.change_reason, birth.name, birth.date_of_birth) == ("birth", "山田 桜", RECENT)
    assert (rename.change_reason, rename.name) == ("name-change", "山田 櫻")
    assert rename.seq == birth.seq + 1


def test_seeding_sends_one_update_per_resident(
    store: RegisterStore, admin: Session, places: Places
) -> None:
    asyncio.run(seed(store, admin, places, LocalCodeSource(), 300, today=TODAY))
    sent = updates(store)
    assert len(sent) == 300
    assert [u.seq for u in sent] == list(range(1, 301))
    assert len({u.resident_code for u in sent}) == 300
    with store.engine.connect() as conn:
        assert ob.backlog(conn, outbox) == 300
        assert ob.delivered_through(conn, outbox) == 0


def test_born_before_the_epoch_is_fine(store: RegisterStore, clerk: Session) -> None:
    service.record_event(store, clerk, arrival(person(born=date(1920, 1, 1))), TODAY)
    assert updates(store)[-1].date_of_birth == date(1920, 1, 1)


def test_a_committed_event_wakes_the_delivery_worker_and_a_refused_one_does_not(
    store: RegisterStore, clerk: Session, family: Family
) -> None:
    """R22: the node's worker is told of an event's updates once they are committed
    (``RegisterStore.wakers``), never of an event that was refused and rolled back."""
    woken: list[int] = []
    store.wakers.append(lambda: woken.append(len(updates(store))))
    with pytest.raises(EventRefused):
        service.record_event(
            store, clerk, ev.Death(family.head.resident_code, RECENT, RECENT), TODAY
        )
    assert woken == []
    before = len(updates(store))
    service.record_event(store, clerk, ev.Death(family.child.resident_code, RECENT, RECENT), TODAY)
    assert woken == [before + 1]  # once, with the update already readable
