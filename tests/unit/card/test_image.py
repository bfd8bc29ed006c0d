"""The card image (R19): encrypted and authenticated under the chip's key, refused as a
broken chip when changed, and written through before every answer so that retry
counters survive restarts, power cycles and a card pulled out mid-command."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from jukinet.card import image
from jukinet.card.apdu import command
from jukinet.card.apps import jpki
from jukinet.card.content import CardContent
from jukinet.card.machine import CardChip
from jukinet.card.reader import InProcessReader
from jukinet.card.terminal import Terminal
from jukinet.errors import BrokenCard, CardError, CardRefused
from tests.unit.card.conftest import send, sw

KEY = bytes(range(32))
JPKI = "00A4040C0A" + jpki.AID.hex()


@pytest.fixture
def card_image(tmp_path: Path, content: CardContent) -> Path:
    path = tmp_path / "card.img"
    image.write_image(path, content, KEY)
    return path


def opened(path: Path) -> CardChip:
    chip = image.open_image(path, KEY)
    chip.power_on()
    return chip


def auth_pin_tries(chip: CardChip) -> str:
    send(chip, JPKI)
    sw(chip, "00A4020C020018")
    return sw(chip, "00200080")


def test_retry_counters_survive_reopening_the_image(card_image: Path) -> None:
    chip = opened(card_image)
    send(chip, JPKI)
    sw(chip, "00A4020C020018")
    assert sw(chip, "00200080" + "04" + b"0000".hex()) == "63C2"
    assert sw(chip, "00200080" + "04" + b"0001".hex()) == "63C1"
    assert auth_pin_tries(opened(card_image)) == "63C1"


def test_a_locked_pin_stays_locked_after_a_restart(card_image: Path) -> None:
    chip = opened(card_image)
    send(chip, JPKI)
    sw(chip, "00A4020C020018")
    for _ in range(3):
        sw(chip, "00200080" + "04" + b"0000".hex())
    again = opened(card_image)
    send(again, JPKI)
    sw(again, "00A4020C020018")
    assert sw(again, "00200080" + "04" + b"1234".hex()) == "6984"


def test_a_changed_pin_survives_a_restart(card_image: Path) -> None:
    reader = InProcessReader(opened(card_image))
    reader.connect()
    terminal = Terminal(reader)
    terminal.select_application(jpki.AID)
    terminal.verify(jpki.AUTH_PIN, "1234")
    terminal.call(command(0x00, 0x24, 0x01, 0x80, b"4321"))
    reader = InProcessReader(opened(card_image))
    reader.connect()
    terminal = Terminal(reader)
    terminal.select_application(jpki.AID)
    terminal.verify(jpki.AUTH_PIN, "4321")


class PowerLost(BaseException):
    """The card leaves the reader: nothing after this point runs."""


def pulled_after_first_write(path: Path) -> CardChip:
    """A chip whose power goes right after its memory took the first write."""

    def write_then_lose_power(content: CardContent) -> None:
        image.write_image(path, content, KEY)
        raise PowerLost

    chip = CardChip(image.read_image(path, KEY), persist=write_then_lose_power)
    chip.power_on()
    send(chip, JPKI)
    sw(chip, "00A4020C020018")
    return chip


@pytest.mark.parametrize("pin", ["0000", "1234"])
def test_a_card_pulled_mid_verify_has_used_the_try(card_image: Path, pin: str) -> None:
    chip = pulled_after_first_write(card_image)
    with pytest.raises(PowerLost):
        chip.process(bytes.fromhex("00200080" + "04" + pin.encode().hex()))
    assert auth_pin_tries(opened(card_image)) == "63C2"


def test_a_write_cut_short_leaves_the_previous_image(
    card_image: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = card_image.read_bytes()

    def no_rename(src: object, dst: object) -> None:
        raise OSError("power lost")

    monkeypatch.setattr(os, "replace", no_rename)
    chip = opened(card_image)
    send(chip, JPKI)
    sw(chip, "00A4020C020018")
    assert sw(chip, "00200080" + "04" + b"1234".hex()) == "6581"
    assert card_image.read_bytes() == before
    assert [p.name for p in card_image.parent.iterdir()] == ["card.img"]  # no leftovers


@pytest.mark.parametrize("where", [0, 13, 14, 25, 26, 100, -17, -1])
def test_a_changed_byte_is_a_broken_card(card_image: Path, where: int) -> None:
    blob = bytearray(card_image.read_bytes())
    blob[where] ^= 0x01
    card_image.write_bytes(bytes(blob))
    with pytest.raises(BrokenCard) as caught:
        image.open_image(card_image, KEY)
    assert caught.value.code == "broken-card"


@pytest.mark.parametrize("cut", [0, 10, 26, 41])
def test_a_truncated_image_is_a_broken_card(card_image: Path, cut: int) -> None:
    card_image.write_bytes(card_image.read_bytes()[:cut])
    with pytest.raises(BrokenCard):
        image.open_image(card_image, KEY)


def test_another_chips_key_does_not_open_the_image(card_image: Path) -> None:
    with pytest.raises(BrokenCard):
        image.open_image(card_image, bytes(32))
    with pytest.raises(CardError, match="32 bytes"):
        image.open_image(card_image, bytes(16))


def test_well_sealed_nonsense_is_a_broken_card(tmp_path: Path) -> None:
    nonce = bytes(12)
    for plain in (b"not json", b'{"version": 1}', b'{"version": 2, "applications": []}'):
        blob = image.HEADER + nonce + AESGCM(KEY).encrypt(nonce, plain, image.HEADER)
        with pytest.raises(BrokenCard, match="no valid card"):
            image.unseal(blob, KEY)


def test_a_missing_image_is_reported(tmp_path: Path) -> None:
    with pytest.raises(BrokenCard, match="cannot be read"):
        image.open_image(tmp_path / "none.img", KEY)


def test_the_image_reveals_nothing_of_the_card(card_image: Path, content: CardContent) -> None:
    blob = card_image.read_bytes()
    cert = content.applications[0].files[jpki.AUTH_CERT].data
    for secret in (b"12345678903", b"SIGNPASS1", b"JPKIAPICCTOKEN2", cert[:32], cert[-32:]):
        assert secret not in blob
        assert secret.hex().encode() not in blob


def test_every_write_uses_a_new_nonce(card_image: Path, content: CardContent) -> None:
    first = card_image.read_bytes()
    image.write_image(card_image, content, KEY)
    second = card_image.read_bytes()
    assert first[14:26] != second[14:26]
    assert image.read_image(card_image, KEY).applications[0].aid == jpki.AID


def test_the_chip_key_file_beside_the_image(tmp_path: Path) -> None:
    key = image.new_chip_key()
    path = image.key_path(tmp_path / "card.img")
    image.write_chip_key(path, key)
    assert (path.name, path.stat().st_mode & 0o777) == ("card.img.key", 0o600)
    assert image.read_chip_key(path) == key
    path.write_text("abcd\n")
    with pytest.raises(CardError, match="is not a key"):
        image.read_chip_key(path)


def test_a_refused_command_through_the_image_changes_nothing(card_image: Path) -> None:
    before = card_image.read_bytes()
    chip = opened(card_image)
    reader = InProcessReader(chip)
    reader.connect()
    terminal = Terminal(reader)
    terminal.select_application(jpki.AID)
    with pytest.raises(CardRefused):
        terminal.read_file(jpki.SIGN_CERT)
    assert card_image.read_bytes() == before
