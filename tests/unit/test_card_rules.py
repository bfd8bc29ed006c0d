"""The card's life-cycle rules (domain/card.py, R15–R17): every step from every state."""

from __future__ import annotations

from datetime import date

import pytest

from jukinet.domain.card import (
    Card,
    CardState,
    CardStep,
    after,
    check_suspend_reason,
    may_issue,
    proves_identity,
)
from jukinet.errors import CardStateRefused

ISSUED, UNTIL = date(2026, 12, 1), date(2036, 12, 1)


def card(state: CardState) -> Card:
    return Card("000000000042", "12345678901", state, ISSUED, UNTIL)


LEGAL = {
    (CardState.ACTIVE, CardStep.SUSPEND): CardState.SUSPENDED,
    (CardState.ACTIVE, CardStep.REVOKE): CardState.REVOKED,
    (CardState.SUSPENDED, CardStep.REVOKE): CardState.REVOKED,
    (CardState.ACTIVE, CardStep.REPLACE): CardState.REPLACED,
    (CardState.SUSPENDED, CardStep.REPLACE): CardState.REPLACED,
    (CardState.ACTIVE, CardStep.UNBLOCK): CardState.ACTIVE,
    (CardState.ACTIVE, CardStep.UPDATE): CardState.ACTIVE,
}


@pytest.mark.parametrize("state", list(CardState))
@pytest.mark.parametrize("step", list(CardStep))
def test_each_step_is_legal_only_from_its_states(state: CardState, step: CardStep) -> None:
    if (state, step) in LEGAL:
        assert after(card(state), step) is LEGAL[(state, step)]
        return
    with pytest.raises(CardStateRefused) as refused:
        after(card(state), step)
    assert refused.value.message.startswith("Card 000000000042 cannot be ")


def test_a_suspended_card_is_refused_with_what_to_do() -> None:
    with pytest.raises(CardStateRefused, match=r"suspended \(reported lost\); reissue or revoke"):
        after(card(CardState.SUSPENDED), CardStep.SUSPEND)


@pytest.mark.parametrize("state", [CardState.ACTIVE, CardState.SUSPENDED])
def test_a_resident_with_a_card_in_use_gets_a_reissue_not_a_second_card(state: CardState) -> None:
    with pytest.raises(CardStateRefused, match="use `card reissue`"):
        may_issue(card(state))


@pytest.mark.parametrize("state", [None, CardState.REVOKED, CardState.REPLACED])
def test_a_new_card_once_none_is_in_use(state: CardState | None) -> None:
    may_issue(card(state) if state is not None else None)


def test_only_an_active_unexpired_card_proves_identity() -> None:
    proves_identity(card(CardState.ACTIVE), UNTIL)
    with pytest.raises(CardStateRefused, match="expired on 2036-12-01"):
        proves_identity(card(CardState.ACTIVE), date(2036, 12, 2))
    for state in (CardState.SUSPENDED, CardState.REVOKED, CardState.REPLACED):
        with pytest.raises(CardStateRefused, match="does not prove who its holder is"):
            proves_identity(card(state), ISSUED)


def test_a_card_is_suspended_because_it_was_lost_or_stolen() -> None:
    check_suspend_reason("lost")
    check_suspend_reason("stolen")
    with pytest.raises(CardStateRefused, match="'broken' is not one"):
        check_suspend_reason("broken")
