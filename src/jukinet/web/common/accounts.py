"""Web operator accounts kept in a JSON file of the node's home (0600): the argon2
password hash (as municipality operators have, ``nodes/municipality/operators.py``),
the WebAuthn credentials registered to the account (the operator card), a one-time
registration link's hash and expiry, and optionally the operator's sealed signing key.

Apps whose operators live elsewhere (a municipality's database) implement the same
few calls; the sign-in routes need only ``get``, ``put``, ``check_password``.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, ConfigDict

from jukinet.domain.access import MAX_FAILED_LOGINS
from jukinet.errors import AuthenticationFailed
from jukinet.web.common.sealed_key import SealedKey

ENROL_VALID = timedelta(hours=24)


class Credential(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str  # base64url credential id
    public_key: str  # base64url COSE public key
    sign_count: int = 0


class Account(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str
    password_hash: str
    credentials: list[Credential] = []
    user_handle: str  # base64url, random: WebAuthn's user id (never the name)
    enrol_hash: str | None = None  # sha256 of the one-time registration token
    enrol_until: datetime | None = None
    sealed_key: SealedKey | None = None
    failed_attempts: int = 0  # wrong passwords and refused cards in a row (R11)
    locked: bool = False  # after MAX_FAILED_LOGINS; a new registration link unlocks


class AccountLocked(AuthenticationFailed):
    """Too many failed sign-ins: the account is locked until an administrator acts."""


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class AccountFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.hasher = PasswordHasher()

    def _all(self) -> dict[str, Account]:
        if not self.path.exists():
            return {}
        raw = json.loads(self.path.read_text(encoding="utf-8"))
        return {name: Account.model_validate(a) for name, a in raw.items()}

    def get(self, username: str) -> Account | None:
        with self._lock:
            return self._all().get(username)

    def put(self, account: Account) -> None:
        with self._lock:
            every = self._all()
            every[account.username] = account
            text = json.dumps({n: a.model_dump(mode="json") for n, a in every.items()}, indent=1)
            tmp = self.path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text + "\n")
            os.replace(tmp, self.path)

    def create(self, username: str, password: str) -> Account:
        account = Account(
            username=username,
            password_hash=self.hasher.hash(password),
            user_handle=secrets.token_urlsafe(16),
        )
        self.put(account)
        return account

    def check_password(self, username: str, password: str) -> Account:
        """The account, if ``password`` is its password; AuthenticationFailed otherwise
        (the same words whether the name or the password was wrong), counted against
        the account, which locks after MAX_FAILED_LOGINS (AccountLocked), as a
        municipality operator's does."""
        account = self.get(username)
        if account is not None and account.locked:
            raise AccountLocked(
                f"{username} is locked after {MAX_FAILED_LOGINS} failed sign-ins; "
                "an administrator unlocks it with a new registration link (jukinet web enrol)."
            )
        try:
            if account is None:
                raise VerificationError
            self.hasher.verify(account.password_hash, password)
        except (VerificationError, InvalidHashError):
            if account is not None:
                self.count_failure(account.username)
            raise AuthenticationFailed("The username or the password is wrong.") from None
        return account

    def count_failure(self, username: str) -> None:
        """One more failed sign-in (a wrong password or a refused card)."""
        account = self.get(username)
        if account is not None:
            failures = account.failed_attempts + 1
            self.put(account.model_copy(update={
                "failed_attempts": failures, "locked": failures >= MAX_FAILED_LOGINS,
            }))  # fmt: skip

    def signed_in(self, account: Account) -> None:
        """Both factors passed: the failure count starts again."""
        self.put(account.model_copy(update={"failed_attempts": 0}))

    def new_enrolment(self, username: str, now: datetime | None = None) -> str:
        """A fresh one-time registration token for ``username`` (the old one void)."""
        account = self.get(username)
        if account is None:
            raise AuthenticationFailed(f"There is no web account {username!r}.")
        token = secrets.token_urlsafe(24)
        until = (now or datetime.now(UTC)) + ENROL_VALID
        # The administrator's act also unlocks an account locked by failed sign-ins.
        unlocked = {"locked": False, "failed_attempts": 0}
        self.put(account.model_copy(update={"enrol_hash": _token_hash(token), "enrol_until": until,
                                             **unlocked}))  # fmt: skip
        return token

    def by_enrolment(self, token: str, now: datetime | None = None) -> Account | None:
        """The account a valid, unused registration token is for."""
        wanted = _token_hash(token)
        at = now or datetime.now(UTC)
        with self._lock:
            for account in self._all().values():
                if (account.enrol_hash is not None and account.enrol_until is not None
                        and secrets.compare_digest(account.enrol_hash, wanted)
                        and at < account.enrol_until):  # fmt: skip
                    return account
        return None
