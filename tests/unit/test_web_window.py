"""The window app's pieces below the browser (docs/ui.md, "The window app"): its accounts
are the register's operators with the register's rules (R10, R11, R13), the search folds
variant kanji (R1), a refusal finds its field, and the browser session is the card."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from jukinet.domain.access import MAX_FAILED_LOGINS, Role, Session
from jukinet.errors import (
    AuthenticationFailed,
    EventRefused,
    InvalidInput,
    OperatorNotFound,
    ResidentNotFound,
    RoleNotAllowed,
)
from jukinet.nodes.municipality import operators, service, staff
from jukinet.nodes.municipality.operator_trail import operator_trail
from jukinet.nodes.municipality.resident_search import find_residents
from jukinet.nodes.municipality.store import RegisterStore
from jukinet.web.common.accounts import AccountLocked, Credential
from jukinet.web.common.sessions import Sessions
from jukinet.web.window.accounts import CARDS_FILE, WindowAccounts
from jukinet.web.window.app import BrowserSession
from jukinet.web.window.fields import field_of
from tests.conftest import LAST_YEAR, PASSWORD
from tests.helpers import TODAY, arrival, last_audit, person


@pytest.fixture
def accounts(home: Path, store: RegisterStore, clerk: Session) -> WindowAccounts:
    return WindowAccounts(home, store)


def test_the_password_is_the_register_operators_and_nobody_else_has_an_account(
    accounts: WindowAccounts,
) -> None:
    """R11: no second user list — only an operator of the register has a window account."""
    assert accounts.check_password("clerk", PASSWORD).username == "clerk"
    assert accounts.get("nobody") is None
    with pytest.raises(AuthenticationFailed, match="Unknown operator or wrong password"):
        accounts.check_password("nobody", PASSWORD)
    with pytest.raises(AuthenticationFailed, match="Unknown operator or wrong password"):
        accounts.check_password("clerk", "not the password")


def test_an_untrained_operator_is_refused_in_the_registers_words(
    accounts: WindowAccounts, store: RegisterStore, admin: Session
) -> None:
    """R10, R13: no account is usable without training and pledge, at the window too."""
    staff.add(store, admin, username="newcomer", full_name="New Comer", role=Role.CLERK,
              password=PASSWORD, trained_on=None, pledge_signed_on=LAST_YEAR)  # fmt: skip
    with pytest.raises(AuthenticationFailed, match="no security training is recorded"):
        accounts.check_password("newcomer", PASSWORD)


def test_refused_cards_count_with_wrong_passwords_and_lock_the_register_account(
    accounts: WindowAccounts, store: RegisterStore
) -> None:
    """R11: a right password does not wipe out refused cards; five failures lock the
    operator in the register, for the CLI as for the window."""
    for _ in range(MAX_FAILED_LOGINS - 1):
        accounts.check_password("clerk", PASSWORD)  # the password passes ...
        accounts.count_failure("clerk")  # ... and the card is refused
    accounts.check_password("clerk", PASSWORD)
    accounts.count_failure("clerk")
    with store.transaction() as tx:
        assert operators.get(tx.conn, "clerk").locked
    with pytest.raises(AccountLocked, match="locked after too many wrong passwords"):
        accounts.check_password("clerk", PASSWORD)


def test_a_successful_sign_in_starts_the_count_again_and_keeps_only_the_card(
    accounts: WindowAccounts, store: RegisterStore, home: Path
) -> None:
    accounts.count_failure("clerk")
    account = accounts.check_password("clerk", PASSWORD)
    card = Credential(id="AAAA", public_key="BBBB")
    accounts.signed_in(account.model_copy(update={"credentials": [card]}))
    with store.transaction() as tx:
        assert operators.get(tx.conn, "clerk").failed_attempts == 0
    kept = (home / CARDS_FILE).read_text()
    assert "AAAA" in kept and "argon2" not in kept  # the password hash stays in the register
    assert (home / CARDS_FILE).stat().st_mode & 0o777 == 0o600


def test_a_registration_link_is_for_a_register_operator_and_unlocks_nothing(
    accounts: WindowAccounts, store: RegisterStore
) -> None:
    for _ in range(MAX_FAILED_LOGINS):
        accounts.count_failure("clerk")
    token = accounts.new_enrolment("clerk")
    found = accounts.by_enrolment(token)
    assert found is not None and found.username == "clerk"
    with store.transaction() as tx:
        assert operators.get(tx.conn, "clerk").locked  # unlocking is the register's act
    with pytest.raises(OperatorNotFound, match="no operator 'nobody'"):
        accounts.new_enrolment("nobody")


def test_the_search_folds_variant_kanji_and_the_reading(
    store: RegisterStore, clerk: Session
) -> None:
    """R1: 髙橋 is found as 高橋, and by its reading in hiragana; the read is audited."""
    born = date(1975, 3, 3)
    service.record_event(store, clerk, arrival(
        person("﨑子", "サキコ", family="髙橋", fk="タカハシ", born=born, code=None),
    ), TODAY)  # fmt: skip
    by_kanji = find_residents(store, clerk, "高橋 崎子", born)
    assert [r.name.full for r in by_kanji] == ["髙橋 﨑子"]
    assert [r.resident_code for r in find_residents(store, clerk, "たかはし さきこ", born)] == [
        by_kanji[0].resident_code
    ]
    assert find_residents(store, clerk, "高橋 崎子", date(1975, 3, 4)) == []
    entry = last_audit(store)[0]
    assert (entry.actor, entry.operation, entry.outcome) == (
        "operator:clerk", "resident.search", "ok",
    )  # fmt: skip
    with pytest.raises(InvalidInput, match="empty once spaces are removed"):
        find_residents(store, clerk, "  ", born)
    assert last_audit(store)[0].outcome == "refused"


def test_an_auditor_may_not_search_residents(store: RegisterStore, auditor: Session) -> None:
    """R12: the roles of the CLI hold at the window (an auditor reads no record)."""
    with pytest.raises(RoleNotAllowed, match="may not read a resident record"):
        find_residents(store, auditor, "山田 太郎", date(1980, 5, 5))


@pytest.mark.parametrize(
    ("sentence", "field"),
    [
        ("The reading of the family name must be written in full-width katakana; got 'x'.",
         "family_kana"),
        ("The given name is empty.", "given_name"),
        ("The date of birth (2999-01-01) is in the future.", "born"),
        ("The child cannot be born before the parent.", "born"),
        ("The notification (2020-01-01) cannot precede the event (2021-01-01).", "notified"),
        ("'叔父' is not a relationship (続柄) the register knows.", "relationship"),
        ("Something else went wrong.", None),
    ],
)  # fmt: skip
def test_a_refusal_is_shown_next_to_the_field_it_names(sentence: str, field: str | None) -> None:
    assert field_of(EventRefused(sentence)) == field


@pytest.mark.parametrize(
    ("sentence", "field"),
    [
        ("A move-out needs the destination (転出先).", "destination"),
        ("A move-out is notified at most 14 days before the planned date.", "moved"),
        ("The head of household leaves while others stay: name the new head of household.",
         "new_head"),
        ("All persons of this event must belong to the same household.", "persons"),
        ("The same person is named twice.", "persons"),
        ("The notification date (2999-01-01) is in the future.", "notified"),
    ],
)  # fmt: skip
def test_a_move_out_refusal_is_shown_next_to_its_field(sentence: str, field: str) -> None:
    assert field_of(EventRefused(sentence), "move-out") == field
    assert field_of(ResidentNotFound("No resident holds code 1."), "move-out") == "persons"


@pytest.mark.parametrize(
    ("sentence", "field"),
    [
        ("The date of death (2999-01-01) is in the future.", "died"),
        ("The date of death is before the date of birth.", "died"),
        ("The head of household leaves while others stay: name the new head of household.",
         "new_head"),
        ("The notification (2020-01-01) cannot precede the event (2021-01-01).", "notified"),
    ],
)  # fmt: skip
def test_a_death_refusal_is_shown_next_to_its_field(sentence: str, field: str) -> None:
    assert field_of(EventRefused(sentence), "death") == field


def test_a_missing_parent_is_the_parent_fields() -> None:
    assert field_of(ResidentNotFound("No resident of this municipality holds code 1.")) == "parent"


def test_the_browser_session_is_the_card_until_it_ends() -> None:
    """R11: once the browser's session ends (sign-out, idle), nothing more is committed."""
    sessions = Sessions()
    s = sessions.new()
    s.user = "clerk"
    card = BrowserSession(sessions, s, "clerk")
    assert card.still_present()
    sessions.end(s)
    assert not card.still_present()
    idle = Sessions(idle_timeout=0.0)
    t = idle.new()
    t.user = "clerk"
    assert not BrowserSession(idle, t, "clerk").still_present()


