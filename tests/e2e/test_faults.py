"""The fault matrix: real node processes, real mTLS, and a fault in the middle (R22, R24, R12,
R14; docs/reliability.md, "Faults").

Each test does something a user does (a clerk's events, an agency's batch, a disclosure),
breaks a node while it runs (kill -9, a stopped process, a full disk), and then counts
from the nodes' own stores what arrived: lost = 0, duplicated = 0, in order per person.
Each prints its figures (``FAULT …`` lines; ``pytest -s`` shows them); the figures in
docs/reliability.md are from such a run.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jukinet.network.topology import free_port_block
from tests.e2e.conftest import (
    EXE,
    TOKYO_BATCH_AFFAIR,
    Network,
    card_in_slot_1,
    jukinet,
    wait_until_all_up,
    wait_until_consistent,
)
from tests.e2e.faults import (
    Window,
    agency_cli,
    backlog,
    delivery_figures,
    disclosed,
    finish,
    looked_up,
    outbox_seq,
    query,
    started,
    wait_for,
    wait_until_restarted,
)
from tests.helpers import person

SHINJUKU = "municipality:131041"
CHIYODA = "municipality:131016"
PREFECTURE = "prefecture:130001"
NATIONAL = "national:national"
VICTIMS = {"municipality": SHINJUKU, "prefecture": PREFECTURE, "national": NATIONAL}


@pytest.fixture(scope="module", autouse=True)
def consistent_at_the_end(network: Network) -> Iterator[None]:
    """After the last fault of this module, every node is up and the copies agree."""
    yield
    wait_until_all_up(network)
    wait_until_consistent(network)


def report(fault: str, **figures: object) -> None:
    """One line of figures for docs/reliability.md (shown with ``pytest -s``)."""
    print(f"\nFAULT {fault}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))


# --- kill -9 during identity updates ---------------------------------------------------


@pytest.mark.parametrize("kind", list(VICTIMS))
def test_kill_9_during_identity_updates_loses_and_duplicates_nothing(
    revived_network: Network, kind: str
) -> None:
    """A clerk records 20 arrivals and 40 name changes (60 updates) at Shinjuku's window;
    the node ``kind`` is killed with SIGKILL after the 20th event and the supervisor
    restarts it. Every update reaches the prefecture and the national node exactly once,
    and each person's updates are applied in the order they were recorded."""
    net = revived_network
    victim = VICTIMS[kind]
    pid = wait_until_restarted(net, victim, None)
    first = outbox_seq(net, SHINJUKU)
    with Window(net, SHINJUKU) as window:
        codes = [window.arrive(person()) for _ in range(20)]
        os.kill(pid, signal.SIGKILL)
        for round_ in range(2):
            for n, code in enumerate(codes):
                window.rename(code, f"変{round_}{n}")
    last = outbox_seq(net, SHINJUKU)
    assert last - first == 60
    wait_until_restarted(net, victim, pid)
    figures = delivery_figures(net, SHINJUKU, first, last)
    report(f"kill -9 {kind} during updates", **figures)
    assert figures == {"updates": 60, "at prefecture": 60, "at national": 60, "lost": 0,
                       "duplicated": 0, "out of order": 0}  # fmt: skip


# --- kill -9 of the serving node during an agency batch --------------------------------

BATCHES = {
    # agency, affair, serving node: a national body, and a prefectural body (its affair
    # with batch is the test network's own legal table, see conftest.tokyo_batch_affair).
    "national": ("pension-fund", "national-pension-status", NATIONAL),
    "prefecture": ("tokyo-pref", TOKYO_BATCH_AFFAIR, PREFECTURE),
}
BATCH_ROWS = 200_000


