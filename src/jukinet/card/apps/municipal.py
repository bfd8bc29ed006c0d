"""The municipal own-use application (市町村独自利用, R15, R16).

Services a municipality defines by ordinance (a library, a kiosk). It holds the card
number and the municipality, not the resident code: the municipality that issued the
card knows whose it is, and no other purpose needs the network's key (R18). Its
terminals are certified by the municipality itself. The municipality may waive the
PIN (R16): then an authenticated terminal alone reads the files.
"""

from __future__ import annotations

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

AID = bytes.fromhex("F04A554B494E455402")
"""'F0' = proprietary, not registered (ISO/IEC 7816-4 §12.2.3); then "JUKINET" 02."""

CARD_NUMBER = 0x0001
MUNICIPALITY = 0x0002
SERVICE_DATA = 0x0003
"""Free for the municipality's services; written by its terminals with the UPDATE right."""
CARD_CERT = 0x0010
PIN_FID = 0x0011
CARD_KEY = 0x0012
PIN_TRIES = 3
SERVICE_DATA_SIZE = 128
NO_PIN = b"0000"
"""The reference data of a waived PIN until the holder sets one."""


def build(
    *,
    card_number: str,
    municipality_code: str,
    pin: bytes | None,
    card_key: bytes,
    card_cert: bytes,
    terminal_anchor: bytes,
) -> Application:
    """``pin`` None: the municipality waived it."""
    if pin is not None and not PinFormat.DIGITS_4.accepts(pin):
        raise ValueError("the municipal PIN must be 4 digits")
    reads = Access(pin=PIN_FID, rights=READ)
    return Application(
        aid=AID,
        label="municipal services",
        files={
            CARD_NUMBER: ElementaryFile(CARD_NUMBER, card_number.encode("ascii"), reads),
            MUNICIPALITY: ElementaryFile(MUNICIPALITY, municipality_code.encode("ascii"), reads),
            SERVICE_DATA: ElementaryFile(
                SERVICE_DATA, bytes(SERVICE_DATA_SIZE), reads, Access(rights=UPDATE)
            ),
            CARD_CERT: ElementaryFile(CARD_CERT, card_cert, Access(rights=READ)),
        },
        pins={
            PIN_FID: Pin(
                PIN_FID, pin or NO_PIN, PinFormat.DIGITS_4, PIN_TRIES, PIN_TRIES, waived=pin is None
            )
        },
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
