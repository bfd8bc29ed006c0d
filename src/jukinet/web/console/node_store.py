"""The national node's own database, opened by the console: the audit log its web
operators' sign-ins and orders go into (the entries the CLI's use of the node makes
there, R12), and the audit checkpoints the console shows (R25)."""

from __future__ import annotations

import threading
from pathlib import Path

from jukinet.audit import checkpoints
from jukinet.audit.log import Draft
from jukinet.nodes.national import service
from jukinet.nodes.national.store import NationalStore


class NodeStore:
    def __init__(self, home: Path) -> None:
        self.home = home
        self._store: NationalStore | None = None
        self._lock = threading.Lock()

    def _open(self) -> NationalStore:
        with self._lock:
            if self._store is None:
                self._store = service.open_node(self.home)
            return self._store

    def audit(self, actor: str, action: str, target: str, outcome: str, detail: str) -> None:
        self._open().audit_alone(Draft(actor, action, target, outcome, detail))

    def checkpoints(self) -> list[checkpoints.Stored]:
        """The node's signed checkpoints, newest first, with any cosignature lines."""
        with self._open().transaction() as conn:
            return list(reversed(checkpoints.every(conn)))
