"""PINs: tries counted down and locked (R16), change, unblock at the window only."""

from __future__ import annotations

import copy

import pytest

from jukinet.card.apps import jpki, municipal, resident
from jukinet.card.content import READ, UNBLOCK, CardContent
from jukinet.card.machine import CardChip
from jukinet.card.reader import InProcessReader
from jukinet.card.terminal import Terminal
from jukinet.errors import CardRefused
from tests.unit.card.conftest import Issuers, send, sw
from tests.unit.card.terminals import certified

JPKI = "00A4040C0A" + jpki.AID.hex()
RESIDENT = "00A4040C09" + resident.AID.hex()


def pin_apdu(pin: str) -> str:
    return f"00200080{len(pin):02X}{pin.encode().hex()}"


@pytest.mark.parametrize(
    ("fid", "wrong", "right", "tries"),
    [(jpki.AUTH_PIN, "0000", "1234", 3), (jpki.SIGN_PIN, "WRONG1", "SIGNPASS1", 5)],
)
def test_a_jpki_pin_locks_after_its_tries(
    chip: CardChip, fid: int, wrong: str, right: str, tries: int
) -> None:
    send(chip, JPKI)
    sw(chip, f"00A4020C02{fid:04X}")
    for left in range(tries - 1, -1, -1):
        assert sw(chip, pin_apdu(wrong)) == f"63C{left}"
    assert sw(chip, "00200080") == "63C0"
    assert sw(chip, pin_apdu(right)) == "6984"  # even the right PIN
    assert sw(chip, "00240180" + "04" + b"4321".hex()) == "6984"


def test_a_right_pin_restores_the_tries(chip: CardChip) -> None:
    send(chip, JPKI)
    sw(chip, "00A4020C020018")
    sw(chip, pin_apdu("0000"))
    sw(chip, pin_apdu("0001"))
    assert sw(chip, "00200080") == "63C1"
    assert sw(chip, pin_apdu("1234")) == "9000"
    assert sw(chip, "00200080") == "63C3"


def test_the_resident_pin_locks_after_three_tries(terminal: Terminal, issuers: Issuers) -> None:
    terminal.select_application(resident.AID)
    certified(issuers.network_ca, resident.AID).authenticate(terminal)
    for left in (2, 1, 0):
        with pytest.raises(CardRefused) as caught:
            terminal.verify(resident.PIN_FID, "0000")
        assert caught.value.sw == 0x63C0 | left
    with pytest.raises(CardRefused) as caught:
        terminal.verify(resident.PIN_FID, "5678")
    assert caught.value.message == "The PIN is locked; it can be unblocked at the window."
    with pytest.raises(CardRefused):
        terminal.read_file(resident.RESIDENT_CODE)


def test_pins_of_other_applications_are_not_affected(terminal: Terminal) -> None:
    terminal.select_application(jpki.AID)
    for _ in range(3):
        with pytest.raises(CardRefused):
            terminal.verify(jpki.AUTH_PIN, "0000")
    terminal.select_application(resident.AID)
    assert terminal.tries_left(resident.PIN_FID) == 3
    terminal.select_application(jpki.AID)
    assert terminal.tries_left(jpki.SIGN_PIN) == 5


def lock(terminal: Terminal, aid: bytes, fid: int, wrong: str, tries: int) -> None:
    terminal.select_application(aid)
    for _ in range(tries):
        with pytest.raises(CardRefused):
            terminal.verify(fid, wrong)


def test_the_window_unblocks_a_locked_pin_with_a_new_one(
    terminal: Terminal, chip: CardChip, issuers: Issuers
) -> None:
    lock(terminal, resident.AID, resident.PIN_FID, "0000", 3)
    window = certified(issuers.network_ca, resident.AID, READ | UNBLOCK)
    terminal.select_application(resident.AID)
    window.authenticate(terminal)
    terminal.select(resident.PIN_FID)
    assert sw(chip, "002C0280" + "04" + b"9876".hex()) == "9000"
    assert terminal.tries_left(resident.PIN_FID) == 3
    terminal.verify(resident.PIN_FID, "9876")
    assert terminal.read_file(resident.RESIDENT_CODE) == b"12345678903"


