"""Provision to administrative bodies under the legal table, batch proof-of-life and
disclosure (R2, R4, R5, R14, R23, R24) on real nodes and real databases (SQLite and
PostgreSQL): the whole access matrix of the shipped table, fields exactly as allowed,
match without disclosure, search across variant kanji, batches, pseudonyms.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from jukinet.audit import log as audit
from jukinet.domain.codes import generate_resident_code
from jukinet.domain.legal import (
    R1_FIELDS,
    Function,
    LegalTable,
)
from jukinet.domain.legal_parse import load_shipped_legal_table, parse_legal_table
from jukinet.errors import DisclosureRefused, ProvisionRefused
from jukinet.keys import NodeKey
from jukinet.network.messages import (
    DisclosureRequest,
    IdentityUpdate,
    LookupRequest,
    SearchRequest,
    UpdateBatch,
    VerifyRequest,
)
from jukinet.network.peer import Peer, caller, install_problem_handlers
from jukinet.nodes.identity import provision as pv
from jukinet.nodes.identity import provision_api
from jukinet.nodes.identity import tables as ids
from jukinet.nodes.identity.pseudonym import pseudonym
from jukinet.nodes.identity.store import IdentityStore
from jukinet.nodes.national import service as national_service
from jukinet.nodes.national.store import NationalStore
from jukinet.nodes.national.store import migrate as national_migrate
from jukinet.nodes.prefecture import service as prefecture_service
from jukinet.storage.database import make_engine
from tests.conftest import UrlFactory

TOKYO = "130001"
OSAKA = "270008"
CHIYODA = "131016"
MARUNOUCHI = "東京都千代田区丸の内一丁目1番1号"
TABLE = load_shipped_legal_table()
CLERK = "municipality:131016"

# --- nodes and people -----------------------------------------------------------------


@dataclass
class Node:
    """An identity node and a sender that feeds it updates (authority checked elsewhere)."""

    store: IdentityStore
    seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def apply(self, *updates: dict[str, Any]) -> None:
        msgs = [
            IdentityUpdate(
                seq=next(self.seq),
                origin=CHIYODA,
                recorded_at=datetime.now(UTC),
                **{
                    "name": "山田 太郎", "date_of_birth": date(1950, 5, 5), "sex": "male",
                    "address": MARUNOUCHI, "status": "resident", "change_reason": "birth",
                    "change_date": date(1950, 5, 5), **u,
                },
            )
            for u in updates
        ]  # fmt: skip
        if isinstance(self.store, NationalStore):  # the registry issued the codes (R6)
            codes = {m.resident_code for m in msgs if not self.store.was_issued(m.resident_code)}
            with self.store.transaction() as conn:
                self.store.record_issued(conn, sorted(codes), CHIYODA, "2025-01-01T00:00:00")
        sender = Peer("prefecture:130001", "prefecture", TOKYO)
        batch = UpdateBatch(sender=sender.node_id, updates=msgs)
        self.store.apply_batch(sender, batch, authority=lambda s, u: None)

    def person(self, **fields: Any) -> str:
        code = fields.pop("resident_code", None) or generate_resident_code()
        self.apply({"resident_code": code, **fields})
        return code

    def provisions(self) -> list[Any]:
        with self.store.engine.connect() as conn:
            return list(conn.execute(select(ids.provisions).order_by(ids.provisions.c.id)))

    def audit(self) -> list[audit.Entry]:
        with self.store.engine.connect() as conn:
            return list(audit.entries(conn))

    def counts(self) -> tuple[int, int]:
        with self.store.engine.connect() as conn:
            n = conn.execute(select(func.count()).select_from(ids.provisions)).scalar_one()
            a = conn.execute(select(func.count()).select_from(ids.audit_log)).scalar_one()
        return int(n), int(a)


@pytest.fixture
def national(database: UrlFactory, tmp_path: Path) -> Iterator[Node]:
    home = tmp_path / "national"
    national_service.init_node(home, "national", "全国センター", database("n"), NodeKey.generate())
    store = national_service.open_node(home)
    yield Node(store)
    store.close()


def _prefecture(database: UrlFactory, home: Path, code: str, name: str) -> IdentityStore:
    prefecture_service.init_node(home, code, name, database(code), NodeKey.generate())
    return prefecture_service.open_node(home)


@pytest.fixture
def tokyo(database: UrlFactory, tmp_path: Path) -> Iterator[Node]:
    store = _prefecture(database, tmp_path / "tokyo", TOKYO, "東京都")
    yield Node(store)
    store.close()


@pytest.fixture
def osaka(database: UrlFactory, tmp_path: Path) -> Iterator[Node]:
    store = _prefecture(database, tmp_path / "osaka", OSAKA, "大阪府")
    yield Node(store)
    store.close()


def expected_fields(affair_fields: frozenset[str], sector: str | None) -> set[str]:
    if sector is None:
        return set(affair_fields)
    return (set(affair_fields) - {"resident_code"}) | {"pseudonym"}


# --- the access matrix (R2, R5) -------------------------------------------------------


def _call(node: Node, agency: str, affair: str, function: Function, code: str) -> set[str]:
    """Call ``function``; the fields of the record provided (empty for verify)."""
    store = node.store
    if function is Function.LOOKUP:
        got = pv.lookup(store, TABLE, agency, LookupRequest(affair=affair, resident_code=code))
        assert got.found and got.record is not None
        return set(got.record.fields)
    if function is Function.SEARCH:
        req = SearchRequest(affair=affair, name="山田太郎", date_of_birth=date(1950, 5, 5))
        found = pv.search(store, TABLE, agency, req)
        assert len(found.candidates) == 1
        return set(found.candidates[0].record.fields)
    if function is Function.VERIFY:
        vreq = VerifyRequest(
            affair=affair, resident_code=code, name="山田 太郎", date_of_birth=date(1950, 5, 5),
            sex="male", address=MARUNOUCHI,
        )  # fmt: skip
        verified = pv.verify(store, TABLE, agency, vreq)
        assert verified.found and all(verified.matches.values())
        assert set(type(verified).model_fields) == {"found", "matches"}  # no data (R23)
        return set()
    rows = list(pv.batch(store, TABLE, agency, affair, [code]))
    assert len(rows) == 1 and rows[0].found and rows[0].record is not None
    return set(rows[0].record.fields)


# Which node serves which recipient of the shipped table (R2; 住民基本台帳法 第30条の7 as
# first enacted): national bodies the national node (第3項), a prefecture's own bodies
# and the bodies of the municipalities in its area that prefecture (第4項, 別表第二).
SERVED_AT = {
    "national": {"mofa", "jps", "kkr", "soumu-onkyu"},
    "tokyo": {"tokyo", "chiyoda"},
    "osaka": {"osaka"},
}


def test_access_matrix_of_the_shipped_table(
    national: Node, tokyo: Node, osaka: Node, caplog: pytest.LogCaptureFixture
) -> None:
    """Every recipient × affair × function at every node: allowed works, the rest is refused."""
    nodes = {"national": national, "tokyo": tokyo, "osaka": osaka}
    codes = {name: node.person() for name, node in nodes.items()}
    affairs = [a for r in TABLE.recipients for a in r.affairs]
    allowed_calls = 0
    caplog.set_level(logging.WARNING, logger="jukinet.security")
    for (name, node), recipient, affair, function in itertools.product(
        nodes.items(), TABLE.recipients, affairs, Function
    ):
        allowed = (
            affair in recipient.affairs
            and function in affair.functions
            and recipient.code in SERVED_AT[name]
        )
        provided, audited = node.counts()
        caplog.clear()
        where = f"{name}: {recipient.code} {affair.code} {function}"
        if allowed:
            fields = _call(node, recipient.agency, affair.code, function, codes[name])
            want = expected_fields(affair.fields, affair.sector)
            if function is Function.VERIFY:
                want = set()
            assert fields == want, where
            assert node.counts() == (provided + 1, audited + 1), where
            entry = node.audit()[-1]
            assert entry.outcome == audit.Outcome.OK
            assert entry.operation == f"provision.{function}"
            row = node.provisions()[-1]
            assert (row.recipient, row.affair, row.function) == (
                recipient.code, affair.code, str(function)
            ), where  # fmt: skip
            assert row.agency == f"agency:{recipient.agency}"
            assert set(filter(None, row.fields.split(","))) == want
            allowed_calls += 1
        else:
            with pytest.raises(ProvisionRefused):
                _call(node, recipient.agency, affair.code, function, codes[name])
            assert node.counts() == (provided, audited + 1), where  # one entry, no row
            entry = node.audit()[-1]
            assert entry.outcome == audit.Outcome.REFUSED and entry.actor == (
                f"agency:{recipient.agency}"
            ), where
            assert [r.name for r in caplog.records] == ["jukinet.security"], where
    # Every recipient's every allowed function works at exactly one node: 16 (affair,
    # function) pairs of national, prefectural and municipal recipients.
    served = sum(len(a.functions) for r in TABLE.recipients for a in r.affairs)
    assert allowed_calls == served == 16


def test_a_municipal_body_gets_its_affairs_fields_from_its_prefecture_only_r2(
    national: Node, tokyo: Node, osaka: Node
) -> None:
    """千代田区長 (municipal, 別表第二) is served by Tokyo, the prefecture of its municipality."""
    affair = "chiyoda-national-health-insurance"
    code = tokyo.person(name="佐藤 一郎")
    got = pv.lookup(tokyo.store, TABLE, "chiyoda-city",
                    LookupRequest(affair=affair, resident_code=code))  # fmt: skip
    assert got.record is not None
    assert got.record.fields == {
        "resident_code": code, "name": "佐藤 一郎", "address": MARUNOUCHI,
        "status": "resident", "change_reason": "birth", "change_date": "1950-05-05",
    }  # fmt: skip
    row = tokyo.provisions()[-1]
    assert (row.recipient, row.affair, row.agency) == ("chiyoda", affair, "agency:chiyoda-city")
    for other in (national, osaka):
        other.person(resident_code=code)
        before = other.counts()
        with pytest.raises(ProvisionRefused, match=r"千代田区長.*prefecture:130001"):
            pv.lookup(other.store, TABLE, "chiyoda-city",
                      LookupRequest(affair=affair, resident_code=code))  # fmt: skip
        assert other.counts() == (before[0], before[1] + 1)
    # Not its affair (Tokyo's own), nor a function its affair lists: refused at Tokyo too.
    before = tokyo.counts()
    with pytest.raises(ProvisionRefused, match="'tokyo-public-housing' is not listed"):
        pv.lookup(tokyo.store, TABLE, "chiyoda-city",
                  LookupRequest(affair="tokyo-public-housing", resident_code=code))  # fmt: skip
    with pytest.raises(ProvisionRefused, match="Function 'batch' is not allowed"):
        pv.batch(tokyo.store, TABLE, "chiyoda-city", affair, [code])
    assert tokyo.counts() == (before[0], before[1] + 2)


def test_an_unknown_agency_and_unknown_affair_are_refused(national: Node) -> None:
    code = national.person()
    for agency, affair in [("acme-corp", "passport-issuance"), ("pension-fund", "no-such")]:
        before = national.counts()
        with pytest.raises(ProvisionRefused):
            pv.lookup(
                national.store, TABLE, agency, LookupRequest(affair=affair, resident_code=code)
            )
        assert national.counts() == (before[0], before[1] + 1)


def test_a_field_outside_the_affair_is_refused_by_the_table() -> None:
    """× field: every R1 field the affair does not list is refused, the listed ones pass."""
    for recipient in TABLE.recipients:
        for affair, fn, f in itertools.product(recipient.affairs, Function, sorted(R1_FIELDS)):
            if fn not in affair.functions:
                continue
            if f in affair.fields:
                TABLE.authorize(recipient.agency, affair.code, fn, [f])
            else:
                with pytest.raises(ProvisionRefused, match=f):
                    TABLE.authorize(recipient.agency, affair.code, fn, [f])


# --- lookup: exactly the affair's fields ------------------------------------------------


def test_lookup_gives_exactly_the_fields_with_their_values(national: Node) -> None:
    code = national.person(name="鈴木 花子", sex="female", date_of_birth=date(1940, 2, 3))
    got = pv.lookup(
        national.store, TABLE, "mutual-aid",
        LookupRequest(affair="mutual-aid-pension-status", resident_code=code),
    )  # fmt: skip
    assert got.record is not None
    assert got.record.fields == {
        "resident_code": code, "name": "鈴木 花子", "date_of_birth": "1940-02-03",
        "sex": "female", "address": MARUNOUCHI, "status": "resident",
        "change_reason": "birth", "change_date": "1950-05-05",
    }  # fmt: skip
    # The pension fund's affair has a sector: a pseudonym, never the code (R4, R5).
    pension = pv.lookup(
        national.store, TABLE, "pension-fund",
        LookupRequest(affair="national-pension-status", resident_code=code),
    )  # fmt: skip
    assert pension.record is not None
    assert "resident_code" not in pension.record.fields
    assert code not in json.dumps(pension.model_dump(), ensure_ascii=False)
    assert len(pension.record.fields["pseudonym"]) == 20
    # An unknown code: not found, audited, no provision row.
    before = national.counts()
    unknown = pv.lookup(
        national.store, TABLE, "mutual-aid",
        LookupRequest(affair="mutual-aid-pension-status", resident_code=generate_resident_code()),
    )  # fmt: skip
    assert not unknown.found and unknown.record is None
    assert national.counts() == (before[0], before[1] + 1)


# --- verify: match without disclosure (R23) ---------------------------------------------


def test_verify_matches_across_variant_kanji_and_returns_no_data(national: Node) -> None:
    code = national.person(name="髙橋 一郎", address="東京都千代田区丸の内一丁目１番１号")

    def check(**kw: Any) -> dict[str, bool]:
        items = {"name": "高橋一郎", "date_of_birth": date(1950, 5, 5), "sex": "male",
                 "address": MARUNOUCHI, **kw}  # fmt: skip
        req = VerifyRequest(affair="passport-issuance", resident_code=code, **items)
        got = pv.verify(national.store, TABLE, "mofa-passport", req)
        assert got.found
        assert set(got.model_dump()) == {"found", "matches"}
        return dict(got.matches)

    assert all(check().values())  # 髙 = 高, full-width digits, spaces
    assert check(name="ﾀｶﾊｼ ｲﾁﾛｳ")["name"] is False
    assert check(date_of_birth=date(1950, 5, 6)) == {
        "name": True, "date_of_birth": False, "sex": True, "address": True,
    }  # fmt: skip
    assert check(sex="female", address="大阪府")["address"] is False
    rows = national.provisions()
    assert len(rows) == 4
    assert {(r.function, r.fields, r.resident_code) for r in rows} == {("verify", "", code)}


# --- search by the 4 items --------------------------------------------------------------


def test_search_finds_across_variant_kanji_and_caps_candidates(tokyo: Node) -> None:
    wanted = tokyo.person(name="髙﨑 𠮷男", date_of_birth=date(1970, 1, 1))
    for day in range(1, 10):  # nine namesakes, another date of birth each
        tokyo.person(name="高崎 吉男", date_of_birth=date(1980, 1, day),
                     address="東京都新宿区西新宿二丁目8番1号")  # fmt: skip
    tokyo.person(name="高崎 吉男", date_of_birth=date(1970, 1, 1), status="removed",
                 change_reason="death")  # fmt: skip
    tokyo.person(name="山田 太郎")
    affair = "tokyo-child-rearing-allowance"  # max_candidates = 5

    def search(**kw: Any) -> list[Any]:
        got = pv.search(tokyo.store, TABLE, "tokyo-pref", SearchRequest(affair=affair, **kw))
        return list(got.candidates)

    many = search(name="高崎 吉男", address="千代田区")
    assert len(many) == 5
    assert many[0].record.fields["resident_code"] == wanted  # address matched: ranked first
    assert [c.score for c in many] == sorted((c.score for c in many), reverse=True)
    exact = search(name="ﾀｶｻｷ ﾖｼｵ")  # a reading is not a name: folding keeps kanji apart
    assert exact == []
    two = search(name="髙崎　𠮷男", date_of_birth=date(1970, 1, 1), sex="male", address="丸の内")
    assert [c.record.fields["status"] for c in two] == ["resident", "removed"]
    assert two[0].record.fields["resident_code"] == wanted and two[0].score == 1.0
    provided = [r for r in tokyo.provisions() if r.function == "search"]
    assert len(provided) == 5 + 2  # one row per candidate returned


# --- batch proof-of-life (R24) ------------------------------------------------------------


def test_batch_reports_per_row_in_input_order(
    national: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pv, "CHUNK", 3)  # several chunks, each sorted inside
    alive = [national.person() for _ in range(4)]
    dead = national.person(status="removed", change_reason="death", change_date=date(2025, 3, 1))
    unknown = generate_resident_code()
    bad_check = alive[0][:10] + str((int(alive[0][10]) + 1) % 10)
    lines = [
        "resident_code\n", f"{alive[3]}\n", "abc\n", f"{dead}\n", "\n",
        json.dumps({"resident_code": alive[1]}) + "\n", '{"resident_code": 1}\n',
        f"{bad_check}\n", f"{unknown}\n", f'"{alive[0]}"\n', "{not json\n",
        f"{alive[2]},x\n", f"{alive[3]}\n",
    ]  # fmt: skip
    rows = list(pv.batch(national.store, TABLE, "onkyu", "onkyu-entitlement", lines))
    assert [r.row for r in rows] == [2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13]
    assert [r.resident_code for r in rows] == [
        alive[3], None, dead, alive[1], None, None, unknown, alive[0], None, None, alive[3],
    ]  # fmt: skip
    errors = {r.row: r.error for r in rows if r.error}
    assert set(errors) == {3, 7, 8, 11, 12}
    assert "11 digits" in (errors[3] or "") and "check digit" in (errors[8] or "")
    assert all(e and e.startswith(f"row {n}:") for n, e in errors.items())
    by_code = {r.resident_code: r for r in rows if r.record is not None}
    assert by_code[dead].record is not None
    removal = {
        k: by_code[dead].record.fields[k] for k in ("status", "change_reason", "change_date")
    }
    assert removal == {"status": "removed", "change_reason": "death", "change_date": "2025-03-01"}
    assert not next(r for r in rows if r.resident_code == unknown).found
    # One provision row per person provided (alive[3] twice, in two chunks: twice).
    provided = national.provisions()
    assert sorted(r.resident_code for r in provided) == sorted(
        [alive[3], dead, alive[1], alive[0], alive[3]]
    )
    assert {r.request_id for r in provided} == {provided[0].request_id}
    assert {r.function for r in provided} == {"batch"}
    chunks = [e for e in national.audit() if e.operation == "provision.batch"]
    assert len(chunks) == 4  # 11 rows in chunks of 3


def test_a_death_reaches_the_pension_bodys_next_batch(national: Node) -> None:
    code = national.person()

    def status() -> dict[str, str]:
        (row,) = pv.batch(national.store, TABLE, "pension-fund", "national-pension-status",
                          [code])  # fmt: skip
        assert row.record is not None
        return {k: row.record.fields[k] for k in ("status", "change_reason", "change_date")}

    assert status()["status"] == "resident"
    national.apply({"resident_code": code, "status": "removed", "change_reason": "death",
                    "change_date": date(2026, 1, 15)})  # fmt: skip
    assert status() == {"status": "removed", "change_reason": "death", "change_date": "2026-01-15"}


def test_an_empty_or_refused_batch(national: Node) -> None:
    assert list(pv.batch(national.store, TABLE, "onkyu", "onkyu-entitlement", [])) == []
    assert national.audit()[-1].detail.endswith("empty batch")
    before = national.counts()
    with pytest.raises(ProvisionRefused):  # refused at the call, before any row
        pv.batch(national.store, TABLE, "mofa-passport", "passport-issuance", ["x"])
    assert national.counts() == (before[0], before[1] + 1)


# --- code changes: retired codes, pseudonyms, disclosure (R6, R14) ------------------------


def _change_code(node: Node, old: str) -> str:
    new = generate_resident_code()
    node.apply({"resident_code": new, "previous_code": old, "change_reason": "code-change",
                "change_date": date(2026, 2, 1)})  # fmt: skip
    return new


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
functions = ["lookup", "batch"]
fields = ["status"]
sector = "pension"
[[recipients.affairs]]
code = "tax-a"
description = "d"
basis = "b"
functions = ["lookup"]
fields = ["status"]
sector = "tax"
""")


