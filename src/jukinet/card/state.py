"""The chip's volatile state, and what a command handler is given to work with.

Security state belongs to the selected application (R18): entering an application
(selecting it, even again), selecting the MF, a reset and a power cycle all start a
fresh :class:`Session` with no PIN verified, no terminal rights and no challenge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from jukinet.card.apdu import Command, Response
from jukinet.card.content import Access, Application, CardContent, ElementaryFile, Key, Pin
from jukinet.card.sw import SW, wrong_le


class StorageFailed(Exception):
    """The card's memory could not be written: the command answers 6581 (R19)."""


@dataclass
class Session:
    app: Application | None = None
    """None: the MF is selected (no application)."""
    ef: int | None = None
    """The current EF, PIN or key of the application (by FID)."""
    verified: set[int] = field(default_factory=set)
    rights: int = 0
    """What the terminal proved with EXTERNAL AUTHENTICATE in this application."""
    challenge: bytes | None = None
    """The last GET CHALLENGE answer, until EXTERNAL AUTHENTICATE uses it up."""

    def enter(self, app: Application | None) -> None:
        """Leave the current application, dropping its whole security state (R18)."""
        self.app, self.ef, self.verified, self.rights, self.challenge = app, None, set(), 0, None

    def satisfies(self, access: Access) -> bool:
        if access.rights & ~self.rights:
            return False
        if access.pin is None:
            return True
        pin = self.app.pins.get(access.pin) if self.app else None
        return pin is not None and (pin.waived or access.pin in self.verified)


@dataclass
class Context:
    content: CardContent
    session: Session
    persist: Callable[[CardContent], None]
    random: Callable[[int], bytes]

    def save(self) -> None:
        """Write the card's content through before the command answers (R19)."""
        try:
            self.persist(self.content)
        except Exception as exc:
            raise StorageFailed(str(exc)) from exc

    def current(self) -> ElementaryFile | Pin | Key | int:
        """The current object, or the status word saying why there is none."""
        app, fid = self.session.app, self.session.ef
        if app is None or fid is None:
            return SW.NO_CURRENT_EF
        return app.files.get(fid) or app.pins.get(fid) or app.keys.get(fid) or SW.NO_CURRENT_EF


def status(sw: int) -> Response:
    return Response(b"", sw)


def answer(cmd: Command, data: bytes) -> Response:
    """Response data for a command that asked for it with Le (6700 without, 6Cxx if short)."""
    if cmd.le is None:
        return status(SW.WRONG_LENGTH)
    if cmd.le < len(data):
        return status(wrong_le(len(data)))
    return Response(data, SW.OK)


Handler = Callable[[Context, Command], Response]
