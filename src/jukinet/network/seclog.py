"""A node's security events as ECS-shaped JSON lines: ``log/security.jsonl`` (R7).

One line per security-relevant event (a failed TLS handshake, a missing or bad
signature, a replay, a refused peer, an unknown path, a provision and how many
residents it touched), in the shape of the Elastic Common Schema::

    {"@timestamp": "2026-12-02T03:44:46.123Z",
     "event": {"kind": "event", "category": ["authentication"], "type": ["denied"],
               "outcome": "failure", "action": "signature", "reason": "..."},
     "source": {"ip": "10.0.0.2", "port": 40312},
     "tls": {"client": {"subject": "CN=agency:onkyu"}},
     "observer": {"name": "municipality:131016", "type": "municipality"},
     "http": {"request": {"id": "...", "method": "POST"}}, "url": {"path": "/updates"},
     "jukinet": {"caller": "agency:onkyu", "residents": 3, "code": "signature-refused"}}

The key order is fixed (``@timestamp`` first, then ``event``, ``source``, ...) and
``json.dumps`` escapes every quote inside a value, so a filter that reads the line
with a regular expression (fail2ban, ``deploy/fail2ban/filter.d/jukinet.conf``)
cannot be misled by a reason or a path a caller chose. docs/ids.md is the contract.

Hand-written rather than ``ecs-logging``: that library formats ``logging`` records
(and adds ``log.*``, ``process.*`` fields we do not want to promise); here the
events are built by the code that knows their fields, and the shape is the contract
an outside consumer is tested against, so it lives in one short function.
Each line is also handed to the node's rules engine (``network/ids.py``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jukinet.network.ids import Engine

__all__ = ["SECURITY_LOG", "SecurityLog", "ecs_line", "for_node", "subject_text"]

SECURITY_LOG = Path("log") / "security.jsonl"  # in the node's home

# What each action is, in ECS's categories and types.
_SHAPE: dict[str, tuple[list[str], list[str]]] = {
    "tls-handshake": (["network", "authentication"], ["connection", "denied"]),
    "signature": (["authentication"], ["denied"]),
    "replay": (["authentication"], ["denied"]),
    "peer-refused": (["iam"], ["denied"]),
    "outside-scope": (["iam"], ["denied"]),
    "unknown-path": (["web"], ["denied"]),
    "request-refused": (["web"], ["denied"]),
    "blocked": (["network"], ["denied"]),
    "request": (["web"], ["access"]),
    "provision": (["database"], ["access"]),
    "provision-refused": (["database"], ["denied"]),
}


_fallback = logging.getLogger("jukinet.security")


def ecs_line(record: dict[str, Any]) -> str:
    """One record as its JSON line (no newline); non-ASCII kept, keys in record order."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def subject_text(cert: dict[str, Any] | None) -> str | None:
    """A peer certificate's subject (``ssl.getpeercert()``) as ``CN=...,O=...``."""
    if not cert or "subject" not in cert:
        return None
    parts = [f"{_SHORT.get(k, k)}={v}" for rdn in cert["subject"] for k, v in rdn]
    return ",".join(parts) or None


_SHORT = {
    "commonName": "CN",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
}


@dataclass
class SecurityLog:
    """A node's security log: appends JSON lines to ``path`` and feeds ``engine``."""

    node_id: str
    path: Path | None = None
    engine: Engine | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _failing: bool = field(default=False, repr=False)
    _fd: int | None = field(default=None, repr=False)
    _file_id: tuple[int, int] | None = field(default=None, repr=False)

    @classmethod
    def in_home(cls, home: Path, node_id: str, engine: Engine | None = None) -> SecurityLog:
        """The log of the node in ``home`` (registered: ``for_node(node_id)`` finds it)."""
        path = home / SECURITY_LOG
        path.parent.mkdir(parents=True, exist_ok=True)
        log = cls(node_id, path, engine)
        _NODES[node_id] = log
        return log

    def event(
        self,
        action: str,
        outcome: str,
        reason: str = "",
        *,
        source: tuple[str, int] | None = None,
        subject: str | None = None,
        caller: str | None = None,
        request_id: str | None = None,
        method: str | None = None,
        path: str | None = None,
        code: str | None = None,
        residents: int | None = None,
        touched: Iterable[str] = (),
        affair: str | None = None,
        kind: str = "event",
        at: datetime | None = None,
    ) -> dict[str, Any]:
        """Write one event and hand it to the rules engine; the record written.

        ``touched`` (keys of the residents a request touched, never written) lets the
        engine count distinct residents per caller; ``residents`` is how many."""
        when = at or datetime.now(UTC)
        category, types = _SHAPE.get(action, (["intrusion_detection"], ["info"]))
        event: dict[str, Any] = {
            "kind": kind,
            "category": category,
            "type": types,
            "outcome": outcome,
            "action": action,
        }
        if reason:
            event["reason"] = reason
        record: dict[str, Any] = {
            "@timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z",
            "event": event,
        }
        if source is not None:
            record["source"] = {"ip": source[0], "port": source[1]}
        if subject:
            record["tls"] = {"client": {"subject": subject}}
        record["observer"] = {"name": self.node_id, "type": self.node_id.split(":", 1)[0]}
        if request_id or method:
            record["http"] = {
                "request": {k: v for k, v in (("id", request_id), ("method", method)) if v}
            }
        if path:
            record["url"] = {"path": path}
        own = {
            k: v
            for k, v in (
                ("caller", caller),
                ("code", code),
                ("residents", residents),
                ("affair", affair),
            )
            if v is not None
        }
        if own:
            record["jukinet"] = own
        self.write(record)
        if self.engine is not None:
            for alert in self.engine.observe(record, touched=tuple(touched)):
                self.write(alert)
        return record

    def write(self, record: dict[str, Any]) -> None:
        """Append one line. A log that cannot be written (a full disk) does not stop the
        node: the failure is said once on the ``jukinet.security`` logger (stderr when
        its file cannot be written either), as Python's logging handlers do, and the
        node goes on answering (a write then gets its own clear refusal: 507)."""
        if self.path is None:
            return
        line = (ecs_line(record) + "\n").encode("utf-8")
        with self._lock:
            try:
                fd = self._open(self.path)
                while line:
                    line = line[os.write(fd, line) :]
            except OSError as exc:
                self._close()
                if not self._failing:
                    _fallback.error("security log %s cannot be written: %s", self.path, exc)
                self._failing = True
            else:
                self._failing = False

    def _open(self, path: Path) -> int:
        """The log's file descriptor (O_APPEND), kept open between lines; reopened when
        the file at ``path`` is no longer the one held (rotated away or removed), as
        ``logging.handlers.WatchedFileHandler`` does: one ``stat`` a line instead of an
        open and a close (the security log takes two lines a request)."""
        try:
            st = os.stat(path)
            now: tuple[int, int] | None = (st.st_dev, st.st_ino)
        except FileNotFoundError:
            now = None
        if self._fd is not None and now == self._file_id:
            return self._fd
        self._close()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        held = os.fstat(fd)
        self._fd, self._file_id = fd, (held.st_dev, held.st_ino)
        return fd

    def __del__(self) -> None:  # a log replaced in its home (tests, a restart) lets go of its file
        self._close()

    def _close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd = self._file_id = None


_NODES: dict[str, SecurityLog] = {}


def for_node(node_id: str) -> SecurityLog | None:
    """The security log of ``node_id`` in this process (code below the app: provisions)."""
    return _NODES.get(node_id)
