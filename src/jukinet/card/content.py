"""What a card holds and keeps across power cycles: its applications, their files,
PINs with their retry counters, and keys. Everything here lives in the card image
(:mod:`jukinet.card.image`); the volatile security state lives in the chip.

File identifiers (FIDs) are unique inside an application: an EF, a PIN and a key are
all selected with ``00 A4 02 0C 02 <fid>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

READ = 0x01
"""Terminal right: read the application's files (R17)."""
UPDATE = 0x02
"""Terminal right: write the application's updatable files (a code change, R6)."""
UNBLOCK = 0x04
"""Terminal right: reset a PIN's retry counter, optionally with a new PIN (at the window)."""
ALL_RIGHTS = READ | UPDATE | UNBLOCK


@dataclass(frozen=True)
class Access:
    """A security condition: every part named must hold.

    ``pin``: that PIN was verified since the application was selected (or it is waived);
    ``rights``: a terminal holding those rights passed EXTERNAL AUTHENTICATE (R17).
    """

    pin: int | None = None
    rights: int = 0


ALWAYS = Access()


class PinFormat(Enum):
    DIGITS_4 = "4 digits"
    UPPER_ALNUM_6_16 = "6-16 upper-case letters and digits"

    def accepts(self, value: bytes) -> bool:
        pattern = rb"[0-9]{4}" if self is PinFormat.DIGITS_4 else rb"[A-Z0-9]{6,16}"
        return re.fullmatch(pattern, value) is not None


class KeyKind(Enum):
    RSA_2048 = "rsa-2048"
    ED25519 = "ed25519"


class KeyUsage(Enum):
    SIGN = "sign"
    """``80 2A 00 80``: PKCS#1 v1.5 signature over the DigestInfo sent (JPKI)."""
    INTERNAL_AUTHENTICATE = "internal-authenticate"
    """``00 88``: the card proves itself to a terminal (R17)."""


@dataclass
class ElementaryFile:
    fid: int
    data: bytes
    read: Access = ALWAYS
    update: Access | None = None
    """None: the file is never written after issuance."""


@dataclass
class Pin:
    fid: int
    value: bytes
    format: PinFormat
    max_tries: int
    tries_left: int
    waived: bool = False
    """The municipality waived this PIN (R16): conditions naming it hold without it."""


@dataclass
class Key:
    """A private key. It never leaves the card: no command reads it (R19)."""

    fid: int
    kind: KeyKind
    private: bytes
    """RSA: PKCS#8 DER; Ed25519: the 32-byte private key."""
    usage: KeyUsage
    use: Access = ALWAYS


@dataclass
class Application:
    aid: bytes
    label: str
    files: dict[int, ElementaryFile] = field(default_factory=dict)
    pins: dict[int, Pin] = field(default_factory=dict)
    keys: dict[int, Key] = field(default_factory=dict)
    terminal_ca: bytes | None = None
    """Ed25519 public key (32 bytes) that certifies terminals for EXTERNAL AUTHENTICATE."""

    def __post_init__(self) -> None:
        fids = [*self.files, *self.pins, *self.keys]
        if len(set(fids)) != len(fids):
            raise ValueError(f"{self.label}: a file identifier is used twice")
        if not 5 <= len(self.aid) <= 16:
            raise ValueError(f"{self.label}: an AID has 5 to 16 bytes")


@dataclass
class CardContent:
    applications: list[Application]

    def __post_init__(self) -> None:
        aids = [app.aid for app in self.applications]
        if len(set(aids)) != len(aids):
            raise ValueError("two applications have the same AID")

    def application(self, aid: bytes) -> Application | None:
        return next((app for app in self.applications if app.aid == aid), None)
