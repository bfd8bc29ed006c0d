"""The window's accounts are the register's own operators (``nodes/municipality/
operators.py``): the password is checked against their argon2 hash in the register's
database, with its training, pledge, node and lockout rules (R10, R11, R13), and failed
sign-ins count in the same counter the CLI's do. Beside them, in ``window-cards.json``
(0600) of the node's home, are only what WebAuthn needs: each operator's registered
operator cards (credentials), a random user handle and a one-time registration link.

The sign-in routes of the foundation (``web/common/signin.py``) call exactly these
methods, so this class stands in for ``AccountFile``; it keeps no second list of users:
an entry of the file whose operator is gone from the register signs no one in.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection

from jukinet.domain.access import MAX_FAILED_LOGINS, Operator
from jukinet.errors import AccessDenied, AccountLocked, AuthenticationFailed, OperatorNotFound
from jukinet.nodes.municipality import operators
from jukinet.nodes.municipality.store import RegisterStore
from jukinet.web.common.accounts import ENROL_VALID, Account, AccountFile, _token_hash
from jukinet.web.common.accounts import AccountLocked as WebAccountLocked

CARDS_FILE = "window-cards.json"


class _NoCardYet:
    """The card step of the register's ``authenticate`` at the password step of the
    browser: the operator card (WebAuthn) is asked for on the next page."""

    def still_present(self) -> bool:
        return False


class WindowAccounts(AccountFile):
    def __init__(self, home: Path, store: RegisterStore) -> None:
        super().__init__(home / CARDS_FILE)
        self.store = store

    def operator(self, username: str) -> Operator | None:
        with self.store.transaction() as tx:
            try:
                return operators.get(tx.conn, username)
            except OperatorNotFound:
                return None

    def get(self, username: str) -> Account | None:
        op = self.operator(username)
        if op is None:
            return None
        kept = super().get(username)
        account = kept or Account(
            username=username, password_hash="", user_handle=secrets.token_urlsafe(16)
        )
        return account.model_copy(
            update={"failed_attempts": op.failed_attempts, "locked": op.locked}
        )

    def put(self, account: Account) -> None:
        # The password and the lockout are the register's; the file keeps the card only.
        super().put(account.model_copy(
            update={"password_hash": "", "failed_attempts": 0, "locked": False}
        ))  # fmt: skip

    def check_password(self, username: str, password: str) -> Account:
        """The operator's account if the register's ``authenticate`` accepts the
        password and the account (trained, pledged, of this node, not locked); the
        register counts a wrong password against the operator, as for the CLI."""
        failure: AccessDenied | None = None
        with self.store.transaction() as tx:
            before = self.failures(tx.conn, username)
            try:
                operators.authenticate(
                    tx.conn, username, password, self.store.code, lambda _op: _NoCardYet()
                )
            except AccountLocked as exc:
                failure = WebAccountLocked(exc.message)
            except AuthenticationFailed as exc:
                failure = exc
            except AccessDenied as exc:  # inactive, another node's operator
                failure = AuthenticationFailed(exc.message)
            else:
                # ``authenticate`` starts the count again once password and card passed;
                # here the card has not yet: its refusals must still add up to the lock.
                operators.set_fields(tx.conn, username, failed_attempts=before)
        if failure is not None:
            raise failure
        account = self.get(username)
        assert account is not None
        return account

    @staticmethod
    def failures(conn: Connection, username: str) -> int:
        try:
            return operators.get(conn, username).failed_attempts
        except OperatorNotFound:
            return 0

    def count_failure(self, username: str) -> None:
        """A refused operator card counts as a wrong password does (R11)."""
        with self.store.transaction() as tx:
            try:
                op = operators.get(tx.conn, username)
            except OperatorNotFound:
                return
            failures = op.failed_attempts + 1
            operators.set_fields(tx.conn, username, failed_attempts=failures,
                                 locked=failures >= MAX_FAILED_LOGINS)  # fmt: skip

    def signed_in(self, account: Account) -> None:
        self.put(account)
        with self.store.transaction() as tx:
            operators.set_fields(tx.conn, account.username, failed_attempts=0)

    def new_enrolment(self, username: str, now: datetime | None = None) -> str:
        """A one-time link to register ``username``'s operator card. Unlike the
        console's, it unlocks nothing: an operator is unlocked in the register
        (``jukinet operator unlock``, audited)."""
        account = self.get(username)
        if account is None:
            raise OperatorNotFound(f"There is no operator {username!r} at this node.")
        token = secrets.token_urlsafe(24)
        until = (now or datetime.now(UTC)) + ENROL_VALID
        update = {"enrol_hash": _token_hash(token), "enrol_until": until}
        self.put(account.model_copy(update=update))
        return token
