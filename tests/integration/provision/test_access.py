"""Provision under the legal table (R2, R5): the whole access matrix of the shipped
table on every node, the node serving each recipient, fields exactly as allowed.
"""

from __future__ import annotations

import itertools
import logging
from datetime import date

import pytest

from jukinet.audit import log as audit
from jukinet.domain.legal import R1_FIELDS, Function
from jukinet.errors import ProvisionRefused
from jukinet.network.messages import LookupRequest, SearchRequest, VerifyRequest
from jukinet.nodes.identity import provision as pv
from tests.integration.provision.nodes import MARUNOUCHI, TABLE, Node, expected_fields


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
        # No data (R23); ``status`` says only whether the code asked was retired (R6).
        assert set(type(verified).model_fields) == {"found", "matches", "status"}
        assert verified.status is None
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
