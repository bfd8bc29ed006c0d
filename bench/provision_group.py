"""Benchmark: lookups at an identity node in groups, beside one call per transaction.

    .venv/bin/python -m bench.provision_group [--persons 20000] [--callers 32]
        [--seconds 5] [--pg postgresql://postgres@127.0.0.1:5432/test]

A national node's store with ``--persons`` identities (plain inserts, not measured);
``--callers`` concurrent asyncio callers each ask for lookups by code, without HTTP
(the node's own CPU for TLS, signatures and routing is ``bench.provision``'s):

- group commit: each caller awaits the store's provision writer (``GroupWriter.run``),
  as the route does — calls/s, p50, p99, and calls per group (per head signature);
- reference (each in its own process): the same work, one transaction per call (the
  writers' lock, one audit head lock and signature, one commit), each call in a worker
  thread (``asyncio.to_thread``) — what every lookup cost before group commit.

Both write the same rows and entries; the audit log verifies after each.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import insert

from jukinet.audit import log as audit
from jukinet.domain.codes import generate_resident_code
from jukinet.domain.legal_parse import load_shipped_legal_table
from jukinet.domain.names import fold
from jukinet.keys import NodeKey
from jukinet.network.messages import LookupRequest
from jukinet.nodes.identity import provision, provision_writer
from jukinet.nodes.identity.provision_writer import Pending
from jukinet.nodes.identity.tables import identities
from jukinet.nodes.national import service as national
from jukinet.nodes.national.store import NationalStore

AFFAIR, AGENCY = "national-pension-status", "pension-fund"


def build(home: Path, url: str, persons: int) -> list[str]:
    national.init_node(home, "national", "全国センター", url, NodeKey.generate())
    store = national.open_node(home)
    codes = [generate_resident_code() for _ in range(persons)]
    now = datetime.now(UTC).isoformat()
    born = date(1950, 5, 5)
    rows = [
        {"resident_code": c, "person_key": uuid.uuid4().hex, "name": "山田 太郎",
         "date_of_birth": born, "sex": "male", "address": "東京都千代田区丸の内一丁目1番1号",
         "status": "resident", "change_reason": "birth", "change_date": born,
         "origin": "131016", "recorded_at": now, "applied_at": now,
         "name_folded": fold("山田 太郎"), "address_folded": fold("東京都千代田区丸の内")}
        for c in dict.fromkeys(codes)
    ]  # fmt: skip
    with store.transaction() as conn:
        for i in range(0, len(rows), 10_000):
            conn.execute(insert(identities), rows[i : i + 10_000])
    store.close()
    return list(dict.fromkeys(codes))


def _alone(store: NationalStore, work: provision_writer.Work[object]) -> object:
    """One call in a transaction of its own: what a lookup was before group commit."""
    pending = Pending()
    with store.transaction() as conn:
        answer = work(conn, pending)
        provision_writer.write(conn, store, audit.lock_edge(conn), [pending])
    for then in pending.after:
        then()
    return answer


def measure(home: Path, codes: list[str], callers: int, seconds: float, grouped: bool) -> None:
    store = national.open_node(home)
    table = load_shipped_legal_table()
    latencies: list[float] = []

    async def caller(rng: random.Random, deadline: float) -> None:
        while time.perf_counter() < deadline:
            req = LookupRequest(affair=AFFAIR, resident_code=rng.choice(codes))
            work = provision.lookup_work(store, table, AGENCY, req)
            start = time.perf_counter()
            if grouped:
                answer = await store.provision_writer.run(work)
            else:
                answer = await asyncio.to_thread(_alone, store, work)
            latencies.append(time.perf_counter() - start)
            assert answer.found  # type: ignore[attr-defined]

    async def go() -> float:
        deadline = time.perf_counter() + seconds
        t0 = time.perf_counter()
        await asyncio.gather(*(caller(random.Random(i), deadline) for i in range(callers)))
        return time.perf_counter() - t0

    elapsed = asyncio.run(go())
    stats = store.provision_writer.stats()
    with store.engine.connect() as conn:
        intact = audit.verify(conn, store.key.public).intact
    store.close()
    q = statistics.quantiles(latencies, n=100)
    per_group = f", {stats.calls / stats.groups:.1f} calls/group" if stats.groups else ""
    name = "group commit" if grouped else "reference: one transaction per call"
    print(f"  {name:34} {len(latencies) / elapsed:7,.0f} calls/s  p50 {q[49] * 1000:6.2f} ms  "
          f"p99 {q[98] * 1000:6.2f} ms{per_group}; audit log intact: {intact}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--callers", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--pg", default=os.environ.get("JUKINET_TEST_PG_URL"))
    parser.add_argument("--run", choices=["group", "alone"], help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:  # one measurement, in a process of its own
        codes = (args.home / "codes").read_text().split()
        measure(args.home, codes, args.callers, args.seconds, args.run == "group")
        return
    print(f"jukinet group commit benchmark — {date.today()} — {platform.node()} "
          f"({os.cpu_count()} cores, Python {platform.python_version()}); "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    databases = [("SQLite", None)] + ([("PostgreSQL", args.pg)] if args.pg else [])
    for label, url in databases:
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp) / "national"
            codes = build(home, url or f"sqlite:///{home.parent / 'national.db'}", args.persons)
            (home / "codes").write_text("\n".join(codes))
            print(f"[lookup, {label}, {args.persons:,} identities, {args.callers} callers]")
            for run in ("group", "alone"):
                subprocess.run(
                    [sys.executable, "-m", "bench.provision_group", "--run", run,
                     "--home", str(home), "--callers", str(args.callers),
                     "--seconds", str(args.seconds)],
                    check=True,
                )  # fmt: skip
            if url:
                _drop(url)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


def _drop(url: str) -> None:
    """Empty the PostgreSQL database for the next run (the benchmark's own tables)."""
    from sqlalchemy import MetaData

    from jukinet.storage.database import make_engine

    engine = make_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    meta.drop_all(engine)
    engine.dispose()


if __name__ == "__main__":
    main()
