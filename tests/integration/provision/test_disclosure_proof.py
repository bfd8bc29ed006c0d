"""The disclosure answer a resident can check (R14): every provision with its leaf in the
node's provision log and an inclusion proof against a signed checkpoint; with the
published log, nothing left out. Checked here with the project's own checker
(``audit.disclosure_check``); tests/integration/audit/test_disclosure_go.py checks the
same answers with Go's sumdb/tlog and sumdb/note.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, insert, select, update

from jukinet.audit import provision_log as fmt
from jukinet.audit.disclosure_check import check_answer, read_log
from jukinet.audit.note import verifier_key
from jukinet.keys import NodeKey
from jukinet.network.messages import DisclosureRequest, LookupRequest, VerifyRequest
from jukinet.network.messages_disclosure import DisclosureAnswer, ProvenDisclosure
from jukinet.nodes.identity import disclosure as dz
from jukinet.nodes.identity import provision as pv
from jukinet.nodes.identity import tables as ids
from tests.integration.provision.nodes import CHIYODA, MARUNOUCHI, TABLE, Node

NATIONAL = "national:national"


def _provide(national: Node) -> tuple[str, str]:
    """Two residents; the first provided four times (lookup, verify, two batches)."""
    mine, other = national.person(), national.person()
    pv.lookup(national.store, TABLE, "onkyu",
              LookupRequest(affair="onkyu-entitlement", resident_code=mine))  # fmt: skip
    pv.verify(national.store, TABLE, "mofa-passport", VerifyRequest(
        affair="passport-issuance", resident_code=mine, name="山田太郎",
        date_of_birth=datetime(1950, 5, 5).date(), sex="male", address=MARUNOUCHI))  # fmt: skip
    for codes in ([other, mine], [mine]):
        list(pv.batch(national.store, TABLE, "pension-fund", "national-pension-status", codes))
    pv.lookup(national.store, TABLE, "onkyu",
              LookupRequest(affair="onkyu-entitlement", resident_code=other))  # fmt: skip
    return mine, other


def _answer(national: Node, code: str) -> DisclosureAnswer:
    req = DisclosureRequest(resident_code=code, verified_by="clerk", clerk="window-3")
    got = pv.disclosure(national.store, TABLE, req, CHIYODA)
    return DisclosureAnswer(resident_code=code, asked_at=datetime.now(UTC),
                            municipality=CHIYODA, answers=[got])  # fmt: skip


def _log(national: Node, tmp_path: Path) -> list[bytes]:
    out = tmp_path / "provisions.jsonl"
    dz.export_log(national.store, TABLE, out, "cli:test")
    return read_log(out.read_bytes())


def _trusted(national: Node) -> dict[str, str]:
    return {NATIONAL: verifier_key(fmt.origin("national", "national"), national.store.key.public)}


def _with(answer: DisclosureAnswer, one: ProvenDisclosure) -> DisclosureAnswer:
    return answer.model_copy(update={"answers": [one]})


def test_an_answer_verifies_with_its_proofs_and_the_published_log_r14(
    national: Node, tmp_path: Path
) -> None:
    mine, _ = _provide(national)
    answer = _answer(national, mine)
    one = answer.answers[0]
    assert len(one.provisions) == 4
    assert {e.basis for e in one.provisions} >= {"住民基本台帳法 第30条の9・別表第一 (恩給法)"}
    checked, problems = check_answer(answer, {NATIONAL: _log(national, tmp_path)},
                                     _trusted(national))  # fmt: skip
    assert problems == []
    assert [(c.node, c.provisions, c.complete) for c in checked] == [(NATIONAL, 4, True)]
    assert checked[0].size == 6  # one leaf per provision row: 4 of mine, 2 of the other
    # The file the CLI writes round-trips (jukinet resident disclosure --out).
    again = DisclosureAnswer.model_validate_json(answer.model_dump_json())
    assert check_answer(again, None, _trusted(national))[1] == []


def test_a_provision_left_out_of_the_answer_is_found_with_the_log(
    national: Node, tmp_path: Path
) -> None:
    mine, _ = _provide(national)
    answer = _answer(national, mine)
    one = answer.answers[0]
    left_out = one.provisions[1]
    cut = _with(answer, one.model_copy(update={"provisions": [
        e for e in one.provisions if e is not left_out]}))  # fmt: skip
    log = _log(national, tmp_path)
    assert check_answer(cut, None, _trusted(national))[1] == []  # the proofs alone still hold
    _, problems = check_answer(cut, {NATIONAL: log}, _trusted(national))
    assert problems == [
        f"{NATIONAL}: provision {left_out.index} ({json.loads(log[left_out.index])['at'][:16]} "
        f"{left_out.recipient} {left_out.affair}) is in the log but left out of the answer"
    ]


def test_a_provision_row_deleted_from_the_table_is_found(national: Node, tmp_path: Path) -> None:
    mine, _ = _provide(national)
    complete_log = _log(national, tmp_path)
    with national.store.engine.begin() as conn:
        gone = conn.execute(
            select(ids.provisions.c.id, ids.provisions.c.leaf)
            .where(ids.provisions.c.function == "verify")
        ).one()  # fmt: skip
        conn.execute(delete(ids.provisions).where(ids.provisions.c.id == gone.id))
    answer = _answer(national, mine)  # the node no longer knows of the row: 3 provisions
    assert len(answer.answers[0].provisions) == 3
    # Against the log published before: the answer left the row out.
    _, problems = check_answer(answer, {NATIONAL: complete_log}, _trusted(national))
    assert len(problems) == 1 and f"provision {gone.leaf} " in problems[0]
    assert "left out of the answer" in problems[0]
    # A log published now has a gap where the row was: it is not the signed tree.
    _, problems = check_answer(answer, {NATIONAL: _log(national, tmp_path)}, _trusted(national))
    assert problems == [f"{NATIONAL}: the published log's line {gone.leaf + 1} is leaf "
                        f"{gone.leaf + 1}: a leaf is missing"]  # fmt: skip


def test_a_tampered_leaf_or_checkpoint_fails(national: Node, tmp_path: Path) -> None:
    mine, _ = _provide(national)
    answer = _answer(national, mine)
    one = answer.answers[0]
    first = one.provisions[0]
    # The node (or anyone) changes what was given, in the leaf and the answer alike.
    leaf = json.loads(first.leaf)
    leaf["fields"] = "status"
    forged = first.model_copy(update={
        "fields": ["status"],
        "leaf": json.dumps(leaf, ensure_ascii=False, separators=(",", ":"))})  # fmt: skip
    bad = _with(answer, one.model_copy(update={"provisions": [forged, *one.provisions[1:]]}))
    _, problems = check_answer(bad, None, _trusted(national))
    assert len(problems) == 1 and "its inclusion proof fails" in problems[0]
    assert f"provision {first.index} " in problems[0]
    # The answer shows other items than its leaf says.
    shown = first.model_copy(update={"fields": ["status"]})
    bad = _with(answer, one.model_copy(update={"provisions": [shown, *one.provisions[1:]]}))
    assert "the answer does not say what its leaf says" in check_answer(bad)[1][0]
    # A leaf of the log edited in the published file: no longer the signed tree.
    log = _log(national, tmp_path)
    log[2] = log[2].replace(b'"batch"', b'"lookup"')
    _, problems = check_answer(answer, {NATIONAL: log}, _trusted(national))
    assert problems == [f"{NATIONAL}: the published log is not the tree the checkpoint signs"]
    # A checkpoint signed by another key than the node's in the directory.
    other = {NATIONAL: verifier_key(fmt.origin("national", "national"), NodeKey.generate().public)}
    _, problems = check_answer(answer, None, other)
    assert problems == [f"{NATIONAL}: the answer's verifier key is not the node's key in the "
                        "network directory"]  # fmt: skip
    resigned = one.model_copy(update={"verifier_key": other[NATIONAL]})
    assert "checkpoint does not verify" in check_answer(_with(answer, resigned), None, other)[1][0]


def test_a_leaf_names_nobody_and_two_leaves_of_one_resident_do_not_link(
    national: Node, tmp_path: Path
) -> None:
    mine, other = _provide(national)
    log = _log(national, tmp_path)
    with national.store.engine.connect() as conn:
        keys = [r[0] for r in conn.execute(select(ids.identities.c.person_key))]
    for line in log:
        for secret in (mine, other, *keys):
            assert secret.encode() not in line
    leaves = [fmt.parse_leaf(line) for line in log]
    commitments = [leaf.commitment for leaf in leaves]
    assert len(set(commitments)) == len(commitments)  # no commitment repeats, even per person
    for code in (mine, other):  # not a plain hash of the code either
        assert hashlib.sha256(code.encode()).hexdigest() not in commitments
    k_mine = bytes.fromhex(_answer(national, mine).answers[0].resident_key)
    k_other = bytes.fromhex(_answer(national, other).answers[0].resident_key)
    assert len(fmt.mine(k_mine, leaves)) == 4 and len(fmt.mine(k_other, leaves)) == 2
    assert not set(fmt.mine(k_mine, leaves)) & set(fmt.mine(k_other, leaves))


def test_rows_from_before_the_provision_log_are_logged_and_disclosed(
    national: Node, tmp_path: Path
) -> None:
    """An upgraded node: rows written before the log have no leaf until it logs them."""
    mine, _ = _provide(national)
    with national.store.engine.begin() as conn:
        row = conn.execute(select(ids.provisions).limit(1)).one()._asdict()
        row.pop("id")
        conn.execute(
            insert(ids.provisions).values(
                {**row, "leaf": None, "basis": None, "commitment": None, "request_id": "e" * 32}
            )
        )
        conn.execute(update(ids.provisions).where(ids.provisions.c.request_id == "e" * 32)
                     .values(at="2020-01-01T00:00:00.000000+00:00"))  # fmt: skip
    answer = _answer(national, mine)
    assert len(answer.answers[0].provisions) == 5
    _, problems = check_answer(answer, {NATIONAL: _log(national, tmp_path)}, _trusted(national))
    assert problems == []


def test_the_verify_command_says_in_one_line_what_does_not_verify(
    national: Node, tmp_path: Path
) -> None:
    """``jukinet disclosure verify`` without a home: keys from the answer, said so; a bad
    file or a tampered answer is one line and exit status 1, no traceback."""
    exe = Path(sys.executable).with_name("jukinet")
    home = ["--home", str(tmp_path / "nowhere")]
    mine, _ = _provide(national)
    answer = _answer(national, mine)
    path = tmp_path / "answer.json"
    path.write_text(answer.model_dump_json())
    log = tmp_path / "national.jsonl"
    dz.export_log(national.store, TABLE, log, "cli:test")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(exe), *home, "disclosure", "verify", *args],
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ, "COLUMNS": "300"})  # fmt: skip

    done = run(str(path), "--log", str(log))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == (
        f"OK {NATIONAL}: 4 provision(s) proved in its checkpoint of size 6; nothing left out "
        "up to leaf 6")  # fmt: skip
    assert "taken from the answer itself" in done.stdout
    (tmp_path / "junk.json").write_text("{}")
    done = run(str(tmp_path / "junk.json"))
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
    assert "is not a disclosure answer" in done.stderr
    data = json.loads(path.read_text())
    data["answers"][0]["provisions"][0]["proof"] = data["answers"][0]["provisions"][0]["proof"][1:]
    path.write_text(json.dumps(data))
    done = run(str(path))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "its inclusion proof fails" in done.stderr
