"""Group commit of the identity nodes' lookups, verifies and searches (R2, R12, R14, R23;
docs/architecture.md, "Group commit").

One writer thread per identity store takes the calls that are waiting, runs each
call's work (its reads and its decision) in one transaction, and writes what they
all provide at once: every provision row with its leaf in the provision log (one
advance of that log's head), and every audit entry (one lock of the audit head, one
advance and one signature of it). It commits, and only then answers each call: no
answer leaves the node before the provision it tells of is on record.

A call that is refused, or whose input is bad, raises from its work: the writer
drops what that call provided, keeps its refusal's audit entry, and answers it with
its error once the others are committed with it. The work only reads (what it
provides goes into its ``Pending``), so a failed call leaves the transaction as it
was. A database error or any failure while writing fails the whole group: the
transaction rolls back, nothing of it is written and every call of it gets the error.

Calls group by themselves: while a group is written, the calls that arrive wait, and
form the next group (at most ``MAX_GROUP``); no call waits for others to come. The
writer waits for the writers' turn (``IdentityStore.group_transaction``) before it
takes the calls, so the calls that arrive while an update batch is applied join too.

Awaited from a route (``run``), a call leaves the event loop free while the database
works; a plain thread can wait for it too (``call``). ``close`` drains: every call
taken in before it is written and answered, and the thread stops.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from jukinet.audit import log as audit
from jukinet.errors import StorageFull
from jukinet.nodes.identity import provision_requests as kept
from jukinet.nodes.identity import provision_store as q

if TYPE_CHECKING:
    from jukinet.nodes.identity.store import IdentityStore

__all__ = ["MAX_GROUP", "GroupWriter", "Pending", "Stats", "Work"]

T = TypeVar("T")

MAX_GROUP = 64  # calls per transaction: a group's reads take about 0.1-0.2 ms a call
IDLE = 5.0  # seconds without a call after which the thread stops (the next call starts it)

log = logging.getLogger("jukinet.node")


@dataclass
class Pending:
    """What one call provides, written with its group: provision rows and audit entries,
    and the security events to log once they are committed (``after``).

    A refusal (``refuse``) is written even when the call then fails: it is on record.
    """

    provided: list[q.Provided] = field(default_factory=list)
    requests: list[kept.Kept] = field(default_factory=list)  # the signed requests behind them
    drafts: list[audit.Draft] = field(default_factory=list)
    after: list[Callable[[], None]] = field(default_factory=list)
    refusals: list[audit.Draft] = field(default_factory=list)
    refused_after: list[Callable[[], None]] = field(default_factory=list)

    def refuse(self, draft: audit.Draft, then: Callable[[], None]) -> None:
        self.refusals.append(draft)
        self.refused_after.append(then)

    def failed(self) -> None:
        """The call failed: nothing of it is written but its refusals."""
        self.provided.clear()
        self.requests.clear()
        self.drafts.clear()
        self.after.clear()


# A call's work: its reads and decision inside the group's transaction; what it
# provides goes into the Pending; it returns the answer, or raises the call's error.
Work = Callable[[Connection, Pending], T]


@dataclass(frozen=True, slots=True)
class Stats:
    """What the writer did since the store was opened."""

    calls: int  # calls answered (with an answer or an error)
    groups: int  # transactions committed: one audit head signature each, at most
    failed: int  # groups rolled back (every call of them got the error)


class _Call(Generic[T]):
    """One call waiting: its work, and where its answer goes."""

    __slots__ = ("future", "loop", "work")

    def __init__(
        self,
        work: Work[T],
        future: asyncio.Future[T] | concurrent.futures.Future[T],
        loop: asyncio.AbstractEventLoop | None,
    ) -> None:
        self.work, self.future, self.loop = work, future, loop


def _settle(answers: list[tuple[Any, Any, BaseException | None]]) -> None:
    """Answer calls awaited on an event loop (runs on that loop)."""
    for future, result, error in answers:
        if future.done():  # the route was cancelled (its client went away)
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


class GroupWriter:
    """The one writer thread of an identity store's provision calls (see the module)."""

    def __init__(self, store: IdentityStore, max_group: int = MAX_GROUP) -> None:
        self.store = store
        self.max_group = max_group
        self._queue: deque[_Call[Any]] = deque()
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closing = False
        self._calls = self._groups = self._failed = 0

    # --- taking calls in ------------------------------------------------------
    async def run(self, work: Work[T]) -> T:
        """The answer of ``work``, once its group is committed; the event loop runs on."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._put(_Call(work, future, loop))
        return await future

    def submit(self, work: Work[T]) -> concurrent.futures.Future[T]:
        """A future of the answer of ``work``, set once its group is committed."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._put(_Call(work, future, None))
        return future

    def call(self, work: Work[T]) -> T:
        """The answer of ``work`` (this thread waits for its group's commit)."""
        if threading.current_thread() is self._thread:  # a call from a call's work
            raise RuntimeError("the provision writer cannot wait for itself")
        return self.submit(work).result()

    @property
    def waiting(self) -> int:
        """Calls taken in and not yet in a group."""
        with self._ready:
            return len(self._queue)

    def stats(self) -> Stats:
        with self._ready:
            return Stats(self._calls, self._groups, self._failed)

    def _put(self, call: _Call[Any]) -> None:
        with self._ready:
            self._queue.append(call)
            if self._thread is None:
                self._closing = False
                self._thread = threading.Thread(
                    target=self._loop, name=f"provision writer {self.store.node_id}", daemon=True
                )
                self._thread.start()
            self._ready.notify()

    def close(self) -> None:
        """Write and answer every call taken in, then stop the thread (the node stops)."""
        with self._ready:
            thread = self._thread
            self._closing = True
            self._ready.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        done = self.stats()
        if done.calls:  # what group commit did, for the node's operators
            log.info("provision writer of %s: %d call(s) in %d group(s), %d group(s) failed",
                     self.store.node_id, done.calls, done.groups, done.failed)  # fmt: skip

    # --- the writer thread ----------------------------------------------------
    def _loop(self) -> None:
        try:
            while True:
                with self._ready:
                    while not self._queue:
                        if self._closing or (not self._ready.wait(IDLE) and not self._queue):
                            self._thread = None  # under the lock: the next call starts one
                            return
                self._commit()
        finally:
            with self._ready:
                if self._thread is threading.current_thread():  # ended by an exception
                    self._thread = None

    def _take(self) -> list[_Call[Any]]:
        with self._ready:
            count = min(len(self._queue), self.max_group)
            return [self._queue.popleft() for _ in range(count)]

    def _commit(self) -> None:
        group: list[_Call[Any]] = []

        def take() -> None:  # the writers' turn has come: the calls waiting now
            group.extend(self._take())

        answers: list[tuple[_Call[Any], Any, BaseException | None]] = []
        pendings: list[Pending] = []
        try:
            with self.store.group_transaction(take) as (conn, head):
                for call in group:
                    pending = Pending()
                    try:
                        answers.append((call, call.work(conn, pending), None))
                    except (SQLAlchemyError, StorageFull):
                        raise  # the transaction itself failed: the group fails
                    except Exception as exc:  # this call's error: the others go on
                        pending.failed()
                        answers.append((call, None, exc))
                    pendings.append(pending)
                write(conn, self.store, head, pendings)
        except BaseException as exc:  # rolled back: nothing written, every call gets the error
            group = group or self._take()
            log.error("a group of %d provision call(s) was not written: %s", len(group), exc)
            with self._ready:
                self._failed += 1
                self._calls += len(group)
            self._answer([(call, None, exc) for call in group])
            if not isinstance(exc, Exception):
                raise  # the thread is told to end (its calls are answered)
            return
        with self._ready:
            self._groups += 1
            self._calls += len(group)
        for pending in pendings:
            for then in (*pending.after, *pending.refused_after):
                try:
                    then()
                except Exception:  # a security log line lost is no reason to withhold answers
                    log.exception("a provision's security event was not logged")
        self._answer(answers)

    @staticmethod
    def _answer(answers: list[tuple[_Call[Any], Any, BaseException | None]]) -> None:
        on_loops: dict[asyncio.AbstractEventLoop, list[tuple[Any, Any, BaseException | None]]] = {}
        for call, result, error in answers:
            future = call.future
            if isinstance(future, concurrent.futures.Future):
                if future.done():
                    continue
                if error is not None:
                    future.set_exception(error)
                else:
                    future.set_result(result)
            elif call.loop is not None:
                on_loops.setdefault(call.loop, []).append((call.future, result, error))
        for loop, settled in on_loops.items():  # one wake-up of each loop per group
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits for these
                loop.call_soon_threadsafe(_settle, settled)


def write(
    conn: Connection, store: IdentityStore, head: audit.Head, pendings: list[Pending]
) -> None:
    """What the calls of a group provide, in the group's transaction, in call order: the
    provision rows (one provision log append, and a run of the person index when one is
    due), then the audit entries (one head advance and signature)."""
    provided = [c for p in pendings for c in p.provided]
    if provided:
        q.log_calls(conn, provided, store.disclosure_secret(conn))
        # A full run of new rows goes into the person index here too, so that on a node
        # answering only lookups a disclosure never has a long backlog to fold in.
        q.index_persons(conn)
    kept.log_requests(conn, [r for p in pendings for r in p.requests])
    drafts = [d for p in pendings for d in (*p.drafts, *p.refusals)]
    audit.append(conn, store.key, store.code, drafts, head)
