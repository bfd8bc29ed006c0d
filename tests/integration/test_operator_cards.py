"""The operator card (R11): sign-in needs the password and the operator's own card; any
other card, none, or a revoked one is one refusal, audited and counted; a card pulled
out ends the session before anything commits."""

from __future__ import annotations

import asyncio

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from jukinet.card.content import CardContent
from jukinet.card.machine import CardChip
from jukinet.card.operator_card import issue_operator_card
from jukinet.card.reader import InProcessReader, Reader
from jukinet.domain.access import MAX_FAILED_LOGINS, Session
from jukinet.errors import AccountLocked, CardNotPresent, OperatorCardRefused, OperatorCardRemoved
from jukinet.nodes.municipality import operators, seeding, service, staff
from jukinet.nodes.municipality.pool import LocalCodeSource
from jukinet.nodes.municipality.store import RegisterStore
from jukinet.seed.places import Places
from tests.conftest import PASSWORD
from tests.helpers import TODAY, arrival, counts, last_audit, reader_of


def _refused_and_audited(store: RegisterStore, reader: Reader, why: str) -> None:
    before = counts(store)
    with pytest.raises(OperatorCardRefused, match=why) as refused:
        service.login(store, "clerk", PASSWORD, reader)
    assert refused.value.message.startswith("Sign-in needs the operator's own card in the reader")
    entry = last_audit(store)[0]
    assert (entry.actor, entry.operation, entry.target, entry.outcome) == (
        "operator:clerk", "login", "clerk", "refused",
    )  # fmt: skip
    assert entry.detail.startswith("operator-card-refused: ")
    assert counts(store) == {**before, "audit_log": before["audit_log"] + 1}
    with store.engine.connect() as conn:
        assert operators.get(conn, "clerk").failed_attempts == 1


def test_password_and_own_card_open_a_session_that_sees_its_card(
    store: RegisterStore, clerk: Session
) -> None:
    session = service.login(store, "clerk", PASSWORD, reader_of(clerk))
    assert session.operator.username == "clerk"
    assert session.still_present()
    service.record_event(store, session, arrival(), TODAY)
    assert last_audit(store)[0].outcome == "ok"


class EmptyReader:
    """A reader with no card in it."""

    def connect(self) -> bytes:
        raise CardNotPresent("No card in the reader.")

    def transmit(self, apdu: bytes) -> bytes:
        raise CardNotPresent("No card in the reader.")

    def disconnect(self) -> None:
        return None


def test_no_card_in_the_reader_is_refused(store: RegisterStore, clerk: Session) -> None:
    _refused_and_audited(store, EmptyReader(), "No card in the reader")  # type: ignore[arg-type]


def test_a_card_of_another_node_is_refused(store: RegisterStore, clerk: Session) -> None:
    other_node = issue_operator_card(Ed25519PrivateKey.generate(), store.code, "clerk")
    _refused_and_audited(
        store, InProcessReader(CardChip(other_node.content)), "not issued by this node"
    )


def test_a_genuine_card_not_bound_to_the_account_is_refused(
    store: RegisterStore, clerk: Session
) -> None:
    unbound = issue_operator_card(store.key.private, store.code, "clerk")
    _refused_and_audited(store, InProcessReader(CardChip(unbound.content)), "not the one issued")


def test_another_operators_card_is_refused(
    store: RegisterStore, clerk: Session, supervisor: Session
) -> None:
    _refused_and_audited(store, reader_of(supervisor), "not the one issued")


def test_a_card_that_is_no_operator_card_is_refused(store: RegisterStore, clerk: Session) -> None:
    _refused_and_audited(store, InProcessReader(CardChip(CardContent([]))), "no such application")


def test_a_revoked_card_is_refused(store: RegisterStore, clerk: Session, admin: Session) -> None:
    staff.revoke_card(store, admin, "clerk")
    assert last_audit(store)[0].operation == "operator.card.revoke"
    _refused_and_audited(store, reader_of(clerk), "has no operator card")


def test_a_new_card_revokes_the_old_one(
    store: RegisterStore, clerk: Session, admin: Session
) -> None:
    new = staff.issue_card(store, admin, "clerk")
    entry = last_audit(store)[0]
    assert (entry.operation, entry.target, entry.outcome) == ("operator.card.issue", "clerk", "ok")
    _refused_and_audited(store, reader_of(clerk), "not the one issued")
    assert service.login(store, "clerk", PASSWORD, InProcessReader(CardChip(new.content)))


def test_wrong_cards_count_toward_the_lockout(store: RegisterStore, clerk: Session) -> None:
    other = InProcessReader(
        CardChip(issue_operator_card(store.key.private, store.code, "x").content)
    )
    for _ in range(MAX_FAILED_LOGINS):
        with pytest.raises(OperatorCardRefused):
            service.login(store, "clerk", PASSWORD, other)
    with pytest.raises(AccountLocked):
        service.login(store, "clerk", PASSWORD, reader_of(clerk))


def test_a_card_pulled_out_ends_the_session_before_anything_commits(
    store: RegisterStore, clerk: Session
) -> None:
    session = service.login(store, "clerk", PASSWORD, reader_of(clerk))
    reader_of(clerk).disconnect()  # the card leaves the reader
    assert not session.still_present()
    before = counts(store)
    with pytest.raises(OperatorCardRemoved, match="session has ended"):
        service.record_event(store, session, arrival(), TODAY)
    entry = last_audit(store)[0]
    assert (entry.operation, entry.outcome) == ("event.move-in-abroad", "refused")
    assert entry.detail.startswith("operator-card-removed: ")
    assert counts(store) == {**before, "audit_log": before["audit_log"] + 1}


def test_a_card_pulled_during_a_seed_keeps_only_the_batches_committed_before(
    store: RegisterStore, admin: Session, places: Places, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long command checks the card before each of its transactions commits."""
    monkeypatch.setattr(seeding, "CHUNK", 40)
    written: list[int] = []

    def pull_after_first_batch(n: int) -> None:
        written.append(n)
        reader_of(admin).disconnect()

    with pytest.raises(OperatorCardRemoved):
        asyncio.run(
            seeding.seed(
                store, admin, places, LocalCodeSource(), 200, today=TODAY,
                progress=pull_after_first_batch,
            )
        )  # fmt: skip
    assert len(written) == 1
    assert counts(store)["persons"] == written[0] < 200
    entry = last_audit(store)[0]
    assert (entry.operation, entry.outcome) == ("seed", "refused")
    assert entry.detail.startswith("operator-card-removed: ")
