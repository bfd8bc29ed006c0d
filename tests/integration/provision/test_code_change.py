"""Code changes (R6, R14): a retired code answers "retired" and nothing of the person,
sector pseudonyms stable across a code change, and disclosure of every provision newest
first (the attempts by a retired code included).
"""

from __future__ import annotations

from datetime import date

import pytest

from jukinet.domain.codes import generate_resident_code
from jukinet.domain.legal_parse import parse_legal_table
from jukinet.errors import DisclosureRefused
from jukinet.network.messages import DisclosureRequest, LookupRequest, VerifyRequest
from jukinet.nodes.identity import provision as pv
from jukinet.nodes.identity.pseudonym import pseudonym
from tests.integration.provision.nodes import CHIYODA, CLERK, MARUNOUCHI, TABLE, Node


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
    # The retired code leads nowhere, not even to the pseudonym (R6).
    got = pv.lookup(national.store, SECTORS, "agency-a",
                    LookupRequest(affair="pension-a", resident_code=old))  # fmt: skip
    assert (got.found, got.status, got.record) == (False, "retired", None)
    (row,) = pv.batch(national.store, SECTORS, "agency-a", "pension-a", [old])
    assert (row.found, row.status, row.record) == (False, "retired", None)
    other = national.person()
    assert pseudo("pension-a", other) != pension
    assert pseudonym(b"k", "p", "s") != pseudonym(b"k", "p", "t")


def test_a_retired_code_answers_retired_and_nothing_of_the_person(national: Node) -> None:
    """R6: lookup, verify and batch by the old code say ``retired``; the new code and
    every item of the person stay out of the answer. Each call is logged for the
    person with no fields (R14) and audited."""
    old = national.person()
    new = _change_code(national, old)
    before = len(national.provisions())
    got = pv.lookup(national.store, TABLE, "onkyu",
                    LookupRequest(affair="onkyu-entitlement", resident_code=old))  # fmt: skip
    assert got.model_dump(mode="json") == {"found": False, "record": None, "status": "retired"}
    checked = pv.verify(national.store, TABLE, "mofa-passport", VerifyRequest(
        affair="passport-issuance", resident_code=old, name="山田太郎",
        date_of_birth=date(1950, 5, 5), sex="male", address=MARUNOUCHI))  # fmt: skip
    assert (checked.found, checked.status) == (False, "retired")
    assert not any(checked.matches.values())
    rows = list(pv.batch(national.store, TABLE, "onkyu", "onkyu-entitlement", [old, new]))
    assert (rows[0].found, rows[0].status, rows[0].record) == (False, "retired", None)
    assert (rows[1].found, rows[1].status) == (True, None)
    assert rows[1].record is not None and rows[1].record.fields["resident_code"] == new
    answers = [got.model_dump_json(), checked.model_dump_json(), rows[0].model_dump_json()]
    for answer in answers:
        assert new not in answer and "山田" not in answer and MARUNOUCHI not in answer
    logged = national.provisions()[before:]
    assert [(r.function, r.resident_code, r.fields) for r in logged] == [
        ("lookup", old, ""),
        ("verify", old, ""),
        ("batch", new, logged[-1].fields),
    ]  # the batch asked for the person twice: one row, the code that was provided
    assert logged[-1].fields != ""
    details = [e.detail for e in national.audit()[-3:]]
    assert "retired code: nothing provided" in details[0]
    assert "retired code: nothing verified" in details[1]
    assert "provided 1, retired 1, not found 0" in details[2]


def test_a_batch_of_only_the_retired_code_logs_the_attempt(national: Node) -> None:
    old = national.person()
    _change_code(national, old)
    (row,) = pv.batch(national.store, TABLE, "pension-fund", "national-pension-status", [old])
    assert (row.found, row.status) == (False, "retired")
    last = national.provisions()[-1]
    assert (last.function, last.resident_code, last.fields) == ("batch", old, "")
    assert "provided 0, retired 1, not found 0" in national.audit()[-1].detail


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
