"""Operator accounts: argon2 passwords, training and pledge records, lockout (R10–R13)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, insert, select, update

from jukinet.audit import log as audit
from jukinet.domain.access import MAX_FAILED_LOGINS, CardPresence, Operator, Role, Session
from jukinet.errors import AccessDenied, AuthenticationFailed, InvalidInput, OperatorNotFound
from jukinet.nodes.municipality.tables import operators

_USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 10


def password_hasher() -> PasswordHasher:
    """argon2id with argon2-cffi's defaults (RFC 9106's second recommended profile)."""
    return PasswordHasher()


_hasher = password_hasher()


def _operator(row: Any) -> Operator:
    return Operator(
        operator_id=row.operator_id,
        username=row.username,
        full_name=row.full_name,
        role=Role(row.role),
        node_code=row.node_code,
        trained_on=row.trained_on,
        pledge_signed_on=row.pledge_signed_on,
        failed_attempts=row.failed_attempts,
        locked=row.locked,
    )


def get(conn: Connection, username: str) -> Operator:
    row = conn.execute(select(operators).where(operators.c.username == username)).first()
    if row is None:
        raise OperatorNotFound(f"There is no operator {username!r} at this node.")
    return _operator(row)


def all_operators(conn: Connection) -> list[Operator]:
    return [_operator(r) for r in conn.execute(select(operators).order_by(operators.c.username))]


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise InvalidInput(f"{value!r} is not a role; roles are: {roles}.") from None


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"A password has at least {MIN_PASSWORD_LENGTH} characters.")


def add(
    conn: Connection,
    *,
    username: str,
    full_name: str,
    role: Role,
    node_code: str,
    password: str,
    trained_on: date | None,
    pledge_signed_on: date | None,
) -> Operator:
    if not _USERNAME.match(username):
        raise InvalidInput(
            f"{username!r} is not a valid user name (lower-case letters, digits, . _ -)."
        )
    if not full_name.strip():
        raise InvalidInput("An operator needs a full name.")
    check_password_strength(password)
    if conn.execute(
        select(operators.c.operator_id).where(operators.c.username == username)
    ).first():
        raise InvalidInput(f"Operator {username!r} already exists.")
    conn.execute(
        insert(operators).values(
            username=username,
            full_name=full_name.strip(),
            role=role.value,
            node_code=node_code,
            password_hash=_hasher.hash(password),
            trained_on=trained_on,
            pledge_signed_on=pledge_signed_on,
            failed_attempts=0,
            locked=False,
            created_at=audit.now(),
        )
    )
    return get(conn, username)


def set_fields(conn: Connection, username: str, **values: Any) -> Operator:
    get(conn, username)
    conn.execute(update(operators).where(operators.c.username == username).values(**values))
    return get(conn, username)


def set_password(conn: Connection, username: str, password: str) -> Operator:
    check_password_strength(password)
    return set_fields(conn, username, password_hash=_hasher.hash(password))


def _count_failure(conn: Connection, op: Operator) -> None:
    failures = op.failed_attempts + 1
    set_fields(conn, op.username, failed_attempts=failures, locked=failures >= MAX_FAILED_LOGINS)


def authenticate(
    conn: Connection,
    username: str,
    password: str,
    node_code: str,
    card: Callable[[Operator], CardPresence],
) -> Session:
    """Check the password, then the operator's card (``card`` raises if it does not prove
    itself), and the account; count failures and lock after too many (R11).

    A wrong card counts as a wrong password does. The failure counter is written in
    this transaction even when authentication fails, so the caller commits it (with
    the refusal's audit entry).
    """
    try:
        op = get(conn, username)
    except OperatorNotFound:
        raise AuthenticationFailed("Unknown operator or wrong password.") from None
    if op.locked:
        op.check_usable(node_code)
    row = conn.execute(
        select(operators.c.password_hash).where(operators.c.username == username)
    ).scalar_one()
    try:
        _hasher.verify(row, password)
    except (VerificationError, InvalidHashError):
        _count_failure(conn, op)
        raise AuthenticationFailed("Unknown operator or wrong password.") from None
    try:
        presence = card(op)
    except AccessDenied:
        _count_failure(conn, op)
        raise
    if op.failed_attempts:
        op = set_fields(conn, username, failed_attempts=0)
    op.check_usable(node_code)
    if _hasher.check_needs_rehash(row):
        set_fields(conn, username, password_hash=_hasher.hash(password))
    return Session(op, presence)
