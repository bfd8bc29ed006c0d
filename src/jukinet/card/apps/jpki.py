"""The JPKI application (公的個人認証, R15), laid out as independent readers know it.

Sources: OpenSC ``src/libopensc/card-jpki.c``, ``pkcs15-jpki.c`` and ``jpki.h``, and
the ``myna`` tool (``src/jpki.rs``, ``src/reader.rs``). It is not gated on mutual
authentication, so that such software works (DESIGN §9); its terminal anchor (the
issuing municipality) serves only to unblock a PIN at the window.
"""

from __future__ import annotations

import secrets

from jukinet.card.content import (
    ALWAYS,
    Access,
    Application,
    ElementaryFile,
    Key,
    KeyKind,
    KeyUsage,
    Pin,
    PinFormat,
)

AID = bytes.fromhex("D392F000260100000001")

SIGN_CERT = 0x0001
"""署名用電子証明書: readable only once the signing password is verified."""
SIGN_CA = 0x0002
TOKEN_INFO = 0x0006
CERTS_PRESENT = 0x0008
AUTH_CERT = 0x000A
"""利用者証明用電子証明書."""
AUTH_CA = 0x000B
AUTH_KEY = 0x0017
AUTH_PIN = 0x0018
SIGN_KEY = 0x001A
SIGN_PIN = 0x001B

AUTH_PIN_TRIES = 3
SIGN_PIN_TRIES = 5
TOKEN = b"JPKIAPICCTOKEN2".ljust(32, b" ")
"""EF 0006: 32 bytes, read whole by ``myna`` (which trims the trailing spaces)."""
CERT_ORDER = (AUTH_CERT, AUTH_CA, SIGN_CERT, SIGN_CA)
"""EF 0008: one byte per certificate EF in this order, 01 present, 00 absent."""


def build(
    *,
    auth_cert: bytes,
    auth_ca: bytes,
    sign_cert: bytes,
    sign_ca: bytes,
    auth_key: bytes,
    sign_key: bytes | None,
    auth_pin: bytes,
    sign_pin: bytes | None,
    unblock_anchor: bytes,
) -> Application:
    """The application with DER certificates and PKCS#8 DER RSA-2048 keys.

    An empty ``sign_cert`` is absent (EF 0008 says so). Without ``sign_key`` (a holder
    under 15, to whom JPKI issues no signing certificate) the card holds no signing key;
    without ``sign_pin`` its signing-password EF is still there, set to a random value
    nobody is told: OpenSC's jpki driver asks every JPKI card for the tries left of both
    PINs and refuses to bind a card without the second, and behind it there is nothing.
    """
    pins = ((auth_pin, PinFormat.DIGITS_4), (sign_pin, PinFormat.UPPER_ALNUM_6_16))
    for pin, fmt in pins:
        if pin is not None and not fmt.accepts(pin):
            raise ValueError(f"a JPKI PIN must be {fmt.value}")
    certs = {AUTH_CERT: auth_cert, AUTH_CA: auth_ca, SIGN_CERT: sign_cert, SIGN_CA: sign_ca}
    for fid, der in certs.items():
        if der and der[:2] != b"\x30\x82":
            raise ValueError(f"EF {fid:04X}: OpenSC reads a certificate's length from 30 82 LL LL")
    files = {
        fid: ElementaryFile(fid, der, Access(pin=SIGN_PIN) if fid == SIGN_CERT else ALWAYS)
        for fid, der in certs.items()
    }
    files[TOKEN_INFO] = ElementaryFile(TOKEN_INFO, TOKEN)
    present = bytes(1 if certs[fid] else 0 for fid in CERT_ORDER)
    files[CERTS_PRESENT] = ElementaryFile(CERTS_PRESENT, present)
    app_pins = {
        AUTH_PIN: Pin(AUTH_PIN, auth_pin, PinFormat.DIGITS_4, AUTH_PIN_TRIES, AUTH_PIN_TRIES)
    }
    keys = {
        AUTH_KEY: Key(AUTH_KEY, KeyKind.RSA_2048, auth_key, KeyUsage.SIGN, Access(pin=AUTH_PIN))
    }
    unknown = secrets.token_hex(8).upper().encode()  # 16 characters of the format
    app_pins[SIGN_PIN] = Pin(
        SIGN_PIN, sign_pin or unknown, PinFormat.UPPER_ALNUM_6_16, SIGN_PIN_TRIES, SIGN_PIN_TRIES
    )
    if sign_key is not None:
        keys[SIGN_KEY] = Key(SIGN_KEY, KeyKind.RSA_2048, sign_key, KeyUsage.SIGN,
                             Access(pin=SIGN_PIN))  # fmt: skip
    return Application(
        aid=AID, label="JPKI", files=files, pins=app_pins, keys=keys, terminal_ca=unblock_anchor
    )
