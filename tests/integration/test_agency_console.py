"""What an agency's console calls, against a real national node process over mTLS with
signed requests (R2, R14, R24): the agency's own provision history, and CSV batch jobs
with progress and their answer and error files.

One network of ``network init`` (its national node holds 10,000 residents), whose
national node runs as its own process (``jukinet node run``); the agencies are the
topology's, with their own certificates and keys.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict
from sqlalchemy import create_engine, func, select

from jukinet import config
from jukinet.agency.affairs import affairs_of
from jukinet.agency.batch_job import BatchJobs, JobStatus, agency_jobs, batch_items
from jukinet.agency.client import AgencyClient, AgencySettings, write_settings
from jukinet.domain.codes import generate_resident_code
from jukinet.domain.legal_parse import load_shipped_legal_table
from jukinet.errors import JukinetError, NotFound, PeerRefused
from jukinet.keys import NodeKey
from jukinet.network.client import NodeIdentity
from jukinet.network.layout import NetworkLayout
from jukinet.network.messages_history import HistoryRequest
from jukinet.network.topology import free_port_block
from jukinet.nodes.identity import tables as ids
from jukinet.nodes.national import service as national_service
from tests.conftest import UrlFactory
from tests.integration.provision.nodes import Node
from tests.integration.test_batch_resume import Cut, node_app
from tests.mtls import identities, serving
from tests.topologies import PENSION_FUND, three_nodes

EXE = Path(sys.executable).with_name("jukinet")
NATIONAL = "national:national"
ONKYU, KKR, PENSION = "agency:onkyu", "agency:mutual-aid", "agency:pension-fund"
ROWS = 10_000
JST = timezone(timedelta(hours=9))


@dataclass
class Net:
    layout: NetworkLayout
    codes: list[str]
    url: str

    def folder(self, agency: str) -> Path:
        return self.layout.client(agency)

    def client(self, agency: str) -> AgencyClient:
        return AgencyClient.from_folder(self.folder(agency))

    def counts(self) -> tuple[int, int]:
        """(provision rows, audit entries) in the national node's database."""
        engine = create_engine(config.load(self.layout.node(NATIONAL)).database_url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(select(func.count()).select_from(ids.provisions)).scalar_one()
                entries = conn.execute(select(func.count()).select_from(ids.audit_log)).scalar_one()
        finally:
            engine.dispose()
        return int(rows), int(entries)


AGENCIES = [("onkyu", "総務省 恩給"), ("mutual-aid", "国家公務員共済組合連合会"), PENSION_FUND]


def _topology(base: int) -> str:
    return three_nodes(base, "console", agencies=AGENCIES)


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert process.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, "the national node did not come up"
            time.sleep(0.3)


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    root = tmp_path_factory.mktemp("console")
    base = free_port_block(3)
    (root / "topology.toml").write_text(_topology(base), encoding="utf-8")
    made = subprocess.run(
        [str(EXE), "network", "init", "--topology", str(root / "topology.toml"),
         "--dir", str(root / "net")],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    layout = NetworkLayout(root / "net")
    home = layout.node(NATIONAL)
    node = Node(national_service.open_node(home))
    codes = [generate_resident_code() for _ in range(ROWS)]
    try:
        for start in range(0, ROWS, 1000):
            node.apply(*({"resident_code": c} for c in codes[start : start + 1000]))
    finally:
        node.store.close()
    log = root / "national.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(EXE), "--home", str(home), "node", "run"], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_listening(base, process, log)
        yield Net(layout, codes, f"https://127.0.0.1:{base}")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)


class Raw(BaseModel):
    """A body as it comes, unchecked here: the node is the one that must refuse it."""

    model_config = ConfigDict(extra="allow")


def this_month() -> str:
    return datetime.now(UTC).astimezone(JST).strftime("%Y-%m")


# --- what the agency may do (R2, R5) --------------------------------------------------


def test_the_command_lists_the_affairs_in_words_and_as_json(tmp_path: Path) -> None:
    folder = tmp_path / "agency"
    folder.mkdir()
    write_settings(folder, "agency:tokyo-pref", "https://n", node_url="https://p")
    words = subprocess.run(
        [str(EXE), "agency", "affairs", "--as", str(folder)],
        capture_output=True, text=True, timeout=60, env=os.environ | {"COLUMNS": "200"},
    )  # fmt: skip
    assert words.returncode == 0, words.stderr
    assert "東京都知事" in words.stdout and "tokyo-public-housing" in words.stdout
    assert "legal basis: 住民基本台帳法 第30条の15・別表第五 (公営住宅法)" in words.stdout
    assert "search: 検索" in words.stdout and "(at most 5 candidates)" in words.stdout
    data = subprocess.run(
        [str(EXE), "agency", "affairs", "--as", str(folder), "--json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert data.returncode == 0, data.stderr
    offer = json.loads(data.stdout)
    assert [a["code"] for a in offer["affairs"]][2] == "tokyo-public-housing"
    assert [f["function"] for f in offer["affairs"][2]["functions"]] == ["lookup"]


# --- the agency's own provision history (R14's other side) ----------------------------


def test_an_agency_sees_its_own_provisions_only_page_by_page(net: Net) -> None:
    """R14: what the mutual-aid association received, and not the pension fund's."""
    mine, theirs = net.codes[:3], net.codes[0]

    async def scenario() -> tuple[Any, ...]:
        async with net.client(KKR) as kkr, net.client(PENSION) as pension:
            await kkr.lookup("mutual-aid-pension-status", mine[0])
            rows = [r async for r in kkr.batch("mutual-aid-pension-status", mine)]
            assert [r.found for r in rows] == [True] * 3
            await pension.lookup("national-pension-status", theirs)
            month = HistoryRequest(month=this_month(), codes=True)
            whole = await kkr.history(month)
            pages = [await kkr.history(month.model_copy(update={"limit": 2}))]
            while pages[-1].next is not None:
                after = month.model_copy(update={"limit": 2, "after": pages[-1].next})
                pages.append(await kkr.history(after))
            joined = [e async for e in kkr.history_all(month.model_copy(update={"limit": 2}))]
            other = await pension.history(HistoryRequest(month=this_month()))
            return whole, pages, joined, other

    whole, pages, joined, other = asyncio.run(scenario())
    assert whole.agency == KKR and whole.rows == 4 and whole.next is None
    lookup, batch = whole.entries
    assert (lookup.function, lookup.residents, lookup.resident_codes) == ("lookup", 1, mine[:1])
    assert (batch.function, batch.residents) == ("batch", 3)
    assert sorted(batch.resident_codes or []) == sorted(mine)  # a chunk logs them by code
    assert lookup.affair == "mutual-aid-pension-status" and "国家公務員共済組合法" in lookup.basis
    assert "resident_code" in lookup.fields and lookup.request_id != batch.request_id
    # Pages of 2 rows: 2 + 2, the batch's rows split over the boundary; joined again.
    assert [p.rows for p in pages] == [2, 2] and pages[1].next is None
    assert [e.residents for p in pages for e in p.entries] == [1, 1, 2]
    assert [(e.request_id, e.residents, e.resident_codes) for e in joined] == [
        (e.request_id, e.residents, e.resident_codes) for e in whole.entries
    ]
    # The pension fund sees its one lookup, counted, without the codes it did not ask for.
    assert other.agency == PENSION and other.entries[-1].residents == 1
    assert {e.affair for e in other.entries} == {"national-pension-status"}
    assert all(e.resident_codes is None for e in other.entries)
    assert not {e.request_id for e in other.entries} & {e.request_id for e in whole.entries}


def test_a_month_with_nothing_is_an_empty_answer_and_the_read_is_audited(net: Net) -> None:
    before = net.counts()

    async def ask() -> Any:
        async with net.client(KKR) as kkr:
            return await kkr.history(HistoryRequest(month="2020-01"))

    page = asyncio.run(ask())
    assert page.entries == [] and page.rows == 0 and page.next is None
    assert page.since == datetime(2019, 12, 31, 15, tzinfo=UTC)  # 2020-01-01 00:00 JST
    rows, entries = net.counts()
    assert (rows, entries) == (before[0], before[1] + 1)  # one audit entry, no provision


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({"month": "2026-13"}, "month"),
        ({"month": "0000-01"}, "month"),
        ({"since": "0001-01-01", "until": "0001-01-02"}, "years 2000 to 2999"),
        ({"since": "2026-12-01"}, "both since and until"),
        ({"month": "2026-12", "since": "2026-12-01", "until": "2026-12-02"}, "not both"),
        ({"since": "2025-01-01", "until": "2026-12-31"}, "at most 366 days"),
        ({"month": "2026-12", "limit": 100_000}, "limit"),
        ({"month": "2026-12", "affair": "passport-issuance"}, "not an affair of"),
        ({"month": "2026-12", "after": "yesterday/1"}, "after"),
    ],
)
def test_bad_input_gets_one_clear_problem_and_changes_nothing(
    net: Net, body: dict[str, Any], said: str
) -> None:
    before = net.counts()

    async def ask() -> PeerRefused:
        async with net.client(KKR) as kkr:
            with pytest.raises(PeerRefused) as refused:
                await kkr._client.post(f"{kkr.url}/provision/history", Raw(**body))
            return refused.value

    refused = asyncio.run(ask())
    assert refused.status == 422 and said in refused.message, refused.message
    assert net.counts() == before


def test_the_command_prints_the_history(net: Net) -> None:
    code = net.codes[-1]

    async def lookup() -> None:
        async with net.client(PENSION) as pension:
            await pension.lookup("national-pension-status", code)

    asyncio.run(lookup())
    done = subprocess.run(
        [str(EXE), "agency", "history", "--as", str(net.folder(PENSION)),
         "--month", this_month(), "--codes"],
        capture_output=True, text=True, timeout=60, env=os.environ | {"COLUMNS": "250"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == f"  codes: {code}", done.stdout
    assert "lookup" in lines[-2] and "national-pension-status" in lines[-2]
    assert "1 resident(s)" in lines[-2] and " JST " in lines[-2]
    assert "provision(s)" in done.stderr
    bad = subprocess.run(
        [str(EXE), "agency", "history", "--as", str(net.folder(PENSION)), "--month", "12月"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert (
        bad.returncode == 1 and len(bad.stderr.splitlines()) == 1 and "Traceback" not in bad.stderr
    )


# --- CSV batch jobs with progress (R24) ----------------------------------------------

MALFORMED = {2501: "abc", 5002: "1234", 9003: "{not json"}


def _upload(net: Net, path: Path) -> list[str]:
    """A header, the 10,000 codes, and three malformed lines at the rows ``MALFORMED``."""
    lines, codes = ["resident_code"], iter(net.codes)
    while len(lines) < ROWS + len(MALFORMED) + 1:
        lines.append(MALFORMED.get(len(lines) + 1) or next(codes))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return lines


def _csv_rows(path: Path) -> list[list[str]]:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("\ufeff")  # Excel reads UTF-8 with the mark
    return list(csv.reader(text[1:].splitlines()))


def test_a_10000_row_job_reports_monotone_progress_and_answers_as_a_direct_batch(
    net: Net, tmp_path: Path
) -> None:
    """R24: the page's job answers what ``agency batch`` answers, row for row."""
    source = tmp_path / "codes.csv"
    lines = _upload(net, source)
    jobs = agency_jobs(tmp_path / "jobs", net.folder(ONKYU))
    reader = BatchJobs(tmp_path / "jobs", lambda: net.client(ONKYU), lambda a: ())

    async def scenario() -> tuple[JobStatus, list[JobStatus], list[JobStatus], list[Any]]:
        with source.open("rb") as upload:
            job = jobs.submit("onkyu-entitlement", upload, filename="codes.csv")
        assert job.state == "queued" and job.rows == ROWS + len(MALFORMED)
        task = jobs.start(job.id)
        seen, saved = [], []
        while not task.done():
            seen.append(jobs.status(job.id))
            saved.append(reader.status(job.id))  # another reader: the saved state
            await asyncio.sleep(0.005)
        direct = []
        async with net.client(ONKYU) as agency:
            direct = [r async for r in agency.batch("onkyu-entitlement", lines)]
        return await task, seen, saved, direct

    done, seen, saved, direct = asyncio.run(scenario())
    assert done.state == "done", done.message
    assert (done.rows, done.sent, done.answered, done.found, done.errors) == (
        ROWS + 3, ROWS + 3, ROWS + 3, ROWS, 3,
    )  # fmt: skip
    assert done.started is not None and done.finished is not None and done.percent == 100
    for series in (seen, saved):
        for field in ("sent", "answered", "errors", "found"):
            values = [getattr(s, field) for s in series]
            assert values == sorted(values), field
    assert any(0 < s.answered < ROWS for s in seen), "no progress seen between start and end"
    assert {s.state for s in saved} <= {"queued", "running"}
    assert reader.status(done.id) == done  # what another process reads once it is done
    header, *answers = _csv_rows(jobs.answers(done.id))
    batch = affairs_of(load_shipped_legal_table(), "onkyu").affairs[0].function("batch")
    assert batch is not None and batch.receives
    assert header == ["row", "resident_code", "found", "status", *batch.receives]
    answered = [r for r in direct if r.error is None]
    assert len(answers) == ROWS == len(answered)
    for row, want in zip(answers, answered, strict=True):
        assert int(row[0]) == want.row and row[1] == want.resident_code
        assert row[2] == "true" and want.record is not None
        fields = dict(zip(header[4:], row[4:], strict=True))
        assert fields == {k: want.record.fields.get(k, "") for k in fields}  # type: ignore[call-overload]
    errors = _csv_rows(jobs.errors(done.id))
    assert errors[0] == ["row", "error"]
    assert [int(r[0]) for r in errors[1:]] == sorted(MALFORMED)
    assert all(r[1].startswith(f"row {r[0]}: ") for r in errors[1:])


def test_a_csv_of_several_columns_in_shift_jis_is_answered_by_its_code_column(
    net: Net, tmp_path: Path
) -> None:
    """An office's export from Excel: Shift_JIS, a 住民票コード column among others."""
    codes = net.codes[:4]
    text = (
        "受給者番号,氏名,住民票コード\r\n"
        + "".join(f"{n},山田 太郎,{c}\r\n" for n, c in enumerate(codes, 1001))
        + "1005,山田 花子\r\n"
    )
    upload = tmp_path / "sjis.csv"
    upload.write_bytes(text.encode("cp932"))
    jobs = agency_jobs(tmp_path / "jobs", net.folder(ONKYU))

    async def scenario() -> JobStatus:
        with upload.open("rb") as f:
            job = jobs.submit("onkyu-entitlement", f, filename="受給者.csv")
        return await jobs.run(job.id)

    done = asyncio.run(scenario())
    assert done.state == "done" and (done.rows, done.found, done.errors) == (5, 4, 1)
    _, *answers = _csv_rows(jobs.answers(done.id))
    assert [(int(r[0]), r[1]) for r in answers] == list(zip(range(2, 6), codes, strict=True))
    (_, error) = _csv_rows(jobs.errors(done.id))
    assert error[0] == "6" and "2 column(s)" in error[1]


def test_an_upload_the_job_cannot_read_is_refused_and_leaves_no_job(
    net: Net, tmp_path: Path
) -> None:
    jobs = agency_jobs(tmp_path / "jobs", net.folder(ONKYU))
    cases = [
        (b"", "onkyu-entitlement", None, "The file has no row"),
        ("番号,氏名\n1,山田\n".encode(), "onkyu-entitlement", None,
         "none is named resident_code or 住民票コード: name the column of the resident codes"),
        (b"resident_code\n12345678901\n", "onkyu-entitlement", "code", "no column 'code'"),
        (b"resident_code\n12345678901\n", "passport-issuance", None,
         "no batch for affair 'passport-issuance'"),
    ]  # fmt: skip
    for content, affair, column, said in cases:
        upload = tmp_path / "upload.csv"
        upload.write_bytes(content)
        with upload.open("rb") as f, pytest.raises(JukinetError, match=said):
            jobs.submit(affair, f, column=column)
    assert jobs.jobs() == [] and list((tmp_path / "jobs").iterdir()) == []


def test_finished_jobs_are_removed_after_the_days_kept(net: Net, tmp_path: Path) -> None:
    jobs = agency_jobs(tmp_path / "jobs", net.folder(ONKYU), keep_days=7)
    upload = tmp_path / "one.csv"
    upload.write_text(f"{net.codes[0]}\n", encoding="utf-8")

    async def one() -> JobStatus:
        with upload.open("rb") as f:
            return await jobs.run(jobs.submit("onkyu-entitlement", f).id)

    old, new = asyncio.run(one()), asyncio.run(one())
    assert old.finished is not None
    finished = datetime.fromisoformat(old.finished)
    assert jobs.prune(finished + timedelta(days=6)) == []
    later = datetime.fromisoformat(new.finished or "") + timedelta(days=7, seconds=1)
    assert sorted(jobs.prune(later)) == sorted([old.id, new.id])
    assert jobs.jobs() == []


# --- a job whose node breaks off, or cannot be reached --------------------------------


@pytest.fixture
def local(database: UrlFactory, tmp_path: Path) -> Iterator[Node]:
    home = tmp_path / "national"
    national_service.init_node(home, "national", "全国センター", database("n"), NodeKey.generate())
    node = Node(national_service.open_node(home))
    yield node
    node.store.close()


def _jobs(tmp_path: Path, agency: NodeIdentity, url: str) -> BatchJobs:
    settings = AgencySettings(agency, url, url)
    items = batch_items(load_shipped_legal_table(), "onkyu")
    return BatchJobs(tmp_path / "jobs", lambda: AgencyClient(settings), items)


def test_a_connection_that_breaks_mid_way_is_a_failed_job_saying_what_was_done(
    local: Node, tmp_path: Path
) -> None:
    """The node's answer breaks off after 7 rows: the job is failed, in one sentence, with
    the 7 answers in its file, and no traceback anywhere a user looks."""
    codes = [local.person() for _ in range(20)]
    upload = tmp_path / "codes.csv"
    upload.write_text("\n".join(codes) + "\n", encoding="utf-8")
    server, agency = identities(tmp_path)

    async def scenario() -> JobStatus:
        async with serving(Cut(node_app(local), 7), server) as url:
            jobs = _jobs(tmp_path, agency, url)
            with upload.open("rb") as f:
                job = jobs.submit("onkyu-entitlement", f)
            return await jobs.start(job.id)

    failed = asyncio.run(scenario())
    assert failed.state == "failed" and failed.finished is not None
    assert (failed.rows, failed.answered, failed.found) == (20, 7, 7)
    assert "broke off after row 7" in failed.message, failed.message
    assert "7 of 20 rows were answered" in failed.message and "Traceback" not in failed.message
    jobs = _jobs(tmp_path, agency, "https://127.0.0.1:1")
    _, *answers = _csv_rows(jobs.answers(failed.id))
    assert [r[1] for r in answers] == codes[:7]
    assert jobs.status(failed.id) == failed  # as saved


def test_a_node_that_cannot_be_reached_is_a_failed_job(tmp_path: Path) -> None:
    _, agency = identities(tmp_path)
    port = free_port_block(1)  # nothing listens there
    jobs = _jobs(tmp_path, agency, f"https://127.0.0.1:{port}")
    upload = tmp_path / "codes.csv"
    upload.write_text(f"{generate_resident_code()}\n", encoding="utf-8")

    async def scenario() -> JobStatus:
        with upload.open("rb") as f:
            return await jobs.run(jobs.submit("onkyu-entitlement", f).id)

    failed = asyncio.run(scenario())
    assert failed.state == "failed" and failed.answered == 0
    assert f"127.0.0.1:{port}" in failed.message and "0 of 1 rows were answered" in failed.message


def test_a_job_left_running_by_a_stopped_service_is_marked_failed_on_recovery(
    tmp_path: Path,
) -> None:
    _, agency = identities(tmp_path)
    jobs = _jobs(tmp_path, agency, "https://127.0.0.1:1")
    upload = tmp_path / "codes.csv"
    upload.write_text(f"{generate_resident_code()}\n", encoding="utf-8")
    with upload.open("rb") as f:
        job = jobs.submit("onkyu-entitlement", f)
    jobs._save(replace(job, state="running", started=job.created, answered=0))
    assert jobs.recover() == [job.id]
    found = jobs.status(job.id)
    assert found.state == "failed" and found.message.startswith("interrupted:")
    assert jobs.recover() == []
    for name in ("../" + job.id, job.id[:-1] + "/", "0" * 32):  # only a job's own id
        with pytest.raises(NotFound, match="no batch job"):
            jobs.status(name)


def test_the_command_runs_a_csv_job_and_names_its_files(net: Net, tmp_path: Path) -> None:
    upload = tmp_path / "codes.csv"
    upload.write_text("住民票コード\n" + "\n".join(net.codes[:3]) + "\nabc\n", encoding="utf-8")
    command = [str(EXE), "agency", "job", str(upload), "--as", str(net.folder(ONKYU)),
               "--affair", "onkyu-entitlement", "--jobs", str(tmp_path / "jobs")]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=60, env=os.environ | {"COLUMNS": "300"}
    )
    assert done.returncode == 0, done.stderr
    assert "4 rows: 3 found, 1 malformed → " in done.stdout, done.stdout
    (folder,) = (tmp_path / "jobs").iterdir()
    assert f"{folder / 'answers.csv'}, {folder / 'errors.csv'}" in done.stdout
    _, *answers = _csv_rows(folder / "answers.csv")
    assert [r[1] for r in answers] == net.codes[:3]
    # The same agency, its node gone: one line, the job failed, and where its files are.
    gone = tmp_path / "gone"
    shutil.copytree(net.folder(ONKYU), gone)
    port = free_port_block(1)
    write_settings(gone, ONKYU, f"https://127.0.0.1:{port}", node_url=f"https://127.0.0.1:{port}")
    command[command.index("--as") + 1] = str(gone)
    failed = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert failed.stderr.startswith("error: batch job ") and " failed: " in failed.stderr
    assert "0 of 4 rows were answered" in failed.stderr
