"""A database that cannot grow: every write is refused with StorageFull, nothing committed
is lost, and writing works again once there is room (docs/reliability.md, "Faults").

SQLite's ``PRAGMA max_page_count`` caps the database at the pages it has: a write that
needs one more page fails with SQLITE_FULL ("database or disk is full"), the error a full
disk gives. (The running network meets a real full disk: tests/e2e/test_faults.py.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from jukinet.domain.access import Session
from jukinet.errors import StorageFull
from jukinet.keys import NodeKey
from jukinet.network.messages import UpdateBatch
from jukinet.nodes.identity.store import IdentityStore
from jukinet.nodes.municipality import service
from jukinet.nodes.municipality.store import RegisterStore
from jukinet.nodes.prefecture import service as prefecture_service
from tests.helpers import arrival, counts, last_audit, person
from tests.integration.test_outbox import CHIYODA_PEER, TOKYO, update

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


@contextmanager
def no_room(engine: Engine) -> Iterator[None]:
    """While the block runs, the database may not grow by a single page."""
    with engine.connect() as conn:
        pages = int(conn.execute(text("PRAGMA page_count")).scalar_one())

    def cap(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(engine, "connect", cap)
    engine.dispose()  # every connection from now on is capped
    try:
        yield
    finally:
        event.remove(engine, "connect", cap)
        engine.dispose()


def test_a_clerks_event_on_a_full_disk_is_refused_in_one_sentence_and_kept_out(
    store: RegisterStore, clerk: Session
) -> None:
    before = counts(store)
    # a household of 60: more than the pages the register has free can hold
    big = (person(), *(person(f"子{i}", "コ", relationship="子") for i in range(59)))
    with no_room(store.engine), pytest.raises(StorageFull) as full:
        service.record_event(store, clerk, arrival(*big), date.today())
    assert "disk is full" in str(full.value) and "\n" not in str(full.value)
    # Nothing of the event was kept; the refusal itself is audited where it still fits.
    assert counts(store) == {**before, "audit_log": before["audit_log"] + 1}
    (refusal,) = last_audit(store)
    assert refusal.outcome == "refused" and refusal.detail.startswith("storage-full: ")
    receipt = service.record_event(store, clerk, arrival(*big), date.today())
    assert len(receipt.records) == 60


@pytest.fixture
def prefecture(database_url: str, tmp_path: Any) -> Iterator[IdentityStore]:
    home = tmp_path / "prefecture"
    prefecture_service.init_node(home, TOKYO, "東京都", database_url, NodeKey.generate())
    store = prefecture_service.open_node(home)
    yield store
    store.close()


def test_updates_to_a_prefecture_with_a_full_disk_wait_and_then_apply_once(
    prefecture: IdentityStore, caplog: pytest.LogCaptureFixture
) -> None:
    batch = UpdateBatch(sender=CHIYODA_PEER.node_id, updates=[update(s) for s in range(1, 201)])
    with no_room(prefecture.engine), pytest.raises(StorageFull):
        prefecture_service.receive(prefecture, CHIYODA_PEER, batch)
    assert prefecture.count() == 0 and prefecture.inbox(CHIYODA_PEER.node_id) == 0
    assert "refused identity updates" not in caplog.text  # not a refusal of the sender
    ack = prefecture_service.receive(prefecture, CHIYODA_PEER, batch)
    assert ack.acked_through == 200 and prefecture.count() == 200
