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
from jukinet.domain import moving
from jukinet.domain.codes import parse_resident_code
from jukinet.domain.record import ResidentRecord
from jukinet.errors import MoveWithCardRefused
from jukinet.nodes.municipality import moving_in, moving_out
from jukinet.nodes.municipality.store import RegisterStore, RegisterTx
from jukinet.nodes.municipality.tables import (
    incoming_moves,
    moving_inbox,
    outbox,
    planned_moves,
)
from jukinet.seed.places import Places
from tests.conftest import UrlFactory
from tests.helpers import counts, last_audit, snapshot
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
    behind = moving_receive.receive(net.new.store, "131016", ahead, TODAY)
    assert behind.acked_through == 1 and "send again from 2" in (behind.refused or "")
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


def _refused_at_window(net: Moving, card: object, sentence: str, **when: object) -> None:
    before, snap = counts(net.new.store), snapshot(net.new.store)
    moved = when.get("moved", TODAY)
    with pytest.raises(MoveWithCardRefused, match=sentence):
        moving_in.move_in_with_card(
            net.new.store,
            net.new.clerk,
            card,
            UMEDA,
            moved,
            TODAY,
            TODAY,  # type: ignore[arg-type]
        )
    after = counts(net.new.store)
    assert after["audit_log"] == before["audit_log"] + 1
    assert snapshot(net.new.store) == snap
    [entry] = last_audit(net.new.store)
    assert entry.outcome == audit.Outcome.REFUSED and entry.operation == "event.move-in-card"


def test_a_move_in_without_certificate_information_is_refused(net: Moving) -> None:
    _refused_at_window(net, net.card(), "No move-out certificate information names the holder")


def test_another_card_than_the_holders_is_refused(net: Moving) -> None:
    moving_out.notify(net.old.store, net.old.clerk, net.notification(), TODAY)
    deliver(net.old, net.new)
    _refused_at_window(net, net.card(number="999999999999"), "not the card named")
    # the wife's card: the certificate names the head as the holder who notified
    _refused_at_window(net, net.card(code=net.codes[1]), "No move-out certificate information")


def test_a_move_in_after_the_deadline_is_refused_and_the_paper_route_stays(net: Moving) -> None:
    moving_out.notify(net.old.store, net.old.clerk, net.notification(), TODAY)
    deliver(net.old, net.new)
    _refused_at_window(
        net, net.card(), "within 14 days of moving", moved=TODAY - timedelta(days=15)
    )
    assert state_of(net.new.store, incoming_moves, origin="131016", move_id=1) == "pending"


def test_a_cancelled_move_cannot_be_used_at_the_new_municipality(net: Moving) -> None:
    moving_out.notify(net.old.store, net.old.clerk, net.notification(), TODAY)
    deliver(net.old, net.new)
    cancelled = moving_out.cancel(net.old.store, net.old.clerk, 1, TODAY)
    assert cancelled.state == "cancelled"
    [ack] = deliver(net.old, net.new)
    assert ack.acked_through == 2 and ack.refused is None
    assert state_of(net.new.store, incoming_moves, origin="131016", move_id=1) == "cancelled"
    _refused_at_window(net, net.card(), "withdrawn at the old municipality")
    with pytest.raises(MoveWithCardRefused, match="only a planned one is cancelled"):
        moving_out.cancel(net.old.store, net.old.clerk, 1, TODAY)
    # The holder may notify again, and that one goes through.
    moving_out.notify(net.old.store, net.old.clerk, net.notification(), TODAY)
    deliver(net.old, net.new)
    receipt = moving_in.move_in_with_card(
        net.new.store, net.new.clerk, net.card(), UMEDA, TODAY, TODAY, TODAY
    )
    assert len(receipt.records) == 3


def test_a_used_certificate_is_not_used_twice(net: Moving) -> None:
    moving_out.notify(net.old.store, net.old.clerk, net.notification(), TODAY)
    deliver(net.old, net.new)
    moving_in.move_in_with_card(
        net.new.store, net.new.clerk, net.card(), UMEDA, TODAY, TODAY, TODAY
    )
    _refused_at_window(net, net.card(), "the move-in was recorded with it already")