def test_a_jpki_pin_is_unblocked_by_the_issuing_municipality(
    terminal: Terminal, chip: CardChip, issuers: Issuers
) -> None:
    lock(terminal, jpki.AID, jpki.SIGN_PIN, "WRONG1", 5)
    terminal.select_application(jpki.AID)
    certified(issuers.municipality, jpki.AID, UNBLOCK).authenticate(terminal)
    terminal.select(jpki.SIGN_PIN)
    assert sw(chip, "002C0380") == "9000"  # counter only: the old password stands
    terminal.verify(jpki.SIGN_PIN, "SIGNPASS1")


def test_unblocking_needs_a_terminal_with_the_unblock_right(
    terminal: Terminal, chip: CardChip, issuers: Issuers
) -> None:
    lock(terminal, resident.AID, resident.PIN_FID, "0000", 3)
    terminal.select_application(resident.AID)
    terminal.select(resident.PIN_FID)
    assert sw(chip, "002C0380") == "6982"  # no terminal at all
    certified(issuers.network_ca, resident.AID, READ).authenticate(terminal)
    terminal.select(resident.PIN_FID)
    assert sw(chip, "002C0380") == "6982"  # a terminal that only reads
    terminal.select_application(jpki.AID)
    with pytest.raises(CardRefused) as caught:  # JPKI unblocking is the municipality's
        certified(issuers.network_ca, jpki.AID, UNBLOCK).authenticate(terminal)
    assert caught.value.sw == 0x6300


def test_unblock_commands_are_checked(terminal: Terminal, chip: CardChip, issuers: Issuers) -> None:
    terminal.select_application(resident.AID)
    certified(issuers.network_ca, resident.AID, UNBLOCK).authenticate(terminal)
    terminal.select(resident.PIN_FID)
    assert sw(chip, "002C0080" + "08" + b"12345678".hex()) == "6A86"  # no PUK
    assert sw(chip, "002C0280") == "6700"  # a new PIN, but none sent
    assert sw(chip, "002C0380" + "04" + b"1111".hex()) == "6700"
    assert sw(chip, "002C0280" + "03" + b"111".hex()) == "6A80"
    terminal.select(resident.RESIDENT_CODE)
    assert sw(chip, "002C0380") == "6981"


def test_change_needs_the_pin_verified_in_this_session(terminal: Terminal, chip: CardChip) -> None:
    terminal.select_application(jpki.AID)
    terminal.verify(jpki.SIGN_PIN, "SIGNPASS1")
    assert sw(chip, "00240180" + "06" + b"abcdef".hex()) == "6A80"
    assert sw(chip, "00240080" + "06" + b"ABCDEF".hex()) == "6A86"  # old+new is not offered
    assert sw(chip, "00240180") == "6700"
    assert sw(chip, "00240180" + "06" + b"NEWPW2".hex()) == "9000"
    terminal.reader.disconnect()
    terminal.reader.connect()  # a power cycle: the verification is gone
    terminal.select_application(jpki.AID)
    terminal.select(jpki.SIGN_PIN)
    assert sw(chip, "00240180" + "06" + b"NEWPW3".hex()) == "6982"
    terminal.verify(jpki.SIGN_PIN, "NEWPW2")


def test_verify_needs_a_pin_as_the_current_file(chip: CardChip) -> None:
    assert sw(chip, "00200080") == "6986"  # nothing selected
    send(chip, JPKI)
    assert sw(chip, "00200080") == "6986"
    sw(chip, "00A4020C02000A")
    assert sw(chip, "00200080") == "6981"
    sw(chip, "00A4020C020018")
    assert sw(chip, "00200081") == "6A86"
    assert sw(chip, "00200180") == "6A86"
    assert sw(chip, "0020008000") == "6700"


def test_the_municipality_can_waive_the_municipal_pin(
    issued_waived: CardContent, issuers: Issuers
) -> None:
    chip = CardChip(copy.deepcopy(issued_waived))
    reader = InProcessReader(chip)
    reader.connect()
    terminal = Terminal(reader)
    terminal.select_application(municipal.AID)
    certified(issuers.municipality, municipal.AID).authenticate(terminal)
    assert terminal.read_file(municipal.CARD_NUMBER) == b"0000000000001234"


def test_without_the_waiver_the_municipal_pin_is_needed(
    terminal: Terminal, issuers: Issuers
) -> None:
    terminal.select_application(municipal.AID)
    certified(issuers.municipality, municipal.AID).authenticate(terminal)
    with pytest.raises(CardRefused):
        terminal.read_file(municipal.CARD_NUMBER)
    terminal.verify(municipal.PIN_FID, "2468")
    assert terminal.read_file(municipal.CARD_NUMBER) == b"0000000000001234"
