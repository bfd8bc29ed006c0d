"""The card's command set: classes, instructions, selection, reading and writing files,
power and reset — every answer a status word."""

from __future__ import annotations

import pytest

from jukinet.card.apps import jpki, municipal, resident
from jukinet.card.content import READ, UPDATE, CardContent
from jukinet.card.machine import CardChip
from jukinet.card.terminal import Terminal
from jukinet.errors import CardRefused
from tests.unit.card.conftest import Issuers, send, sw
from tests.unit.card.terminals import certified

JPKI = "00A4040C0A" + jpki.AID.hex()


@pytest.mark.parametrize(
    ("cla", "answer"),
    [
        ("01", "6881"),  # logical channel 1
        ("03", "6881"),
        ("40", "6881"),  # channel 4
        ("0C", "6882"),  # secure messaging
        ("60", "6882"),
        ("10", "6884"),  # command chaining
        ("50", "6884"),
        ("20", "6E00"),
        ("81", "6E00"),
        ("A0", "6E00"),
        ("FF", "6E00"),
    ],
)
def test_classes_the_card_does_not_speak(chip: CardChip, cla: str, answer: str) -> None:
    assert sw(chip, f"{cla}A4040C0A{jpki.AID.hex()}") == answer


@pytest.mark.parametrize("header", ["00CA", "00B2", "000E", "00E0", "80A4", "8020", "00C0"])
def test_unknown_instructions_answer_6d00(chip: CardChip, header: str) -> None:
    assert sw(chip, f"{header}0000") == "6D00"


def test_the_class_is_checked_before_the_instruction_and_the_length(chip: CardChip) -> None:
    assert sw(chip, "20CA00") == "6700"  # fewer than four bytes: nothing to read
    assert sw(chip, "20CA0000FF") == "6E00"
    assert sw(chip, "00CA0000FF") == "6D00"
    assert sw(chip, "00A40000FFAA") == "6700"


def test_selecting_an_unknown_application_keeps_the_current_one(chip: CardChip) -> None:
    send(chip, JPKI)
    assert sw(chip, "00A4040C07A0000000030000") == "6A82"  # another card's AID
    assert sw(chip, "00A4040C08D392F00026010000") == "6A82"  # a prefix of JPKI's
    assert sw(chip, "00A4020C02000A") == "9000"


def test_select_answers(chip: CardChip) -> None:
    assert send(chip, "00A40400" + "0A" + jpki.AID.hex() + "00") == (
        "6F0C840A" + jpki.AID.hex().upper() + "9000"
    )
    assert send(chip, "00A40400" + "0A" + jpki.AID.hex()) == "9000"  # no Le: no FCI
    assert send(chip, "00A40404" + "0A" + jpki.AID.hex()) == "6A86"
    assert send(chip, "00A4040C") == "6700"
    assert send(chip, "00A40204020006" + "00") == "620B8002002082010183020006" + "9000"
    assert send(chip, "00A4020C03000A00") == "6700"
    assert send(chip, "00A4010C020006") == "6A86"
    assert send(chip, "00A40201020006") == "6A86"
    assert send(chip, "00A4020C020099") == "6A82"


def test_no_file_can_be_selected_outside_an_application(chip: CardChip) -> None:
    assert sw(chip, "00A4020C02000A") == "6A82"
    assert sw(chip, "00B0000004") == "6986"
    send(chip, JPKI)
    assert sw(chip, "00A4000C023F00") == "9000"  # the MF: the application is left
    assert sw(chip, "00A4020C02000A") == "6A82"


def test_read_binary_checks(chip: CardChip) -> None:
    send(chip, JPKI)
    assert sw(chip, "00B0000004") == "6986"  # no current file
    sw(chip, "00A4020C020017")
    assert sw(chip, "00B0000004") == "6981"  # a key is never read
    sw(chip, "00A4020C020018")
    assert sw(chip, "00B0000004") == "6981"  # nor a PIN
    sw(chip, "00A4020C020006")
    assert sw(chip, "00B0860004") == "6A81"  # short EF identifier
    assert sw(chip, "00B00000") == "6700"  # no Le
    assert sw(chip, "00B0000001AA") == "6700"


