"""A prefecture cosigns its municipality's checkpoints and refuses a rewritten history
(R25; docs/audit.md, "Cosigning"): real municipality and prefecture stores, the
prefecture's handler of ``POST /audit/cosign``, and Go checking the cosigned bundle."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import delete, update

from jukinet.audit import bundle, checkpoints, merkle
from jukinet.audit import log as audit
from jukinet.audit.note import cosigned_at
from jukinet.domain.access import Session
from jukinet.errors import CheckpointRefused
from jukinet.keys import NodeKey
from jukinet.network.gate import Peer
from jukinet.network.messages_audit import CosignRequest
from jukinet.nodes.identity.store import IdentityStore
from jukinet.nodes.municipality import checkpointing, service
from jukinet.nodes.municipality.store import RegisterStore
from jukinet.nodes.municipality.tables import audit_head, audit_log, metadata
from jukinet.nodes.prefecture import service as prefecture_service
from jukinet.nodes.prefecture import witness
from tests.conftest import UrlFactory
from tests.helpers import TODAY, arrival, person
from tests.integration.audit import gocheck


@pytest.fixture
def tokyo(database: UrlFactory, tmp_path: Path) -> Iterator[IdentityStore]:
    home = tmp_path / "tokyo"
    prefecture_service.init_node(home, "130001", "東京都", database("p"), NodeKey.generate())
    store = prefecture_service.open_node(home)
    yield store
    store.close()


def work(store: RegisterStore, clerk: Session, n: int) -> None:
    for _ in range(n):
        r = service.record_event(store, clerk, arrival(person(code=None)), TODAY).records[0]
        service.show_resident(store, clerk, r.resident_code)


def peer_of(store: RegisterStore) -> Peer:
    return Peer(f"municipality:{store.code}", "municipality", str(store.code))


def publish(store: RegisterStore, tokyo: IdentityStore) -> checkpoints.Stored:
    """One round of the running municipality's job, its POST answered by the prefecture."""

    async def post(url: str, model: BaseModel) -> dict[str, Any]:
        assert url == "https://tokyo.example/audit/cosign"
        assert isinstance(model, CosignRequest)
        return witness.cosign(tokyo, peer_of(store), model, store.key.public).model_dump()

    return asyncio.run(
        checkpointing.publish(store, post, "https://tokyo.example", tokyo.key.public)
    )


def cosigner(tokyo: IdentityStore) -> str:
    return witness.cosigner_name(tokyo.code)


def test_each_checkpoint_is_cosigned_and_extends_the_last(
    store: RegisterStore, clerk: Session, tokyo: IdentityStore
) -> None:
    sizes = []
    for n in (2, 3, 1):
        work(store, clerk, n)
        made = publish(store, tokyo)
        sizes.append(made.size)
        with store.engine.connect() as conn:
            kept = checkpoints.latest(conn)
        assert kept is not None and kept.size == made.size
        assert cosigned_at(kept.full, cosigner(tokyo), tokyo.key.public) is not None
    assert sizes == sorted(sizes) and len(set(sizes)) == 3
    with tokyo.engine.connect() as conn:
        entries = [e for e in audit.entries(conn) if e.operation == "audit.cosign"]
    assert [(e.actor, e.outcome, e.detail) for e in entries] == [
        (f"municipality:{store.code}", "ok", f"size {n}") for n in sizes
    ]


def _rewrite_history(store: RegisterStore) -> None:
    """The municipality alters an old entry and rebuilds and re-signs its tree: a log
    that is whole again on its own, but another history than the one cosigned."""
    with store.engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 3).values(actor="operator:x"))
        tree = metadata.tables["audit_tree"]
        rows: list[bytes] = []
        a = merkle.Appender(0, {})
        for e in list(audit.entries(conn)):
            rows.extend(a.add(merkle.leaf_hash(e.line())))
        conn.execute(delete(tree))
        conn.execute(tree.insert(), [{"idx": i, "hash": h} for i, h in enumerate(rows)])
        root = a.root().hex()
        conn.execute(update(audit_head).values(
            hash=root, signature=store.key.sign(audit.head_message(a.size, root))
        ))  # fmt: skip


