"""The window terminal's side of a resident card in a reader (R15–R17, docs/card.md
"At the window"): the commands it sends, through :class:`~jukinet.card.terminal.Terminal`.

The terminal authenticates to the 住基AP with the chain the network's card-terminal CA
started (EXTERNAL AUTHENTICATE); the card proves itself with INTERNAL AUTHENTICATE
against the key of the municipality that issued it (the one of the network's issuer
keys that signed the card's certificate). The holder's PIN then opens the card's
resident code and card number. Updating the resident code (R6) needs the UPDATE
right only (no PIN: the card's access condition for EF 0001); unblocking a PIN, the
UNBLOCK right in that application.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

from jukinet.card import certs
from jukinet.card.apdu import command
from jukinet.card.apps import jpki, municipal, resident
from jukinet.card.pcsc import PcscReader
from jukinet.card.reader import Reader
from jukinet.card.sw import SW
from jukinet.card.terminal import Terminal
from jukinet.errors import CardNotGenuine, CardRefused, InvalidInput, NoSigningCertificate
from jukinet.nodes.municipality.card_keys import WindowKeys

SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
"""DER prefix of a SHA-256 DigestInfo (RFC 8017 §9.2, note 1)."""

PINS = {
    "resident": (resident.AID, resident.PIN_FID, "住基AP PIN"),
    "municipal": (municipal.AID, municipal.PIN_FID, "municipal PIN"),
    "jpki-auth": (jpki.AID, jpki.AUTH_PIN, "JPKI user-authentication PIN"),
    "jpki-sign": (jpki.AID, jpki.SIGN_PIN, "JPKI signing password"),
}
BLOCKED = (
    "The PIN is blocked: a supervisor can unblock it (`jukinet card unblock`) once the "
    "holder's identity has been checked."
)


@dataclass(frozen=True, slots=True)
class CardRead:
    """What the 住基AP told a terminal that passed its checks and the holder's PIN."""

    card_number: str
    resident_code: str
    municipality_code: str
    valid_until: date


@contextmanager
def terminal(reader_name: str) -> Iterator[Terminal]:
    """A terminal on the card in the PC/SC reader ``reader_name``."""
    reader = PcscReader(reader_name)
    reader.connect()
    try:
        yield Terminal(reader)
    finally:
        reader.disconnect()


def on_reader(reader: Reader) -> Terminal:
    return Terminal(reader)


def authenticate(t: Terminal, window: WindowKeys, aid: bytes) -> None:
    t.select_application(aid)
    t.authenticate_terminal(window.chain(aid), window.terminal, aid)


def prove_card(t: Terminal, window: WindowKeys) -> tuple[str, str]:
    """Mutual authentication in the 住基AP: (issuing municipality code, card number)."""
    authenticate(t, window, resident.AID)
    cert = certs.parse(t.read_file(resident.CARD_CERT))
    issuer = next((c for c, key in window.issuers.items() if cert.signed_by(key)), None)
    if issuer is None or not cert.subject.startswith("card "):
        raise CardNotGenuine("The card was not issued by a municipality of this network.")
    t.authenticate_card(window.issuers[issuer], resident.AID)
    return issuer, cert.subject.removeprefix("card ")


def verify_pin(t: Terminal, fid: int, pin: str) -> None:
    """The holder's PIN; a wrong one says how many tries are left, a blocked one where
    to go."""
    try:
        if t.tries_left(fid) == 0:
            raise CardRefused(BLOCKED, SW.REFERENCE_DATA_BLOCKED)
        t.verify(fid, pin)
    except CardRefused as e:
        if e.sw == SW.REFERENCE_DATA_BLOCKED:
            raise CardRefused(BLOCKED, e.sw) from None
        if e.sw & 0xFFF0 == 0x63C0 and e.sw & 0xF == 0:
            raise CardRefused("Wrong PIN: 0 tries left. " + BLOCKED, e.sw) from None
        if e.sw == SW.WRONG_DATA:
            raise InvalidInput("That is not a PIN of the card's format; no try was used.") from None
        raise


def read_identity(t: Terminal, window: WindowKeys, pin: str) -> CardRead:
    issuer, number = prove_card(t, window)
    verify_pin(t, resident.PIN_FID, pin)
    read = CardRead(
        card_number=t.read_file(resident.CARD_NUMBER).decode("ascii"),
        resident_code=t.read_file(resident.RESIDENT_CODE).decode("ascii"),
        municipality_code=t.read_file(resident.MUNICIPALITY).decode("ascii"),
        valid_until=datetime.strptime(t.read_file(resident.VALID_UNTIL).decode(), "%Y%m%d").date(),
    )
    if read.card_number != number or read.municipality_code != issuer:
        raise CardNotGenuine("The card's files do not match the card's certificate.")
    return read


def unblock(t: Terminal, window: WindowKeys, which: str) -> str:
    """Reset the retry counter of the PIN ``which`` (keeping the PIN): the terminal
    authenticates with its UNBLOCK right in that application first."""
    if which not in PINS:
        raise InvalidInput(f"Name the PIN to unblock: one of {', '.join(PINS)}.")
    aid, fid, label = PINS[which]
    authenticate(t, window, aid)
    t.select(fid)
    t.call(command(0x00, 0x2C, 0x03, 0x80))
    return label


def write_resident_code(t: Terminal, window: WindowKeys, code: str) -> str:
    """An authenticated UPDATE BINARY of EF 0001; the code it replaced."""
    authenticate(t, window, resident.AID)
    t.select(resident.RESIDENT_CODE)
    # EF 0001 is readable only with the PIN; the old code is the register's, not read here.
    t.call(command(0x00, 0xD6, 0x00, 0x00, code.encode("ascii")))
    return code


NO_SIGNING = (
    "This card holds no JPKI signing certificate: JPKI issues none to a person under 15, so "
    "the card cannot sign. It still proves who its holder is (user authentication); from 15 "
    "on, a card reissued at the window (`jukinet card reissue`) carries one."
)


def has_signing_certificate(t: Terminal) -> bool:
    """Whether the card's JPKI application holds a signing certificate (EF 0008, as
    OpenSC reads it): a card issued under 15 does not (R15)."""
    t.select_application(jpki.AID)
    present = t.read_file(jpki.CERTS_PRESENT)
    index = jpki.CERT_ORDER.index(jpki.SIGN_CERT)
    return len(present) > index and present[index] == 1


def require_signing_certificate(t: Terminal) -> None:
    if not has_signing_certificate(t):
        raise NoSigningCertificate(NO_SIGNING)


def sign(t: Terminal, password: str, document: bytes) -> tuple[bytes, bytes]:
    """(PKCS#1 v1.5 SHA-256 signature, the signing certificate DER) from the JPKI app."""
    require_signing_certificate(t)
    t.select_application(jpki.AID)
    verify_pin(t, jpki.SIGN_PIN, password)
    cert = t.read_file(jpki.SIGN_CERT)
    digest = SHA256_DIGEST_INFO + hashlib.sha256(document).digest()
    return t.sign(jpki.SIGN_KEY, digest), cert
