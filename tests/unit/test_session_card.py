"""A session lasts while its operator card is in the reader (R11)."""

from __future__ import annotations

from datetime import date

import pytest

from jukinet.domain.access import Operator, Role, Session
from jukinet.errors import OperatorCardRemoved

CLERK = Operator(
    1, "clerk", "Clerk", Role.CLERK, "131016", date(2026, 1, 5), date(2026, 1, 5), 0, False
)


class Card:
    def __init__(self) -> None:
        self.inserted = True

    def still_present(self) -> bool:
        return self.inserted


def test_a_session_ends_when_its_card_leaves_the_reader() -> None:
    card = Card()
    session = Session(CLERK, card)
    assert session.still_present()
    session.require_card()
    card.inserted = False
    assert not session.still_present()
    with pytest.raises(OperatorCardRemoved, match="clerk is no longer in the reader"):
        session.require_card()


def test_a_session_without_a_card_is_never_present() -> None:
    """Sign-in always gives a session its card; one built without is refused at commit."""
    session = Session(CLERK)
    assert not session.still_present()
    with pytest.raises(OperatorCardRemoved):
        session.require_card()