def test_an_auditor_reads_an_operators_own_trail_and_a_clerk_may_not(
    store: RegisterStore, clerk: Session, auditor: Session
) -> None:
    """R12, R13: the operator's own entries, newest first, under the CLI's role rules."""
    service.record_event(store, clerk, arrival(person(born=date(1990, 1, 2))), TODAY)
    trail = operator_trail(store, auditor, "clerk")
    assert trail[0].operation == "event.move-in-abroad"
    assert {e.actor for e in trail} == {"operator:clerk"}
    assert [e.seq for e in trail] == sorted((e.seq for e in trail), reverse=True)
    entry = last_audit(store)[0]
    assert (entry.actor, entry.operation, entry.target) == (
        "operator:auditor", "audit.operator", "operator clerk",
    )  # fmt: skip
    with pytest.raises(RoleNotAllowed, match="may not read the audit log"):
        operator_trail(store, clerk, "clerk")
    with pytest.raises(OperatorNotFound):
        operator_trail(store, auditor, "nobody")


def test_a_move_in_refusal_is_shown_under_its_field() -> None:
    """R12: the move-in form's refusals name their field (the town, the reading, the code)."""
    from jukinet.errors import InvalidInput
    from jukinet.web.window.fields import field_of

    assert field_of(InvalidInput("'x' is not a town (町字) of 千代田区."), "move-in") == "town"
    assert field_of(InvalidInput("The reading of the given name must be katakana."),
                    "move-in") == "given_kana"  # fmt: skip
    assert field_of(InvalidInput("Something else entirely."), "move-in") is None
