"""The application firewall (R18) and no key export (R19): an application's files and
keys are reachable only while it is selected; no answer ever carries a private key."""

from __future__ import annotations

import itertools

import pytest

from jukinet.card.apps import jpki, municipal, resident
from jukinet.card.content import ALL_RIGHTS, CardContent
from jukinet.card.machine import CardChip
from jukinet.card.terminal import Terminal
from jukinet.errors import CardRefused
from tests.unit.card.conftest import PINS, Issuers, send, sw
from tests.unit.card.rules import leaks, secrets_of
from tests.unit.card.terminals import certified

APPS = {jpki.AID: None, resident.AID: "network", municipal.AID: "municipality"}


def select(aid: bytes) -> str:
    return f"00A4040C{len(aid):02X}{aid.hex()}"


def test_another_applications_files_cannot_be_selected(chip: CardChip) -> None:
    send(chip, select(resident.AID))
    for fid in (jpki.AUTH_KEY, jpki.SIGN_KEY, jpki.SIGN_PIN, jpki.TOKEN_INFO, jpki.AUTH_PIN):
        assert sw(chip, f"00A4020C02{fid:04X}") == "6A82"
    send(chip, select(jpki.AID))
    assert sw(chip, f"00A4020C02{resident.CARD_KEY:04X}") == "6A82"
    assert sw(chip, f"00A4020C02{resident.CARD_CERT:04X}") == "6A82"


def test_the_same_fid_names_each_applications_own_file(
    terminal: Terminal, issuers: Issuers
) -> None:
    terminal.select_application(resident.AID)
    certified(issuers.network_ca, resident.AID).authenticate(terminal)
    terminal.verify(resident.PIN_FID, PINS.resident)
    assert terminal.read_file(0x0001) == b"12345678903"
    terminal.select_application(municipal.AID)
    certified(issuers.municipality, municipal.AID).authenticate(terminal)
    terminal.verify(municipal.PIN_FID, PINS.municipal or "")
    assert terminal.read_file(0x0001) == b"0000000000001234"  # the card number, not the code
    terminal.select_application(jpki.AID)
    with pytest.raises(CardRefused) as caught:
        terminal.read_file(0x0001)  # JPKI's 0001 is the signing certificate
    assert caught.value.sw == 0x6982


def test_selecting_another_application_drops_every_right(
    terminal: Terminal, chip: CardChip, issuers: Issuers
) -> None:
    terminal.select_application(jpki.AID)
    terminal.verify(jpki.AUTH_PIN, PINS.jpki_auth)
    terminal.select_application(resident.AID)
    certified(issuers.network_ca, resident.AID, ALL_RIGHTS).authenticate(terminal)
    terminal.select_application(jpki.AID)
    terminal.select(jpki.AUTH_KEY)
    assert sw(chip, "802A008001AA00") == "6982"  # the JPKI PIN did not survive the trip
    terminal.select(jpki.SIGN_PIN)
    assert sw(chip, "002C0380") == "6982"  # nor did the terminal's rights


def test_a_pin_verified_in_one_application_opens_nothing_in_another(
    terminal: Terminal, issuers: Issuers
) -> None:
    terminal.select_application(municipal.AID)
    terminal.verify(municipal.PIN_FID, PINS.municipal or "")
    terminal.select_application(resident.AID)
    certified(issuers.network_ca, resident.AID).authenticate(terminal)
    with pytest.raises(CardRefused):
        terminal.read_file(resident.RESIDENT_CODE)


def _unlock_everything(terminal: Terminal, issuers: Issuers, aid: bytes) -> None:
    """Every PIN verified and a terminal with every right, in ``aid``."""
    terminal.select_application(aid)
    ca = {"network": issuers.network_ca, "municipality": issuers.municipality, None: None}[
        APPS[aid]
    ]
    certified(ca or issuers.municipality, aid, ALL_RIGHTS).authenticate(terminal)
    pins = {
        jpki.AID: [(jpki.AUTH_PIN, PINS.jpki_auth), (jpki.SIGN_PIN, PINS.jpki_sign)],
        resident.AID: [(resident.PIN_FID, PINS.resident)],
        municipal.AID: [(municipal.PIN_FID, PINS.municipal or "")],
    }[aid]
    for fid, pin in pins:
        terminal.verify(fid, pin)


@pytest.mark.parametrize("unlocked", [False, True], ids=["locked", "unlocked"])
def test_no_command_returns_private_key_bytes(
    terminal: Terminal, chip: CardChip, content: CardContent, issuers: Issuers, unlocked: bool
) -> None:
    """Every instruction, in both classes, with a handful of parameters, on every file of
    every application: the answers, searched, hold no run of a private key."""
    secrets = secrets_of(content)
    instructions = [i for i in range(256) if i & 0xF0 not in (0x60, 0x90) and i != 0xA4]
    params = ["0000", "0080", "0100", "0300", "8000"]
    bodies = ["", "00", "04313233", "01AA00"]
    answers: list[bytes] = []
    signatures = 0
    for app in content.applications:
        for fid in sorted({*app.files, *app.pins, *app.keys}):
            if unlocked:
                _unlock_everything(terminal, issuers, app.aid)
            else:
                terminal.select_application(app.aid)
            terminal.select(fid)
            for cla, ins, p1p2, body in itertools.product(
                (0x00, 0x80), instructions, params, bodies
            ):
                if (cla, ins) == (0x00, 0x24):
                    continue  # would change the PIN the sweep verifies with
                out = chip.process(bytes((cla, ins)) + bytes.fromhex(p1p2 + body))
                answers.append(out)
                signatures += (cla, ins) == (0x80, 0x2A) and out.endswith(b"\x90\x00")
    assert len(answers) > 100_000
    assert not leaks(b"|".join(answers), secrets)
    assert (signatures > 0) == unlocked  # the keys were used, where the PINs allowed
