"""A code change on request, network-wide (R6; DESIGN.md section 2, flow 6).

At Chiyoda's window a resident's code is changed: the new code reaches the Tokyo
prefecture and the national node, the old one is retired at both (and refused as a new
code by the registry, tests/integration/test_code_registry.py), and an agency asking by
the old code, at either node and by lookup, verify or batch, is told ``retired`` and
nothing else: not the new code, no item of the person. The copies reconcile. The card's
part (``card update`` writes the new code) is tests/integration/card/test_card_window.py.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import date
from pathlib import Path

from jukinet.domain import events as ev
from jukinet.nodes.municipality import service
from jukinet.nodes.municipality.setup import open_register
from tests.e2e.conftest import (
    TODAY,
    Network,
    clerk_session,
    national_identity,
    wait_until_consistent,
)
from tests.e2e.test_provision_network import CHIYODA, agency, enter, wait_for
from tests.helpers import MARUNOUCHI, person

NODES = ("prefecture:130001", "national:national")


def retired_at(network: Network, node: str, code: str) -> bool:
    with closing(sqlite3.connect(network.home(node) / "identities.db")) as conn:
        row = conn.execute("SELECT 1 FROM retired_codes WHERE code = ?", (code,)).fetchone()
    return row is not None


def held_at(network: Network, node: str, code: str) -> bool:
    with closing(sqlite3.connect(network.home(node) / "identities.db")) as conn:
        row = conn.execute("SELECT 1 FROM identities WHERE resident_code = ?", (code,)).fetchone()
    return row is not None


def change_code(network: Network, old: str) -> str:
    home = network.home(CHIYODA)
    store = open_register(home)
    try:
        event = ev.CodeChange(old, TODAY, TODAY)
        receipt = service.record_event(store, clerk_session(home), event, TODAY)
    finally:
        store.close()
    assert receipt.retired_codes == (old,)
    return receipt.records[0].resident_code


def test_a_code_change_reaches_every_node_and_the_old_code_answers_retired(
    network: Network, tmp_path: Path
) -> None:
    (old,) = enter(network, person("改番", "カイバン", family="変更", fk="ヘンコウ",
                                   born=date(1970, 7, 7)))  # fmt: skip
    new = change_code(network, old)
    assert new != old
    wait_for(lambda: national_identity(network, new) is not None)
    for node in NODES:
        assert held_at(network, node, new) and not held_at(network, node, old), node
        assert retired_at(network, node, old), node
    assert national_identity(network, new) == ("変更 改番", "resident")

    def said(r: object) -> str:
        return str(getattr(r, "stdout", "")) + str(getattr(r, "stderr", ""))

    # At the national node: a pension body's lookup and batch, a passport verify.
    looked = agency(network, "pension-fund", "lookup", old, "--affair", "national-pension-status")
    assert looked.returncode == 0, looked.stderr
    assert json.loads(looked.stdout) == {"found": False, "record": None, "status": "retired"}
    assert f"status: retired — resident code {old} was retired" in looked.stderr
    verified = agency(
        network, "mofa-passport", "verify", "--affair", "passport-issuance", "--code", old,
        "--name", "変更 改番", "--born", "1970-07-07", "--sex", "male", "--address",
        MARUNOUCHI.text,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr
    answer = json.loads(verified.stdout)
    assert (answer["found"], answer["status"]) == (False, "retired")
    assert not any(answer["matches"].values())
    codes, out = tmp_path / "codes.csv", tmp_path / "answers.jsonl"
    codes.write_text(f"resident_code\n{old}\n{new}\n")
    batch = agency(network, "pension-fund", "batch", str(codes), str(out),
                   "--affair", "national-pension-status")  # fmt: skip
    assert batch.returncode == 0, batch.stderr
    assert "2 rows: 1 found, 1 retired, 0 malformed" in batch.stdout
    by_old, by_new = (json.loads(line) for line in out.read_text().splitlines())
    assert by_old == {"row": 2, "resident_code": old, "found": False, "status": "retired"}
    assert by_new["found"] and by_new["record"]["fields"]["name"] == "変更 改番"
    # At the prefecture: a municipal body whose affair may receive the code itself.
    town = agency(network, "chiyoda-city", "lookup", old,
                  "--affair", "chiyoda-national-health-insurance")  # fmt: skip
    assert town.returncode == 0, town.stderr
    assert json.loads(town.stdout)["status"] == "retired"
    current = agency(network, "chiyoda-city", "lookup", new,
                     "--affair", "chiyoda-national-health-insurance")  # fmt: skip
    assert json.loads(current.stdout)["record"]["fields"]["resident_code"] == new
    for r in (looked, verified, town):
        assert new not in said(r) and "変更" not in said(r) and "改番" not in said(r)
        assert MARUNOUCHI.text not in said(r) and "1970" not in said(r)
    assert new not in out.read_text().splitlines()[0]
    wait_until_consistent(network)
