"""Operators: identified by password and operator card, trained and pledged, limited by
role, locked out (R10–R13)."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from argon2 import Type
from sqlalchemy import update

from jukinet.audit import log as audit
from jukinet.card.machine import CardChip
from jukinet.card.reader import InProcessReader
from jukinet.domain.access import MAX_FAILED_LOGINS, Role, Session
from jukinet.errors import (
    AccountInactive,
    AccountLocked,
    AuthenticationFailed,
    InvalidInput,
    OperatorNotFound,
    RoleNotAllowed,
)
from jukinet.nodes.municipality import pool, report, service, staff
from jukinet.nodes.municipality.operators import password_hasher
from jukinet.nodes.municipality.store import RegisterStore
from jukinet.nodes.municipality.tables import operators
from tests.conftest import PASSWORD
from tests.helpers import TODAY, arrival, counts, last_audit, reader_of


def test_the_right_password_opens_a_session(store: RegisterStore, clerk: Session) -> None:
    session = service.login(store, "clerk", PASSWORD, reader_of(clerk))
    assert session.operator.role is Role.CLERK
    assert session.actor == "operator:clerk"


def test_a_wrong_password_is_refused_counted_and_audited(
    store: RegisterStore, clerk: Session
) -> None:
    before = counts(store)
    with pytest.raises(AuthenticationFailed, match="wrong password"):
        service.login(store, "clerk", "not-the-password", reader_of(clerk))
    entry = last_audit(store)[0]
    assert (entry.operation, entry.target, entry.outcome) == ("login", "clerk", "refused")
    assert counts(store) == {**before, "audit_log": before["audit_log"] + 1}


def test_an_unknown_operator_gets_the_same_answer_as_a_wrong_password(
    store: RegisterStore, admin: Session
) -> None:
    with pytest.raises(AuthenticationFailed, match="Unknown operator or wrong password"):
        service.login(store, "nobody", PASSWORD, reader_of(admin))
    assert last_audit(store)[0].outcome == audit.Outcome.REFUSED


def test_too_many_wrong_passwords_lock_the_account_until_an_administrator_unlocks_it(
    store: RegisterStore, clerk: Session, admin: Session
) -> None:
    for _ in range(MAX_FAILED_LOGINS):
        with pytest.raises(AuthenticationFailed):
            service.login(store, "clerk", "guess-guess-guess", reader_of(clerk))
    with pytest.raises(AccountLocked, match="locked"):
        service.login(store, "clerk", PASSWORD, reader_of(clerk))  # even the right password
    staff.unlock(store, admin, "clerk")
    assert service.login(store, "clerk", PASSWORD, reader_of(clerk)).operator.failed_attempts == 0


def test_a_right_password_resets_the_failure_count(store: RegisterStore, clerk: Session) -> None:
    for _ in range(MAX_FAILED_LOGINS - 1):
        with pytest.raises(AuthenticationFailed):
            service.login(store, "clerk", "guess-guess-guess", reader_of(clerk))
    assert service.login(store, "clerk", PASSWORD, reader_of(clerk)).operator.failed_attempts == 0


def test_no_account_is_active_without_training_and_pledge(
    store: RegisterStore, admin: Session
) -> None:
    """R10, R13: an account is created inactive and opens only once both are recorded."""
    op = staff.add(
        store, admin, username="newbie", full_name="New Clerk", role=Role.CLERK,
        password=PASSWORD,
    )  # fmt: skip
    assert not op.active
    card = staff.issue_card(store, admin, "newbie")
    newbie = InProcessReader(CardChip(card.content))
    with pytest.raises(AccountInactive, match="security training and confidentiality pledge"):
        service.login(store, "newbie", PASSWORD, newbie)
    staff.record_training(store, admin, "newbie", TODAY)
    with pytest.raises(AccountInactive, match="confidentiality pledge"):
        service.login(store, "newbie", PASSWORD, newbie)
    staff.record_pledge(store, admin, "newbie", TODAY)
    assert service.login(store, "newbie", PASSWORD, newbie).operator.active


def test_an_operator_of_another_node_is_refused(store: RegisterStore, clerk: Session) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            update(operators).where(operators.c.username == "clerk").values(node_code="011002")
        )
    with pytest.raises(RoleNotAllowed, match="belongs to node 011002"):
        service.login(store, "clerk", PASSWORD, reader_of(clerk))


@pytest.mark.parametrize(
    ("username", "full_name", "password", "message"),
    [
        ("Bad Name", "X", PASSWORD, "not a valid user name"),
        ("okname", " ", PASSWORD, "full name"),
        ("okname", "Ok Name", "short", "at least 10"),
        ("admin", "Again", PASSWORD, "already exists"),
    ],
)
def test_bad_accounts_are_refused_and_nothing_is_written(
    store: RegisterStore, admin: Session, username: str, full_name: str, password: str,
    message: str,
) -> None:  # fmt: skip
    before = counts(store)
    with pytest.raises(InvalidInput, match=message):
        staff.add(
            store, admin, username=username, full_name=full_name, role=Role.CLERK,
            password=password,
        )  # fmt: skip
    assert counts(store) == {**before, "audit_log": before["audit_log"] + 1}
    assert last_audit(store)[0].operation == "operator.add"


def test_managing_an_unknown_operator_is_refused(store: RegisterStore, admin: Session) -> None:
    with pytest.raises(OperatorNotFound):
        staff.record_training(store, admin, "ghost", date(2026, 1, 1))


# The access matrix: who may do what (R11). Each use case is run by each role.
def _use_cases(store: RegisterStore) -> dict[str, object]:
    return {
        "record event": lambda s: service.record_event(store, s, arrival(), TODAY),
        "read record": lambda s: service.show_household(store, s, 1),
        "manage operators": lambda s: staff.list_all(store, s),
        "replenish pool": lambda s: asyncio.run(
            pool.replenish(store, s, pool.LocalCodeSource(), 10)
        ),
        "summary": lambda s: report.summary(store, s, TODAY),
    }


ALLOWED = {
    "record event": {Role.CLERK, Role.SUPERVISOR},
    "read record": {Role.CLERK, Role.SUPERVISOR},
    "manage operators": {Role.ADMINISTRATOR},
    "replenish pool": {Role.ADMINISTRATOR},
    "summary": set(Role),
}


@pytest.mark.parametrize("role", list(Role))
def test_each_role_may_do_exactly_what_it_is_granted(
    store: RegisterStore,
    clerk: Session,
    supervisor: Session,
    auditor: Session,
    admin: Session,
    role: Role,
) -> None:
    session = {Role.CLERK: clerk, Role.SUPERVISOR: supervisor, Role.AUDITOR: auditor,
               Role.ADMINISTRATOR: admin}[role]  # fmt: skip
    service.record_event(store, clerk, arrival(), TODAY)  # household 1 exists for reads
    for name, use in _use_cases(store).items():
        if role in ALLOWED[name]:
            use(session)  # type: ignore[operator]
            assert last_audit(store)[0].outcome == "ok", name
        else:
            with pytest.raises(RoleNotAllowed, match=f"{session.operator.username} \\({role}\\)"):
                use(session)  # type: ignore[operator]
            assert last_audit(store)[0].outcome == "refused", name


def test_password_hashing_is_costly() -> None:
    """R11: passwords are kept as argon2id hashes with at least OWASP's minimum cost."""
    hasher = password_hasher()
    assert hasher.type is Type.ID
    assert hasher.memory_cost >= 19 * 1024
    assert hasher.time_cost >= 2
    assert hasher.hash(PASSWORD).startswith("$argon2id$")
