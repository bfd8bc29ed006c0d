"""Benchmark: filling and working a municipality register, beside the bare floor.

    .venv/bin/python -m bench.register [--residents 100000] [--events 2000] [--pg URL]

For each database (SQLite, and PostgreSQL when --pg or JUKINET_TEST_PG_URL names
one) it measures:

- seed: synthetic residents written with history rows and one audit entry each,
  beside the floor: the same person rows bulk-inserted into a bare copy of the
  table with plain SQL (no history, no audit, no generation);
- events: window events (births) recorded one transaction each through the
  service (checks, history, audit chain), beside the floor: one plain single-row
  INSERT and commit per event on the same database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, Table, Text, create_engine, insert, select, text

from jukinet.card.machine import CardChip
from jukinet.card.reader import InProcessReader
from jukinet.domain import events as ev
from jukinet.domain.access import Role, Session
from jukinet.domain.identity import Sex
from jukinet.domain.record import Name
from jukinet.nodes.municipality import operator_cards, service, staff
from jukinet.nodes.municipality.operators import get
from jukinet.nodes.municipality.pool import LocalCodeSource
from jukinet.nodes.municipality.seeding import seed
from jukinet.nodes.municipality.setup import FirstAdministrator, init_register, open_register
from jukinet.nodes.municipality.store import RegisterStore
from jukinet.nodes.municipality.tables import persons
from jukinet.seed.places import Places

PASSWORD = "bench-password-1"
TODAY = date.today()


def _session(store: RegisterStore, username: str) -> Session:
    """A session with an operator card in process (bound now), without the password."""
    with store.transaction() as tx:
        op = get(tx.conn, username)
        card = operator_cards.bind(tx.conn, store.key, op)
        reader = InProcessReader(CardChip(card.content))
        return Session(op, operator_cards.check_card(tx.conn, store.key, op, reader))


def _register(home: Path, url: str, places: Places) -> RegisterStore:
    init_register(
        home,
        places.municipality("131016"),
        FirstAdministrator("admin", "Bench Admin", PASSWORD, TODAY, TODAY),
        LocalCodeSource(),
        database_url=url,
        pool_size=1000,
    )
    store = open_register(home)
    staff.add(
        store, _session(store, "admin"), username="clerk", full_name="Bench Clerk",
        role=Role.CLERK, password=PASSWORD, trained_on=TODAY, pledge_signed_on=TODAY,
    )  # fmt: skip
    return store


def bench_seed(store: RegisterStore, places: Places, residents: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    report = asyncio.run(
        seed(store, _session(store, "admin"), places, LocalCodeSource(), residents, today=TODAY)
    )
    elapsed = time.perf_counter() - t0
    assert report.residents == residents
    # Floor: the same rows, copied with plain SQL into a bare table, in 5,000-row batches.
    bare = Table("bench_bare_persons", MetaData(), *(Column(c.name, c.type) for c in persons.c))
    with store.engine.begin() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(persons))]
        bare.create(conn)
    t0 = time.perf_counter()
    with store.engine.begin() as conn:
        for i in range(0, len(rows), 5000):
            conn.execute(insert(bare), rows[i : i + 5000])
    floor = time.perf_counter() - t0
    with store.engine.begin() as conn:
        bare.drop(conn)
    return residents / elapsed, residents / floor


def bench_events(store: RegisterStore, count: int) -> tuple[float, list[float], float]:
    clerk = _session(store, "clerk")
    with store.engine.connect() as conn:
        parent = conn.execute(
            select(persons.c.resident_code).where(persons.c.relationship == "妻").limit(1)
        ).scalar_one()
    latencies = []
    t0 = time.perf_counter()
    for i in range(count):
        s = time.perf_counter()
        service.record_event(
            store,
            clerk,
            ev.Birth(parent, Name("山田", f"子{i}", "ヤマダ", "コ"), Sex.FEMALE, TODAY, TODAY),
            TODAY,
        )
        latencies.append(time.perf_counter() - s)
    rate = count / (time.perf_counter() - t0)
    # Floor: one single-row INSERT + commit per event, same database.
    table = Table("bench_floor", MetaData(), Column("id", Integer, primary_key=True),
                  Column("payload", Text))  # fmt: skip
    with store.engine.begin() as conn:
        table.create(conn)
    t0 = time.perf_counter()
    for i in range(count):
        with store.engine.begin() as conn:
            conn.execute(insert(table).values(payload=f"event {i}"))
    floor = count / (time.perf_counter() - t0)
    with store.engine.begin() as conn:
        table.drop(conn)
    return rate, latencies, floor


def _pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1] * 1000


def run(label: str, url: str, residents: int, events: int, places: Places) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = _register(Path(tmp) / "node", url, places)
        try:
            seed_rate, seed_floor = bench_seed(store, places, residents)
            rate, lat, floor = bench_events(store, events)
        finally:
            store.close()
    print(f"\n[{label}]")
    print(f"  seed {residents:,} residents : {seed_rate:>10,.0f} residents/s "
          f"({residents / seed_rate:.1f} s)")  # fmt: skip
    print(f"    floor (bulk INSERT)    : {seed_floor:>10,.0f} rows/s   "
          f"ratio {seed_rate / seed_floor:.2f}")  # fmt: skip
    print(f"  events ({events:,} births)  : {rate:>10,.0f} events/s  "
          f"p50 {_pct(lat, 50):.2f} ms  p99 {_pct(lat, 99):.2f} ms")  # fmt: skip
    print(f"    floor (INSERT+commit)  : {floor:>10,.0f} tx/s      ratio {rate / floor:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=2_000)
    parser.add_argument("--pg", default=os.environ.get("JUKINET_TEST_PG_URL"))
    args = parser.parse_args()
    print(f"jukinet register benchmark — {date.today()} — {platform.node()} "
          f"({os.cpu_count()} cores, Python {platform.python_version()})")  # fmt: skip
    with Places() as places:
        with tempfile.TemporaryDirectory() as tmp:
            run("SQLite (WAL)", f"sqlite:///{tmp}/bench.db", args.residents, args.events, places)
        if args.pg:
            base = args.pg.replace("postgresql://", "postgresql+psycopg://", 1)
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(base)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            sep = "&" if "?" in base else "?"
            try:
                url = f"{base}{sep}options=-csearch_path%3D{schema}"
                run("PostgreSQL 15", url, args.residents, args.events, places)
            finally:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()


if __name__ == "__main__":
    main()
