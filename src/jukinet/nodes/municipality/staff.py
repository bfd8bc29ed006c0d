"""Operator management at the node (R10, R11, R13): every change audited."""

from __future__ import annotations

from datetime import date

from jukinet.audit import log as audit
from jukinet.card.operator_card import IssuedOperatorCard
from jukinet.domain.access import Operator, Permission, Role, Session
from jukinet.nodes.municipality import operator_cards, operators
from jukinet.nodes.municipality.service import run
from jukinet.nodes.municipality.store import RegisterStore, RegisterTx


def add(
    store: RegisterStore,
    session: Session,
    *,
    username: str,
    full_name: str,
    role: Role,
    password: str,
    trained_on: date | None = None,
    pledge_signed_on: date | None = None,
) -> Operator:
    """Create an account; it stays inactive until training and pledge are recorded."""

    def work(tx: RegisterTx) -> tuple[Operator, str, str]:
        op = operators.add(
            tx.conn,
            username=username,
            full_name=full_name,
            role=role,
            node_code=store.code,
            password=password,
            trained_on=trained_on,
            pledge_signed_on=pledge_signed_on,
        )
        # The dates are in the entry so that the safety report (R13, R25) reads them
        # from the audit bundle alone.
        state = "active" if op.active else "inactive"
        dates = f"trained_on={trained_on}, pledge_signed_on={pledge_signed_on}"
        return op, username, f"role {role}; {state}; {dates}"

    return run(store, session, Permission.MANAGE_OPERATORS, "operator.add", username, work)


def _update(
    store: RegisterStore, session: Session, username: str, operation: str, **values: object
) -> Operator:
    def work(tx: RegisterTx) -> tuple[Operator, str, str]:
        op = operators.set_fields(tx.conn, username, **values)
        detail = ", ".join(f"{k}={v}" for k, v in values.items() if k != "password_hash")
        return op, username, detail

    return run(store, session, Permission.MANAGE_OPERATORS, operation, username, work)


def record_training(store: RegisterStore, session: Session, username: str, on: date) -> Operator:
    """R13: the operator's security training."""
    return _update(store, session, username, "operator.training", trained_on=on)


def record_pledge(store: RegisterStore, session: Session, username: str, on: date) -> Operator:
    """R10: the operator's signed confidentiality pledge."""
    return _update(store, session, username, "operator.pledge", pledge_signed_on=on)


def unlock(store: RegisterStore, session: Session, username: str) -> Operator:
    return _update(store, session, username, "operator.unlock", locked=False, failed_attempts=0)


def lock(store: RegisterStore, session: Session, username: str) -> Operator:
    return _update(store, session, username, "operator.lock", locked=True)


def set_password(store: RegisterStore, session: Session, username: str, password: str) -> Operator:
    def work(tx: RegisterTx) -> tuple[Operator, str, str]:
        return operators.set_password(tx.conn, username, password), username, "password set"

    return run(store, session, Permission.MANAGE_OPERATORS, "operator.password", username, work)


def list_all(store: RegisterStore, session: Session) -> list[Operator]:
    def work(tx: RegisterTx) -> tuple[list[Operator], str, str]:
        found = operators.all_operators(tx.conn)
        return found, "operators", f"{len(found)} accounts"

    return run(store, session, Permission.MANAGE_OPERATORS, "operator.list", "operators", work)


def issue_card(store: RegisterStore, session: Session, username: str) -> IssuedOperatorCard:
    """Issue ``username`` an operator card certified by this node and bind it to the
    account (R11); a card bound before is revoked. The caller writes the card out."""

    def work(tx: RegisterTx) -> tuple[IssuedOperatorCard, str, str]:
        card = operator_cards.bind(tx.conn, store.key, operators.get(tx.conn, username))
        return card, username, f"card key {card.public_key.hex()[:16]}…"

    return run(store, session, Permission.MANAGE_OPERATORS, "operator.card.issue", username, work)


def revoke_card(store: RegisterStore, session: Session, username: str) -> None:
    """Revoke the operator card bound to ``username``: it signs no one in any more."""

    def work(tx: RegisterTx) -> tuple[None, str, str]:
        operator_cards.revoke(tx.conn, operators.get(tx.conn, username), audit.now())
        return None, username, "card revoked"

    return run(store, session, Permission.MANAGE_OPERATORS, "operator.card.revoke", username, work)
