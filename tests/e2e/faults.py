"""What the fault tests (test_faults.py) do and count on a running network.

A ``Window`` is a clerk recording events in a municipality's register, in this process,
as ``jukinet event`` would; the counts are read from the nodes' own databases (their
outboxes, identity histories and audit logs) and from disclosure over mTLS.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import closing
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from jukinet.agency.client import AgencyClient
from jukinet.domain import events as ev
from jukinet.domain.record import Name
from jukinet.network import monitor
from jukinet.network.client import NodeClient
from jukinet.network.messages import DisclosureRequest, ProvisionEntry
from jukinet.network.messages_disclosure import ProvenDisclosure
from jukinet.network.supervisor import running_pid
from jukinet.nodes.municipality import service
from jukinet.nodes.municipality.setup import open_register
from tests.e2e.conftest import EXE, SHINJUKU, TODAY, Network, clerk_session, node_specs
from tests.helpers import MARUNOUCHI, arrival

HOLDERS = {"national:national": 0, "prefecture:130001": 1}  # port offsets (conftest)
ADDRESSES = {"municipality:131016": MARUNOUCHI, "municipality:131041": SHINJUKU}
Rows = list[tuple[Any, ...]]


def query(net: Network, node: str, sql: str, *args: object) -> Rows:
    """Rows of ``sql`` in the node's own database (its SQLite file, read beside the node)."""
    name = "register.db" if node.startswith("municipality:") else "identities.db"
    with closing(sqlite3.connect(net.home(node) / name, timeout=30)) as conn:
        return conn.execute(sql, args).fetchall()


class Window:
    """A clerk at a municipality's window (the clerk of ``conftest.clerk_session``)."""

    def __init__(self, net: Network, node: str) -> None:
        self.home, self.address = net.home(node), ADDRESSES[node]

    def __enter__(self) -> Window:
        self.session = clerk_session(self.home)
        self.store = open_register(self.home)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.store.close()

    def arrive(self, newcomer: ev.NewPerson) -> str:
        """A person moves in from abroad; their new resident code."""
        r = service.record_event(
            self.store, self.session, arrival(newcomer, address=self.address), TODAY
        )
        return r.records[0].resident_code

    def rename(self, code: str, given: str) -> None:
        name = Name("山田", given, "ヤマダ", "ヘンコウ")
        service.record_event(
            self.store, self.session, ev.NameChange(code, name, TODAY, TODAY), TODAY
        )

    @staticmethod
    def clerk(home: Path) -> None:
        clerk_session(home)  # sets the clerk's password the tests use

    @staticmethod
    def codes_of(net: Network, node: str) -> list[str]:
        """The codes of the municipality's residents, as the national node holds them (the
        residents disclosure answers the municipality about)."""
        sql = ("SELECT resident_code FROM identities WHERE origin = ? AND status = 'resident' "
               "ORDER BY resident_code")  # fmt: skip
        return [str(code) for (code,) in query(net, "national:national", sql, node.split(":")[1])]

    @staticmethod
    def held_at(net: Network, node: str, code: str) -> bool:
        return bool(query(net, node, "SELECT 1 FROM identities WHERE resident_code = ?", code))

    @staticmethod
    def audited_disclosures(net: Network, node: str, code: str) -> int:
        sql = "SELECT COUNT(*) FROM audit_log WHERE operation = 'disclosure' AND target = ?"
        return int(query(net, node, sql, code)[0][0])


def outbox_seq(net: Network, node: str) -> int:
    """The seq of the newest update in the node's outbox."""
    return int(query(net, node, "SELECT COALESCE(MAX(seq), 0) FROM outbox")[0][0])


def backlog(net: Network, node: str) -> int:
    rows = query(net, node, "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL")
    return int(rows[0][0])


