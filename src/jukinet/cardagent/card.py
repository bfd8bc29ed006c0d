"""The card agent's steps on the card, through the terminal's reader (PC/SC).

Each call connects to the card, does its steps and disconnects, unpowering the card: a
PIN verified for one call is not verified for the next (the card drops its security
state when it loses power), and the agent keeps no PIN. One call at a time reaches the
card (``_lock``): two pages signing at once would otherwise interleave their APDUs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from jukinet.card.apps import jpki
from jukinet.card.pcsc import PcscReader, reader_names
from jukinet.card.reader import Reader
from jukinet.card.sw import SW
from jukinet.card.terminal import Terminal
from jukinet.cardagent.protocol import Hash, KeyKind, SignRequest, digest_info
from jukinet.errors import CardError, CardNotPresent, CardRefused, JukinetError
from jukinet.jpki.sign_in import sign_in_message

__all__ = [
    "Card",
    "NoReader",
    "PinBlocked",
    "PinStatus",
    "Signed",
    "Status",
    "WrongPin",
]

_PIN_FID = {KeyKind.AUTHENTICATION: jpki.AUTH_PIN, KeyKind.SIGNING: jpki.SIGN_PIN}
_CERT_FID = {KeyKind.AUTHENTICATION: jpki.AUTH_CERT, KeyKind.SIGNING: jpki.SIGN_CERT}
_KEY_FID = {KeyKind.AUTHENTICATION: jpki.AUTH_KEY, KeyKind.SIGNING: jpki.SIGN_KEY}
_PIN_NAME = {
    KeyKind.AUTHENTICATION: "user-authentication PIN (利用者証明用暗証番号)",
    KeyKind.SIGNING: "signing password (署名用パスワード)",
}


class NoReader(CardError):
    """pcscd lists no reader the agent may use."""

    code = "no-reader"


class WrongPin(CardError):
    """The card refused the PIN; ``tries_left`` more tries before it blocks."""

    code = "wrong-pin"

    def __init__(self, message: str, tries_left: int) -> None:
        super().__init__(message)
        self.tries_left = tries_left


class PinBlocked(CardError):
    """The PIN is blocked: only the municipality's window unblocks it (R19)."""

    code = "pin-blocked"


class NoSuchCertificate(CardError):
    """The card holds no signing certificate (a holder under 15, R15)."""

    code = "no-certificate"


@dataclass(frozen=True, slots=True)
class PinStatus:
    tries_left: int
    blocked: bool


@dataclass(frozen=True, slots=True)
class Status:
    """What ``GET /v1/status`` answers: nothing personal."""

    reader: str | None
    card_present: bool
    application: str | None
    signing_certificate: bool | None
    pins: dict[KeyKind, PinStatus]


@dataclass(frozen=True, slots=True)
class Signed:
    signature: bytes
    certificate: bytes
    message: bytes
    """The exact bytes signed (the sign-in message, or the document)."""


def blocked_message(kind: KeyKind) -> str:
    return (
        f"The card's {_PIN_NAME[kind]} is blocked after too many wrong tries; it must be "
        "unblocked at the municipality's window (bring the card)."
    )


def _wrong_pin(kind: KeyKind, sw: int) -> JukinetError:
    left = sw & 0x0F
    if left == 0:
        return PinBlocked(f"Wrong {_PIN_NAME[kind]}. " + blocked_message(kind))
    tries = "try" if left == 1 else "tries"
    return WrongPin(f"Wrong {_PIN_NAME[kind]}: {left} {tries} left before it blocks.", left)