def test_pseudonyms_are_stable_across_a_code_change_and_differ_between_sectors(
    national: Node,
) -> None:
    old = national.person()

    def pseudo(affair: str, code: str) -> str:
        got = pv.lookup(national.store, SECTORS, "agency-a",
                        LookupRequest(affair=affair, resident_code=code))  # fmt: skip
        assert got.record is not None and set(got.record.fields) == {"pseudonym", "status"}
        return got.record.fields["pseudonym"]

    pension, tax = pseudo("pension-a", old), pseudo("tax-a", old)
    assert pension != tax
    new = _change_code(national, old)
    assert pseudo("pension-a", new) == pension and pseudo("tax-a", new) == tax
    assert pseudo("pension-a", old) == pension  # the retired code still leads to the person
    (row,) = pv.batch(national.store, SECTORS, "agency-a", "pension-a", [old])
    assert row.record is not None and row.record.fields["pseudonym"] == pension
    other = national.person()
    assert pseudo("pension-a", other) != pension
    assert pseudonym(b"k", "p", "s") != pseudonym(b"k", "p", "t")


def test_a_retired_code_answers_with_the_current_code_only_if_allowed(national: Node) -> None:
    old = national.person()
    new = _change_code(national, old)
    got = pv.lookup(national.store, TABLE, "onkyu",
                    LookupRequest(affair="onkyu-entitlement", resident_code=old))  # fmt: skip
    assert got.record is not None and got.record.fields["resident_code"] == new
    assert national.provisions()[-1].resident_code == old  # as asked


