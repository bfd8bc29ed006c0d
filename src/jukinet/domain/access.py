"""Operator roles and what each may do (R10–R13).

Roles are scoped to one node. A clerk works the window; a supervisor also makes
corrections; an auditor reads and verifies the audit log but no record; an
administrator manages accounts and the node but records no event (separation of
duties).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol

from jukinet.errors import AccountInactive, AccountLocked, OperatorCardRemoved, RoleNotAllowed


class Role(StrEnum):
    CLERK = "clerk"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    ADMINISTRATOR = "administrator"


class Permission(StrEnum):
    READ_RECORD = "read a resident record"
    RECORD_EVENT = "record an event"
    CORRECT_RECORD = "correct a record"
    READ_AUDIT = "read the audit log"
    MANAGE_OPERATORS = "manage operator accounts"
    MANAGE_NODE = "manage the register and its code pool"
    READ_SUMMARY = "read the register's summary figures"


_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.CLERK: frozenset(
        {Permission.READ_RECORD, Permission.RECORD_EVENT, Permission.READ_SUMMARY}
    ),
    Role.SUPERVISOR: frozenset(
        {
            Permission.READ_RECORD,
            Permission.RECORD_EVENT,
            Permission.CORRECT_RECORD,
            Permission.READ_SUMMARY,
        }
    ),
    Role.AUDITOR: frozenset({Permission.READ_AUDIT, Permission.READ_SUMMARY}),
    Role.ADMINISTRATOR: frozenset(
        {
            Permission.MANAGE_OPERATORS,
            Permission.MANAGE_NODE,
            Permission.READ_AUDIT,
            Permission.READ_SUMMARY,
        }
    ),
}

# Failed password attempts before an account locks (R11).
MAX_FAILED_LOGINS = 5


def allows(role: Role, permission: Permission) -> bool:
    return permission in _GRANTS[role]


@dataclass(frozen=True, slots=True)
class Operator:
    operator_id: int
    username: str
    full_name: str
    role: Role
    node_code: str
    trained_on: date | None
    pledge_signed_on: date | None
    failed_attempts: int
    locked: bool

    @property
    def active(self) -> bool:
        """No account is active without recorded training and a signed pledge (R10, R13)."""
        return self.trained_on is not None and self.pledge_signed_on is not None and not self.locked

    def check_usable(self, node_code: str) -> None:
        if self.locked:
            raise AccountLocked(
                f"Operator {self.username} is locked after too many wrong passwords; "
                "an administrator must unlock the account."
            )
        if self.trained_on is None or self.pledge_signed_on is None:
            missing = " and ".join(
                what
                for what, on in (
                    ("security training", self.trained_on),
                    ("confidentiality pledge", self.pledge_signed_on),
                )
                if on is None
            )
            raise AccountInactive(
                f"Operator {self.username} is not active: no {missing} is recorded."
            )
        if self.node_code != node_code:
            raise RoleNotAllowed(
                f"Operator {self.username} belongs to node {self.node_code}, not to {node_code}."
            )


class CardPresence(Protocol):
    """The operator card a session was signed in with (R11)."""

    def still_present(self) -> bool:
        """True if that very card is still in the reader and answers a fresh challenge."""
        ...


@dataclass(frozen=True, slots=True)
class Session:
    """An authenticated operator at a node, and the card the operator signed in with.

    A session ends when the card leaves the reader (R11): :meth:`require_card` is
    checked before every transaction commits. A session without a card (built by a
    test, never by sign-in) is never present."""

    operator: Operator
    card: CardPresence | None = None

    def still_present(self) -> bool:
        return self.card is not None and self.card.still_present()

    def require_card(self) -> None:
        if not self.still_present():
            raise OperatorCardRemoved(
                f"The operator card of {self.operator.username} is no longer in the reader: "
                "the session has ended; sign in again with the card."
            )

    @property
    def actor(self) -> str:
        return f"operator:{self.operator.username}"

    def require(self, permission: Permission) -> None:
        if not allows(self.operator.role, permission):
            raise RoleNotAllowed(
                f"Operator {self.operator.username} ({self.operator.role}) may not {permission}."
            )
