"""The resident card's life cycle at the window (R15–R17): which steps are legal.

A card is issued ``active``. It may be ``suspended`` (reported lost, its JPKI
certificates revoked), ``revoked`` (given back or withdrawn) or ``replaced`` by a new
card (reissued). Suspended, revoked and replaced are the ends of a card's life but
for one step: a suspended card may still be revoked or replaced. Only an active card
proves who its holder is; a resident holds at most one card that is not at its end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from jukinet.errors import CardStateRefused


class CardState(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    REPLACED = "replaced"


class CardStep(StrEnum):
    SUSPEND = "suspend"
    REVOKE = "revoke"
    REPLACE = "replace"
    UNBLOCK = "unblock"
    UPDATE = "update"


SUSPEND_REASONS = ("lost", "stolen")

_FROM: dict[CardStep, frozenset[CardState]] = {
    CardStep.SUSPEND: frozenset({CardState.ACTIVE}),
    CardStep.REVOKE: frozenset({CardState.ACTIVE, CardState.SUSPENDED}),
    CardStep.REPLACE: frozenset({CardState.ACTIVE, CardState.SUSPENDED}),
    CardStep.UNBLOCK: frozenset({CardState.ACTIVE}),
    CardStep.UPDATE: frozenset({CardState.ACTIVE}),
}
_TO: dict[CardStep, CardState | None] = {
    CardStep.SUSPEND: CardState.SUSPENDED,
    CardStep.REVOKE: CardState.REVOKED,
    CardStep.REPLACE: CardState.REPLACED,
    CardStep.UNBLOCK: None,
    CardStep.UPDATE: None,
}
_WHAT = {
    CardStep.SUSPEND: "suspended",
    CardStep.REVOKE: "revoked",
    CardStep.REPLACE: "replaced",
    CardStep.UNBLOCK: "unblocked",
    CardStep.UPDATE: "updated",
}
_BECAUSE = {
    CardState.ACTIVE: "it is active",
    CardState.SUSPENDED: "it is suspended (reported lost); reissue or revoke it",
    CardState.REVOKED: "it was revoked",
    CardState.REPLACED: "it was replaced by a newer card",
}


@dataclass(frozen=True, slots=True)
class Card:
    number: str
    resident_code: str
    state: CardState
    issued_on: date
    valid_until: date


def after(card: Card, step: CardStep) -> CardState:
    """The card's state after ``step``, or :class:`CardStateRefused` saying why not."""
    if card.state not in _FROM[step]:
        raise CardStateRefused(
            f"Card {card.number} cannot be {_WHAT[step]}: {_BECAUSE[card.state]}."
        )
    return _TO[step] or card.state


def may_issue(current: Card | None) -> None:
    """A new card only for a resident without one in use (else: reissue)."""
    if current is not None and current.state is CardState.ACTIVE:
        raise CardStateRefused(
            f"The resident already holds card {current.number}, active; "
            "use `card reissue` to replace it."
        )
    if current is not None and current.state is CardState.SUSPENDED:
        raise CardStateRefused(
            f"The resident's card {current.number} is suspended; use `card reissue` to replace it."
        )


def proves_identity(card: Card, today: date) -> None:
    """Refused unless ``card`` may prove its holder's identity today."""
    if card.state is not CardState.ACTIVE:
        raise CardStateRefused(
            f"Card {card.number} does not prove who its holder is: {_BECAUSE[card.state]}."
        )
    if today > card.valid_until:
        raise CardStateRefused(
            f"Card {card.number} expired on {card.valid_until.isoformat()}; "
            "the holder needs a new card."
        )


def check_suspend_reason(reason: str) -> None:
    if reason not in SUSPEND_REASONS:
        raise CardStateRefused(
            f"A card is suspended because it was {' or '.join(SUSPEND_REASONS)}; "
            f"{reason!r} is not one of these."
        )