def test_disclosure_lists_exactly_the_provisions_newest_first_across_a_code_change(
    national: Node,
) -> None:
    old = national.person()
    other = national.person()
    pv.lookup(national.store, TABLE, "onkyu",
              LookupRequest(affair="onkyu-entitlement", resident_code=old))  # fmt: skip
    pv.verify(national.store, TABLE, "mofa-passport", VerifyRequest(
        affair="passport-issuance", resident_code=old, name="山田太郎",
        date_of_birth=date(1950, 5, 5), sex="male", address=MARUNOUCHI))  # fmt: skip
    list(pv.batch(national.store, TABLE, "pension-fund", "national-pension-status", [other]))
    new = _change_code(national, old)
    list(pv.batch(national.store, TABLE, "pension-fund", "national-pension-status", [new, other]))

    def disclose(code: str) -> list[tuple[str, str, str, str, list[str]]]:
        req = DisclosureRequest(resident_code=code, verified_by="clerk", clerk="window-3")
        got = pv.disclosure(national.store, TABLE, req, CHIYODA)
        assert got.resident_code == code
        assert [e.at for e in got.provisions] == sorted((e.at for e in got.provisions),
                                                        reverse=True)  # fmt: skip
        assert {e.node for e in got.provisions} <= {"national:national"}
        return [(e.recipient, e.recipient_name, e.affair, e.function, e.fields)
                for e in got.provisions]  # fmt: skip

    pension = ["pseudonym", "name", "date_of_birth", "sex", "address", "status",
               "change_reason", "change_date"]  # fmt: skip
    onkyu = ["resident_code", *pension[1:]]
    expected = [
        ("jps", "日本年金機構 (厚生労働大臣の委任)", "national-pension-status", "batch", pension),
        ("mofa", "外務大臣", "passport-issuance", "verify", []),
        ("soumu-onkyu", "総務大臣 (恩給)", "onkyu-entitlement", "lookup", onkyu),
    ]
    assert disclose(new) == expected
    assert disclose(old) == expected
    assert len(disclose(other)) == 2
    entry = national.audit()[-1]
    assert (entry.operation, entry.actor, entry.outcome) == ("disclosure", CLERK, "ok")
    assert "window-3" in entry.detail
    before = national.counts()
    with pytest.raises(DisclosureRefused):  # a code never issued: refused like a stranger
        disclose(generate_resident_code())
    assert national.counts() == (before[0], before[1] + 1)


