"""The audit log: append-only Merkle tree, signed head; tampering is found (R12, R25)."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, delete, select, update

from jukinet.audit import log as audit
from jukinet.audit import merkle
from jukinet.domain.access import Session
from jukinet.keys import NodeKey
from jukinet.nodes.municipality import service
from jukinet.nodes.municipality.store import RegisterStore
from jukinet.nodes.municipality.tables import audit_head, audit_log, metadata
from tests.helpers import TODAY, arrival, last_audit, person


@pytest.fixture
def busy_store(store: RegisterStore, clerk: Session) -> RegisterStore:
    """A register with a few dozen entries of real work."""
    for _ in range(6):
        r = service.record_event(store, clerk, arrival(person(code=None)), TODAY).records[0]
        service.show_resident(store, clerk, r.resident_code)
    return store


def check(store: RegisterStore) -> audit.Verification:
    with store.engine.connect() as conn:
        return audit.verify(conn, store.key.public)


def test_an_untouched_log_verifies(busy_store: RegisterStore) -> None:
    result = check(busy_store)
    assert result.intact
    assert result.entries == last_audit(busy_store)[0].seq


def test_reads_and_writes_name_who_what_which_record_and_outcome(
    store: RegisterStore, clerk: Session
) -> None:
    r = service.record_event(store, clerk, arrival(), TODAY).records[0]
    service.show_resident(store, clerk, r.resident_code)
    write, read = last_audit(store, 2)
    assert (write.actor, write.operation, write.target, write.outcome) == (
        "operator:clerk", "event.move-in-abroad", r.resident_code, "ok",
    )  # fmt: skip
    assert (read.actor, read.operation, read.target, read.outcome) == (
        "operator:clerk", "resident.show", r.resident_code, "ok",
    )  # fmt: skip
    assert read.at >= write.at


def _tamper(store: RegisterStore, stmt: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(stmt)  # type: ignore[call-overload]


def test_an_altered_entry_is_found_at_its_place(busy_store: RegisterStore) -> None:
    _tamper(busy_store, update(audit_log).where(audit_log.c.seq == 7).values(actor="operator:x"))
    result = check(busy_store)
    assert not result.intact
    assert [(p.seq, "altered" in p.what) for p in result.problems] == [(7, True)]


def _rebuild_tree(conn: Connection) -> None:
    """Recompute the stored tree from the (tampered) entries, as a forger with the database can."""
    tree_table = metadata.tables["audit_tree"]
    rows = []
    a = merkle.Appender(0, {})
    for e in list(audit.entries(conn)):
        rows.extend(a.add(merkle.leaf_hash(e.line())))
    conn.execute(delete(tree_table))
    conn.execute(tree_table.insert(), [{"idx": i, "hash": h} for i, h in enumerate(rows)])


def test_an_altered_entry_with_a_recomputed_tree_does_not_make_the_signed_root(
    busy_store: RegisterStore,
) -> None:
    with busy_store.engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 7).values(actor="operator:x"))
        _rebuild_tree(conn)
    problems = check(busy_store).problems
    assert [p.what for p in problems] == [
        "the entries do not make the tree whose root the head signs"
    ]


def test_a_removed_entry_is_found(busy_store: RegisterStore) -> None:
    _tamper(busy_store, delete(audit_log).where(audit_log.c.seq == 5))
    problems = check(busy_store).problems
    assert [(p.seq, p.what) for p in problems] == [(6, "entries 5..5 are missing")]


def test_reordered_entries_are_found(busy_store: RegisterStore) -> None:
    with busy_store.engine.begin() as conn:
        rows = {
            r.seq: dict(r._mapping)
            for r in conn.execute(select(audit_log).where(audit_log.c.seq.in_([4, 5])))
        }
        for seq, other in ((4, 5), (5, 4)):
            values = {k: v for k, v in rows[other].items() if k != "seq"}
            conn.execute(update(audit_log).where(audit_log.c.seq == seq).values(values))
    problems = check(busy_store).problems
    assert [(p.seq, "altered" in p.what) for p in problems] == [(4, True), (5, True)]


def test_cutting_off_the_newest_entries_is_found(busy_store: RegisterStore) -> None:
    last = last_audit(busy_store)[0].seq
    _tamper(busy_store, delete(audit_log).where(audit_log.c.seq > last - 3))
    problems = check(busy_store).problems
    assert len(problems) == 1
    assert f"names entry {last}, but the log ends at entry {last - 3}" in problems[0].what


def test_a_head_signed_with_another_key_is_found(busy_store: RegisterStore) -> None:
    forger = NodeKey.generate()
    with busy_store.engine.begin() as conn:
        seq, digest = audit.lock_head(conn)
        conn.execute(
            update(audit_head).values(signature=forger.sign(audit.head_message(seq, digest)))
        )
    problems = check(busy_store).problems
    assert [p.what for p in problems] == ["the head's signature is not the node's"]


def test_appending_after_verification_keeps_the_chain(
    busy_store: RegisterStore, clerk: Session
) -> None:
    service.record_event(busy_store, clerk, arrival(person(given="次郎", gk="ジロウ")), TODAY)
    assert check(busy_store).intact
