"""A first walk through the window: a family arrives, a child is born (R22 groundwork)."""

from __future__ import annotations

from jukinet.domain import events as ev
from jukinet.domain.access import Session
from jukinet.domain.identity import Sex
from jukinet.nodes.municipality import service
from jukinet.nodes.municipality.store import RegisterStore
from tests.helpers import TODAY, arrival, counts, name


def test_a_birth_joins_the_parents_household(store: RegisterStore, clerk: Session) -> None:
    receipt = service.record_event(store, clerk, arrival(), TODAY)
    parent = receipt.records[0]
    born = service.record_event(
        store,
        clerk,
        ev.Birth(parent.resident_code, name(given="花子", gk="ハナコ"), Sex.FEMALE, TODAY, TODAY),
        TODAY,
    )
    child = born.records[0]
    assert child.household_id == parent.household_id
    assert child.address == parent.address
    assert service.show_resident(store, clerk, child.resident_code).name.full == "山田 花子"
    assert counts(store)["persons"] == 2
