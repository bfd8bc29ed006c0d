"""R3 during a wide-area copy (R20): nothing of it reaches a prefecture or the national node.

On the recorded network (tests/e2e/r3.py decrypts every request that reaches the
prefectures and the national node), a family moves in to 新宿区 (B) from abroad, with a
distinctive 本籍; at 千代田区's window (A), the real CLI issues their household's copy
with every optional item asked, verified by a driving licence. The prefectures and the
national node see the family's identity updates (R1), and nothing of the copy: no
wide-area request, no licence number, no domicile, no relationship, no previous address.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from jukinet.documents.verify import stored_items
from jukinet.domain import events as ev
from jukinet.domain.codes import LocalGovernmentCode, parse_resident_code
from jukinet.domain.identity import Sex
from jukinet.domain.record import HEAD, Address, ResidentRecord
from jukinet.nodes.municipality import service
from jukinet.nodes.municipality.setup import open_register
from jukinet.nodes.municipality.store import RegisterTx
from tests.e2e.conftest import TODAY, Network, card_in_slot_1, clerk_session, national_identity
from tests.e2e.r3 import assert_only_identity_items, record_node_requests
from tests.e2e.test_provision_network import wait_for
from tests.e2e.test_wide_area_network import LICENCE, _issue, _said
from tests.helpers import name
from tests.integration.card.conftest import pcscd_or_fail

A, B = "municipality:131016", "municipality:131041"
NODES = ["prefecture:130001", "prefecture:270008", "national:national"]
DOMICILE = "北海道札幌市中央区北一条西二丁目"  # 本籍: never beyond a municipality
ABROAD = "大韓民国ソウル特別市鍾路区"  # the previous address, never identity information
NISHI_SHINJUKU = Address(LocalGovernmentCode("131041"), "東京都新宿区", "西新宿二丁目", "8番1号")


def _family() -> ev.MoveInFromAbroad:
    head = ev.NewPerson(name("広域", "一郎", "コウイキ", "イチロウ"), date(1970, 2, 2), Sex.MALE,
                        HEAD, DOMICILE, "広域 太郎")  # fmt: skip
    wife = ev.NewPerson(name("広域", "花子", "コウイキ", "ハナコ"), date(1972, 3, 3), Sex.FEMALE,
                        "妻", DOMICILE, "広域 太郎")  # fmt: skip
    moved = TODAY - timedelta(days=5)
    return ev.MoveInFromAbroad((head, wife), NISHI_SHINJUKU, ABROAD, moved, moved)


def _at_b(net: Network, event: ev.Event) -> list[ResidentRecord]:
    store = open_register(net.home(B))
    try:
        return list(service.record_event(store, clerk_session(net.home(B)), event, TODAY).records)
    finally:
        store.close()


def _records(net: Network, codes: list[str]) -> list[ResidentRecord]:
    store = open_register(net.home(B))
    try:
        with store.engine.connect() as conn:
            tx = RegisterTx(conn, store)
            found = [tx.record(parse_resident_code(c)) for c in codes]
    finally:
        store.close()
    return [r for r in found if r is not None]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_r3_a_wide_area_copy_passes_no_prefecture_and_no_national_node(
    recorded_network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pcscd_or_fail()
    net = recorded_network
    clerk_session(net.home(A))  # the clerk's password is the test's
    monkeypatch.setenv("JUKINET_OPERATOR", "clerk")
    monkeypatch.setenv("JUKINET_PASSWORD", "clerk-password-1")
    out = tmp_path / "copy.pdf"
    with record_node_requests(net, NODES) as requests:
        head, wife = (str(r.resident_code) for r in _at_b(net, _family()))
        wait_for(lambda: national_identity(net, wife) is not None, timeout=60)
        with card_in_slot_1(net.layout.operator_card(A, "clerk")):
            issued = _issue(net.home(A), head, "--applicant", wife, "--household",
                            "--with-relationship", "--with-code", "--with-domicile",
                            "--verified-by", "licence", "--licence", LICENCE,
                            "--out", str(out))  # fmt: skip
        assert issued.returncode == 0, _said(issued)
    printed = stored_items(out.read_bytes())
    assert [p["氏名"] for p in printed["記載事項"]] == ["広域 一郎", "広域 花子"]
    assert [p["続柄"] for p in printed["記載事項"]] == [HEAD, "妻"]

    # The recorder saw the family's identity updates at the prefecture and the national
    # node (it sees what reaches them) ...
    updates = [r for r in requests if (r.method, r.path) == ("POST", "/updates")]
    assert {r.node for r in updates} >= {"prefecture:130001", "national:national"}
    # ... and nothing of the wide-area copy: no request of it, none of its items.
    assert not [r for r in requests if "wide-area" in r.path], requests
    people = _records(net, [head, wife])
    assert [p.domicile for p in people] == [DOMICILE, DOMICILE]
    assert_only_identity_items(requests, people, also=[LICENCE, ABROAD, "広域 太郎"])
