"""Fixtures for the window-event tests: a family already living here, and refusal probes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from jukinet.domain import events as ev
from jukinet.domain.access import Session
from jukinet.domain.codes import resident_code_check_digit, with_check_digit
from jukinet.domain.events import EVENT_KINDS
from jukinet.domain.identity import Sex
from jukinet.domain.record import Address, ResidentRecord
from jukinet.errors import JukinetError
from jukinet.nodes.municipality import service
from jukinet.nodes.municipality.store import RegisterStore
from tests.helpers import TODAY, arrival, counts, last_audit, person, snapshot

OSAKA = with_check_digit("27100")
UMEDA = Address(OSAKA, "大阪府大阪市", "北区梅田", "一丁目1番1号")  # another municipality
SETTLED = TODAY - timedelta(days=30)  # the day the family moved in (see ``arrival``)
RECENT = TODAY - timedelta(days=10)  # a day after settling, for events that follow


def well_formed(body: str) -> str:
    """A resident code with a correct check digit for a 10-digit ``body``."""
    return body + str(resident_code_check_digit(body))


def misspelt(code: str) -> str:
    """``code`` with a wrong check digit."""
    return code[:10] + str((int(code[10]) + 1) % 10)


UNKNOWN = well_formed("1234567890")  # a code nobody in this register holds


@dataclass(frozen=True, slots=True)
class Family:
    """山田 太郎 (世帯主), his wife 花子 and their son 一郎, at 丸の内 since ``SETTLED``."""

    head: ResidentRecord
    spouse: ResidentRecord
    child: ResidentRecord

    @property
    def household_id(self) -> int:
        return self.head.household_id

    @property
    def codes(self) -> tuple[str, str, str]:
        return (self.head.resident_code, self.spouse.resident_code, self.child.resident_code)


@pytest.fixture
def family(store: RegisterStore, clerk: Session) -> Family:
    receipt = service.record_event(
        store,
        clerk,
        arrival(
            person(),
            person("花子", "ハナコ", born=date(1982, 3, 3), sex=Sex.FEMALE, relationship="妻"),
            person("一郎", "イチロウ", born=date(2010, 4, 4), relationship="子"),
        ),
        TODAY,
    )
    return Family(*receipt.records)


Refusal = Callable[..., JukinetError]


@pytest.fixture
def refused(store: RegisterStore, clerk: Session) -> Refusal:
    """Record ``event`` expecting exactly ``error``, and prove the refusal changed nothing.

    The message must be a sentence containing ``phrase``; the register is unchanged
    and the audit log holds exactly one new entry: the refusal with its code (R12).
    """

    def check(
        event: ev.Event, error: type[JukinetError], phrase: str, *, by: Session | None = None
    ) -> JukinetError:
        session = by or clerk
        before, rows = snapshot(store), counts(store)
        with pytest.raises(error) as caught:
            service.record_event(store, session, event, TODAY)
        exc = caught.value
        assert type(exc) is error, f"{type(exc).__name__}: {exc}"
        assert phrase in exc.message
        assert exc.message.endswith("."), exc.message
        assert snapshot(store) == before
        assert counts(store) == {**rows, "audit_log": rows["audit_log"] + 1}
        (entry,) = last_audit(store)
        assert (entry.outcome, entry.operation, entry.actor) == (
            "refused",
            f"event.{EVENT_KINDS[type(event)]}",
            session.actor,
        )
        assert entry.detail == f"{error.code}: {exc.message}"
        return exc

    return check


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """The tables whose row counts moved, and by how much."""
    return {k: after[k] - before[k] for k in before if after[k] != before[k]}
