"""Loading identities in bulk into a prefecture or national node (R1, R6, R12, R22):
every row or none, one audit entry per load, refusals naming the row."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from jukinet.cli import app as cli
from jukinet.domain.codes import generate_resident_code, resident_code_check_digit
from jukinet.errors import LoadRefused
from jukinet.nodes.identity import provision_store
from jukinet.nodes.identity import tables as ids
from jukinet.nodes.identity.bulkload import load_csv
from jukinet.nodes.identity.bulkload_rows import REQUIRED, check_digit_ok
from jukinet.nodes.national.tables import issued_codes
from tests.integration.provision.nodes import CHIYODA, MARUNOUCHI, Node

OTHER = "131024"  # 中央区


def _row(code: str, **over: str) -> dict[str, str]:
    return {"resident_code": code, "name": "髙橋　ﾀﾛｳ", "date_of_birth": "1950-05-05",
            "sex": "male", "address": MARUNOUCHI, "status": "resident",
            "change_reason": "birth", "change_date": "1950-05-05", "origin": CHIYODA,
            **over}  # fmt: skip


def _write(path: Path, rows: list[dict[str, str]], header: tuple[str, ...] = REQUIRED) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=header, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


def _codes(n: int) -> list[str]:
    return list(dict.fromkeys(generate_resident_code() for _ in range(n)))


def _count(node: Node, table: object) -> int:
    with node.store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def _loads(node: Node) -> list[str]:
    return [e.detail for e in node.audit() if e.operation == "identities.load"]


def test_every_row_is_loaded_with_its_history_registry_and_one_audit_entry(
    national: Node, tmp_path: Path
) -> None:
    """R1, R6, R12, R22: identities, one history row each, the codes in the registry."""
    codes = _codes(300)
    rows = [_row(c, status="removed" if i % 10 == 0 else "resident") for i, c in enumerate(codes)]
    done = load_csv(national.store, _write(tmp_path / "ids.csv", rows), operator="ops",
                    registry=issued_codes)  # fmt: skip
    assert (done.rows, done.residents, done.removed, done.municipalities) == (300, 270, 30, 1)
    assert _count(national, ids.identities) == 300
    assert _count(national, ids.identity_history) == 300
    assert _count(national, issued_codes) == 300
    with national.store.engine.connect() as conn:
        held = provision_store.find(conn, codes[7])
        history = conn.execute(
            select(ids.identity_history.c.resident_code, ids.identity_history.c.sender,
                   ids.identity_history.c.sender_seq)
            .order_by(ids.identity_history.c.sender_seq)
        ).all()  # fmt: skip
    assert held is not None and held.name_folded == "高橋タロウ"
    # One history row each, sent by the load, numbered 1..n.
    assert sorted(r.resident_code for r in history) == sorted(codes)
    assert [r.sender_seq for r in history] == list(range(1, 301))
    assert {r.sender for r in history} == {done.sender}
    [detail] = _loads(national)
    assert "loaded 300 identities (270 resident, 30 removed) of 1 municipalities" in detail
    assert done.sha256 in detail
    # A later update of a loaded person applies: the registry knows the code (R6).
    national.apply({"resident_code": codes[0], "address": MARUNOUCHI + "2"})


def test_a_prefecture_takes_a_load_and_indexes_work_after_it(tokyo: Node, tmp_path: Path) -> None:
    """R1: a prefecture's load; a search by name finds the loaded people."""
    codes = _codes(50)
    load_csv(tokyo.store, _write(tmp_path / "ids.csv", [_row(c) for c in codes]), operator="ops")
    with tokyo.store.engine.connect() as conn:
        found = provision_store.by_name(conn, "高橋タロウ", None)
    assert sorted(p.identity.resident_code for p in found) == sorted(codes)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"resident_code": "12345678900"}, "Row 4: '12345678900' is not a resident code"),
        ({"sex": "m"}, "Row 4: the sex is 'm'"),
        ({"date_of_birth": "1950-13-01"}, "Row 4: the date_of_birth '1950-13-01' is not a date"),
        ({"change_date": "2999-01-01"}, "Row 4: the change_date '2999-01-01'"),
        ({"origin": "131017"}, "Row 4: the origin '131017'"),
        ({"name": "山田\t太郎"}, "Row 4: the name holds a control character"),
        ({"status": "dead"}, "Row 4: the status is 'dead'"),
        ({"address": ""}, "Row 4: the address must be 1 to 300 characters"),
    ],
)
def test_a_bad_row_refuses_the_whole_file_and_changes_nothing(
    national: Node, tmp_path: Path, bad: dict[str, str], message: str
) -> None:
    """R1, R12: one clear error naming the row; nothing loaded, one refusal audited."""
    codes = _codes(5)
    if "resident_code" in bad and check_digit_ok(bad["resident_code"]):
        pytest.fail("the bad code must be bad")
    rows = [_row(c) for c in codes]
    rows[2] = {**rows[2], **bad}
    before = len(national.audit())
    with pytest.raises(LoadRefused, match=message.replace("(", r"\(")):
        load_csv(national.store, _write(tmp_path / "ids.csv", rows), operator="ops",
                 registry=issued_codes)  # fmt: skip
    assert _count(national, ids.identities) == 0
    assert _count(national, ids.identity_history) == 0
    assert _count(national, issued_codes) == 0
    after = national.audit()[before:]
    assert [(e.operation, e.outcome) for e in after] == [("identities.load", "refused")]


