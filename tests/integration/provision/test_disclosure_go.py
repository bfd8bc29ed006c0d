"""A disclosure answer checked by Go's own sumdb/note and sumdb/tlog (R14, R25): the
checkpoint signature, every inclusion proof (tlog.CheckRecord, and tlog.ProveRecord over
the published log gives the same proofs), and that nothing was left out; fresh and
tampered (tests/go/auditcheck, ``-disclosure``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jukinet.network.messages_disclosure import DisclosureAnswer
from jukinet.nodes.identity import disclosure as dz
from tests.integration.audit import gocheck
from tests.integration.provision.nodes import TABLE, Node
from tests.integration.provision.test_disclosure_proof import _answer, _provide


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