def wait_for(condition: Callable[[], object], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(what)
        time.sleep(0.1)


def wait_until_restarted(net: Network, node: str, old_pid: int | None, timeout: float = 60) -> int:
    """The pid of ``node`` once it runs (as another process than ``old_pid``) and answers."""
    spec = next(s for s in node_specs(net) if s.node_id == node)
    deadline = time.monotonic() + timeout
    while True:
        pid = running_pid(net.layout, node)
        if pid is not None and pid != old_pid and asyncio.run(monitor.healthy(net.layout, spec)):
            return pid
        if time.monotonic() > deadline:
            pytest.fail(f"{node} did not come back")
        time.sleep(0.2)


def _key(code: object, recorded_at: object) -> tuple[str, datetime]:
    return str(code), datetime.fromisoformat(str(recorded_at))


def delivery_figures(net: Network, municipality: str, first: int, last: int) -> dict[str, int]:
    """Updates ``first + 1 .. last`` of the municipality's outbox, once delivered on: how
    many each holder applied, lost, applied twice, and out of each person's order."""
    wait_for(lambda: backlog(net, municipality) == 0 and backlog(net, "prefecture:130001") == 0,
             "the outboxes did not drain", timeout=90)  # fmt: skip
    seq_of: dict[tuple[str, datetime], int] = {}
    for seq, payload in query(net, municipality, "SELECT seq, payload FROM outbox WHERE seq > ? "
                                                 "AND seq <= ?", first, last):  # fmt: skip
        u = json.loads(str(payload))
        seq_of[_key(u["resident_code"], u["recorded_at"])] = int(seq)
    figures = {"updates": last - first, "at prefecture": 0, "at national": 0, "lost": 0,
               "duplicated": 0, "out of order": 0}  # fmt: skip
    origin = municipality.split(":")[1]
    for holder, label in (
        ("prefecture:130001", "at prefecture"),
        ("national:national", "at national"),
    ):
        history = query(net, holder, "SELECT resident_code, recorded_at FROM identity_history "
                                     "WHERE origin = ? ORDER BY id", origin)  # fmt: skip
        applied = [seq_of[k] for k in (_key(*row) for row in history) if k in seq_of]
        seen = Counter(applied)
        figures[label] = len(seen)
        figures["lost"] += len(seq_of) - len(seen)
        figures["duplicated"] += sum(n - 1 for n in seen.values())
        by_person: dict[str, list[int]] = {}
        for code, recorded_at in history:
            k = _key(code, recorded_at)
            if k in seq_of:
                by_person.setdefault(k[0], []).append(seq_of[k])
        figures["out of order"] += sum(s != sorted(s) for s in by_person.values())
    return figures


def disclosed(
    net: Network, municipality: str, codes: Iterable[str], holder: str, since: datetime
) -> dict[str, list[ProvisionEntry]]:
    """Each code's provisions by ``holder`` since ``since``: what ``POST /disclosure`` (R14)
    answers the municipality over mTLS, on one kept-alive connection."""
    url = net.url(HOLDERS[holder])

    async def ask() -> dict[str, list[ProvisionEntry]]:
        out = {}
        async with NodeClient(net.identity(municipality)) as client:
            for code in codes:
                request = DisclosureRequest(resident_code=code, verified_by="clerk", clerk="clerk")
                answer = ProvenDisclosure.model_validate(
                    await client.post(f"{url}/disclosure", request)
                )
                out[code] = [e for e in answer.provisions if e.at >= since]
        await asyncio.sleep(0.25)  # let the closed TLS transports finish closing
        return out

    return asyncio.run(ask())


async def looked_up(net: Network, agency: str, affair: str, code: str) -> bool:
    """An agency's lookup through the agency SDK: found or not."""
    async with AgencyClient.from_folder(net.layout.client(f"agency:{agency}")) as client:
        found = (await client.lookup(affair, code)).found
    await asyncio.sleep(0.25)
    return found


def started(*args: str) -> subprocess.Popen[str]:
    """``jukinet ARGS``, started (``finish`` it)."""
    return subprocess.Popen(
        [str(EXE), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


def agency_cli(net: Network, agency: str, *args: str) -> subprocess.Popen[str]:
    """``jukinet agency ARGS --as <the agency's folder>``, started."""
    return started("agency", *args, "--as", str(net.layout.client(f"agency:{agency}")))


def finish(process: subprocess.Popen[str], timeout: float = 60) -> tuple[str, str]:
    """The output of a started command; if it has not ended within ``timeout`` seconds it
    is killed and the test fails (a command that hangs is a defect)."""
    try:
        return process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"{process.args!r} hung:\n{out[-2000:]}{err[-2000:]}")
