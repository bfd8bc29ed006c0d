"""Benchmark: identity update propagation, municipality -> prefecture -> national.

    .venv/bin/python -m bench.propagation [--rate 200] [--seconds 20]
    .venv/bin/python -m bench.propagation --drain 20000

Starts a network of real processes (national, one prefecture, one municipality;
SQLite; mTLS on loopback) with ``jukinet network up``, records births at the
municipality's window at a steady rate, and measures for every update the time
from its recording at the municipality to its application at the national node
(both stamped on this machine's clock), and the throughput.

``--drain N`` measures the pipeline's own ceiling instead: N births are recorded at
the window while the network is down (they wait in the municipality's outbox), then
the network is started and the rate at which the national node applies them is
measured, from the start (the nodes' start-up included) to the last one applied. At
a steady rate the window's recording, not the pipeline, bounds what reaches the
national node.

The floor: the same updates written straight into a national node's database by
its own service (``IdentityStore.apply_batch``), one per transaction, no network.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import closing
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import text

from jukinet.card.machine import CardChip
from jukinet.card.reader import InProcessReader
from jukinet.deploy.network import init_network, write_topology
from jukinet.domain import events as ev
from jukinet.domain.access import Role, Session
from jukinet.domain.codes import LocalGovernmentCode
from jukinet.domain.identity import Sex
from jukinet.domain.record import Address, Name
from jukinet.keys import NodeKey
from jukinet.network.layout import NetworkLayout
from jukinet.network.messages import MAX_BATCH, MAX_POOL, IdentityUpdate, UpdateBatch
from jukinet.network.topology import free_port_block, load_topology
from jukinet.nodes.identity.authority import admit_to_national
from jukinet.nodes.municipality import operator_cards, service, staff
from jukinet.nodes.municipality.operators import get
from jukinet.nodes.municipality.setup import open_register
from jukinet.nodes.municipality.store import RegisterStore
from jukinet.nodes.national import pools
from jukinet.nodes.national import service as national
from jukinet.seed.places import Places

TODAY = date.today()
EXE = Path(sys.executable).with_name("jukinet")


def _topology(base: int) -> str:
    return f"""[network]
