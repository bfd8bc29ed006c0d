"""R3 as a tested property: nothing beyond identity information (R1) reaches a prefecture
or the national node (tests/e2e/r3.py records every request that arrives there).

Here over the flows that exist since the first issue: window events become identity
updates, which carry only the R1 items. The recorder is shown to see what it must (the
R1 items of those updates, at the prefecture and at the national node) and to catch a
record item beyond them when a request carries one. The flows between municipalities
(wide-area copies, moving) are recorded the same way.
"""

from __future__ import annotations

import json
import subprocess
from datetime import date, timedelta

import pytest

from jukinet.domain import events as ev
from jukinet.domain.codes import parse_resident_code
from jukinet.domain.identity import Sex
from jukinet.domain.record import HEAD, ResidentRecord
from jukinet.nodes.municipality import service
from jukinet.nodes.municipality.setup import open_register
from jukinet.nodes.municipality.store import RegisterTx
from tests.e2e.conftest import TODAY, Network, clerk_session, national_identity
from tests.e2e.r3 import (
    Request,
    assert_only_identity_items,
    record_node_requests,
    requests_with,
)
from tests.e2e.test_provision_network import agency, wait_for
from tests.helpers import KANDA, MARUNOUCHI, name

CHIYODA = "municipality:131016"
TOKYO, NATIONAL = "prefecture:130001", "national:national"
DOMICILE = "京都府京都市上京区今出川通烏丸東入玄武町"  # 本籍: never beyond a municipality
ABROAD = "フランス共和国パリ市十六区"  # the previous address


def family() -> ev.MoveInFromAbroad:
    head = ev.NewPerson(name("記録", "一郎", "キロク", "イチロウ"), date(1975, 4, 1), Sex.MALE,
                        HEAD, DOMICILE, "本籍 筆頭")  # fmt: skip
    wife = ev.NewPerson(name("記録", "花子", "キロク", "ハナコ"), date(1978, 8, 8), Sex.FEMALE,
                        "妻", DOMICILE, "本籍 筆頭")  # fmt: skip
    moved = TODAY - timedelta(days=10)
    return ev.MoveInFromAbroad((head, wife), MARUNOUCHI, ABROAD, moved, moved)


def window(network: Network, *events: ev.Event) -> list[list[ResidentRecord]]:
    """Record ``events`` at Chiyoda's window, one after the other; the records of each."""
    home = network.home(CHIYODA)
    store = open_register(home)
    try:
        clerk = clerk_session(home)
        return [list(service.record_event(store, clerk, e, TODAY).records) for e in events]
    finally:
        store.close()


def records(network: Network, codes: list[str]) -> list[ResidentRecord]:
    store = open_register(network.home(CHIYODA))
    try:
        with store.engine.connect() as conn:
            tx = RegisterTx(conn, store)
            found = [tx.record(parse_resident_code(c)) for c in codes]
    finally:
        store.close()
    assert all(found)
    return [r for r in found if r is not None]


def updates_to(requests: list[Request], node: str) -> list[Request]:
    return [r for r in requests if r.node == node and (r.method, r.path) == ("POST", "/updates")]


def test_identity_updates_of_window_events_carry_only_identity_items_r3(
    recorded_network: Network,
) -> None:
    net = recorded_network
    with record_node_requests(net, [TOKYO, NATIONAL]) as requests:
        [entered] = window(net, family())
        head, wife = (r.resident_code for r in entered)
        [moved] = window(net, ev.MoveWithin(entered[0].household_id, KANDA, TODAY, TODAY))
        [changed] = window(net, ev.CodeChange(wife, TODAY, TODAY))
        new_wife = changed[0].resident_code
        # Updates go in order: the last one at the national node means all arrived.
        wait_for(lambda: national_identity(net, new_wife) is not None, timeout=30)
    people = records(net, [head, new_wife])
    assert [p.domicile for p in people] == [DOMICILE, DOMICILE]
    assert {p.previous_address for p in people} == {MARUNOUCHI.text}  # after the 転居
    assert [p.relationship for p in people] == [HEAD, "妻"]

    # The recorder sees what it must: each update's R1 items, at both nodes, signed.
    for node in (TOKYO, NATIONAL):
        updates = updates_to(requests, node)
        assert updates, f"no identity update recorded at {node}"
        for item in ("記録 一郎", "記録 花子", KANDA.text, MARUNOUCHI.text, head, new_wife, wife):
            assert requests_with(updates, item), f"{item} not seen at {node}"
        assert all(dict(u.headers).get("signature-input") for u in updates)
        assert all(dict(u.headers).get("content-digest") for u in updates)
    assert len(moved) == 2 and all(r.address.text == KANDA.text for r in moved)
    # ... and nothing beyond them, in any request to those nodes (R1, R3); the place
    # abroad they came from was never identity information of theirs.
    assert_only_identity_items(requests, people, also=[ABROAD])


def test_the_recorder_catches_a_record_item_beyond_identity_information_r3(
    recorded_network: Network,
) -> None:
    """Not a recorder that sees nothing: a real request to the national node whose
    address is the person's 本籍 is reported, naming the request."""
    net = recorded_network
    [entered] = window(net, family())
    code = entered[0].resident_code
    wait_for(lambda: national_identity(net, code) is not None, timeout=30)
    with record_node_requests(net, [NATIONAL, TOKYO]) as requests:
        r: subprocess.CompletedProcess[str] = agency(
            net, "mofa-passport", "verify", "--affair", "passport-issuance", "--code", code,
            "--name", "記録 一郎", "--born", "1975-04-01", "--sex", "male", "--address", DOMICILE,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
    [asked] = [q for q in requests if q.path == "/provision/verify"]
    assert asked.node == NATIONAL and DOMICILE in asked.text()
    with pytest.raises(AssertionError, match="POST /provision/verify to national:national"):
        assert_only_identity_items(requests, records(net, [code]))
    # 続柄 as a JSON value (here \u-escaped), and a key naming an item beyond R1:
    escaped = json.dumps({"a": HEAD}).encode()
    relationship = Request(NATIONAL, 0.0, "POST", "/x", (), escaped)
    with pytest.raises(AssertionError, match="続柄"):
        assert_only_identity_items([relationship], records(net, [code]))
    keyed = Request(TOKYO, 0.0, "POST", "/x", (), b'{"household": 1}')
    with pytest.raises(AssertionError, match="has the key 'household'"):
        assert_only_identity_items([keyed], [])
