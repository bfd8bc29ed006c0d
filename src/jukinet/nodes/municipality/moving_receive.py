"""A municipality receiving a moving message from another (``POST /moving``, R21, R3).

One transaction takes the message in order and applies it (a certificate kept
pending, a cancellation, a move-in notice finalising a removal) with one audit
entry. A copy of a message taken already is acknowledged again and changes nothing;
a replayed or altered one is refused (409) and audited; one past the next is refused
too (audited, nothing changed) but answered with the last seq taken, so that the
sender sends again from there (this receiver may have been restored from a backup). A
message in order that does not fit (a notice for a cancelled move) is recorded as
refused and acknowledged with the reason, so the sender's later messages go on.
"""

from __future__ import annotations

from datetime import date

from jukinet.audit import log as audit
from jukinet.errors import JukinetError, MoveWithCardRefused
from jukinet.network.messages_moving import (
    MoveCancelled,
    MoveInNotice,
    MoveOutCertificate,
    MovingAck,
    MovingMessage,
)
from jukinet.nodes.municipality import moving_in, moving_link, moving_out
from jukinet.nodes.municipality.service import audited, refusal_detail
from jukinet.nodes.municipality.store import RegisterStore, RegisterTx

__all__ = ["receive"]


class _Unfit(Exception):
    """The message was in order, its content refused: recorded as taken, refused."""

    def __init__(self, cause: JukinetError) -> None:
        super().__init__(cause.message)
        self.cause = cause


def _apply(tx: RegisterTx, sender: str, message: MovingMessage, today: date) -> str:
    body = message.body
    try:
        if isinstance(body, MoveOutCertificate):
            return moving_in.on_certificate(tx, sender, body)
        if isinstance(body, MoveCancelled):
            return moving_in.on_cancel(tx, sender, body)
        assert isinstance(body, MoveInNotice)
        return moving_out.on_move_in_notice(tx, sender, body, today)
    except JukinetError as exc:
        raise _Unfit(exc) from exc


def _taken_or_behind(tx: RegisterTx, sender: str, message: MovingMessage) -> bool:
    try:
        return moving_link.taken(tx.conn, sender, message)
    except moving_link.OutOfOrder as gap:
        raise _Behind(gap) from gap


class _Behind(Exception):
    """The message is past the next one: refused, answered with what was taken."""

    def __init__(self, gap: moving_link.OutOfOrder) -> None:
        super().__init__(gap.message)
        self.gap = gap


def receive(store: RegisterStore, sender: str, message: MovingMessage, today: date) -> MovingAck:
    """Take ``message`` from the municipality ``sender`` (the verified caller's code)."""
    actor = f"municipality:{sender}"
    operation = f"moving.{message.body.kind}"
    target = f"{sender} message {message.seq}"
    with audited(store, actor, operation, target):
        if message.origin != sender:
            raise MoveWithCardRefused(
                f"Message {message.seq} names municipality {message.origin} as its sender; "
                f"municipality {sender} sends only its own messages."
            )
        try:
            with store.transaction() as tx:
                if _taken_or_behind(tx, sender, message):
                    copy = "a copy of a message taken already: nothing changed"
                    tx.audit(audit.Draft(actor, operation, target, audit.Outcome.OK, copy))
                    return MovingAck(
                        acked_through=moving_link.last_taken(tx.conn, sender), duplicate=True
                    )
                detail = _apply(tx, sender, message, today)
                moving_link.take(tx.conn, sender, message, "taken")
                tx.audit(audit.Draft(actor, operation, target, audit.Outcome.OK, detail))
                return MovingAck(acked_through=message.seq)
        except _Unfit as unfit:
            reason = refusal_detail(unfit.cause)
        except _Behind as behind:
            with store.transaction() as tx:
                tx.audit(audit.Draft(actor, operation, target, audit.Outcome.REFUSED,
                                     refusal_detail(behind.gap)))  # fmt: skip
            return MovingAck(acked_through=behind.gap.last, refused=behind.gap.message)
        with store.transaction() as tx:
            if moving_link.taken(tx.conn, sender, message):  # taken meanwhile
                return MovingAck(acked_through=moving_link.last_taken(tx.conn, sender),
                                 duplicate=True)  # fmt: skip
            moving_link.take(tx.conn, sender, message, f"refused: {reason}")
            tx.audit(audit.Draft(actor, operation, target, audit.Outcome.REFUSED, reason))
            return MovingAck(acked_through=message.seq, refused=reason)
