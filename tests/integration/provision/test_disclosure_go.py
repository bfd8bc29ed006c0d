"""A disclosure answer checked by Go's own sumdb/note and sumdb/tlog (R14, R25): the
checkpoint signature, every inclusion proof (tlog.CheckRecord, and tlog.ProveRecord over
the published log gives the same proofs), and that nothing was left out; fresh and
tampered (tests/go/auditcheck, ``-disclosure``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jukinet.audit.bundle import cosigner_key
from jukinet.network.messages import DisclosureRequest
from jukinet.network.messages_disclosure import DisclosureAnswer
from jukinet.nodes.identity import disclosure as dz
from jukinet.nodes.identity import provision as pv
from jukinet.nodes.identity import provision_witness as pw
from tests.integration.audit import gocheck
from tests.integration.provision.nodes import CHIYODA, TABLE, Node
from tests.integration.provision.test_disclosure_proof import _answer, _provide
from tests.integration.provision.test_provision_witness import AS_TOKYO, _lookup, _round


@pytest.fixture(scope="module")
def auditcheck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return gocheck.build(tmp_path_factory.mktemp("go"))


def _files(national: Node, tmp_path: Path, answer: DisclosureAnswer) -> tuple[Path, Path]:
    log = tmp_path / "national.jsonl"
    dz.export_log(national.store, TABLE, log, "cli:test")
    out = tmp_path / "answer.json"
    out.write_text(answer.model_dump_json(indent=2))
    return out, log


def test_go_verifies_a_fresh_answer_and_refuses_tampered_ones(
    national: Node, tmp_path: Path, auditcheck: Path
) -> None:
    mine, _ = _provide(national)
    answer = _answer(national, mine)
    path, log = _files(national, tmp_path, answer)
    done = gocheck.check_disclosure(auditcheck, path, log)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == "OK: 4 provisions, checkpoint signatures and inclusion proofs verified\n"

    data = json.loads(path.read_text())
    one = data["answers"][0]
    # A provision left out of the answer: found against the published log.
    left = one["provisions"].pop(1)
    path.write_text(json.dumps(data))
    done = gocheck.check_disclosure(auditcheck, path, log)
    assert done.returncode == 1
    assert done.stdout == (f"FAIL: national:national: provision {left['index']} is in the log "
                           "but left out of the answer\n")  # fmt: skip
    one["provisions"].insert(1, left)
    # A leaf changed: its inclusion proof no longer leads to the signed root.
    leaf = json.loads(left["leaf"])
    leaf["fields"] = "status"
    left["leaf"] = json.dumps(leaf, ensure_ascii=False, separators=(",", ":"))
    path.write_text(json.dumps(data))
    done = gocheck.check_disclosure(auditcheck, path)
    assert done.returncode == 1 and f"provision {left['index']}: " in done.stdout
    assert "invalid transparency proof" in done.stdout
    # A checkpoint whose root was changed: its signature fails.
    fresh = json.loads(answer.model_dump_json())
    note = fresh["answers"][0]["checkpoint"].split("\n")
    note[2] = "A" * 43 + "="
    fresh["answers"][0]["checkpoint"] = "\n".join(note)
    path.write_text(json.dumps(fresh))
    done = gocheck.check_disclosure(auditcheck, path)
    assert done.returncode == 1 and "checkpoint: " in done.stdout
    # The published log with a leaf edited.
    lines = log.read_bytes().split(b"\n")
    lines[0] = lines[0].replace(b'"lookup"', b'"search"')
    log.write_bytes(b"\n".join(lines))
    path.write_text(answer.model_dump_json())
    done = gocheck.check_disclosure(auditcheck, path, log)
    assert done.returncode == 1
    assert done.stdout == ("FAIL: national:national: the published log is not the tree the "
                           "checkpoint signs\n")  # fmt: skip


def test_go_verifies_the_witnessed_checkpoint_and_its_cosignature(
    national: Node, tokyo: Node, tmp_path: Path, auditcheck: Path
) -> None:
    code = tokyo.person()
    _lookup(tokyo, code)
    _round(tokyo, national, AS_TOKYO)  # the national node cosigns Tokyo's log at size 1
    _lookup(tokyo, code)
    _lookup(tokyo, code)
    req = DisclosureRequest(resident_code=code, verified_by="clerk", clerk="window-3")
    one = pv.disclosure(tokyo.store, TABLE, req, CHIYODA)
    name = pw.witness_name("national", "national")
    good = cosigner_key(name, national.store.key.public)
    path = tmp_path / "answer.json"

    def go(key: str, consistency: list[str] | None = None) -> str:
        proven = one.model_copy(update={"cosigner_keys": [key]} | (
            {} if consistency is None else {"consistency": consistency}))  # fmt: skip
        answer = DisclosureAnswer(resident_code=code, asked_at=datetime.now(UTC),
                                  municipality=CHIYODA, answers=[proven])  # fmt: skip
        path.write_text(answer.model_dump_json())
        return gocheck.check_disclosure(auditcheck, path).stdout

    assert go(good) == "OK: 3 provisions, checkpoint signatures and inclusion proofs verified\n"
    other = cosigner_key(name, tokyo.store.key.public)
    assert go(other).startswith("FAIL: prefecture:130001: witnessed checkpoint: the checkpoint "
                                f"has no cosignature of {name}")  # fmt: skip
    assert "does not extend the witnessed checkpoint" in go(good, [one.provisions[0].proof[0]])