@pytest.mark.parametrize("indexes", ["with", "after"])
def test_a_code_twice_or_already_held_is_refused_with_its_row(
    national: Node, tmp_path: Path, indexes: str
) -> None:
    """R6: a code is held once; the second row naming it refuses the file."""
    codes = _codes(30)
    rows = [_row(c) for c in codes] + [_row(codes[3])]
    with pytest.raises(LoadRefused, match="Row 32"):
        load_csv(national.store, _write(tmp_path / "a.csv", rows), operator="ops",
                 registry=issued_codes, indexes=indexes)  # type: ignore[arg-type]  # fmt: skip
    assert _count(national, ids.identities) == 0
    load_csv(national.store, _write(tmp_path / "b.csv", [_row(c) for c in codes[:10]]),
             operator="ops", registry=issued_codes)  # fmt: skip
    again = [_row(c) for c in codes[10:]] + [_row(codes[0])]
    with pytest.raises(LoadRefused, match=r"Row 22: .*already held"):
        load_csv(national.store, _write(tmp_path / "c.csv", again), operator="ops",
                 registry=issued_codes, indexes=indexes)  # type: ignore[arg-type]  # fmt: skip
    assert _count(national, ids.identities) == 10


def test_a_code_issued_to_another_municipality_is_refused(national: Node, tmp_path: Path) -> None:
    """R6: the registry's municipality of a code must be the row's origin."""
    codes = _codes(3)
    with national.store.transaction() as conn:
        national.store.record_issued(conn, [codes[1]], OTHER, "2025-01-01T00:00:00")
    with pytest.raises(LoadRefused, match=f"Row 3: resident code {codes[1]} was issued to "
                                          f"municipality {OTHER}"):  # fmt: skip
        load_csv(national.store, _write(tmp_path / "ids.csv", [_row(c) for c in codes]),
                 operator="ops", registry=issued_codes)  # fmt: skip
    assert _count(national, ids.identities) == 0
    assert _count(national, issued_codes) == 1


def test_a_header_without_a_column_is_refused(national: Node, tmp_path: Path) -> None:
    path = _write(tmp_path / "ids.csv", [_row(c) for c in _codes(2)], header=REQUIRED[:-1])
    with pytest.raises(LoadRefused, match=r"Row 1 .*missing: origin"):
        load_csv(national.store, path, operator="ops", registry=issued_codes)


def test_the_fast_check_digit_is_the_domains() -> None:
    """R6: the loader's check digit agrees with the domain's for every last digit."""
    rng = random.Random(11)
    for _ in range(3000):
        body = f"{rng.randrange(10**10):010d}"
        right = resident_code_check_digit(body)
        for digit in range(10):
            assert check_digit_ok(f"{body}{digit}") is (digit == right)
    assert not check_digit_ok("１２３４５６７８９０１")  # full-width digits are not a code


def test_the_command_loads_a_file_and_refuses_a_bad_one_in_one_line(
    national: Node, tmp_path: Path
) -> None:
    """R12: ``jukinet identity load``, audited; a bad file is one line, no traceback."""
    node_home = tmp_path / "national"  # the fixture's node
    good = _write(tmp_path / "good.csv", [_row(c) for c in _codes(20)])
    result = CliRunner().invoke(cli, ["--home", str(node_home), "identity", "load", "--csv",
                                      str(good), "--operator", "ops"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Loaded 20 identities" in result.output
    bad = _write(tmp_path / "bad.csv", [_row("1")])
    result = CliRunner().invoke(cli, ["--home", str(node_home), "identity", "load", "--csv",
                                      str(bad), "--operator", "ops"])  # fmt: skip
    assert result.exit_code != 0
    assert "Row 2: '1' is not a resident code" in result.output
    assert "Traceback" not in result.output
    assert _count(national, ids.identities) == 20