@pytest.mark.parametrize("server", list(BATCHES))
def test_kill_9_of_the_serving_node_during_a_batch_under_reports_nothing(
    revived_network: Network, server: str, tmp_path: Path
) -> None:
    """``jukinet agency batch`` of 200,000 rows (50 of Chiyoda's residents, over and over); the
    node serving it is killed once answers arrive. The client prints one line naming the
    last row it was answered, the node comes back, every person in an answered row has
    this batch in their disclosure, and the node's audit chain verifies."""
    net = revived_network
    code, affair, node = BATCHES[server]
    since = datetime.now(UTC)
    residents = Window.codes_of(net, CHIYODA)[:50]
    source, target = tmp_path / "codes.csv", tmp_path / "answers.jsonl"
    with source.open("w") as f:
        f.write("resident_code\n")
        f.writelines(f"{residents[i % len(residents)]}\n" for i in range(BATCH_ROWS))
    pid = wait_until_restarted(net, node, None)
    client = agency_cli(net, code, "batch", str(source), str(target), "--affair", affair)
    wait_for(lambda: target.exists() and target.stat().st_size > 0, "no answer arrived")
    os.kill(pid, signal.SIGKILL)
    out, err = finish(client, 120)
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert client.returncode == 1, out + err
    assert 0 < len(rows) < BATCH_ROWS
    last = rows[-1]["row"]
    assert [r["row"] for r in rows] == list(range(2, last + 1))
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("error: ") and f"after row {last:,}" in lines[0], lines[0]
    wait_until_restarted(net, node, pid)
    answered = {r["resident_code"] for r in rows if r.get("found")}
    entries = disclosed(net, CHIYODA, answered, node, since)
    this_batch = [e for es in entries.values() for e in es
                  if (e.function, e.node, e.affair) == ("batch", node, affair)]  # fmt: skip
    missing = {c for c, es in entries.items() if not any(e in this_batch for e in es)}
    verify = jukinet("--home", str(net.home(node)), "audit", "verify")
    report(
        f"kill -9 {server} during an agency batch", rows=f"{BATCH_ROWS:,}",
        answered=f"{len(rows):,}", persons=len(answered), **{"under-reported": len(missing)},
        **{"provision entries disclosed": len(this_batch)}, audit=verify.stdout.strip(),
        client=lines[0],
    )  # fmt: skip
    assert missing == set()
    assert verify.returncode == 0 and "Audit log intact" in verify.stdout, verify.stdout


# --- kill -9 during a disclosure request -----------------------------------------------


def test_kill_9_during_a_disclosure_request_answers_nothing_then_all(
    revived_network: Network,
) -> None:
    """A resident asks at Chiyoda's window; the prefecture answers, and the national node
    (stopped, so the request waits on it) is killed while the request is in flight. The
    clerk sees one line and no partial list; after the restart the audit chains verify
    and the same request lists the provisions of both nodes."""
    net = revived_network
    with Window(net, CHIYODA) as window:
        code = window.arrive(person("開示", "カイジ", family="木村", fk="キムラ"))
    wait_for(lambda: Window.held_at(net, NATIONAL, code), "the resident never reached national")
    assert asyncio.run(looked_up(net, "pension-fund", "national-pension-status", code))
    assert asyncio.run(looked_up(net, "tokyo-pref", "tokyo-public-housing", code))
    # The clerk signs in with the password and the clerk's operator card (slot 1).
    with card_in_slot_1(net.layout.operator_card(CHIYODA, "clerk")):
        pid = wait_until_restarted(net, NATIONAL, None)
        os.kill(pid, signal.SIGSTOP)
        try:
            asking = window_cli(net, CHIYODA, "resident", "disclosure", code)
            wait_for(lambda: Window.audited_disclosures(net, PREFECTURE, code) == 1,
                     "the prefecture was never asked")  # fmt: skip
        finally:
            os.kill(pid, signal.SIGKILL)
        out, err = finish(asking, 60)
        assert asking.returncode == 1 and "Traceback" not in err, out + err
        assert out.strip() == "", "a partial answer was shown"
        assert len(err.strip().splitlines()) == 1 and "[peer-unreachable]" in err, err
        assert f"{net.url(0)}/disclosure: " in err and "object at 0x" not in err, err  # says what
        wait_until_restarted(net, NATIONAL, pid)
        verifying = {n: started("--home", str(net.home(n)), "audit", "verify")
                     for n in (NATIONAL, PREFECTURE)}  # fmt: skip
        retry = window_cli(net, CHIYODA, "resident", "disclosure", code)
        again, again_err = finish(retry, 60)
        verified = {n: (p, *finish(p, 60)) for n, p in verifying.items()}
        report("kill -9 national during a disclosure", shown=repr(out.strip()), error=err.strip(),
               retry=f"{len(again.strip().splitlines())} provisions")  # fmt: skip
        for n, (p, shown, problem) in verified.items():
            assert p.returncode == 0 and "Audit log intact" in shown, (n, shown + problem)
        assert retry.returncode == 0, again_err
        listed = again.strip().splitlines()
        assert len(listed) == 2
        assert any(f"at {NATIONAL}" in line for line in listed)
        assert any(f"at {PREFECTURE}" in line for line in listed)


