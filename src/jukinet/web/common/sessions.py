"""Server-side sessions: an opaque random id in a Secure, HttpOnly, SameSite=Strict
cookie; everything else (who, the CSRF token, a pending WebAuthn challenge) stays on
the server, in memory. A session idle for longer than the timeout is gone; signing in
gives a new id (no fixation); signing out ends it."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

COOKIE = "jukinet_session"
IDLE_TIMEOUT = 15 * 60.0  # seconds


@dataclass
class WebSession:
    id: str
    csrf: str
    last_seen: float
    user: str | None = None  # set once both factors passed
    password_ok: str | None = None  # the account whose password passed, card pending
    challenge: bytes | None = None  # the WebAuthn challenge asked for, used once
    expired: bool = False  # a cookie came whose session had timed out
    data: dict[str, str] = field(default_factory=dict)


class Sessions:
    def __init__(self, idle_timeout: float = IDLE_TIMEOUT) -> None:
        self.idle_timeout = idle_timeout
        self._by_id: dict[str, WebSession] = {}
        self._lock = threading.Lock()

    def new(self, *, expired: bool = False) -> WebSession:
        s = WebSession(secrets.token_urlsafe(32), secrets.token_urlsafe(32), time.monotonic())
        s.expired = expired
        with self._lock:
            self._by_id[s.id] = s
        return s

    def get(self, session_id: str | None) -> WebSession | None:
        """The live session of ``session_id``, touched; None if unknown or idle too long."""
        if not session_id:
            return None
        now = time.monotonic()
        with self._lock:
            s = self._by_id.get(session_id)
            if s is None:
                return None
            if now - s.last_seen > self.idle_timeout:
                del self._by_id[session_id]
                return None
            s.last_seen = now
            return s

    def renew(self, old: WebSession) -> WebSession:
        """The same session under a new id (at sign-in), the old id forgotten."""
        with self._lock:
            self._by_id.pop(old.id, None)
            old.id = secrets.token_urlsafe(32)
            old.csrf = secrets.token_urlsafe(32)
            self._by_id[old.id] = old
        return old

    def end(self, s: WebSession) -> None:
        with self._lock:
            self._by_id.pop(s.id, None)
