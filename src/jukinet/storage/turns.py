"""Turns for the writers of one database on one host (SQLite: the window's CLI and the node).

SQLite lets one writer in at a time; the others wait in its busy handler, which sleeps
in growing steps (up to 100 ms) and may lose the race again and again: under a clerk's
steady load the node's delivery worker waited seconds to record an acknowledgement. So
the writers of a municipality's register first take turns on a lock file in its home
(``flock``), where a waiter goes in as soon as the holder is done.

The turn is only a queue in front of the database, never what keeps data consistent
(SQLite's own lock does that): a writer that cannot get its turn within ``patience``
seconds goes on without it. So a transaction opened inside another one of the same
process (which would otherwise wait for itself) only loses the queue, not its way.
Hand-written on ``fcntl``: the standard library has the lock, no library adds to it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["WriterTurns"]


class WriterTurns:
    """Call it for a context manager that holds the turn at ``path`` while inside; it
    gives whether the turn was had (False: out of patience, or no lock file)."""

    def __init__(self, path: Path, patience: float = 30.0) -> None:
        self.path = path
        self._patience = patience

    @contextlib.contextmanager
    def __call__(self) -> Iterator[bool]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:  # a read-only or full home: the database's own lock still holds
            yield False
            return
        try:
            deadline = time.monotonic() + self._patience
            had = False
            while not had:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    had = True
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.001)
                except OSError:
                    break
            yield had
        finally:
            os.close(fd)  # releases the lock with its open file description