# --- schema and table loading --------------------------------------------------------------


def test_the_migration_backfills_folded_names_and_makes_a_pseudonym_secret(
    database: UrlFactory,
) -> None:
    from alembic import command

    from jukinet.nodes.identity.schema import SHARED_VERSIONS
    from jukinet.nodes.national.store import MIGRATIONS
    from jukinet.storage.migrations import alembic_config

    engine = make_engine(database("migrate"))
    try:
        command.upgrade(alembic_config(engine, MIGRATIONS, [SHARED_VERSIONS]), "0001")
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO identities (resident_code, person_key, name, date_of_birth, sex, "
                "address, status, change_reason, change_date, origin, recorded_at, applied_at) "
                "VALUES ('12345678901', 'k', '髙橋　ﾀﾛｳ', '1950-01-01', 'male', "
                "'東京都１丁目', 'resident', 'birth', '1950-01-01', '131016', 'x', 'y')"
            )
        national_migrate(engine)
        with engine.connect() as conn:
            row = conn.execute(select(ids.identities.c.name_folded,
                                      ids.identities.c.address_folded)).one()  # fmt: skip
            secret = conn.execute(
                select(ids.node.c.value).where(ids.node.c.key == "pseudonym_secret")
            ).scalar_one()
        assert tuple(row) == ("高橋タロウ", "東京都1丁目")
        assert len(bytes.fromhex(secret)) == 32
    finally:
        engine.dispose()