name = "bench"
[national]
port = {base}
[[prefectures]]
code = "130001"
port = {base + 1}
[[municipalities]]
code = "131016"
port = {base + 2}
residents = 10
"""


class Peer:
    node_id, role, code = "prefecture:130001", "prefecture", "130001"


def _pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100)[p - 1]


def _session(store: RegisterStore, username: str) -> Session:
    """A session with an operator card in process (bound now), without the password."""
    with store.transaction() as tx:
        op = get(tx.conn, username)
        card = operator_cards.bind(tx.conn, store.key, op)
        reader = InProcessReader(CardChip(card.content))
        return Session(op, operator_cards.check_card(tx.conn, store.key, op, reader))


def run(rate: float, seconds: float, drain: int = 0) -> None:
    count = drain or int(rate * seconds)
    with tempfile.TemporaryDirectory() as tmp, Places() as places:
        root = Path(tmp) / "net"
        topo_file = Path(tmp) / "bench.toml"
        topo_file.write_text(_topology(free_port_block(3)))
        topo = load_topology(topo_file, places)
        layout = init_network(topo, places, root, pool_size=count + 3000)
        write_topology(layout, topo_file)
        home = layout.node("municipality:131016")
        store = open_register(home)
        admin = _session(store, "admin")
        staff.add(
            store, admin, username="clerk", full_name="Bench Clerk", role=Role.CLERK,
            password="bench-password-1", trained_on=TODAY, pledge_signed_on=TODAY,
        )  # fmt: skip
        clerk = _session(store, "clerk")
        parent = _parent(store, clerk)
        if drain:
            _record(store, clerk, parent, count, rate=0.0)
        started = datetime.now(UTC)  # the drain is timed from here: node start-up included
        up = subprocess.Popen(
            [str(EXE), "network", "up", str(root)], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )  # fmt: skip
        assert up.stdout is not None
        for line in up.stdout:
            if "is up;" in line:
                break
        threading.Thread(target=lambda: [None for _ in up.stdout or ()], daemon=True).start()
        try:
            cpu_before = _node_cpu(up.pid)
            window_before = time.process_time()
            offered = 0.0 if drain else _record(store, clerk, parent, count, rate)
            window_cpu = time.process_time() - window_before
            latencies, span = _wait_and_measure(layout, count, since=started if drain else None)
            cpu = {k: v - cpu_before.get(k, 0.0) for k, v in _node_cpu(up.pid).items()}
        finally:
            up.send_signal(signal.SIGINT)
            up.wait(timeout=60)
            store.close()
        floor = batched = _floor(Path(tmp) / "floor", count)
        if drain:
            batched = _floor(Path(tmp) / "floor-batched", count, per=MAX_BATCH)
    if drain:
        _report_drain(count, span, floor, batched, cpu)
        return
    print(f"\n[propagation, {count:,} births at {rate:.0f}/s offered ({offered:.0f}/s achieved)]")
    p50, p99 = _pct(latencies, 50) * 1000, _pct(latencies, 99) * 1000
    print(
        f"  municipality -> national visible: p50 {p50:.0f} ms  p99 {p99:.0f} ms  "
        f"max {max(latencies) * 1000:.0f} ms"
    )
    print(f"  throughput at national          : {count / span:,.0f} updates/s")
    print("  floor: the same updates applied directly at national, one per transaction:")
    print(
        f"    {floor[0]:,.0f} updates/s, p50 {floor[1] * 1000:.2f} ms, p99 {floor[2] * 1000:.2f} ms"
    )
    print(f"  throughput / floor              : {count / span / floor[0]:.2f}")
    print(f"  CPU per update: window (this process) {window_cpu / count * 1e6:,.0f} µs", end="")
    for name, seconds in sorted(cpu.items()):
        print(f", {name} {seconds / count * 1e6:,.0f} µs", end="")
    print()
    print(f"  load average (1, 5, 15 min)     : {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


def _record(store: RegisterStore, clerk: Session, parent: str, count: int, rate: float) -> float:
    """Record ``count`` births at the window, at ``rate`` a second (0: as fast as the
    window goes); the rate achieved."""
    start = time.perf_counter()
    for i in range(count):
        if rate:
            pause = start + i / rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
        child = Name("山田", f"子{i}", "ヤマダ", "コ")
        birth = ev.Birth(parent, child, Sex.FEMALE, TODAY, TODAY)
        service.record_event(store, clerk, birth, TODAY)
    return count / (time.perf_counter() - start)


def _report_drain(
    count: int,
    span: float,
    floor: tuple[float, float, float],
    batched: tuple[float, float, float],
    cpu: dict[str, float],
) -> None:
    print(f"\n[propagation, {count:,} births waiting in the outbox, then the network up]")
    print(f"  drained at national             : {count / span:,.0f} updates/s ({span:.1f} s)")
    print("  floor: the same updates applied directly at national, one per transaction:")
    print(
        f"    {floor[0]:,.0f} updates/s, p50 {floor[1] * 1000:.2f} ms, p99 {floor[2] * 1000:.2f} ms"
    )
    print(f"  throughput / floor              : {count / span / floor[0]:.2f}")
    print(f"  floor: the same applied directly at national, {MAX_BATCH:,} per transaction:")
    print(f"    {batched[0]:,.0f} updates/s")
    print(f"  throughput / batched floor      : {count / span / batched[0]:.2f}")
    print("  CPU per update", end="")
    for name, seconds in sorted(cpu.items()):
        print(f", {name} {seconds / count * 1e6:,.0f} µs", end="")
    print()
    print(f"  load average (1, 5, 15 min)     : {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


def _node_cpu(root: int) -> dict[str, float]:
    """CPU seconds (user + system) of each node process under ``root`` (Linux /proc),
    named by the node kind on its command line."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[str, float] = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        proc = Path("/proc") / str(pid)
        try:
            for task in (proc / "task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            words = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # gone meanwhile
        line = " ".join(w.decode(errors="replace") for w in words)
        kind = next((k for k in ("national", "prefecture", "municipality") if k in line), None)
        if kind is not None and pid != root:
            found[kind] = found.get(kind, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return found


def _wait_and_measure(
    layout: NetworkLayout, count: int, since: datetime | None = None
) -> tuple[list[float], float]:
    """Latency of every update and the span from the first recorded (or ``since``) to
    the last applied at national."""
    db = layout.node("national:national") / "identities.db"
    deadline = time.monotonic() + 120 + count / 100
    while True:
        with closing(sqlite3.connect(db)) as conn:
            rows = conn.execute(
                "SELECT recorded_at, applied_at FROM identity_history "
                "WHERE change_reason = 'birth' AND name LIKE '山田 子%'"
            ).fetchall()
        if len(rows) >= count or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if len(rows) < count:
        raise SystemExit(f"only {len(rows)} of {count} updates reached the national node")
    pairs = [(datetime.fromisoformat(r), datetime.fromisoformat(a)) for r, a in rows]
    latencies = [(a - r).total_seconds() for r, a in pairs]
    first = since or min(r for r, _ in pairs)
    if since is not None:
        begun = min(a for _, a in pairs)
        after = (max(a for _, a in pairs) - begun).total_seconds()
        print(
            f"  (the first update reached national {(begun - since).total_seconds():.1f} s "
            f"after the network was started; from then on {count / after:,.0f} updates/s)"
        )
    last = max(a for _, a in pairs)
    return latencies, (last - first).total_seconds()


def _floor(home: Path, count: int, per: int = 1) -> tuple[float, float, float]:
    """The same updates applied straight into a national node's database by its own
    service, ``per`` updates a transaction: updates/s and p50, p99 of a transaction."""
    national.init_node(home, "national", "floor", None, NodeKey.generate())
    store = national.open_node(home)
    times = []
    try:
        # Codes the registry issued to the municipality, as its births use (R6): a code
        # never issued would be quarantined, not applied.
        codes: list[str] = []
        while len(codes) < count:
            ask = min(MAX_POOL, count - len(codes))
            codes += pools.issue_pool(store, "131016", ask, actor="bench").codes
        t0 = time.perf_counter()
        for first in range(1, count + 1, per):
            updates = [
                IdentityUpdate(
                    seq=i, origin="131016", resident_code=codes[i - 1], name=f"山田 子{i}",
                    date_of_birth=TODAY, sex="female", address="東京都千代田区丸の内一丁目1番1号",
                    status="resident", change_reason="birth", change_date=TODAY,
                    recorded_at=datetime.now(UTC),
                )
                for i in range(first, min(first + per, count + 1))
            ]  # fmt: skip
            s = time.perf_counter()
            store.apply_batch(
                Peer(), UpdateBatch(sender=Peer.node_id, updates=updates),
                authority=admit_to_national,
            )  # fmt: skip
            times.append(time.perf_counter() - s)
        rate = count / (time.perf_counter() - t0)
        with store.engine.connect() as conn:
            applied = conn.execute(text("SELECT count(*) FROM identities")).scalar_one()
        if applied != count:
            raise SystemExit(f"the floor applied {applied} of {count} updates")
    finally:
        store.close()
    return rate, _pct(times, 50), _pct(times, 99)


def _parent(store: RegisterStore, clerk: Session) -> str:
    """One resident to be the parent of every birth."""
    arrival = ev.MoveInFromAbroad(
        (ev.NewPerson(Name("山田", "花子", "ヤマダ", "ハナコ"), date(1990, 1, 1), Sex.FEMALE,
                      "世帯主", "東京都千代田区", "山田 花子"),),
        Address(LocalGovernmentCode("131016"), "東京都千代田区", "丸の内", "一丁目1番1号"),
        "アメリカ合衆国", TODAY, TODAY,
    )  # fmt: skip
    return service.record_event(store, clerk, arrival, TODAY).records[0].resident_code


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--drain", type=int, default=0, metavar="N",
        help="record N births with the network down, then time the drain",
    )  # fmt: skip
    args = parser.parse_args()
    print(f"jukinet propagation benchmark — {date.today()} — {platform.node()} "
          f"({os.cpu_count()} cores, Python {platform.python_version()})")  # fmt: skip
    run(args.rate, args.seconds, args.drain)


if __name__ == "__main__":
    main()