def test_update_binary_needs_a_terminal_with_the_update_right(
    terminal: Terminal, chip: CardChip, issuers: Issuers
) -> None:
    """A code change (R6) is written to the card by the window's terminal."""
    terminal.select_application(resident.AID)
    certified(issuers.network_ca, resident.AID, READ).authenticate(terminal)
    terminal.verify(resident.PIN_FID, "5678")
    terminal.select(resident.RESIDENT_CODE)
    new_code = b"98765432109".hex()
    assert sw(chip, f"00D600000B{new_code}") == "6982"
    certified(issuers.network_ca, resident.AID, READ | UPDATE).authenticate(terminal)
    terminal.verify(resident.PIN_FID, "5678")
    terminal.select(resident.RESIDENT_CODE)
    assert sw(chip, f"00D600000B{new_code}") == "9000"
    assert terminal.read_file(resident.RESIDENT_CODE) == b"98765432109"
    assert sw(chip, "00D6000B0131") == "6B00"  # past the end
    assert sw(chip, f"00D600010B{new_code}") == "6700"  # would grow the file
    terminal.select(resident.CARD_NUMBER)
    assert sw(chip, "00D6000001" + "31") == "6982"  # the card number is never rewritten
    terminal.select(resident.CARD_KEY)
    assert sw(chip, "00D6000001" + "31") == "6981"


def test_a_municipal_terminal_writes_its_service_data(
    terminal: Terminal, chip: CardChip, issuers: Issuers
) -> None:
    terminal.select_application(municipal.AID)
    certified(issuers.municipality, municipal.AID, READ | UPDATE).authenticate(terminal)
    terminal.verify(municipal.PIN_FID, "2468")
    terminal.select(municipal.SERVICE_DATA)
    assert sw(chip, "00D6001004" + "4C494231") == "9000"
    assert terminal.read_file(municipal.SERVICE_DATA)[16:20] == b"LIB1"


def test_reset_and_power_cycle_clear_the_security_state(chip: CardChip) -> None:
    def power_cycle() -> bytes:
        chip.power_off()
        return chip.power_on()

    for cycle in (chip.reset, power_cycle):
        send(chip, JPKI)
        sw(chip, "00A4020C020018")
        assert sw(chip, "00200080" + "04" + b"1234".hex()) == "9000"
        cycle()
        assert sw(chip, "00A4020C020017") == "6A82"  # no application selected
        send(chip, JPKI)
        sw(chip, "00A4020C020017")
        assert sw(chip, "802A008001AA00") == "6982"


def test_a_chip_without_power_answers_nothing_useful(content: CardContent) -> None:
    chip = CardChip(content)
    assert chip.process(bytes.fromhex(JPKI)) == bytes.fromhex("6F00")
    assert chip.power_on() == chip.atr == bytes.fromhex("3BE000FF8131FE4514")
    assert chip.process(bytes.fromhex(JPKI)) == bytes.fromhex("9000")


def test_a_memory_that_cannot_be_written_answers_6581(content: CardContent) -> None:
    def broken(_: CardContent) -> None:
        raise OSError("disk full")

    chip = CardChip(content, persist=broken)
    chip.power_on()
    send(chip, JPKI)
    sw(chip, "00A4020C020018")
    assert sw(chip, "00200080" + "04" + b"1234".hex()) == "6581"
    assert content.applications[0].pins[jpki.AUTH_PIN].tries_left == 2  # the try is spent
    assert sw(chip, "00240180" + "04" + b"1111".hex()) == "6982"  # and nothing verified


def test_the_terminal_reports_refusals_in_words(terminal: Terminal) -> None:
    terminal.select_application(jpki.AID)
    with pytest.raises(CardRefused) as caught:
        terminal.verify(jpki.AUTH_PIN, "9999")
    assert (caught.value.message, caught.value.code) == ("Wrong PIN: 2 tries left.", "card-refused")
    with pytest.raises(CardRefused) as caught:
        terminal.select(0x0099)
    assert caught.value.message == "The card has no such application or file."


def test_a_select_answered_6cxx_selects_nothing(chip: CardChip) -> None:
    """Found by the stateful fuzz: a SELECT whose Le is too short for its FCP/FCI is
    answered 6Cxx (ask again with this Le) and must leave the selection as it was."""
    send(chip, f"00A4040C{len(jpki.AID):02X}{jpki.AID.hex()}")
    send(chip, "00A4020C02000A")
    assert sw(chip, "00A40000020001" + "01").startswith("6C")
    assert chip.process(bytes.fromhex("00B0000004"))[:2] == bytes.fromhex("3082")  # still 000A
    assert sw(chip, f"00A40400{len(jpki.AID):02X}{jpki.AID.hex()}01").startswith("6C")
    assert chip.process(bytes.fromhex("00B0000004"))[:2] == bytes.fromhex("3082")  # still in JPKI
