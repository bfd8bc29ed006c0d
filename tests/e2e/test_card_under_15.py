"""The card of a resident under 15 over the network (R15, docs/card.md "Under 15").

At Chiyoda's window a child and their parent get cards: the national node's JPKI CA
issues the child the user-authentication certificate only (no signing certificate
before 15) and the parent both. The child's card proves its holder and signs nothing:
`jukinet card sign` with it, in pcscd's reader, is one clear error and asks no password.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest
from cryptography import x509

from jukinet.card import image
from jukinet.card.apps import jpki
from jukinet.card.builder import CardPins
from jukinet.card.reader import InProcessReader
from jukinet.card.terminal import Terminal
from jukinet.domain.identity import Sex
from jukinet.errors import NoSigningCertificate
from jukinet.jpki import load_ca_certificate
from jukinet.nodes.municipality import card_window, cards, service
from jukinet.nodes.municipality.setup import open_register
from tests.e2e.conftest import (
    EXE,
    TODAY,
    Network,
    card_in_slot_1,
    clerk_session,
    national_identity,
)
from tests.e2e.test_provision_network import CHIYODA, wait_for
from tests.helpers import arrival, person
from tests.integration.card.conftest import pcscd_or_fail

PIN = "4321"
CHILD = CardPins(jpki_auth=PIN, jpki_sign=None, resident=PIN, municipal=PIN)
PARENT = CardPins(jpki_auth=PIN, jpki_sign="PARENT26", resident=PIN, municipal=PIN)


def certificates_at_national(network: Network, code: str) -> list[str]:
    with closing(sqlite3.connect(network.home("national:national") / "identities.db")) as conn:
        rows = conn.execute(
            "SELECT kind FROM jpki_certificates WHERE resident_code = ? ORDER BY kind", (code,)
        ).fetchall()
    return [r[0] for r in rows]


def terminal(card: cards.IssuedCard) -> Terminal:
    reader = InProcessReader(image.open_image(card.image, image.read_chip_key(card.chip_key)))
    reader.connect()
    return Terminal(reader)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_child_gets_a_card_with_user_authentication_only_and_it_signs_nothing(
    network: Network, tmp_path: Path
) -> None:
    ten = date(TODAY.year - 10, 6, 1)
    parent = person("保護", "ホゴ", family="若葉", fk="ワカバ", born=date(1985, 1, 1))
    child = person("未来", "ミライ", family="若葉", fk="ワカバ", born=ten, sex=Sex.FEMALE,
                   relationship="子")  # fmt: skip
    home = network.home(CHIYODA)
    store = open_register(home)
    try:
        clerk = clerk_session(home)
        family = arrival(parent, child, person("若", "ワカ", family="若葉", fk="ワカバ", born=ten,
                                               relationship="子"))  # fmt: skip
        entered = service.record_event(store, clerk, family, TODAY).records
        adult, minor, sibling = (r.resident_code for r in entered)
        wait_for(lambda: national_identity(network, minor) is not None, timeout=30)
        assert cards.signing_certificate_due(store, adult, TODAY)
        assert not cards.signing_certificate_due(store, minor, TODAY)
        issued = asyncio.run(
            cards.issue(store, clerk, home, minor, CHILD, tmp_path / "child.img", TODAY)
        )
        grown = asyncio.run(
            cards.issue(store, clerk, home, adult, PARENT, tmp_path / "parent.img", TODAY)
        )
    finally:
        store.close()
    assert certificates_at_national(network, minor) == ["authentication"]
    assert certificates_at_national(network, adult) == ["authentication", "signing"]

    t = terminal(issued)
    assert not card_window.has_signing_certificate(t)
    assert card_window.has_signing_certificate(terminal(grown))
    t.select_application(jpki.AID)
    auth = x509.load_der_x509_certificate(t.read_file(jpki.AUTH_CERT))
    auth.verify_directly_issued_by(load_ca_certificate(home))  # the network's JPKI CA
    with pytest.raises(NoSigningCertificate, match="JPKI issues none to a person under 15"):
        card_window.sign(t, "ANYTHING1", b"document")

    # The installed command, the card in pcscd's reader: one line, no password asked.
    pcscd_or_fail()
    document = tmp_path / "move-out.txt"
    document.write_text("転出届\n")
    env = {k: v for k, v in os.environ.items() if k != "JUKINET_CARD_SIGNING_PASSWORD"}
    with card_in_slot_1(issued.image):
        signed = subprocess.run(
            [str(EXE), "card", "sign", str(document), "--reader", "Virtual PCD 00 01",
             "--out", str(tmp_path / "move-out.sig")],
            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
            env={**env, "COLUMNS": "200"},
        )  # fmt: skip
    assert signed.returncode == 1
    said = " ".join(signed.stderr.split())
    assert said == f"error: {card_window.NO_SIGNING} [no-signing-certificate]", signed.stderr
    assert "password" not in signed.stdout.lower()
    assert not (tmp_path / "move-out.sig").exists()

    # `card issue` at the window asks a child for the PIN only (no signing password set).
    window_env = {**env, "JUKINET_HOME": str(home), "JUKINET_OPERATOR": "clerk",
                  "JUKINET_PASSWORD": "clerk-password-1", "JUKINET_CARD_PIN": PIN,
                  "COLUMNS": "200"}  # fmt: skip
    with card_in_slot_1(network.layout.operator_card(CHIYODA, "clerk")):
        by_cli = subprocess.run(
            [str(EXE), "card", "issue", sibling, "--out", str(tmp_path / "sibling.img")],
            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
            env=window_env,
        )  # fmt: skip
    assert by_cli.returncode == 0, by_cli.stderr
    assert "no signing certificate (the resident is under 15)" in " ".join(by_cli.stdout.split())
    assert certificates_at_national(network, sibling) == ["authentication"]
