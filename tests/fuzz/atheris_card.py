"""Coverage-guided fuzzing of the card with atheris (libFuzzer): any sequence of byte
strings sent to the chip is answered with a status word, never an exception, and no
answer carries a private key (R18, R19).

Run by ``tests/fuzz/test_atheris.py`` (a fixed number of runs in CI); by hand:
``.venv/bin/python tests/fuzz/atheris_card.py -runs=1000000``.
"""

from __future__ import annotations

import copy
import sys
from datetime import date

import atheris

with atheris.instrument_imports():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from jukinet.card import certs
    from jukinet.card.builder import Authorities, CardKeys, CardPins, Holder, issue_card
    from jukinet.card.jpki_ca import JpkiTestCA
    from jukinet.card.machine import CardChip

KEYS = CardKeys.generate()
CONTENT = issue_card(
    Holder("12345678903", "0000000000001234", "131016", "山田 太郎", date(2031, 3, 31)),
    CardPins("1234", "ABCDEF12", "5678", "2468"),
    Authorities(
        JpkiTestCA.create(),
        Ed25519PrivateKey.generate(),
        certs.public_bytes(Ed25519PrivateKey.generate()),
    ),
    KEYS,
)
SECRETS = [
    key.private_numbers().d.to_bytes(256, "big")[:16] for key in (KEYS.jpki_auth, KEYS.jpki_sign)
]


def commands(data: bytes) -> list[bytes | None]:
    """The input as commands: a length byte, then that many bytes (an APDU); a length
    byte of 255 is a warm reset (``None``). Simple enough to write seeds by hand."""
    out: list[bytes | None] = []
    at = 0
    while at < len(data):
        size = data[at]
        at += 1
        if size == 255:
            out.append(None)
            continue
        out.append(data[at : at + size])
        at += size
    return out


def one_input(data: bytes) -> None:
    chip = CardChip(copy.deepcopy(CONTENT))
    chip.power_on()
    for apdu in commands(data):
        if apdu is None:
            chip.reset()
            continue
        answer = chip.process(apdu)
        if len(answer) < 2:
            raise AssertionError(f"{apdu.hex()} answered without a status word: {answer.hex()}")
        for secret in SECRETS:
            if secret in answer:
                raise AssertionError(f"{apdu.hex()} answered with a private key's bytes")


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