def window_cli(net: Network, node: str, *args: str) -> subprocess.Popen[str]:
    home = net.home(node)
    Window.clerk(home)
    return subprocess.Popen(
        [str(EXE), "--home", str(home), *args, "-u", "clerk"], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        env={**os.environ, "JUKINET_PASSWORD": "clerk-password-1", "COLUMNS": "200"},
    )  # fmt: skip


# --- a node restarted with a full disk -------------------------------------------------


def fill(folder: Path) -> int:
    """Fill the filesystem of ``folder`` up to its last byte; the bytes written."""
    written = 0
    with (folder / "filler").open("wb", buffering=0) as f:
        for size in (1 << 20, 1 << 12):
            try:
                while True:
                    written += f.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    return written


def test_a_node_restarted_with_a_full_disk_refuses_writes_and_recovers(
    revived_network: Network,
) -> None:
    """The prefecture holds 5 updates it has not yet passed on (the national node is
    stopped) when its home (a 64 MB filesystem of its own) fills up; it is killed and
    restarted on the full disk. It still answers, refuses every write with one clear
    reason (Chiyoda's next 10 updates, an agency's lookup) and logs it; nothing committed
    is lost, the database is intact, and once space is freed all 15 updates arrive at the
    national node, each once."""
    net = revived_network
    if net.small_disk is not None:  # no filesystem of its own for the prefecture's home
        if os.environ.get("CI") == "true":
            pytest.fail(net.small_disk)
        pytest.skip(net.small_disk)
    home, log = net.home(PREFECTURE), net.layout.log(PREFECTURE)
    first = outbox_seq(net, CHIYODA)
    code = Window.codes_of(net, CHIYODA)[0]
    national = wait_until_restarted(net, NATIONAL, None)
    pid = wait_until_restarted(net, PREFECTURE, None)
    try:
        os.kill(national, signal.SIGSTOP)
        try:
            with Window(net, CHIYODA) as window:
                queued = [window.arrive(person()) for _ in range(5)]
            wait_for(lambda: backlog(net, PREFECTURE) == 5, "the prefecture did not take them")
            # The write-ahead log is emptied first: a WAL file left large by earlier work
            # would take the next writes in space already allocated, and the full disk
            # would not show until a later checkpoint (SQLite reuses the file from its start).
            wait_for(lambda: query(net, PREFECTURE, "PRAGMA wal_checkpoint(TRUNCATE)")[0][0] == 0,
                     "the prefecture's write-ahead log could not be emptied")  # fmt: skip
            filled = fill(home)
            os.kill(pid, signal.SIGKILL)
        finally:
            os.kill(national, signal.SIGCONT)
        pid = wait_until_restarted(net, PREFECTURE, pid)
        logged_before = len(log.read_text(errors="replace"))
        with Window(net, CHIYODA) as window:  # the window is not held up
            for _ in range(10):
                window.arrive(person())
        wait_for(lambda: "disk is full" in status_of(net), "the link never showed the full disk")
        lookup = agency_cli(net, "tokyo-pref", "lookup", code, "--affair", "tokyo-public-housing")
        out, err = finish(lookup, 60)
        logged = log.read_text(errors="replace")[logged_before:]
        intact = query(net, PREFECTURE, "PRAGMA integrity_check")
        held = [Window.held_at(net, PREFECTURE, c) for c in queued]
    finally:
        (home / "filler").unlink(missing_ok=True)
    figures = delivery_figures(net, CHIYODA, first, first + 15)
    again = asyncio.run(looked_up(net, "tokyo-pref", "tokyo-public-housing", code))
    verify = jukinet("--home", str(home), "audit", "verify")
    report("full disk at the prefecture", filled=f"{filled:,} bytes", **figures,
           lookup=err.strip(), audit=verify.stdout.strip())  # fmt: skip
    assert held == [True] * 5 and intact == [("ok",)]
    assert lookup.returncode == 1 and len(err.strip().splitlines()) == 1, out + err
    assert "disk is full" in err and "Traceback" not in err, err
    assert "disk is full" in logged and "Traceback" not in logged, logged[-3000:]
    assert "recording the acknowledgement failed" in logged, logged[-3000:]
    assert figures == {"updates": 15, "at prefecture": 15, "at national": 15, "lost": 0,
                       "duplicated": 0, "out of order": 0}  # fmt: skip
    assert again, "the lookup found nothing once space was freed"
    assert verify.returncode == 0 and "Audit log intact" in verify.stdout, verify.stdout


