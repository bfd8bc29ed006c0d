"""Group commit of lookups, verifies and searches (R2, R12, R14, R23; docs/architecture.md,
"Group commit"): the calls waiting together are written in one transaction with one
audit head signature, each is answered only once committed, a call that fails fails
alone, and a failure while writing answers nobody and writes nothing.

The tests hold the writers' turn (``store.transaction()``, as an update batch being
applied does) while the calls come in, so that they wait together and form one group
whatever the machine's speed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import threading
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Connection

from jukinet.audit import log as audit
from jukinet.errors import InvalidInput, ProvisionRefused
from jukinet.network.messages import LookupRequest, SearchRequest, VerifyRequest
from jukinet.network.peer import Peer, caller, install_problem_handlers
from jukinet.nodes.identity import provision as pv
from jukinet.nodes.identity import provision_api, provision_writer
from jukinet.nodes.identity.provision_seal import verify_provisions
from jukinet.nodes.identity.provision_writer import Pending
from jukinet.nodes.identity.store import IdentityStore
from tests.integration.provision.nodes import TABLE, Node, asgi_post

AFFAIR = "onkyu-entitlement"  # the pension office's affair: lookup, verify, search


def _intact(store: IdentityStore) -> None:
    """What ``jukinet audit verify`` checks on an identity node: the tree, the signed
    head and every provision row against its seal."""
    with store.engine.connect() as conn:
        assert audit.verify(conn, store.key.public).intact
        assert verify_provisions(conn) == []


def _lookups(national: Node) -> list[audit.Entry]:
    return [e for e in national.audit() if e.operation.startswith("provision.")]


def _wait_for(store: IdentityStore, count: int) -> None:
    """Until ``count`` calls wait for the writer (the test holds the writers' turn)."""
    for _ in range(100_000):
        if store.provision_writer.waiting >= count:
            return
        threading.Event().wait(0.001)
    raise AssertionError(f"{store.provision_writer.waiting} calls wait, not {count}")


def test_fifty_concurrent_lookups_through_the_app_are_one_group(national: Node) -> None:
    """R2, R12, R23: 50 lookups at once get their 50 answers, 50 provision rows and 50
    audit entries, in fewer groups (head signatures) than calls; the log verifies; and
    the event loop answers other requests while the lookups wait for the database."""
    codes = [national.person() for _ in range(50)]
    store = national.store
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(provision_api.router(store, TABLE))
    app.dependency_overrides[caller] = lambda: Peer("agency:onkyu", "agency", "onkyu")

    @app.post("/ping")
    async def ping() -> dict[str, str]:
        return {"ping": "pong"}

    before = store.provision_writer.stats()
    audited, provided = len(_lookups(national)), len(national.provisions())

    async def scenario() -> list[tuple[int, dict[str, str], bytes]]:
        with store.transaction():  # the database is busy: the lookups wait together
            tasks = [
                asyncio.create_task(
                    asgi_post(
                        app,
                        "/provision/lookup",
                        json.dumps({"affair": AFFAIR, "resident_code": code}).encode(),
                    )
                )
                for code in codes
            ]
            for _ in range(100_000):
                if store.provision_writer.waiting == len(codes):
                    break
                await asyncio.sleep(0)
            assert store.provision_writer.waiting == len(codes)
            status, _, body = await asgi_post(app, "/ping", b"{}")  # the loop is free
            assert (status, json.loads(body)) == (200, {"ping": "pong"})
            assert not any(t.done() for t in tasks)  # nobody answered before the commit
        return await asyncio.gather(*tasks)

    answers = asyncio.run(scenario())
    assert [a[0] for a in answers] == [200] * 50
    got = [json.loads(body)["record"]["fields"]["resident_code"] for _, _, body in answers]
    assert got == codes
    entries = _lookups(national)[audited:]
    assert len(entries) == 50 and {e.operation for e in entries} == {"provision.lookup"}
    assert len({e.detail.split(":")[0] for e in entries}) == 50  # one entry per request
    rows = national.provisions()[provided:]
    assert sorted(r.resident_code for r in rows) == sorted(codes)
    after = store.provision_writer.stats()
    assert after.calls - before.calls == 50
    assert 1 <= after.groups - before.groups < 50  # one head signature per group
    _intact(store)


def test_a_refusal_bad_input_and_a_failing_call_do_not_fail_their_group(tokyo: Node) -> None:
    """R2, R5, R12: in one group, a refused call gets its refusal (audited), a search
    for an empty name its clear error (audited as refused), a call whose work fails
    its error and nothing written; the other calls are answered and on record."""
    codes = [tokyo.person() for _ in range(3)]
    store = tokyo.store
    audited, provided = len(tokyo.audit()), len(tokyo.provisions())
    allowance, passport = "tokyo-child-rearing-allowance", "tokyo-passport-issuance"

    def broken(conn: Connection, pending: Pending) -> None:
        raise RuntimeError("a call that fails in its own work")

    def lookup(agency: str, code: str) -> provision_writer.Work[Any]:
        return pv.lookup_work(store, TABLE, agency, LookupRequest(affair=allowance,
                                                                  resident_code=code))  # fmt: skip

    verify = VerifyRequest(affair=passport, resident_code=codes[1], name="山田 太郎",
                           date_of_birth="1950-05-05", sex="male", address="千代田区")  # fmt: skip
    works: list[provision_writer.Work[Any]] = [
        lookup("tokyo-pref", codes[0]),
        lookup("onkyu", codes[1]),
        pv.search_work(store, TABLE, "tokyo-pref", SearchRequest(affair=allowance, name=" 　")),
        broken,
        pv.verify_work(store, TABLE, "tokyo-pref", verify),
        lookup("tokyo-pref", codes[2]),
    ]
    groups = store.provision_writer.stats().groups
    with store.transaction():
        futures = [store.provision_writer.submit(w) for w in works]
        _wait_for(store, len(works))
    assert futures[0].result().record is not None
    with pytest.raises(ProvisionRefused):
        futures[1].result()
    with pytest.raises(InvalidInput, match="empty"):
        futures[2].result()
    with pytest.raises(RuntimeError, match="its own work"):
        futures[3].result()
    assert futures[4].result().found and futures[5].result().found
    assert store.provision_writer.stats().groups == groups + 1
    entries = tokyo.audit()[audited:]
    assert [(e.operation, e.outcome) for e in entries] == [
        ("provision.lookup", "ok"),
        ("provision.lookup", "refused"),
        ("provision.search", "refused"),
        ("provision.verify", "ok"),
        ("provision.lookup", "ok"),
    ]
    assert entries[1].actor == "agency:onkyu" and entries[2].detail.startswith("invalid-input")
    rows = tokyo.provisions()[provided:]
    assert [(r.function, r.resident_code) for r in rows] == [
        ("lookup", codes[0]),
        ("verify", codes[1]),
        ("lookup", codes[2]),
    ]
    _intact(store)


def test_a_failure_while_writing_answers_nobody_and_writes_nothing(
    national: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R12, R14: when the group's transaction fails before its commit (here: after its
    rows and entries are written, before the commit), every call of it gets the error,
    and no provision row, audit entry or head advance of it remains."""
    codes = [national.person() for _ in range(5)]
    store = national.store
    real = provision_writer.write

    def crash(*args: Any) -> None:
        real(*args)
        raise OSError("the database went away")

    monkeypatch.setattr(provision_writer, "write", crash)
    counts = national.counts()
    with store.engine.connect() as conn:
        head = audit.lock_head(conn)
    stats = store.provision_writer.stats()
    with store.transaction():
        futures = [
            store.provision_writer.submit(
                pv.lookup_work(store, TABLE, "onkyu", LookupRequest(affair=AFFAIR, resident_code=c))
            )
            for c in codes
        ]
        _wait_for(store, len(codes))
    for future in futures:
        with pytest.raises(OSError, match="went away"):
            future.result()
    assert national.counts() == counts
    with store.engine.connect() as conn:
        assert audit.lock_head(conn) == head
    now = store.provision_writer.stats()
    assert (now.failed - stats.failed, now.groups - stats.groups) == (1, 0)
    monkeypatch.setattr(provision_writer, "write", real)
    answer = pv.lookup(store, TABLE, "onkyu", LookupRequest(affair=AFFAIR, resident_code=codes[0]))
    assert answer.record is not None and national.counts() == (counts[0] + 1, counts[1] + 1)
    _intact(store)


def test_closing_the_store_answers_every_call_taken_in(national: Node) -> None:
    """R12: the node stops only once the calls it took in are written and answered."""
    codes = [national.person() for _ in range(10)]
    store = national.store
    audited = len(_lookups(national))
    closing: threading.Thread | None = None
    with store.transaction():
        futures = [
            store.provision_writer.submit(
                pv.lookup_work(store, TABLE, "onkyu", LookupRequest(affair=AFFAIR, resident_code=c))
            )
            for c in codes
        ]
        _wait_for(store, len(codes))
        closing = threading.Thread(target=store.provision_writer.close)
        closing.start()
    closing.join()
    done, _ = concurrent.futures.wait(futures, timeout=0)
    assert len(done) == len(codes)
    assert [f.result().record.fields["resident_code"] for f in futures] == codes  # type: ignore[union-attr]
    assert len(_lookups(national)) == audited + len(codes)