class Card:
    """The card in the reader ``reader_name`` (``None``: the first reader pcscd lists).

    ``open_reader`` makes the reader for a name (PC/SC; tests may pass another)."""

    def __init__(
        self,
        reader_name: str | None = None,
        open_reader: Callable[[str], Reader] = PcscReader,
    ) -> None:
        self.reader_name = reader_name
        self._open = open_reader
        self._lock = threading.Lock()

    def _reader(self) -> str | None:
        names = reader_names()
        if self.reader_name is None:
            return names[0] if names else None
        return next((n for n in names if n == self.reader_name), None) or next(
            (n for n in names if self.reader_name in n), None
        )

    @contextmanager
    def _terminal(self) -> Iterator[Terminal]:
        name = self._reader()
        if name is None:
            wanted = f" {self.reader_name!r}" if self.reader_name else ""
            raise NoReader(f"There is no card reader{wanted} on this terminal.")
        reader = self._open(name)
        with self._lock:
            reader.connect()
            try:
                yield Terminal(reader)
            finally:
                reader.disconnect()

    @staticmethod
    def _select_jpki(terminal: Terminal) -> None:
        try:
            terminal.select_application(jpki.AID)
        except CardRefused as e:
            if e.sw == SW.FILE_NOT_FOUND:
                raise CardError(
                    "The card in the reader has no JPKI application (it is not a resident card)."
                ) from None
            raise

    @staticmethod
    def _verify(terminal: Terminal, kind: KeyKind, pin: str) -> None:
        try:
            terminal.verify(_PIN_FID[kind], pin)
        except CardRefused as e:
            if e.sw & 0xFFF0 == 0x63C0:
                raise _wrong_pin(kind, e.sw) from None
            if e.sw == SW.REFERENCE_DATA_BLOCKED:
                raise PinBlocked(blocked_message(kind)) from None
            raise

    @staticmethod
    def _has_signing(terminal: Terminal) -> bool:
        """Whether the card holds a signing certificate (EF 0008), read without a PIN."""
        present = terminal.read_file(jpki.CERTS_PRESENT)
        return len(present) > 2 and present[2] == 1

    @staticmethod
    def _signing_first(terminal: Terminal, kind: KeyKind) -> None:
        """A card without a signing certificate is told so before its password is asked:
        a password nobody was told would only spend its tries."""
        if kind is KeyKind.SIGNING and not Card._has_signing(terminal):
            raise NoSuchCertificate(
                "The card holds no signing certificate (none is issued to a person under 15)."
            )

    def status(self) -> Status:
        name = self._reader()
        if name is None:
            return Status(None, False, None, None, {})
        try:
            with self._terminal() as terminal:
                try:
                    self._select_jpki(terminal)
                except CardNotPresent:
                    raise
                except CardError:
                    return Status(name, True, None, None, {})
                signing = self._has_signing(terminal)
                pins = {}
                for kind, fid in _PIN_FID.items():
                    left = terminal.tries_left(fid)
                    pins[kind] = PinStatus(left, left == 0)
                return Status(name, True, "JPKI", signing, pins)
        except CardNotPresent:
            return Status(name, False, None, None, {})

    def certificate(self, kind: KeyKind, pin: str | None) -> bytes:
        """The DER certificate of ``kind``; the signing one after its password."""
        with self._terminal() as terminal:
            self._select_jpki(terminal)
            self._signing_first(terminal, kind)
            if kind is KeyKind.SIGNING:
                if pin is None:
                    raise CardError("The signing certificate is read with the signing password.")
                self._verify(terminal, kind, pin)
            return terminal.read_file(_CERT_FID[kind])

    def sign(self, request: SignRequest, origin: str) -> Signed:
        """The card's signature: a sign-in bound to ``origin``, or the document."""
        if request.challenge is not None:
            message = sign_in_message(origin, request.challenge)
            algorithm = Hash.SHA256
        else:
            assert request.data is not None  # parse_sign_request gives one of the two
            message, algorithm = request.data, request.hash
        kind = request.kind
        with self._terminal() as terminal:
            self._select_jpki(terminal)
            self._signing_first(terminal, kind)
            self._verify(terminal, kind, request.pin)
            certificate = terminal.read_file(_CERT_FID[kind])
            signature = terminal.sign(_KEY_FID[kind], digest_info(algorithm, message))
        return Signed(signature, certificate, message)
