"""Operator cards at the node (R11): binding a card's certified key to an account, and
checking at sign-in (and before each commit) that the operator's own card answers.

The node certifies the card's key with its own key; the binding keeps the key, so a
card of another operator, of another node, or whose binding was revoked is refused
even though its certificate is genuine.
"""

from __future__ import annotations

from sqlalchemy import Connection, insert, select, update

from jukinet.audit import log as audit
from jukinet.card import certs
from jukinet.card.operator_card import IssuedOperatorCard, issue_operator_card, prove
from jukinet.card.reader import Reader
from jukinet.domain.access import Operator
from jukinet.errors import CardError, InvalidInput, OperatorCardRefused
from jukinet.keys import NodeKey
from jukinet.nodes.municipality.tables import operator_cards

REFUSED = "Sign-in needs the operator's own card in the reader"


def bind(conn: Connection, key: NodeKey, op: Operator) -> IssuedOperatorCard:
    """Issue a new card for ``op`` and bind it; the card bound before, if any, is revoked."""
    card = issue_operator_card(key.private, op.node_code, op.username)
    now = audit.now()
    revoke(conn, op, now, missing_ok=True)
    conn.execute(
        insert(operator_cards).values(
            operator_id=op.operator_id,
            public_key=card.public_key.hex(),
            certificate=card.certificate.hex(),
            issued_at=now,
        )
    )
    return card


def revoke(conn: Connection, op: Operator, at: str, *, missing_ok: bool = False) -> int:
    """Revoke the card bound to ``op``; the number of bindings revoked (0 or 1)."""
    done = conn.execute(
        update(operator_cards)
        .where(
            operator_cards.c.operator_id == op.operator_id, operator_cards.c.revoked_at.is_(None)
        )
        .values(revoked_at=at)
    ).rowcount
    if not done and not missing_ok:
        raise InvalidInput(f"Operator {op.username} has no operator card to revoke.")
    return int(done)


def bound_key(conn: Connection, op: Operator) -> bytes | None:
    """The public key of the card bound to ``op`` and not revoked."""
    found = conn.execute(
        select(operator_cards.c.public_key).where(
            operator_cards.c.operator_id == op.operator_id, operator_cards.c.revoked_at.is_(None)
        )
    ).scalar_one_or_none()
    return bytes.fromhex(found) if found is not None else None


class CardCheck:
    """The card a session was signed in with: :meth:`still_present` asks it a fresh
    challenge over the same connection (a card pulled out, even if put back, fails)."""

    def __init__(self, reader: Reader, node_public: bytes, key: bytes) -> None:
        self.reader = reader
        self._node_public = node_public
        self._key = key

    def still_present(self) -> bool:
        try:
            prove(self.reader, self._node_public, self._key)
        except CardError:
            return False
        return True


def check_card(conn: Connection, key: NodeKey, op: Operator, reader: Reader) -> CardCheck:
    """Connect to the card in ``reader`` and have it prove it is ``op``'s bound card.

    Any failure is one :class:`OperatorCardRefused` saying why."""
    bound = bound_key(conn, op)
    if bound is None:
        raise OperatorCardRefused(f"{REFUSED}: {op.username} has no operator card (revoked?).")
    node_public = certs.public_bytes(key.public)
    try:
        reader.connect()
        prove(reader, node_public, bound)
    except CardError as exc:
        reader.disconnect()
        raise OperatorCardRefused(f"{REFUSED}: {exc.message}") from None
    return CardCheck(reader, node_public, bound)