def test_a_person_moving_alone_leaves_the_household_at_the_old_municipality(net: Moving) -> None:
    """The head moves alone: the wife becomes the head at Chiyoda when the notice comes."""
    head, wife, _child = net.codes
    n = net.notification(persons=(head,), new_head=wife)
    moving_out.notify(net.old.store, net.old.clerk, n, TODAY)
    deliver(net.old, net.new)
    receipt = moving_in.move_in_with_card(
        net.new.store, net.new.clerk, net.card(), UMEDA, TODAY, TODAY, TODAY
    )
    assert [r.resident_code for r in receipt.records] == [head]
    deliver(net.new, net.old)
    moved, stays, kid = records(net.old.store, net.codes)
    assert not moved.is_resident and stays.is_resident and kid.is_resident
    assert stays.relationship == "世帯主"


def test_a_planned_move_needs_an_active_card_and_refuses_a_second_one(net: Moving) -> None:
    before = counts(net.old.store)
    wife = net.codes[1]
    with pytest.raises(MoveWithCardRefused, match="holds no active card"):
        moving_out.notify(
            net.old.store,
            net.old.clerk,
            moving.MoveNotification(wife, (), "271276", UMEDA.text, TODAY, TODAY, "mail"),
            TODAY,
        )
    assert counts(net.old.store)["audit_log"] == before["audit_log"] + 1
    moving_out.notify(net.old.store, net.old.clerk, net.notification(), TODAY)
    with pytest.raises(MoveWithCardRefused, match="already names one of these persons"):
        moving_out.notify(net.old.store, net.old.clerk, net.notification(), TODAY)
    with net.old.store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(planned_moves)).scalar_one() == 1


def test_a_move_in_notice_for_a_cancelled_move_is_recorded_as_refused(net: Moving) -> None:
    moving_out.notify(net.old.store, net.old.clerk, net.notification(), TODAY)
    deliver(net.old, net.new)
    moving_in.move_in_with_card(
        net.new.store, net.new.clerk, net.card(), UMEDA, TODAY, TODAY, TODAY
    )
    moving_out.cancel(net.old.store, net.old.clerk, 1, TODAY)  # before the notice arrives
    [ack] = deliver(net.new, net.old)
    assert ack.refused is not None and "was cancelled here" in ack.refused
    assert all(r.is_resident for r in records(net.old.store, net.codes))
    [entry] = last_audit(net.old.store)
    assert entry.outcome == audit.Outcome.REFUSED and entry.operation == "moving.move-in-notice"


def test_a_message_the_receiver_lost_is_sent_again(net: Moving) -> None:
    """The receiver answers a message past the next one with what it took; the sender
    sends again from there (e.g. the receiver was restored from a backup)."""
    from sqlalchemy import update

    from jukinet.nodes.municipality.tables import moving_outbox

    moving_out.notify(net.old.store, net.old.clerk, net.notification(), TODAY)
    moving_out.cancel(net.old.store, net.old.clerk, 1, TODAY)
    with net.old.store.engine.begin() as conn:  # message 1 marked delivered, never received
        conn.execute(
            update(moving_outbox).where(moving_outbox.c.seq == 1).values(delivered_at="lost")
        )
    [gap] = deliver(net.old, net.new)
    assert gap.acked_through == 0 and gap.refused is not None
    [first] = deliver(net.old, net.new)
    [second] = deliver(net.old, net.new)
    assert (first.acked_through, second.acked_through) == (1, 2)
    assert state_of(net.new.store, incoming_moves, origin="131016", move_id=1) == "cancelled"


def test_each_side_lists_its_moves_as_an_audited_read(net: Moving) -> None:
    moving_out.notify(net.old.store, net.old.clerk, net.notification(), TODAY)
    deliver(net.old, net.new)
    [planned] = moving_out.planned_moves_of(net.old.store, net.old.clerk)
    assert (planned.move_id, planned.state) == (1, "planned")
    assert last_audit(net.old.store)[0].operation == "move-out.list"
    [held] = moving_in.held(net.new.store, net.new.clerk)
    assert (held.state, held.certificate.holder) == ("pending", net.codes[0])
    assert [p.name.full for p in held.certificate.persons] == [
        "山田 太郎",
        "山田 花子",
        "山田 一郎",
    ]
    assert last_audit(net.new.store)[0].operation == "move-in.list"
