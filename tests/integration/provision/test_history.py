"""An agency's own provision history on both databases (R14): the window in Japan time,
keyset pages across months and partitions, the index the read uses, refusals audited.
(Over real mTLS with a node process: tests/integration/test_agency_console.py.)"""

from __future__ import annotations

import pytest
from sqlalchemy import update

from jukinet.errors import InvalidInput, ProvisionRefused
from jukinet.network.messages import LookupRequest
from jukinet.network.messages_history import HistoryRequest
from jukinet.nodes.identity import provision as pv
from jukinet.nodes.identity import tables as ids
from jukinet.nodes.identity.provision_history import history
from tests.integration.provision.nodes import TABLE, Node

AFFAIR = "onkyu-entitlement"


def _lookups(node: Node, agency: str, affair: str, n: int) -> list[str]:
    codes = [node.person() for _ in range(n)]
    for code in codes:
        pv.lookup(node.store, TABLE, agency, LookupRequest(affair=affair, resident_code=code))
    return codes


def test_the_window_is_in_japan_time_and_pages_go_across_months(national: Node) -> None:
    codes = _lookups(national, "onkyu", AFFAIR, 5)
    _lookups(national, "mutual-aid", "mutual-aid-pension-status", 2)
    # Place the rows around the end of November in Japan: 30 Nov 14:59 UTC is 23:59 JST,
    # 30 Nov 15:00 UTC is already 1 December in Japan.
    times = ["2026-11-30T14:59:59.000000+00:00", "2026-11-30T15:00:00.000000+00:00",
             "2026-12-15T00:00:00.000000+00:00", "2026-12-31T14:59:59.999999+00:00",
             "2026-12-31T15:00:00.000000+00:00"]  # fmt: skip
    with national.store.engine.begin() as conn:
        for code, at in zip(codes, times, strict=True):
            conn.execute(update(ids.provisions).where(ids.provisions.c.resident_code == code)
                         .values(at=at))  # fmt: skip
    december = HistoryRequest(month="2026-12", codes=True, limit=2)
    first = history(national.store, TABLE, "onkyu", december)
    assert [e.resident_codes for e in first.entries] == [[codes[1]], [codes[2]]]
    assert first.next is not None
    second = history(
        national.store, TABLE, "onkyu", december.model_copy(update={"after": first.next})
    )
    assert [e.resident_codes for e in second.entries] == [[codes[3]]] and second.next is None
    days = HistoryRequest(since="2026-11-30", until="2026-12-01", codes=True)
    both = history(national.store, TABLE, "onkyu", days)
    assert [e.resident_codes for e in both.entries] == [[codes[0]], [codes[1]]]
    assert all(e.function == "lookup" and e.residents == 1 for e in both.entries)
    assert history(national.store, TABLE, "onkyu", HistoryRequest(month="2026-10")).entries == []


def test_an_agency_outside_the_table_or_another_node_s_is_refused_and_audited(
    national: Node, tokyo: Node
) -> None:
    """R2: the national node does not serve Tokyo's agency; a stranger is no recipient."""
    month = HistoryRequest(month="2026-12")
    for node, agency in ((national, "tokyo-pref"), (national, "a-company"), (tokyo, "onkyu")):
        before = node.counts()
        with pytest.raises(ProvisionRefused):
            history(node.store, TABLE, agency, month)
        entry = node.audit()[-1]
        assert (entry.operation, entry.outcome) == ("provision.history", "refused")
        assert node.counts() == (before[0], before[1] + 1)
    with pytest.raises(InvalidInput, match="not an affair of"):
        history(national.store, TABLE, "onkyu", month.model_copy(update={"affair": "x"}))


def test_the_read_uses_the_agency_index(national: Node) -> None:
    """The query is a range of the (agency, at, id) index, not a scan of every row (on
    PostgreSQL, of each month partition's copy of it)."""
    _lookups(national, "onkyu", AFFAIR, 2)
    query = (
        "SELECT id FROM provisions WHERE agency = 'agency:onkyu' "
        "AND at >= '2026-11-30T15:00:00.000000+00:00' "
        "AND at < '2026-12-31T15:00:00.000000+00:00' ORDER BY at, id LIMIT 101"
    )
    with national.store.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")  # a few rows: else a scan is cheaper
            plan = "\n".join(conn.exec_driver_sql(f"EXPLAIN {query}").scalars())
        else:
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {query}").all()
            plan = "\n".join(str(r[-1]) for r in rows)
    assert "agency_at" in plan and "Seq Scan" not in plan and "SCAN provisions" not in plan, plan
