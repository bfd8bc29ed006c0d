"""Waking a node's delivery worker from another process on the same host.

A clerk's CLI process writes the municipality's database directly; the node process,
which delivers the outbox, would only see the new update at its next poll. So after
its commit the writer sends one datagram to a Unix socket in the node's home, which
the delivery worker listens on (``Listener``), and the worker delivers at once.

The poke carries nothing and is best effort: the update is already committed in the
outbox, so a poke that is lost (no node running, the socket's queue full, the node
restarting) only costs the worker's fallback poll, never an update. Works the same
whatever the database (SQLite or PostgreSQL), since both processes share the home.

Hand-written on the standard library's ``socket``: a one-byte datagram needs no
library, and asyncio's ``add_reader`` lets the event loop wait on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path

__all__ = ["Listener", "poke", "wake_path"]

log = logging.getLogger("jukinet.network.wakeup")

# sockaddr_un holds 108 bytes including the terminating NUL.
_MAX_PATH = 107


def wake_path(home: Path) -> Path:
    """Where the node in ``home`` listens for pokes."""
    return home / "run" / "outbox.wake"


def _address(path: Path) -> str | None:
    """The socket address of ``path``: relative to the working directory if the
    absolute path is too long for a Unix socket, None if neither fits."""
    full = str(path.absolute())
    if len(full.encode()) <= _MAX_PATH:
        return full
    with contextlib.suppress(ValueError):
        rel = os.path.relpath(full)
        if len(rel.encode()) <= _MAX_PATH:
            return rel
    return None


def poke(path: Path) -> bool:
    """Tell the worker listening at ``path`` that the outbox has news; never raises.

    Returns whether the datagram was handed to a listener (for tests and logs).
    """
    address = _address(path)
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.setblocking(False)
            s.sendto(b"!", address)
    except OSError:  # no node listening, its queue full: the fallback poll finds the update
        return False
    return True


class Listener:
    """A bound datagram socket at ``path`` that calls ``wake`` on each poke."""

    def __init__(self, path: Path, wake: Callable[[], None]) -> None:
        self.path = path
        self._wake = wake
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Bind and listen on ``loop``; False (the worker polls only) if that fails."""
        address = _address(self.path)
        if address is None:
            log.warning("%s: path too long for a Unix socket; polling only", self.path)
            return False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()  # left by a node that was killed
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.setblocking(False)
            sock.bind(address)
        except OSError as exc:
            log.warning("%s: cannot listen for pokes (%s); polling only", self.path, exc)
            return False
        self._sock, self._loop = sock, loop
        loop.add_reader(sock.fileno(), self._drain)
        return True

    def _drain(self) -> None:
        sock = self._sock
        if sock is None:
            return
        while True:  # many pokes, one wake
            try:
                sock.recv(64)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
        self._wake()

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is None:
            return
        if self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(Exception):
                self._loop.remove_reader(sock.fileno())
        sock.close()
        with contextlib.suppress(OSError):
            self.path.unlink()
