"""``jukinet card serve IMAGE``: the installed command puts a card in pcscd's virtual
reader until Ctrl-C, and refuses a changed image as a broken chip (R15, R19)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from jukinet.card.image import key_path, write_chip_key
from jukinet.card.pcsc import wait_for_card

from .conftest import IssuedCard, pcscd_or_fail

EXE = Path(sys.executable).with_name("jukinet")


def test_serve_puts_the_card_in_the_reader_until_ctrl_c(issued_card: IssuedCard) -> None:
    pcscd_or_fail()
    write_chip_key(key_path(issued_card.image), issued_card.chip_key)
    served = subprocess.Popen(
        [str(EXE), "card", "serve", str(issued_card.image), "--slot", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert wait_for_card("Virtual PCD 00 01"), "the card never reached the reader"
        named = subprocess.run(
            ["opensc-tool", "--reader", "1", "--name"], capture_output=True, text=True, timeout=60
        )
        assert named.stdout.strip() == "jpki", named.stderr
    finally:
        served.send_signal(signal.SIGINT)
        out, err = served.communicate(timeout=30)
    assert served.returncode == 0, err
    assert "card card.img in reader 'Virtual PCD 00 01'" in out
    assert out.strip().endswith("card removed")
    assert wait_for_card("Virtual PCD 00 01", present=False)


def test_a_changed_image_is_a_broken_card_in_one_line(issued_card: IssuedCard) -> None:
    write_chip_key(key_path(issued_card.image), issued_card.chip_key)
    blob = bytearray(issued_card.image.read_bytes())
    blob[40] ^= 0x01
    issued_card.image.write_bytes(bytes(blob))
    served = subprocess.run(
        [str(EXE), "card", "serve", str(issued_card.image)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert served.returncode == 1
    lines = served.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), served.stderr
    assert "broken" in lines[0]


def test_a_missing_chip_key_is_one_line(issued_card: IssuedCard) -> None:
    served = subprocess.run(
        [str(EXE), "card", "serve", str(issued_card.image)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert served.returncode == 1
    assert served.stderr.strip().splitlines() == [
        f"error: The chip key {key_path(issued_card.image)} cannot be read: "
        "No such file or directory. [card-error]"
    ]
