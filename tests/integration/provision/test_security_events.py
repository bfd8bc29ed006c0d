"""A provision is a line of the node's security log with how many residents it touched,
and a refused one a failure line (R7, docs/ids.md); the residents' codes are never in it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jukinet.errors import ProvisionRefused
from jukinet.network.ids import DEFAULT_RULES, Engine, parse_rules
from jukinet.network.messages import LookupRequest
from jukinet.network.seclog import SecurityLog
from jukinet.nodes.identity import provision as pv
from tests.integration.provision.nodes import TABLE, Node


def test_a_provision_and_a_refusal_are_security_events(national: Node, tmp_path: Path) -> None:
    rules, hours = parse_rules(DEFAULT_RULES.replace("threshold = 1000", "threshold = 2"))
    # Without the off-hours rule (tested on its own): this test runs at any hour.
    rules = [rule for rule in rules if rule.kind != "hours"]
    log = SecurityLog.in_home(tmp_path, national.store.node_id, Engine(rules, hours))
    codes = [national.person(), national.person()]
    affair = "mutual-aid-pension-status"
    for code in codes:
        pv.lookup(
            national.store, TABLE, "mutual-aid", LookupRequest(affair=affair, resident_code=code)
        )
    with pytest.raises(ProvisionRefused):
        pv.lookup(
            national.store, TABLE, "nobody", LookupRequest(affair=affair, resident_code=codes[0])
        )
    assert log.path is not None
    text = log.path.read_text(encoding="utf-8")
    assert not any(code in text for code in codes)
    lines = [json.loads(line) for line in text.splitlines()]
    provisions = [r for r in lines if r["event"]["action"] == "provision"]
    assert [r["jukinet"]["residents"] for r in provisions] == [1, 1]
    assert all(r["jukinet"]["caller"] == "agency:mutual-aid" for r in provisions)
    assert all(r["http"]["request"]["id"] for r in provisions)
    [alert] = [r for r in lines if r["event"]["kind"] == "alert"]  # two distinct residents
    assert alert["rule"]["name"] == "bulk-residents"
    [refused] = [r for r in lines if r["event"]["action"] == "provision-refused"]
    assert refused["event"]["outcome"] == "failure"
    assert refused["jukinet"]["caller"] == "agency:nobody"