def status_of(net: Network) -> str:
    """What ``jukinet network status`` shows (its table, and its alerts)."""
    r = jukinet("network", "status", str(net.root))
    return r.stdout + r.stderr


# --- a peer that answers slowly, or never ----------------------------------------------


def test_a_stopped_prefecture_holds_updates_back_and_they_drain_once_it_runs(
    revived_network: Network,
) -> None:
    """The prefecture is stopped (SIGSTOP: connections are accepted, nothing answers)
    while a clerk records 10 arrivals at Shinjuku. The window goes on; the municipality's
    outbox keeps the updates, its delivery times out with the reason in its log, and
    ``network status`` shows the link failing. After SIGCONT every update arrives once."""
    net = revived_network
    pid = wait_until_restarted(net, PREFECTURE, None)
    first = outbox_seq(net, SHINJUKU)
    log = net.layout.log(SHINJUKU)
    logged_before = len(log.read_text(errors="replace"))
    os.kill(pid, signal.SIGSTOP)
    try:
        with Window(net, SHINJUKU) as window:
            recorded = [window.arrive(person()) for _ in range(10)]
        wait_for(lambda: "no answer within" in log.read_text(errors="replace")[logged_before:],
                 "the delivery never timed out", timeout=90)  # fmt: skip
        shown = status_of(net)
        held = backlog(net, SHINJUKU)
    finally:
        os.kill(pid, signal.SIGCONT)
    figures = delivery_figures(net, SHINJUKU, first, first + 10)
    failing = [line for line in shown.splitlines() if "alert:" in line and SHINJUKU in line]
    report("prefecture stopped (SIGSTOP) during updates", held=held, **figures,
           status=failing[0] if failing else "no alert")  # fmt: skip
    assert len(recorded) == 10 and held == 10
    assert failing and PREFECTURE in failing[0] and "no answer within" in failing[0], shown
    assert figures == {"updates": 10, "at prefecture": 10, "at national": 10, "lost": 0,
                       "duplicated": 0, "out of order": 0}  # fmt: skip


def test_an_agency_call_to_a_node_that_never_answers_fails_in_one_line(network: Network) -> None:
    """A listener that accepts the connection and never says a word of TLS: the agency's
    lookup gives up after its connect timeout with one line, not after its 600 s."""
    with silent_listener() as port:
        started = time.monotonic()
        r = agency_cli(
            network, "pension-fund", "lookup", "12345678903", "--affair",
            "national-pension-status", "--node", f"https://127.0.0.1:{port}",
        )  # fmt: skip
        out, err = finish(r, 60)
        took = time.monotonic() - started
    report("agency lookup to a listener that never answers TLS", exit=r.returncode,
           seconds=f"{took:.1f}", error=err.strip())  # fmt: skip
    assert r.returncode == 1 and out == "", out + err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert "no answer within" in err and "[peer-unreachable]" in err, err


@contextmanager
def silent_listener() -> Iterator[int]:
    """A TCP port on loopback that accepts connections, holds them, and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", free_port_block(1)))
    server.listen()
    held: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):  # the socket closed: the test is over
            while True:
                held.append(server.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        server.close()
        for conn in held:
            conn.close()
        thread.join(timeout=5)
