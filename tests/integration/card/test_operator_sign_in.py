"""An operator signs in at the installed command with the password and the operator card
in pcscd's virtual reader (slot 1, R11), and is refused once the card is pulled out."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from contextlib import closing
from datetime import date
from pathlib import Path

from jukinet.card.chip import Chip
from jukinet.card.image import key_path, open_image, read_chip_key
from jukinet.card.pcsc import wait_for_card
from jukinet.nodes.municipality.pool import LocalCodeSource
from jukinet.nodes.municipality.setup import FirstAdministrator, init_register
from jukinet.seed.places import Places

from .conftest import Inserted

EXE = Path(sys.executable).with_name("jukinet")
PASSWORD = "admin-password-1"


def _jukinet(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "JUKINET_HOME": str(home),
        "JUKINET_OPERATOR": "admin",
        "JUKINET_PASSWORD": PASSWORD,
        "COLUMNS": "200",
    }
    env.pop("JUKINET_OPERATOR_READER", None)  # the default: vpcd's slot 1
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, timeout=120, env=env)


def test_password_and_card_in_slot_1_sign_in_and_a_pulled_card_is_refused(
    tmp_path: Path, places: Places, insert_card: Callable[[Chip, int], Inserted]
) -> None:
    home, card = tmp_path / "node", tmp_path / "admin-card.img"
    day = date(2026, 1, 5)
    init_register(
        home, places.municipality("131016"),
        FirstAdministrator("admin", "Admin One", PASSWORD, day, day),
        LocalCodeSource(), pool_size=100, low_water=10, admin_card=card,
    )  # fmt: skip
    inserted = insert_card(open_image(card, read_chip_key(key_path(card))), 1)
    assert inserted.reader == "Virtual PCD 00 01"

    signed_in = _jukinet(home, "operator", "list")
    assert signed_in.returncode == 0, signed_in.stderr
    assert "admin" in signed_in.stdout and "administrator" in signed_in.stdout

    inserted.card.stop()  # the card is pulled out
    assert wait_for_card(inserted.reader, present=False)
    refused = _jukinet(home, "operator", "list")
    assert refused.returncode == 1
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert lines[0].startswith("error: Sign-in needs the operator's own card in the reader: ")
    assert lines[0].endswith("[operator-card-refused]")

    log = _jukinet_log(home)
    assert "login" in log and "refused" in log and "operator-card-refused" in log


def _jukinet_log(home: Path) -> str:
    with closing(sqlite3.connect(home / "register.db")) as db:
        rows = db.execute(
            "SELECT operation, outcome, detail FROM audit_log ORDER BY seq DESC LIMIT 1"
        ).fetchall()
    return " ".join(str(v) for row in rows for v in row)
