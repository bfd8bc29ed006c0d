"""The resident-register application (住基AP, R15–R17).

Its files are read by a terminal that passed EXTERNAL AUTHENTICATE with the READ
right (certified by the network's card-terminal CA), once the holder entered the
4-digit PIN (3 tries, R16). The card proves itself with INTERNAL AUTHENTICATE, its key
certified by the issuing municipality (EF 0010).
"""

from __future__ import annotations

from datetime import date

from jukinet.card.content import (
    READ,
    UPDATE,
    Access,
    Application,
    ElementaryFile,
    Key,
    KeyKind,
    KeyUsage,
    Pin,
    PinFormat,
)

AID = bytes.fromhex("F04A554B494E455401")
"""'F0' = proprietary, not registered (ISO/IEC 7816-4 §12.2.3); then "JUKINET" 01."""

RESIDENT_CODE = 0x0001
CARD_NUMBER = 0x0002
MUNICIPALITY = 0x0003
VALID_UNTIL = 0x0004
CARD_CERT = 0x0010
PIN_FID = 0x0011
CARD_KEY = 0x0012
PIN_TRIES = 3

HOLDER_READS = Access(pin=PIN_FID, rights=READ)
"""An authenticated terminal, and the holder's PIN."""


def build(
    *,
    resident_code: str,
    card_number: str,
    municipality_code: str,
    valid_until: date,
    pin: bytes,
    card_key: bytes,
    card_cert: bytes,
    terminal_anchor: bytes,
) -> Application:
    if not PinFormat.DIGITS_4.accepts(pin):
        raise ValueError("the resident-register PIN must be 4 digits")
    updatable = Access(rights=UPDATE)
    return Application(
        aid=AID,
        label="resident register",
        files={
            RESIDENT_CODE: ElementaryFile(
                RESIDENT_CODE, resident_code.encode("ascii"), HOLDER_READS, updatable
            ),
            CARD_NUMBER: ElementaryFile(CARD_NUMBER, card_number.encode("ascii"), HOLDER_READS),
            MUNICIPALITY: ElementaryFile(
                MUNICIPALITY, municipality_code.encode("ascii"), HOLDER_READS, updatable
            ),
            VALID_UNTIL: ElementaryFile(
                VALID_UNTIL, valid_until.strftime("%Y%m%d").encode(), HOLDER_READS
            ),
            CARD_CERT: ElementaryFile(CARD_CERT, card_cert, Access(rights=READ)),
        },
        pins={PIN_FID: Pin(PIN_FID, pin, PinFormat.DIGITS_4, PIN_TRIES, PIN_TRIES)},
        keys={
            CARD_KEY: Key(
                CARD_KEY,
                KeyKind.ED25519,
                card_key,
                KeyUsage.INTERNAL_AUTHENTICATE,
                Access(rights=READ),
            )
        },
        terminal_ca=terminal_anchor,
    )
