"""R3 while a household moves with the card (R21): nothing of the move between the two
municipalities reaches a prefecture or the national node.

On the recorded network (tests/e2e/r3.py decrypts every request that reaches the
prefectures and the national node), a family of 千代田区 (Tokyo) with a distinctive
本籍 notifies its move-out to 大阪市北区 (Osaka) by mail; the move-out certificate
information (転出証明書情報: relationships, 本籍, 筆頭者, the previous address) goes
from Chiyoda to Kita directly, the household moves in at Kita's window with the
head's card and PIN, and the move-in notice goes back. The prefectures and the
national node see the identity updates of both sides (R1: the new address, the
removal) and nothing else of the move: no moving message, no 本籍, no 筆頭者, no 続柄.

Run under ``flock /tmp/jukinet-card.lock``: the cards sit in pcscd's virtual readers.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from jukinet.domain import events as ev
from jukinet.domain.codes import parse_resident_code
from jukinet.domain.identity import Sex
from jukinet.domain.record import HEAD, ResidentRecord
from jukinet.nodes.municipality import service
from jukinet.nodes.municipality.setup import open_register
from jukinet.nodes.municipality.store import RegisterTx
from tests.e2e.conftest import TODAY, Network, clerk_session, wait_until_consistent
from tests.e2e.r3 import assert_only_identity_items, record_node_requests
from tests.e2e.test_card_window import READER, Slot, _said
from tests.e2e.test_moving_card import (
    CHIYODA,
    KITA,
    NEW_ADDRESS,
    Window,
    _issue_card,
    _national,
    _one,
    _wait_for,
    card_in_slot_0,
    operator_slot,  # noqa: F401  (the fixture the windows' operator card sits in)
)
from tests.helpers import MARUNOUCHI, name
from tests.integration.card.conftest import pcscd_or_fail

NODES = ["prefecture:130001", "prefecture:270008", "national:national"]
DOMICILE = "北海道函館市元町十一番地"  # 本籍: never beyond a municipality
DOMICILE_HEAD = "転居 太郎"  # 筆頭者, not a resident anywhere
ABROAD = "カナダ国トロント市"  # the previous address before Chiyoda: never identity information


def _family(home: Path) -> list[ResidentRecord]:
    head = ev.NewPerson(name("転居", "健", "テンキョ", "ケン"), date(1978, 7, 7), Sex.MALE,
                        HEAD, DOMICILE, DOMICILE_HEAD)  # fmt: skip
    child = ev.NewPerson(name("転居", "舞", "テンキョ", "マイ"), date(2015, 8, 8), Sex.FEMALE,
                         "子", DOMICILE, DOMICILE_HEAD)  # fmt: skip
    moved = TODAY - timedelta(days=40)
    arrival = ev.MoveInFromAbroad((head, child), MARUNOUCHI, ABROAD, moved, moved)
    store = open_register(home)
    try:
        return list(service.record_event(store, clerk_session(home), arrival, TODAY).records)
    finally:
        store.close()


def _records(home: Path, codes: list[str]) -> list[ResidentRecord]:
    store = open_register(home)
    try:
        with store.engine.connect() as conn:
            tx = RegisterTx(conn, store)
            found = [tx.record(parse_resident_code(c)) for c in codes]
    finally:
        store.close()
    return [r for r in found if r is not None]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_r3_moving_with_the_card_passes_no_prefecture_and_no_national_node(
    recorded_network: Network,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    operator_slot: Slot,  # noqa: F811
) -> None:
    pcscd_or_fail()
    net = recorded_network
    old = Window(net, CHIYODA, operator_slot, monkeypatch)
    new = Window(net, KITA, operator_slot, monkeypatch)
    with record_node_requests(net, NODES) as requests:
        head, child = (str(r.resident_code) for r in _family(old.home))
        _wait_for(lambda: _national(net, child), "the family never reached the national node")
        card = tmp_path / "card.img"
        _issue_card(old, head, card)
        notified = old("move-out", "notify", "--holder", head, "--with", child, "--to", "271276",
                       "--destination", NEW_ADDRESS, "--planned", TODAY.isoformat())  # fmt: skip
        assert notified.returncode == 0, _said(notified)
        _wait_for(
            lambda: (
                _one(new.db, "SELECT state FROM incoming_moves WHERE holder = ?", head)
                == ("pending",)
            ),
            "Kita never received the move-out certificate information",
        )
        with card_in_slot_0(card):
            moved_in = new("move-in", "card", "--reader", READER, "--town", "梅田",
                           "--block", "一丁目1番1号", "--moved", TODAY.isoformat())  # fmt: skip
        assert moved_in.returncode == 0, _said(moved_in)
        _wait_for(
            lambda: (
                _national(net, head) == (NEW_ADDRESS, "resident", "271276")
                and _national(net, child) == (NEW_ADDRESS, "resident", "271276")
            ),
            "the national node never showed the new address",
        )
        _wait_for(
            lambda: _one(net.home("prefecture:130001") / "identities.db",
                         "SELECT status FROM identities WHERE resident_code = ?", head)
            == ("removed",),
            "Tokyo's prefecture never saw the removal",
        )  # fmt: skip
    # Kita holds the family with everything the certificate information carried ...
    people = _records(new.home, [head, child])
    assert [(p.domicile, p.domicile_head, p.relationship) for p in people] == [
        (DOMICILE, DOMICILE_HEAD, HEAD), (DOMICILE, DOMICILE_HEAD, "子")]  # fmt: skip
    # ... the prefectures and the national node saw the identity updates of both sides ...
    updates = [r for r in requests if (r.method, r.path) == ("POST", "/updates")]
    assert {r.node for r in updates} == set(NODES)
    assert any(NEW_ADDRESS in r.text() for r in updates if r.node == "prefecture:270008")
    # ... and nothing of the move: no moving message, none of its items.
    assert not [r for r in requests if "moving" in r.path], requests
    assert_only_identity_items(requests, people, also=[DOMICILE_HEAD, ABROAD])
    out = wait_until_consistent(net)
    assert "Consistent:" in out, out