def test_a_municipality_that_rewrites_its_history_is_refused_and_alerted(
    store: RegisterStore, clerk: Session, tokyo: IdentityStore, caplog: pytest.LogCaptureFixture
) -> None:
    work(store, clerk, 3)
    publish(store, tokyo)
    _rewrite_history(store)
    with store.engine.connect() as conn:
        assert audit.verify(conn, store.key.public).intact  # it fools a check of itself
    work(store, clerk, 1)
    with caplog.at_level(logging.ERROR, "jukinet.security"), pytest.raises(CheckpointRefused):
        publish(store, tokyo)
    assert any("rewrote its audit history" in r.getMessage() for r in caplog.records)
    with tokyo.engine.connect() as conn:
        refused = [e for e in audit.entries(conn) if e.outcome == "refused"]
    assert [(e.operation, e.target) for e in refused] == [
        ("audit.cosign", f"jukinet/municipality/{store.code}/audit")
    ]
    assert "checkpoint-refused" in refused[0].detail
    with store.engine.connect() as conn:
        newest = checkpoints.latest(conn)
    assert newest is not None and newest.cosignatures == ""  # nothing cosigned the fork
    # Hiding what was cosigned does not help: the proof must start from it.
    with store.engine.begin() as conn:
        conn.execute(delete(metadata.tables["audit_checkpoints"]))
    with pytest.raises(CheckpointRefused, match="must start from size"):
        publish(store, tokyo)


def test_a_rolled_back_or_foreign_checkpoint_is_refused(
    store: RegisterStore, clerk: Session, tokyo: IdentityStore
) -> None:
    work(store, clerk, 2)
    publish(store, tokyo)
    first = None
    with store.engine.connect() as conn:
        first = checkpoints.every(conn)[0]
    work(store, clerk, 2)
    publish(store, tokyo)
    old = CosignRequest(checkpoint=first.note, previous_size=0, consistency=[])
    with pytest.raises(CheckpointRefused, match="rollback"):
        witness.cosign(tokyo, peer_of(store), old, store.key.public)
    forger = NodeKey.generate()
    with pytest.raises(CheckpointRefused, match="not its to sign"):
        witness.cosign(tokyo, peer_of(store), old, forger.public)


def test_a_cosigned_bundle_holds_by_go_and_by_jukinet(
    store: RegisterStore, clerk: Session, tokyo: IdentityStore, tmp_path: Path,
    auditcheck: Path,
) -> None:  # fmt: skip
    work(store, clerk, 2)
    publish(store, tokyo)
    work(store, clerk, 2)
    made = publish(store, tokyo)
    work(store, clerk, 1)  # not cosigned yet
    out = tmp_path / "bundle"
    name = checkpoints.origin("municipality", str(store.code))
    with store.engine.begin() as conn:
        # With the cosigner's key the bundle ends at the newest cosigned checkpoint.
        witness_key = bundle.cosigner_key(cosigner(tokyo), tokyo.key.public)
        exported = bundle.export(conn, store.key, name, out, witness_key)
    assert exported.size == made.size and exported.cosignatures
    go = gocheck.check(auditcheck, out)
    assert go.returncode == 0, go.stdout
    assert bundle.verify(out)[1] == []
    (out / "cosigner.key").write_text(
        bundle.cosigner_key(cosigner(tokyo), NodeKey.generate().public)
    )
    go = gocheck.check(auditcheck, out)
    assert go.returncode == 1 and "no cosignature" in go.stdout, go.stdout
    assert "no valid cosignature" in bundle.verify(out)[1][0]


def test_the_running_identity_node_signs_checkpoints_every_few_minutes(
    tokyo: IdentityStore,
) -> None:
    """R25: the prefecture's and national node's lifespan job (``keep_checkpoints``)."""
    from types import SimpleNamespace

    from jukinet.nodes.runtime import keep_checkpoints

    runtime = SimpleNamespace(settings=SimpleNamespace(audit_checkpoint_every=0.05))

    async def run_a_while() -> None:
        job = asyncio.create_task(keep_checkpoints(runtime, tokyo))  # type: ignore[arg-type]
        await asyncio.sleep(0.4)
        job.cancel()

    asyncio.run(run_a_while())
    with tokyo.engine.connect() as conn:
        made = checkpoints.every(conn)
    assert [c.size for c in made] == [1]  # once: the job's checkpoints are not entries
    assert made[0].note.startswith("jukinet/prefecture/130001/audit\n1\n")
