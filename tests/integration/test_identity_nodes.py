"""Prefecture and national nodes: identity information only (R1), updates applied in order,
exactly once, by the right senders only (docs/network.md, "Identity updates"), and code
pools that never overlap (R6). Real databases: SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, inspect, select

from jukinet.audit import log as audit
from jukinet.domain.codes import generate_resident_code, parse_resident_code, with_check_digit
from jukinet.errors import (
    ConfigurationError,
    InvalidInput,
    InvalidLocalGovernmentCode,
    UpdateRefused,
)
from jukinet.keys import NodeKey
from jukinet.network import outbox as ob
from jukinet.network.messages import IdentityUpdate, UpdateBatch, node_id
from jukinet.network.peer import Peer
from jukinet.nodes.identity import quarantine
from jukinet.nodes.identity import setup as ids_setup
from jukinet.nodes.identity import tables as ids
from jukinet.nodes.identity.reads import json_lines
from jukinet.nodes.identity.store import IdentityStore
from jukinet.nodes.national import pools
from jukinet.nodes.national import service as national_service
from jukinet.nodes.national import store as national_store
from jukinet.nodes.national import tables as national_tables
from jukinet.nodes.prefecture import service as prefecture_service
from jukinet.nodes.prefecture import store as prefecture_store
from jukinet.nodes.prefecture import tables as prefecture_tables
from jukinet.storage.database import make_engine
from tests.conftest import UrlFactory

PG_ENV = "JUKINET_TEST_PG_URL"
TOKYO = with_check_digit("13000")  # 130001
OSAKA_PREFECTURE = with_check_digit("27000")
CHIYODA = with_check_digit("13101")  # 131016
CHUO = with_check_digit("13102")
OSAKA = with_check_digit("27100")
NAGATACHO = "東京都千代田区永田町一丁目7番1号"

# --- fixtures: real nodes on real databases ---------------------------------------


def start_prefecture(database: UrlFactory, home: Path, code: str = TOKYO) -> IdentityStore:
    prefecture_service.init_node(home, code, "東京都", database(code), NodeKey.generate())
    return prefecture_service.open_node(home)


def start_national(database: UrlFactory, home: Path) -> IdentityStore:
    national_service.init_node(home, "national", "全国センター", database("n"), NodeKey.generate())
    return national_service.open_node(home)


@pytest.fixture
def prefecture(database: UrlFactory, tmp_path: Path) -> Iterator[IdentityStore]:
    store = start_prefecture(database, tmp_path / "prefecture")
    yield store
    store.close()


@pytest.fixture
def national(database: UrlFactory, tmp_path: Path) -> Iterator[IdentityStore]:
    store = start_national(database, tmp_path / "national")
    yield store
    store.close()


# --- helpers ------------------------------------------------------------------------


def municipality(code: str) -> Peer:
    return Peer(node_id("municipality", code), "municipality", code)


def prefecture_peer(code: str = TOKYO) -> Peer:
    return Peer(node_id("prefecture", code), "prefecture", code)


def update(
    seq: int,
    code: str,
    *,
    origin: str = CHIYODA,
    reason: str = "birth",
    status: str = "resident",
    name: str = "山田 太郎",
    address: str = "東京都千代田区丸の内一丁目1番1号",
    previous: str | None = None,
) -> IdentityUpdate:
    return IdentityUpdate(
        seq=seq,
        origin=origin,
        resident_code=code,
        previous_code=previous,
        name=name,
        date_of_birth=date(1980, 1, 1),
        sex="male",
        address=address,
        status=status,  # type: ignore[arg-type]
        change_reason=reason,
        change_date=date(2025, 4, 1),
        recorded_at=datetime.now(UTC),
    )


def batch(sender: Peer, *updates: IdentityUpdate) -> UpdateBatch:
    return UpdateBatch(sender=sender.node_id, updates=list(updates))


def send(store: IdentityStore, sender: Peer, *updates: IdentityUpdate) -> int:
    """Deliver updates to a prefecture as the municipality ``sender``; the ack."""
    return prefecture_service.receive(store, sender, batch(sender, *updates)).acked_through


def state(store: IdentityStore) -> dict[str, list[tuple[Any, ...]]]:
    """Every table of the node's kind except the audit log's, as sorted rows."""
    kind = {"prefecture": prefecture_tables, "national": national_tables}[store.kind]
    with store.engine.connect() as conn:
        return {
            t.name: sorted(conn.execute(select(t)).all(), key=repr)
            for t in kind.metadata.sorted_tables
            if not t.name.startswith("audit_")
        }


def audit_entries(store: IdentityStore) -> list[audit.Entry]:
    with store.engine.connect() as conn:
        return list(audit.entries(conn))


def expect_refusal(
    store: IdentityStore, attempt: Callable[[], object], phrase: str, error: type = UpdateRefused
) -> audit.Entry:
    """``attempt`` raises ``error`` and changes nothing but one refusal entry; that entry."""
    before, entries = state(store), audit_entries(store)
    with pytest.raises(error, match=phrase):
        attempt()
    assert state(store) == before
    after = audit_entries(store)
    assert after[: len(entries)] == entries and len(after) == len(entries) + 1
    assert after[-1].outcome == audit.Outcome.REFUSED
    return after[-1]


def expect_quarantine(store: IdentityStore, attempt: Callable[[], int], phrase: str) -> None:
    """``attempt`` is acknowledged but applies nothing: it waits in quarantine, with why."""
    kept = ("identities", "identity_history", "retired_codes")
    before = {k: v for k, v in state(store).items() if k in kept}
    held = len(quarantine.items(store))
    acked = attempt()
    after = state(store)
    assert {k: after[k] for k in kept} == before
    items = quarantine.items(store)
    assert len(items) == held + 1
    assert phrase in items[-1].reason and items[-1].resolution is None
    assert items[-1].sender_seq == acked


# --- R1: the schema can hold identity information and nothing else ------------------

IDENTITY = {
    "name",
    "date_of_birth",
    "sex",
    "address",
    "status",
    "change_reason",
    "change_date",
    "origin",
    "recorded_at",
}


def test_identity_tables_hold_only_identity_information(prefecture: IdentityStore) -> None:
    expected = {
        # name_folded / address_folded are derived from the name and the address
        # (jukinet.domain.names.fold, for search by the 4 items): no new information.
        "identities": {
            "resident_code",
            "person_key",
            *IDENTITY,
            "applied_at",
            "name_folded",
            "address_folded",
        },
        "identity_history": {
            "id",
            "person_key",
            "resident_code",
            "previous_code",
            *IDENTITY,
            "sender",
            "sender_seq",
            "applied_at",
        },
        "retired_codes": {"code", "person_key", "retired_on"},
        # A refused update as it came (payload: an IdentityUpdate, R1 items only) and
        # the operator's decision on it.
        "quarantine": {
            "id", "sender", "sender_seq", "resident_code", "previous_code", "payload",
            "reason", "quarantined_at", "resolution", "resolved_at", "resolved_by", "note",
        },
    }  # fmt: skip
    inspector = inspect(prefecture.engine)
    for table, columns in expected.items():
        assert set(ids.metadata.tables[table].c.keys()) == columns
        assert {c["name"] for c in inspector.get_columns(table)} == columns  # as migrated
    # Each identity column is a field of the message that may travel (R1), nothing more.
    assert set(IdentityUpdate.model_fields) >= IDENTITY


def test_a_database_not_at_the_newest_schema_is_refused(database: UrlFactory) -> None:
    engine = make_engine(database("empty"))
    try:
        with pytest.raises(ConfigurationError, match="schema none"):
            ids_setup.check_identity_schema(engine, national_store.MIGRATIONS)
        national_store.migrate(engine)
        ids_setup.check_identity_schema(engine, national_store.MIGRATIONS)
        with pytest.raises(ConfigurationError, match="schema"):
            ids_setup.check_identity_schema(engine, prefecture_store.MIGRATIONS)
    finally:
        engine.dispose()


def test_init_refuses_a_municipality_code_and_a_used_home(
    database: UrlFactory, tmp_path: Path
) -> None:
    with pytest.raises(InvalidLocalGovernmentCode, match="municipality's code"):
        prefecture_service.init_node(tmp_path / "p", CHIYODA, "x", None, NodeKey.generate())
    start_prefecture(database, tmp_path / "ok").close()
    with pytest.raises(ConfigurationError, match="already holds a node"):
        prefecture_service.init_node(tmp_path / "ok", TOKYO, "x", None, NodeKey.generate())
    with pytest.raises(ConfigurationError, match="not a national node"):
        national_service.open_node(tmp_path / "ok")


# --- step 3: in order, exactly once --------------------------------------------------


def test_updates_apply_in_order_with_a_history_row_each(prefecture: IdentityStore) -> None:
    code = generate_resident_code()
    ack = send(
        prefecture,
        municipality(CHIYODA),
        update(1, code),
        update(2, code, reason="move-within", address=NAGATACHO),
        update(3, code, reason="name-change", name="佐藤 太郎", address=NAGATACHO),
    )
    assert ack == 3
    held = prefecture.identity(code)
    assert held is not None
    assert (held.name, held.address, held.change_reason, held.origin) == (
        "佐藤 太郎",
        NAGATACHO,
        "name-change",
        CHIYODA,
    )
    history = prefecture.history(code)
    assert [(h.sender_seq, h.change_reason) for h in history] == [
        (1, "birth"),
        (2, "move-within"),
        (3, "name-change"),
    ]
    assert prefecture.inbox(municipality(CHIYODA).node_id) == 3
    entry = audit_entries(prefecture)[-1]
    assert (entry.actor, entry.operation, entry.target, entry.outcome, entry.detail) == (
        "municipality:131016",
        "updates.apply",
        "municipality:131016",
        "ok",
        "applied 3, duplicates 0, acked 3",
    )


def test_duplicates_are_skipped_and_acknowledged(prefecture: IdentityStore) -> None:
    code = generate_resident_code()
    sent = [update(1, code), update(2, code, reason="name-change", name="佐藤 太郎")]
    assert send(prefecture, municipality(CHIYODA), *sent) == 2
    before = state(prefecture)
    assert send(prefecture, municipality(CHIYODA), *sent) == 2
    assert state(prefecture)["identity_history"] == before["identity_history"]
    assert state(prefecture)["identities"] == before["identities"]
    assert audit_entries(prefecture)[-1].detail == "applied 0, duplicates 2, acked 2"
    # A resend that overlaps what was applied applies only the new part.
    assert (
        send(
            prefecture,
            municipality(CHIYODA),
            *sent,
            update(3, code, status="removed", reason="death"),
        )
        == 3
    )
    assert len(prefecture.history(code)) == 3
    assert audit_entries(prefecture)[-1].detail == "applied 1, duplicates 2, acked 3"


def test_a_gap_stops_the_batch_and_acks_the_last_applied(prefecture: IdentityStore) -> None:
    a, b = generate_resident_code(), generate_resident_code()
    chiyoda = municipality(CHIYODA)
    assert send(prefecture, chiyoda, update(3, a)) == 0  # nothing before 3 arrived yet
    assert prefecture.count() == 0
    assert (
        send(
            prefecture,
            chiyoda,
            update(1, a),
            update(2, b),
            update(4, a, reason="death", status="removed"),
        )
        == 2
    )
    held = prefecture.identity(a)
    assert held is not None and held.status == "resident"  # seq 4 was not applied
    assert (
        send(
            prefecture,
            chiyoda,
            update(3, b, reason="name-change", name="山田 次郎"),
            update(4, a, reason="death", status="removed"),
        )
        == 4
    )
    held = prefecture.identity(a)
    assert held is not None and held.status == "removed"
    assert [h.sender_seq for h in prefecture.history(a)] == [1, 4]


def test_each_sender_has_its_own_sequence(prefecture: IdentityStore) -> None:
    a, b = generate_resident_code(), generate_resident_code()
    assert send(prefecture, municipality(CHIYODA), update(1, a)) == 1
    assert send(prefecture, municipality(CHUO), update(1, b, origin=CHUO)) == 1
    assert prefecture.count() == 2


# --- step 5: authority; a refusal changes nothing but the audit log -------------------


def test_a_municipality_of_another_prefecture_is_refused(prefecture: IdentityStore) -> None:
    osaka = municipality(OSAKA)
    entry = expect_refusal(
        prefecture,
        lambda: send(prefecture, osaka, update(1, generate_resident_code(), origin=OSAKA)),
        "not a municipality of prefecture 130001",
    )
    assert (entry.actor, entry.operation) == (osaka.node_id, "updates.apply")
    assert entry.detail.startswith("update-refused: ")


def test_a_municipality_may_not_report_for_another(prefecture: IdentityStore) -> None:
    chiyoda = municipality(CHIYODA)
    code = generate_resident_code()
    expect_refusal(
        prefecture,
        lambda: send(prefecture, chiyoda, update(1, code), update(2, code, origin=CHUO)),
        "may report only changes it recorded itself",
    )
    assert prefecture.inbox(chiyoda.node_id) == 0  # the good first update was not kept either


def test_only_municipalities_deliver_to_a_prefecture(prefecture: IdentityStore) -> None:
    other = prefecture_peer(OSAKA_PREFECTURE)
    expect_refusal(
        prefecture,
        lambda: send(prefecture, other, update(1, generate_resident_code())),
        "not a municipality",
    )


def test_a_batch_must_come_from_the_sender_it_names(prefecture: IdentityStore) -> None:
    forged = UpdateBatch(
        sender=municipality(CHUO).node_id, updates=[update(1, generate_resident_code())]
    )
    expect_refusal(
        prefecture,
        lambda: prefecture_service.receive(prefecture, municipality(CHIYODA), forged),
        "names municipality:131024 as its sender",
    )


def test_another_municipality_s_resident_cannot_be_changed(prefecture: IdentityStore) -> None:
    code = generate_resident_code()
    assert send(prefecture, municipality(CHUO), update(1, code, origin=CHUO)) == 1
    chiyoda = municipality(CHIYODA)
    for seq, reason in enumerate(("move-within", "move-in"), 1):  # not while resident
        expect_quarantine(
            prefecture,
            lambda s=seq, r=reason: send(prefecture, chiyoda, update(s, code, reason=r)),  # type: ignore[misc]
            "held by municipality 131024",
        )
        [item] = quarantine.items(prefecture, open_only=True)  # decided on: not applied
        quarantine.drop(prefecture, item.id, operator="ops", note="refused by the rules")
    # Once Chuo has removed the person (moved out), Chiyoda may enter them (move-in) ...
    assert (
        send(
            prefecture,
            municipality(CHUO),
            update(2, code, origin=CHUO, reason="move-out", status="removed"),
        )
        == 2
    )
    expect_quarantine(  # ... but not correct a record it does not hold,
        prefecture,
        lambda: send(prefecture, chiyoda, update(3, code, reason="minor-correction")),
        "held by municipality 131024",
    )
    [item] = quarantine.items(prefecture, open_only=True)
    quarantine.drop(prefecture, item.id, operator="ops", note="refused by the rules")
    assert send(prefecture, chiyoda, update(4, code, reason="move-in")) == 4  # ... by an entry.
    held = prefecture.identity(code)
    assert held is not None and (held.origin, held.status) == (CHIYODA, "resident")
    assert [h.origin for h in prefecture.history(code)] == [CHUO, CHUO, CHIYODA]


def test_the_national_node_takes_updates_only_from_prefectures(national: IdentityStore) -> None:
    [code] = pools.issue_pool(national, CHIYODA, 1).codes
    tokyo = prefecture_peer(TOKYO)
    expect_refusal(
        national,
        lambda: national_service.receive(
            national, tokyo, batch(tokyo, update(1, code, origin=OSAKA))
        ),
        "not in prefecture 130001",
    )
    chiyoda = municipality(CHIYODA)
    expect_refusal(
        national,
        lambda: national_service.receive(national, chiyoda, batch(chiyoda, update(1, code))),
        "not a prefecture",
    )
    assert national_service.receive(national, tokyo, batch(tokyo, update(1, code))).acked_through
    assert national.count() == 1


# --- code changes (R6) ---------------------------------------------------------------


def test_a_code_change_keeps_one_person_with_history_across_both_codes(
    prefecture: IdentityStore,
) -> None:
    old, new = generate_resident_code(), generate_resident_code()
    chiyoda = municipality(CHIYODA)
    send(prefecture, chiyoda, update(1, old))
    assert send(prefecture, chiyoda, update(2, new, previous=old, reason="code-change")) == 2
    assert prefecture.identity(old) is None
    held = prefecture.identity(new)
    assert held is not None and held.change_reason == "code-change"
    assert prefecture.count() == 1
    assert prefecture.retired_code_holder(old) == new
    history = prefecture.history(new)
    assert history == prefecture.history(old)
    assert [(h.resident_code, h.previous_code) for h in history] == [(old, None), (new, old)]
    # The retired code is never used again, and a new code must be new.
    expect_quarantine(
        prefecture,
        lambda: send(prefecture, chiyoda, update(3, old, reason="move-in")),
        "retired by a code change",
    )
    other = generate_resident_code()
    send(prefecture, chiyoda, update(4, other))
    expect_quarantine(
        prefecture,
        lambda: send(prefecture, chiyoda, update(5, new, previous=other, reason="code-change")),
        "already in use",
    )


def test_only_the_holder_changes_a_code(prefecture: IdentityStore) -> None:
    old = generate_resident_code()
    send(prefecture, municipality(CHUO), update(1, old, origin=CHUO))
    expect_quarantine(
        prefecture,
        lambda: send(
            prefecture,
            municipality(CHIYODA),
            update(1, generate_resident_code(), previous=old, reason="code-change"),
        ),
        "held by municipality 131024",
    )


# --- step 4: the prefecture forwards what it applied ---------------------------------


def test_the_prefecture_forwards_exactly_the_applied_updates(prefecture: IdentityStore) -> None:
    a, b, c = (generate_resident_code() for _ in range(3))
    chiyoda, chuo = municipality(CHIYODA), municipality(CHUO)
    first = [update(1, a), update(2, b), update(3, a, reason="name-change", name="山田 一")]
    send(prefecture, chiyoda, *first)
    send(prefecture, chiyoda, *first, update(4, b, reason="death", status="removed"))  # resend
    send(prefecture, chuo, update(1, c, origin=CHUO), update(3, c, origin=CHUO))  # with a gap
    with prefecture.engine.connect() as conn:
        queued = ob.pending(conn, prefecture_tables.outbox, 100)
        assert ob.backlog(conn, prefecture_tables.outbox) == 5
    applied = [*first, update(4, b, reason="death", status="removed"), update(1, c, origin=CHUO)]
    assert [u.seq for u in queued] == [1, 2, 3, 4, 5]
    strip = {"seq", "recorded_at"}
    assert [u.model_dump(exclude=strip) for u in queued] == [
        u.model_dump(exclude=strip) for u in applied
    ]
    assert [u.origin for u in queued] == [CHIYODA] * 4 + [CHUO]


def test_national_does_not_forward(national: IdentityStore) -> None:
    tokyo = prefecture_peer()
    [code] = pools.issue_pool(national, CHIYODA, 1).codes
    national_service.receive(national, tokyo, batch(tokyo, update(1, code)))
    assert national.forward_to is None
    assert "outbox" not in inspect(national.engine).get_table_names()  # nowhere to forward to


# --- reconcile and status ------------------------------------------------------------


def test_export_lists_the_current_identities_of_one_municipality(
    prefecture: IdentityStore,
) -> None:
    codes = sorted(generate_resident_code() for _ in range(5))
    send(prefecture, municipality(CHIYODA), *(update(i + 1, c) for i, c in enumerate(codes[:3])))
    send(
        prefecture,
        municipality(CHUO),
        *(update(i + 1, c, origin=CHUO) for i, c in enumerate(codes[3:])),
    )
    rows = list(prefecture.export(CHIYODA, chunk=2))  # keyset pages of 2
    assert [r["resident_code"] for r in rows] == codes[:3]
    assert rows[0] == {
        "resident_code": codes[0],
        "name": "山田 太郎",
        "date_of_birth": "1980-01-01",
        "sex": "male",
        "address": "東京都千代田区丸の内一丁目1番1号",
        "status": "resident",
        "change_reason": "birth",
        "change_date": "2025-04-01",
        "origin": CHIYODA,
    }
    lines = b"".join(json_lines(prefecture_service.export(prefecture, CHUO))).splitlines()
    assert [json.loads(line)["resident_code"] for line in lines] == codes[3:]
    with pytest.raises(InvalidLocalGovernmentCode):
        prefecture_service.export(prefecture, "13101")


def test_status_counts_identities_and_the_outbox_towards_national(
    prefecture: IdentityStore,
) -> None:
    send(prefecture, municipality(CHIYODA), update(1, generate_resident_code()))
    started = datetime.now(UTC)
    status = prefecture_service.status(prefecture, started_at=started, directory_version=3)
    assert (status.node_id, status.role, status.identities, status.directory_version) == (
        "prefecture:130001",
        "prefecture",
        1,
        3,
    )
    [link] = status.links
    assert (link.node_id, link.outbox_backlog, link.last_delivery_at) == (
        "national:national",
        1,
        None,
    )


# --- code pools (R6) -------------------------------------------------------------------


def test_pools_never_overlap(national: IdentityStore) -> None:
    municipalities = [CHIYODA, CHUO, OSAKA]
    grants = [pools.issue_pool(national, m, 400) for m in municipalities for _ in range(5)]
    codes = [c for g in grants for c in g.codes]
    assert len(codes) == len(set(codes)) == 15 * 400
    assert all(parse_resident_code(c) == c for c in codes)
    with national.engine.connect() as conn:
        issued = dict(
            conn.execute(
                select(
                    national_tables.issued_codes.c.code, national_tables.issued_codes.c.municipality
                )
            ).all()
        )
    assert issued == {c: municipalities[i // 5] for i, g in enumerate(grants) for c in g.codes}
    assert pools.code_was_issued(national, codes[0])
    entry = audit_entries(national)[-1]
    assert (entry.actor, entry.operation, entry.target, entry.detail) == (
        "municipality:271004",
        "pools.issue",
        OSAKA,
        "400 codes",
    )


def test_a_code_once_issued_or_held_is_never_handed_out_again(
    national: IdentityStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = pools.issue_pool(national, CHIYODA, 3).codes
    # A code the node holds an identity under but the registry does not list (one held
    # from before the registry checked updates): written to the table directly.
    held = generate_resident_code()
    with national.engine.begin() as conn:
        conn.execute(
            insert(ids.identities).values(
                resident_code=held, person_key="p" * 32, applied_at="2025-04-01",
                name_folded="", address_folded="",
                **update(1, held).model_dump(
                    include={"name", "date_of_birth", "sex", "address", "status",
                             "change_reason", "change_date", "origin"}
                ),
                recorded_at="2025-04-01T00:00:00+00:00",
            )
        )  # fmt: skip
    fresh = [generate_resident_code() for _ in range(2)]
    draws = iter([*issued, held, *fresh])  # the random draw hits every used code first
    monkeypatch.setattr(national_store, "generate_resident_code", lambda: next(draws))
    grant = pools.issue_pool(national, CHUO, 2)
    assert sorted(grant.codes) == sorted(fresh)
    assert not pools.code_was_issued(national, held)


def test_pool_requests_outside_the_rules_are_refused(
    national: IdentityStore, prefecture: IdentityStore
) -> None:
    expect_refusal(national, lambda: pools.issue_pool(national, CHIYODA, 0), "1 to", InvalidInput)
    expect_refusal(
        prefecture,
        lambda: pools.issue_pool(prefecture, CHIYODA, 1),
        "Only the national node",
        ConfigurationError,
    )


def test_the_registry_refuses_a_second_issue_of_a_code(national: IdentityStore) -> None:
    code = pools.issue_pool(national, CHIYODA, 1).codes[0]
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"), national.transaction() as conn:
        conn.execute(
            insert(national_tables.issued_codes).values(code=code, municipality=CHUO, issued_at="x")
        )
    with national.engine.connect() as conn:
        count = conn.execute(
            select(func.count()).select_from(national_tables.issued_codes)
        ).scalar_one()
    assert count == 1
