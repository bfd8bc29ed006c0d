"""Moving with the card on the running network (R21, 住民基本台帳法 第24条の2): a family
of Chiyoda (Tokyo) notifies its move-out online, signed with the head's card; Osaka's
Kita ward takes the move-out certificate information directly from Chiyoda and, in
one window visit with the card and its PIN, moves the whole household in (the child
has no card); the move-in notice goes back, Chiyoda removes them, and the national
node ends up holding the new address with ``network reconcile`` clean. Then the
refusals: a cancelled move, a lapsed deadline, a revoked signing certificate.

Run under ``flock /tmp/jukinet-card.lock``: the cards sit in pcscd's virtual readers.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import date, timedelta
from pathlib import Path

import pytest

from jukinet.domain.identity import Sex
from jukinet.nodes.municipality import service
from jukinet.nodes.municipality.setup import open_register
from tests.e2e.conftest import EXE, Network, clerk_session, jukinet, wait_until_consistent
from tests.e2e.test_card_window import READER, Slot, _said
from tests.helpers import TODAY, arrival, person
from tests.integration.card.conftest import pcscd_or_fail

CHIYODA, KITA = "municipality:131016", "municipality:271276"
PIN, PASSWORD = "4321", "MOVING2026"
NEW_ADDRESS = "大阪府大阪市北区梅田一丁目1番1号"


@pytest.fixture
def operator_slot() -> Iterator[Slot]:
    slot = Slot()
    yield slot
    slot.pull()


def _wait_for(check: Callable[[], object], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.3)


def _one(db: Path, sql: str, *args: object) -> tuple[object, ...] | None:
    with closing(sqlite3.connect(db, timeout=30)) as conn:
        row = conn.execute(sql, args).fetchone()
    return tuple(row) if row else None


@contextmanager
def card_in_slot_0(image: Path) -> Iterator[None]:
    serve = subprocess.Popen(
        [str(EXE), "card", "serve", str(image), "--slot", "0"], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        assert serve.stdout is not None
        assert "in reader" in serve.stdout.readline()
        yield
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        serve.wait(timeout=30)
        assert serve.stdout is not None
        serve.stdout.close()


class Window:
    """The CLI at one municipality's window: its home, its clerk signed in with the
    clerk's operator card in slot 1."""

    def __init__(self, network: Network, node: str, slot: Slot, env: pytest.MonkeyPatch) -> None:
        self.network, self.node, self.slot, self.env = network, node, slot, env
        self.home = network.home(node)
        self.db = self.home / "register.db"
        clerk_session(self.home)  # the clerk's password is the test's

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        for key, value in {
            "JUKINET_HOME": str(self.home), "JUKINET_OPERATOR": "clerk",
            "JUKINET_PASSWORD": "clerk-password-1", "JUKINET_CARD_PIN": PIN,
            "JUKINET_CARD_SIGNING_PASSWORD": PASSWORD,
        }.items():  # fmt: skip
            self.env.setenv(key, value)
        self.slot.insert(self.network.layout.operator_card(self.node, "clerk"))
        return jukinet(*args)

    def audit_count(self) -> int:
        row = _one(self.db, "SELECT count(*) FROM audit_log")
        assert row is not None
        return int(row[0])  # type: ignore[call-overload]


def _residents(home: Path, family: str, given: tuple[str, str]) -> tuple[str, str]:
    """A head of household and a child, new residents of the municipality at ``home``."""
    store = open_register(home)
    try:
        head = person(given[0], "タロウ", family=family, fk="モリ", born=date(1985, 6, 1))
        child = person(given[1], "ハナ", family=family, fk="モリ", born=date(2016, 2, 2),
                       sex=Sex.FEMALE, relationship="子")  # fmt: skip
        receipt = service.record_event(store, clerk_session(home), arrival(head, child), TODAY)
    finally:
        store.close()
    return receipt.records[0].resident_code, receipt.records[1].resident_code


def _national(network: Network, code: str) -> tuple[object, ...] | None:
    db = network.home("national:national") / "identities.db"
    return _one(db, "SELECT address, status, origin FROM identities WHERE resident_code = ?", code)


