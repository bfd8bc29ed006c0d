"""The resident card at the window on the running network (R15–R17): a clerk issues a
card (the national JPKI CA certifies its keys), the card sits in pcscd's virtual reader
(``jukinet card serve``), ``card check`` proves the holder's identity with the PIN,
``card sign`` signs a document that ``jukinet jpki verify`` at other nodes calls
genuine, and after ``card suspend`` (lost) they refuse it as revoked.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from jukinet.card.image import key_path, open_image, read_chip_key
from jukinet.card.operator_card import write_operator_card
from jukinet.card.pcsc import wait_for_card
from jukinet.card.vpcd import PORT as VPCD_PORT
from jukinet.card.vpcd import VirtualReaderCard
from jukinet.domain.access import Role
from jukinet.domain.identity import Sex
from jukinet.nodes.municipality import operator_cards, service, staff
from jukinet.nodes.municipality.operators import get as get_operator
from jukinet.nodes.municipality.setup import open_register
from tests.e2e.conftest import (
    EXE,
    Network,
    card_reader,
    clerk_session,
    jukinet,
    national_identity,
)
from tests.helpers import TODAY, arrival, person
from tests.integration.card.conftest import SLOT_READER, pcscd_or_fail

CHIYODA = "municipality:131016"
READER = SLOT_READER[0]
PIN, PASSWORD = "4321", "WINDOW2026"
DOCUMENT = "住民票の写し交付申請書".encode()


class Slot:
    """vpcd's slot 1, where the installed command looks for the operator's card (R11):
    ``insert`` pulls the card in it, if any, and puts another in."""

    def __init__(self) -> None:
        self.card: VirtualReaderCard | None = None

    def insert(self, image: Path) -> None:
        self.pull()
        chip = open_image(image, read_chip_key(key_path(image)))
        self.card = VirtualReaderCard(chip, port=VPCD_PORT + 1, retry=0.1)
        self.card.start()
        assert wait_for_card(SLOT_READER[1]), "pcscd never saw the operator card"

    def pull(self) -> None:
        if self.card is not None:
            self.card.stop()
            wait_for_card(SLOT_READER[1], present=False)
            self.card = None


@pytest.fixture
def operator_slot() -> Iterator[Slot]:
    slot = Slot()
    yield slot
    slot.pull()


def _wait_for(check: object, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def _said(r: subprocess.CompletedProcess[str]) -> str:
    return " ".join((r.stdout + r.stderr).split())


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_card_issued_at_the_window_proves_identity_and_signs_until_suspended(
    network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, operator_slot: Slot
) -> None:
    pcscd_or_fail()
    home = network.home(CHIYODA)
    clerk_session(home)  # the clerk's password is the test's
    supervisor_card = tmp_path / "supervisor-card.img"
    store = open_register(home)
    try:
        clerk = clerk_session(home)
        new = person(
            "陽菜", "ヒナ", family="中村", fk="ナカムラ", born=date(1990, 4, 2), sex=Sex.FEMALE
        )
        code = service.record_event(store, clerk, arrival(new), TODAY).records[0].resident_code
        layout = network.layout
        username, password = (layout.secrets / f"{home.name}.txt").read_text().split()
        admin = service.login(store, username, password, card_reader(layout.operator_card(CHIYODA)))
        staff.add(
            store, admin, username="card-supervisor", full_name="窓口 監督", role=Role.SUPERVISOR,
            password="clerk-password-1", trained_on=TODAY, pledge_signed_on=TODAY,
        )  # fmt: skip
        # The supervisor's operator card (R11), as `operator card issue` writes it.
        with store.transaction() as tx:
            bound = operator_cards.bind(
                tx.conn, store.key, get_operator(tx.conn, "card-supervisor")
            )
        write_operator_card(supervisor_card, bound)
    finally:
        store.close()
    _wait_for(lambda: national_identity(network, code) is not None,
              "the new resident never reached the national node")  # fmt: skip
    for key, value in {
        "JUKINET_HOME": str(home), "JUKINET_OPERATOR": "clerk",
        "JUKINET_PASSWORD": "clerk-password-1", "JUKINET_CARD_PIN": PIN,
        "JUKINET_CARD_SIGNING_PASSWORD": PASSWORD,
    }.items():  # fmt: skip
        monkeypatch.setenv(key, value)

    # The clerk's operator card in slot 1 (the CLI's reader for sign-in), the resident's
    # card in slot 0.
    operator_slot.insert(network.layout.operator_card(CHIYODA, "clerk"))
    card = tmp_path / "card.img"
    issued = jukinet("card", "issue", code, "--out", str(card))
    assert issued.returncode == 0, _said(issued)
    said = _said(issued)
    assert f"issued to 中村 陽菜 ({code})" in said, said
    number = said.split("Card ", 1)[1].split(" ", 1)[0]
    shown = jukinet("resident", "show", code)
    assert shown.returncode == 0 and f"card {number} active" in _said(shown), _said(shown)
    again = jukinet("card", "issue", code, "--out", str(tmp_path / "second.img"))
    assert again.returncode == 1, _said(again)
    assert f"already holds card {number}, active; use `card reissue`" in _said(again)
    assert not (tmp_path / "second.img").exists()

    serve = subprocess.Popen(
        [str(EXE), "card", "serve", str(card), "--slot", "0"], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        assert serve.stdout is not None
        assert "in reader" in serve.stdout.readline()
        checked = jukinet("card", "check", "--reader", READER)
        assert checked.returncode == 0, _said(checked)
        assert f"Identity checked: card {number}, active" in _said(checked)
        assert "holder 中村 陽菜" in _said(checked)

        monkeypatch.setenv("JUKINET_CARD_PIN", "0000")
        refused = jukinet("card", "check", "--reader", READER)
        assert refused.returncode == 1 and "Wrong PIN: 2 tries left." in _said(refused)
        monkeypatch.setenv("JUKINET_CARD_PIN", PIN)  # a right PIN resets the counter
        assert jukinet("card", "check", "--reader", READER).returncode == 0

        # Three wrong PINs block it; a clerk may not unblock it, a supervisor may.
        monkeypatch.setenv("JUKINET_CARD_PIN", "0000")
        for _ in range(3):
            jukinet("card", "check", "--reader", READER)
        monkeypatch.setenv("JUKINET_CARD_PIN", PIN)
        blocked = jukinet("card", "check", "--reader", READER)
        assert blocked.returncode == 1 and "a supervisor can unblock it" in _said(blocked)
        unblock = ("card", "unblock", "--reader", READER, "--identity", "passport TK1234567")
        by_clerk = jukinet(*unblock)
        assert by_clerk.returncode == 1 and "[role-not-allowed]" in _said(by_clerk), _said(by_clerk)
        operator_slot.insert(supervisor_card)
        by_supervisor = jukinet(*unblock, "--operator", "card-supervisor")
        operator_slot.insert(network.layout.operator_card(CHIYODA, "clerk"))
        assert by_supervisor.returncode == 0, _said(by_supervisor)
        assert "the 住基AP PIN is unblocked" in _said(by_supervisor)
        assert jukinet("card", "check", "--reader", READER).returncode == 0

        (tmp_path / "doc").write_bytes(DOCUMENT)
        signed = jukinet("card", "sign", str(tmp_path / "doc"), "--reader", READER,
                         "--out", str(tmp_path / "doc.sig"))  # fmt: skip
        assert signed.returncode == 0, _said(signed)
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        serve.wait(timeout=30)
        assert serve.stdout is not None
        serve.stdout.close()

    def verify(node: str) -> tuple[int, str]:
        fetched = jukinet("--home", str(network.home(node)), "jpki", "crl")
        assert fetched.returncode == 0, _said(fetched)
        r = jukinet("jpki", "verify", "--home", str(network.home(node)),
                    "--cert", str(tmp_path / "doc.sig.cert"), "--sig", str(tmp_path / "doc.sig"),
                    "--data", str(tmp_path / "doc"))  # fmt: skip
        return r.returncode, _said(r)

    status, said = verify("prefecture:270008")
    assert status == 0, said
    assert "Verified: signed by 中村 陽菜 (born 1990-04-02, female)" in said

    suspended = jukinet("card", "suspend", number, "--reason", "lost")
    assert suspended.returncode == 0, _said(suspended)
    assert f"Card {number} is suspended" in _said(suspended)
    status, said = verify("municipality:131041")
    assert status == 1, said
    assert "revoked" in said and "(the card was reported lost)" in said, said
    twice = jukinet("card", "suspend", number, "--reason", "lost")
    assert twice.returncode == 1 and f"Card {number} cannot be suspended" in _said(twice)

    # The lost card is replaced by a new one; the new card is given back in the end.
    reissued = jukinet("card", "reissue", code, "--out", str(tmp_path / "new.img"))
    assert reissued.returncode == 0, _said(reissued)
    assert f"card {number} replaced" in _said(reissued)
    newer = _said(reissued).split("Card ", 1)[1].split(" ", 1)[0]
    listed = _said(jukinet("resident", "show", code))
    assert f"card {newer} active" in listed and f"card {number} replaced" in listed, listed
    revoked = jukinet("card", "revoke", newer)
    assert revoked.returncode == 0 and f"Card {newer} is revoked" in _said(revoked)
    ended = jukinet("card", "revoke", newer)
    assert ended.returncode == 1 and f"Card {newer} cannot be revoked: it was revoked" in _said(
        ended
    )
