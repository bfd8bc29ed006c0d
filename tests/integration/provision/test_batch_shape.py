"""The batch in its set-based shape (R24, R5, R6, R14): answer lines byte for byte the
rows' JSON, sector pseudonyms kept per person and sector, and the person index of the
provision rows written in runs while disclosure still finds every row.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from jukinet.domain import provision as policy
from jukinet.domain.codes import generate_resident_code
from jukinet.domain.legal_parse import parse_legal_table
from jukinet.network.messages import BatchRow, DisclosureRequest, LookupRequest, ProvidedRecord
from jukinet.nodes.identity import provision as pv
from jukinet.nodes.identity import provision_store as q
from jukinet.nodes.identity import tables as ids
from jukinet.nodes.identity.pseudonym import pseudonym
from tests.integration.provision.nodes import CHIYODA, TABLE, Node

SECTORS = parse_legal_table("""
version = "test"
[[recipients]]
code = "a"
name = "A"
level = "national"
kind = "government"
agency = "agency-a"
served_by = "national"
[[recipients.affairs]]
code = "pension-a"
description = "d"
basis = "b"
functions = ["batch"]
fields = ["name", "date_of_birth", "sex", "address", "status", "change_reason", "change_date"]
sector = "pension"
[[recipients.affairs]]
code = "status-a"
description = "d"
basis = "b"
functions = ["batch"]
fields = ["resident_code", "name", "status", "change_date"]
""")


def _old_lines(node: Node, affair_code: str, lines: list[str]) -> list[str]:
    """What the batch answered before its set-based shape: a ``BatchRow`` per parsed
    line, each person's record from ``policy.values`` with the pseudonym computed, and
    ``model_dump_json(exclude_none=True)``."""
    _, affair = SECTORS.authorize("agency-a", affair_code, pv.Function.BATCH)
    fields = policy.provided_fields(affair)
    out = []
    with node.store.engine.connect() as conn:
        secret = node.store.pseudonym_secret(conn)
        for row, code, error in policy.parse_batch(lines):
            if code is None:
                out.append(BatchRow(row=row, error=error))
                continue
            found = q.find_asked(conn, code)
            if found is None:
                out.append(BatchRow(row=row, resident_code=code, found=False))
            elif found[1]:
                out.append(BatchRow(row=row, resident_code=code, found=False, status="retired"))
            else:
                person = found[0]
                pseudo = None
                if affair.sector is not None:
                    pseudo = pseudonym(secret, person.person_key, affair.sector)
                record = ProvidedRecord(fields=policy.values(person, fields, pseudo))  # type: ignore[arg-type]
                out.append(BatchRow(row=row, resident_code=code, found=True, record=record))
    return [r.model_dump_json(exclude_none=True) + "\n" for r in out]


@pytest.mark.parametrize("affair", ["pension-a", "status-a"])
def test_a_batch_answer_is_byte_for_byte_the_rows_json(
    national: Node, monkeypatch: pytest.MonkeyPatch, affair: str
) -> None:
    """A mixed input (malformed, retired, not found, removed, repeated, names that JSON
    must escape) answers exactly the lines the model objects gave (R24, R6)."""
    monkeypatch.setattr(pv, "CHUNK", 4)  # several chunks
    alive = national.person(name='"引用" \\ タブ\tと改行\n', address="東京都 \u2028 x")
    plain = national.person()
    dead = national.person(status="removed", change_reason="death", change_date=date(2025, 3, 1))
    old = national.person()
    new = generate_resident_code()
    national.apply({"resident_code": new, "previous_code": old, "change_reason": "code-change",
                    "change_date": date(2026, 2, 1)})  # fmt: skip
    unknown = generate_resident_code()
    bad_check = plain[:10] + str((int(plain[10]) + 1) % 10)
    lines = [
        "resident_code\n", f"{alive}\n", "abc\n", f"{dead}\n", "\n", f"{old}\n",
        json.dumps({"resident_code": plain}) + "\n", f"{bad_check}\n", f"{unknown}\n",
        f"{new}\r\n", "é\xff\n", f"{alive}\n", " " + plain + " \n",
    ]  # fmt: skip
    expected = _old_lines(national, affair, lines)
    blocks = pv.batch_answer(national.store, SECTORS, "agency-a", affair, lines)
    got = b"".join(blocks).decode()
    assert [line + "\n" for line in got.split("\n")[:-1]] == expected
    assert [r.model_dump_json(exclude_none=True) + "\n" for r in
            pv.batch(national.store, SECTORS, "agency-a", affair, lines)] == expected  # fmt: skip


def _kept(node: Node) -> dict[tuple[str, str], str]:
    with node.store.engine.connect() as conn:
        rows = conn.execute(select(ids.pseudonyms)).all()
    return {(r.person_key, r.sector): r.pseudonym for r in rows}


def _key(node: Node, code: str) -> str:
    with node.store.engine.connect() as conn:
        person = q.find(conn, code)
    assert person is not None
    return person.person_key


def _pseudo(node: Node, code: str) -> str | None:
    (row,) = pv.batch(node.store, SECTORS, "agency-a", "pension-a", [code])
    return None if row.record is None else row.record.fields.get("pseudonym")


def test_pseudonyms_are_kept_once_and_stay_right_across_code_change_and_removal(
    national: Node,
) -> None:
    """R5, R6: a batch keeps each person's pseudonym once per sector, the same one the
    node computes; a code change and a removal leave it right."""
    code = national.person()
    assert _kept(national) == {}
    first = _pseudo(national, code)
    key = _key(national, code)
    with national.store.engine.connect() as conn:
        secret = national.store.pseudonym_secret(conn)
    assert first == pseudonym(secret, key, "pension")
    assert _kept(national) == {(key, "pension"): first}
    new = generate_resident_code()
    national.apply({"resident_code": new, "previous_code": code, "change_reason": "code-change",
                    "change_date": date(2026, 2, 1)})  # fmt: skip
    assert _pseudo(national, new) == first
    national.apply({"resident_code": new, "status": "removed", "change_reason": "death",
                    "change_date": date(2026, 3, 1)})  # fmt: skip
    assert _pseudo(national, new) == first
    assert _kept(national) == {(key, "pension"): first}  # computed once, never again
    other = national.person()
    assert _pseudo(national, other) not in (None, first)
    assert len(_kept(national)) == 2


def _disclosed(node: Node, code: str) -> list[tuple[str, int]]:
    req = DisclosureRequest(resident_code=code, verified_by="clerk", clerk="window-3")
    answer = pv.disclosure(node.store, TABLE, req, CHIYODA)
    return [(e.function, e.index) for e in answer.provisions]


def test_disclosure_finds_rows_in_the_person_index_and_above_its_run(
    national: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R14: every provision row of the person is disclosed, newest first, whether the
    person index has taken it in yet or not; a full run is taken in by the batch."""
    monkeypatch.setattr(q, "PERSON_RUN", 3)
    me, other = national.person(), national.person()
    affair = ("pension-fund", "national-pension-status")
    list(pv.batch(national.store, TABLE, *affair, [me, other]))  # 2 rows: under a run
    with national.store.engine.connect() as conn:
        assert q.persons_mark(conn) == 0
    list(pv.batch(national.store, TABLE, *affair, [other, me]))  # 4 rows: a run
    with national.store.engine.connect() as conn:
        indexed = q.persons_mark(conn)
        held = conn.execute(select(ids.provision_persons.c.id)).scalars().all()
    assert indexed > 0 and len(held) == 4
    list(pv.batch(national.store, TABLE, *affair, [me]))  # above the run's mark
    mine = [r for r in national.provisions() if r.person_key == _key(national, me)]
    assert len(mine) == 3
    expected = [("batch", r.leaf) for r in sorted(mine, key=lambda r: (r.at, r.id), reverse=True)]
    assert _disclosed(national, me) == expected


def test_lookups_alone_take_their_rows_into_the_person_index(
    national: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R14: on a node that answers only lookups, the group writer takes a full run of new
    provision rows into the person index, and the disclosure still lists them all."""
    monkeypatch.setattr(q, "PERSON_RUN", 2)
    me = national.person()
    req = LookupRequest(affair="national-pension-status", resident_code=me)
    for _ in range(3):
        assert pv.lookup(national.store, TABLE, "pension-fund", req).found
    with national.store.engine.connect() as conn:
        indexed = q.persons_mark(conn)
        held = conn.execute(select(ids.provision_persons.c.id)).scalars().all()
    assert indexed > 0 and len(held) >= 2
    assert [f for f, _ in _disclosed(national, me)] == ["lookup"] * 3
