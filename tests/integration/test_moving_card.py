"""Moving with the card between two municipalities of two prefectures (R21, 第24条の2),
on SQLite and PostgreSQL: the 付記転出届 at Chiyoda, the certificate information taken
by Osaka's Kita ward, the move-in with the card for the whole household, the move-in
notice back and the removal finalised; every refusal one sentence, audited, nothing
changed. Messages go through the real worker and receiver, in process.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jukinet.audit import log as audit
from jukinet.domain.codes import parse_resident_code
from jukinet.domain.record import ResidentRecord
from jukinet.errors import MoveWithCardRefused
from jukinet.nodes.municipality import moving_in, moving_out
from jukinet.nodes.municipality.store import RegisterStore, RegisterTx
from jukinet.nodes.municipality.tables import incoming_moves, moving_inbox, outbox
from jukinet.seed.places import Places
from tests.conftest import UrlFactory
from tests.helpers import counts, last_audit
from tests.integration.moving_net import TODAY, UMEDA, Moving, deliver, make_network, state_of


@pytest.fixture
def net(tmp_path: Path, database: UrlFactory, places: Places) -> Iterator[Moving]:
    yield from make_network(tmp_path, database, places)


def records(store: RegisterStore, codes: tuple[str, ...]) -> list[ResidentRecord]:
    with store.engine.connect() as conn:
        found = [RegisterTx(conn, store).record(parse_resident_code(c)) for c in codes]
    assert all(r is not None for r in found)
    return [r for r in found if r is not None]


def _updates(store: object) -> list[str]:
    with store.engine.connect() as conn:  # type: ignore[attr-defined]
        return list(conn.scalars(select(outbox.c.payload).order_by(outbox.c.seq)))


def test_a_household_moves_with_the_heads_card_in_one_visit(net: Moving) -> None:
    """R21: mail notification -> certificate information -> move-in with the card ->
    move-in notice -> removal finalised at the old municipality."""
    planned = moving_out.notify(net.old.store, net.old.clerk, net.notification(), TODAY)
    assert planned.state == "planned" and planned.persons == net.codes
    # Nothing is removed yet at Chiyoda: the register changes when Kita tells it.
    assert all(r.is_resident for r in records(net.old.store, net.codes))
    [ack] = deliver(net.old, net.new)
    assert ack.acked_through == 1 and ack.refused is None
    assert state_of(net.new.store, incoming_moves, origin="131016", move_id=1) == "pending"

    receipt = moving_in.move_in_with_card(
        net.new.store, net.new.clerk, net.card(), UMEDA, TODAY, TODAY, TODAY
    )
    assert {r.resident_code for r in receipt.records} == set(net.codes)
    assert {r.relationship for r in receipt.records} == {"世帯主", "妻", "子"}
    assert len({r.household_id for r in receipt.records}) == 1
    assert all(r.previous_address == "東京都千代田区丸の内一丁目1番1号" for r in receipt.records)
    assert state_of(net.new.store, incoming_moves, origin="131016", move_id=1) == "used"

    [notice] = deliver(net.new, net.old)
    assert notice.refused is None
    assert moving_out.planned_move(net.old.store, 1).state == "completed"
    for record in records(net.old.store, net.codes):
        assert not record.is_resident
        assert record.removal_reason == "move-out" and record.removal_date == TODAY
        assert record.destination == UMEDA.text
    # Both sides report to their own prefecture: the removal at Chiyoda, the entry at Kita.
    assert sum('"status":"removed"' in u for u in _updates(net.old.store)) == 3
    assert sum('"change_reason":"move-in"' in u for u in _updates(net.new.store)) == 3
    [entry] = last_audit(net.old.store)
    assert entry.operation == "moving.move-in-notice" and entry.outcome == audit.Outcome.OK


def test_a_copy_of_a_message_is_taken_once_and_an_altered_one_refused(net: Moving) -> None:
    moving_out.notify(net.old.store, net.old.clerk, net.notification(), TODAY)
    with net.old.store.engine.begin() as conn:
        payload = conn.execute(select(outbox.c.seq)).all()  # identity outbox untouched
    deliver(net.old, net.new)
    from jukinet.network.messages_moving import MovingMessage
    from jukinet.nodes.municipality import moving_receive
    from jukinet.nodes.municipality.tables import moving_outbox

    with net.old.store.engine.connect() as conn:
        sent = MovingMessage.model_validate_json(
            conn.execute(select(moving_outbox.c.payload)).scalar_one()
        )
    before = counts(net.new.store)
    again = moving_receive.receive(net.new.store, "131016", sent, TODAY)
    assert again.duplicate and again.acked_through == 1
    altered = sent.model_copy(
        update={"body": sent.body.model_copy(update={"planned_on": TODAY - timedelta(days=1)})}
    )
    with pytest.raises(MoveWithCardRefused, match="taken already with other content"):
        moving_receive.receive(net.new.store, "131016", altered, TODAY)
    ahead = sent.model_copy(update={"seq": 5})
    with pytest.raises(MoveWithCardRefused, match="in order, without gaps"):
        moving_receive.receive(net.new.store, "131016", ahead, TODAY)
    forged = sent.model_copy(update={"origin": "131041", "seq": 2})
    with pytest.raises(MoveWithCardRefused, match="sends only its own messages"):
        moving_receive.receive(net.new.store, "131016", forged, TODAY)
    after = counts(net.new.store)
    assert after["audit_log"] == before["audit_log"] + 4
    assert {k: v for k, v in after.items() if k != "audit_log"} == {
        k: v for k, v in before.items() if k != "audit_log"
    }
    with net.new.store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(moving_inbox)).scalar_one() == 1
    del payload