def _issue_card(window: Window, code: str, image: Path) -> None:
    issued = window("card", "issue", code, "--out", str(image))
    assert issued.returncode == 0, _said(issued)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_household_moves_to_another_prefecture_with_the_card_in_one_visit(
    network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, operator_slot: Slot
) -> None:
    pcscd_or_fail()
    old = Window(network, CHIYODA, operator_slot, monkeypatch)
    new = Window(network, KITA, operator_slot, monkeypatch)
    head, child = _residents(old.home, "森", ("健太", "花"))
    _wait_for(lambda: _national(network, child), "the family never reached the national node")
    card = tmp_path / "card.img"
    _issue_card(old, head, card)
    notice = tmp_path / "move-out.json"
    with card_in_slot_0(card):
        # The resident, at home: the notification signed with the card (signing password).
        signed = jukinet(
            "card", "sign-move-out", "--reader", READER, "--from", "131016", "--holder", head,
            "--with", child, "--to", "271276", "--destination", NEW_ADDRESS,
            "--planned", TODAY.isoformat(), "--out", str(notice),
        )  # fmt: skip
        assert signed.returncode == 0, _said(signed)
        received = old("move-out", "receive", str(notice))
        assert received.returncode == 0, _said(received)
        said = _said(received)
        assert "The signature is the holder's" in said and "Planned move-out" in said, said
        move_id = said.split("Planned move-out ", 1)[1].split(" ", 1)[0]
        # Nothing is removed yet at Chiyoda; Kita holds the certificate information.
        assert _one(old.db, "SELECT removal_reason FROM persons WHERE resident_code = ?",
                    head) == (None,)  # fmt: skip
        _wait_for(
            lambda: (
                _one(new.db, "SELECT state FROM incoming_moves WHERE holder = ?", head)
                == ("pending",)
            ),
            "Kita never received the move-out certificate information",
        )
        # One visit at Kita's window: the card, its PIN, the new address.
        moved_in = new(
            "move-in", "card", "--reader", READER, "--town", "梅田", "--block", "一丁目1番1号",
            "--moved", TODAY.isoformat(),
        )  # fmt: skip
        assert moved_in.returncode == 0, _said(moved_in)
        said = _said(moved_in)
        assert "is genuine and the PIN is right" in said, said
        assert f"{head}  森 健太" in moved_in.stdout and f"{child}  森 花" in moved_in.stdout
    _wait_for(
        lambda: (
            _one(old.db, "SELECT state FROM planned_moves WHERE move_id = ?", int(move_id))
            == ("completed",)
        ),
        "Chiyoda never finalised the removal",
    )
    for code in (head, child):
        assert _one(old.db, "SELECT removal_reason, removal_date, destination FROM persons "
                    "WHERE resident_code = ?", code) == (
            "move-out", TODAY.isoformat(), NEW_ADDRESS)  # fmt: skip
    _wait_for(
        lambda: (
            _national(network, head) == (NEW_ADDRESS, "resident", "271276")
            and _national(network, child) == (NEW_ADDRESS, "resident", "271276")
        ),
        "the national node never showed the new address",
    )
    # Tokyo's prefecture shows the removal; Osaka's the new resident.
    tokyo = network.home("prefecture:130001") / "identities.db"
    osaka = network.home("prefecture:270008") / "identities.db"
    sql = "SELECT status, origin FROM identities WHERE resident_code = ?"
    assert _one(tokyo, sql, head) == ("removed", "131016")
    assert _one(osaka, sql, head) == ("resident", "271276")
    out = wait_until_consistent(network)
    assert "Consistent:" in out and "identities agree at every level" in out, out


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_cancelled_move_a_lapsed_deadline_and_a_revoked_certificate_are_refused(
    network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, operator_slot: Slot
) -> None:
    pcscd_or_fail()
    old = Window(network, CHIYODA, operator_slot, monkeypatch)
    new = Window(network, KITA, operator_slot, monkeypatch)
    head, child = _residents(old.home, "林", ("誠", "舞"))
    _wait_for(lambda: _national(network, child), "the family never reached the national node")
    card = tmp_path / "card.img"
    _issue_card(old, head, card)
    by_mail = ("move-out", "notify", "--holder", head, "--with", child, "--to", "271276",
               "--destination", NEW_ADDRESS, "--planned", TODAY.isoformat())  # fmt: skip
    move_in = ("move-in", "card", "--reader", READER, "--town", "梅田", "--block", "二丁目2番2号")

    def pending() -> bool:
        return _one(new.db, "SELECT count(*) FROM incoming_moves WHERE holder = ? AND state = "
                    "'pending'", head) == (1,)  # fmt: skip

    notified = old(*by_mail)
    assert notified.returncode == 0, _said(notified)
    move_id = _said(notified).split("Planned move-out ", 1)[1].split(" ", 1)[0]
    _wait_for(pending, "Kita never received the certificate information")
    cancelled = old("move-out", "cancel", move_id)
    assert cancelled.returncode == 0 and "cancelled" in _said(cancelled), _said(cancelled)
    _wait_for(lambda: not pending(), "the cancellation never reached Kita")
    with card_in_slot_0(card):
        before = new.audit_count()
        refused = new(*move_in, "--moved", TODAY.isoformat())
        assert refused.returncode == 1, _said(refused)
        assert "withdrawn at the old municipality" in _said(refused)
        assert new.audit_count() == before + 1

        # Notified again; but the move-in comes 15 days after moving: the card route lapsed.
        assert old(*by_mail).returncode == 0
        _wait_for(pending, "Kita never received the second certificate information")
        moved = (TODAY - timedelta(days=15)).isoformat()
        lapsed = new(*move_in, "--moved", moved)
        assert lapsed.returncode == 1, _said(lapsed)
        assert "within 14 days of moving" in _said(lapsed)
        assert "paper move-out certificate (転出証明書)" in _said(lapsed)
        assert _one(new.db, "SELECT count(*) FROM persons WHERE resident_code = ?", head) == (0,)
        # Each window sees where the moves stand.
        held = new("move-in", "list")
        assert held.returncode == 0, _said(held)
        assert f"holder {head}" in _said(held) and "(pending)" in _said(held)
        assert "(cancelled)" in _said(held) and "open until" in _said(held)
        planned = old("move-out", "list")
        assert planned.returncode == 0, _said(planned)
        assert f"Planned move-out {move_id} (mail, cancelled)" in _said(planned)

        # The card reported lost: its certificates are revoked, its signature refused.
        number = _one(old.db, "SELECT card_number FROM cards WHERE resident_code = ?", head)
        assert number is not None
        suspended = old("card", "suspend", str(number[0]), "--reason", "lost")
        assert suspended.returncode == 0, _said(suspended)
        notice = tmp_path / "move-out.json"
        signed = jukinet(
            "card", "sign-move-out", "--reader", READER, "--from", "131016", "--holder", head,
            "--to", "131041", "--destination", "東京都新宿区西新宿二丁目8番1号",
            "--planned", TODAY.isoformat(), "--out", str(notice),
        )  # fmt: skip
        assert signed.returncode == 0, _said(signed)
    before = old.audit_count()
    planned = _one(old.db, "SELECT count(*) FROM planned_moves")
    revoked = old("move-out", "receive", str(notice))
    assert revoked.returncode == 1, _said(revoked)
    assert "revoked" in _said(revoked) and "card was reported lost" in _said(revoked)
    assert "Traceback" not in revoked.stderr
    assert old.audit_count() == before + 1
    assert _one(old.db, "SELECT count(*) FROM planned_moves") == planned
    # A forged document: the same signature over other content.
    text = notice.read_text(encoding="utf-8").replace("131041", "131016")
    forged = tmp_path / "forged.json"
    forged.write_text(text, encoding="utf-8")
    refused = old("move-out", "receive", str(forged))
    assert refused.returncode == 1, _said(refused)
    assert old.audit_count() == before + 2