def test_a_nodes_own_legal_table_replaces_the_shipped_one(tmp_path: Path) -> None:
    assert pv.load_table(tmp_path) == TABLE
    (tmp_path / pv.LEGAL_TABLE_FILE).write_text(
        'version = "own"\nrecipients = []\n', encoding="utf-8"
    )
    own: LegalTable = pv.load_table(tmp_path)
    assert own.version == "own" and own.recipients == ()


# --- the HTTP routes (signatures are tested in test_transport; here a fixed caller) --------


async def _asgi(
    app: Any, path: str, body: bytes, query: bytes = b"", media: bytes = b"application/json"
) -> tuple[int, dict[str, str], bytes]:
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1", "method": "POST", "scheme": "http", "path": path,
        "raw_path": path.encode(), "query_string": query, "root_path": "",
        "headers": [(b"host", b"national"), (b"content-type", media)],
        "server": ("national", 443), "client": ("127.0.0.1", 5000),
    }  # fmt: skip
    chunks = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if chunks:
            return chunks.pop()
        await asyncio.Event().wait()  # no disconnect while the answer streams
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = sent[0]
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, b"".join(m.get("body", b"") for m in sent[1:])


def test_the_routes_answer_json_stream_batches_and_refuse_as_problems(national: Node) -> None:
    code = national.person()
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(provision_api.router(national.store, TABLE))
    app.dependency_overrides[caller] = lambda: Peer("agency:onkyu", "agency", "onkyu")

    async def scenario() -> None:
        body = json.dumps({"affair": "onkyu-entitlement", "resident_code": code}).encode()
        status, _, answer = await _asgi(app, "/provision/lookup", body)
        assert status == 200 and json.loads(answer)["record"]["fields"]["resident_code"] == code
        upload = f"resident_code\n{code}\nnonsense\n".encode()
        status, headers, answer = await _asgi(
            app, "/provision/batch", upload, b"affair=onkyu-entitlement", b"text/csv"
        )
        assert status == 200 and headers["content-type"] == "application/jsonl"
        rows = [json.loads(line) for line in answer.decode().splitlines()]
        assert [r["row"] for r in rows] == [2, 3]
        assert rows[0]["record"]["fields"]["status"] == "resident" and "error" in rows[1]
        status, headers, answer = await _asgi(
            app, "/provision/batch", upload, b"affair=passport-issuance", b"text/csv"
        )
        assert status == 403 and headers["content-type"] == "application/problem+json"
        assert json.loads(answer)["type"] == "urn:jukinet:problem:provision-refused"

    asyncio.run(scenario())
