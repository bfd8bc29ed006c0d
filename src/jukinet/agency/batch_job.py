"""Batch jobs for a web page: an uploaded CSV of resident codes answered in the background,
with progress anyone can read while it runs, and the answers and row errors as CSV (R24).

    jobs = agency_jobs(Path("/var/lib/agency/jobs"), agency_folder)  # or BatchJobs(...)
    jobs.recover()                     # once, when the service that runs them starts
    job = jobs.submit("national-pension-status", upload, filename="codes.csv")
    task = jobs.start(job.id)          # in the running event loop
    jobs.status(job.id)                # queued → running → done | failed, with counts
    jobs.answers(job.id), jobs.errors(job.id)   # the two CSV files

**The upload** is the file format of ``jukinet agency batch`` (``batch_file``): one
resident code a line, as CSV (an optional ``resident_code`` header) or JSON lines. It
may also be a CSV of several columns, as an office exports from its own system: the
column of the codes is the one named ``column``, or else the header's ``resident_code``
or ``住民票コード``. A header of such a file (and a one-column file's first line with no
digit in it, e.g. ``住民票コード``) is read as UTF-8 or, failing that, as Shift_JIS
(cp932: what Excel in Japan saves a CSV as). Rows keep the numbers of their lines in
the file. A line whose column cannot be read (too few cells, not text) is a row error
found here; every other malformed row is the node's own row error.

**Progress** (``JobStatus``): the rows of the file (counted on upload), the rows sent to
the node, answered, found and in error, the state and the times it started and
finished. It is kept in memory while the job runs and written to the job's
``state.json`` every ``SAVE_EVERY`` rows and at each change of state, so another
process (a page's worker) reads it too. The answers go up in requests of ``CHUNK``
rows, so the counts move within a large file.

**The answers** are ``answers.csv`` (one row per answered code: row, resident code as
asked, found, status, then the affair's items in the answer's order) and
``errors.csv`` (row, error), both UTF-8 with a byte order mark and CRLF line ends:
Excel, which an office opens them with, reads UTF-8 only with the mark (without it the
names come out garbled), and any CSV reader takes it. Both are written row by row as
the answers stream in: memory stays flat whatever the file's length.

A job runs in the event loop that started it (a page's server): the file work per row
is small (one CSV line out), and the answers arrive from the node as the loop reads them.

**A failure** (the node cannot be reached, the connection breaks, the node refuses) is
the state ``failed`` with the reason in one sentence and the counts of what was done;
the rows answered until then stay in the two files. A job that was running when the
process stopped is marked ``failed`` (``interrupted``) by ``recover`` when the service
starts again.

**Retention**: a finished job's folder is removed ``keep_days`` after it finished
(``prune``, run when the jobs are opened and on every submit): the answers hold
personal information, and the agency keeps what it downloaded under its own rules.
"""

from __future__ import annotations

import asyncio
import csv
import json
import logging
import os
import secrets
import shutil
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, Literal, TextIO

from aiohttp import ClientError

from jukinet.agency.affairs import affairs_of
from jukinet.agency.client import AgencyClient, AgencySettings
from jukinet.domain.legal import LegalTable
from jukinet.domain.legal_parse import load_shipped_legal_table
from jukinet.errors import InvalidInput, JukinetError, NotFound, ProvisionRefused
from jukinet.network.messages import BatchRow

__all__ = ["BatchJobs", "JobStatus", "agency_jobs", "batch_items"]

log = logging.getLogger(__name__)

State = Literal["queued", "running", "done", "failed"]
CHUNK = 5000  # rows per request: the node's own chunk (one transaction each)
SAVE_EVERY = 1000  # answered rows between two writes of state.json
KEEP_DAYS = 7
CODE_COLUMNS = ("resident_code", "住民票コード")
BOM = "\ufeff"
_COPY = 1 << 16


@dataclass(frozen=True, slots=True)
class JobStatus:
    id: str
    affair: str
    filename: str
    state: State
    created: str
    rows: int  # rows of the file (non-blank lines, no header)
    sent: int = 0
    answered: int = 0  # rows the node answered (found or not) or refused as malformed
    found: int = 0
    errors: int = 0  # malformed rows (here or at the node)
    started: str | None = None
    finished: str | None = None
    message: str = ""  # why it failed, in one sentence
    column: int | None = None  # the index of the codes' column (None: the line as it is)
    header: bool = False  # whether line 1 is a header (sent blank)
    encoding: str = "utf-8"
    items: tuple[str, ...] = ()  # the affair's items, the answer file's last columns

    @property
    def percent(self) -> int:
        return 100 if not self.rows else min(100, self.answered * 100 // self.rows)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _decode_header(raw: bytes) -> tuple[str, str]:
    """The first line as text, and its encoding: UTF-8 (BOM dropped), else cp932."""
    line = raw.rstrip(b"\r\n")
    for encoding in ("utf-8", "cp932"):
        try:
            return line.decode(encoding).lstrip(BOM), encoding
        except UnicodeDecodeError:
            continue
    raise InvalidInput(
        "The file's first line is neither UTF-8 nor Shift_JIS text: save the file as CSV (UTF-8)."
    )


def _cells(text: str) -> list[str]:
    try:
        return [c.strip() for c in next(csv.reader([text]), [])]
    except csv.Error:
        return [text]


def _layout(first: bytes, column: str | None) -> tuple[int | None, bool, str]:
    """(codes' column index or None, whether line 1 is a header, encoding) of a file."""
    if not first.strip():
        if column is not None:
            raise InvalidInput(f"The file's first line is blank: it has no column {column!r}.")
        return None, False, "utf-8"
    text, encoding = _decode_header(first)
    if text.lstrip().startswith("{"):  # JSON lines: the node reads them as they are
        if column is not None:
            raise InvalidInput("The file is JSON lines, not a CSV with columns.")
        return None, False, encoding
    cells = [c.strip('"') for c in _cells(text)]
    if column is not None:
        if column not in cells:
            raise InvalidInput(
                f"The file's header has no column {column!r} (its columns: {', '.join(cells)})."
            )
        return cells.index(column), True, encoding
    if len(cells) > 1:
        named = [c for c in CODE_COLUMNS if c in cells]
        if not named:
            raise InvalidInput(
                f"The file has {len(cells)} columns ({', '.join(cells)}) and none is named "
                f"{' or '.join(CODE_COLUMNS)}: name the column of the resident codes."
            )
        return cells.index(named[0]), True, encoding
    header = not any(ch.isdigit() for ch in text)
    return None, header, encoding


class _Files:
    """The two answer files of a job, written row by row."""

    def __init__(self, folder: Path, items: tuple[str, ...]) -> None:
        def opened(name: str, header: list[str]) -> tuple[TextIO, Any]:
            f = (folder / name).open("w", encoding="utf-8", newline="")
            f.write(BOM)
            w = csv.writer(f, lineterminator="\r\n")
            w.writerow(header)
            return f, w

        self.answers_file, self.answers = opened(
            "answers.csv", ["row", "resident_code", "found", "status", *items]
        )
        self.errors_file, self.errors = opened("errors.csv", ["row", "error"])
        self.items = items

    def answer(self, row: BatchRow) -> None:
        fields: dict[str, str] = {}
        if row.record is not None:
            fields = {str(k): v for k, v in row.record.fields.items()}
        status = row.status or (fields.get("status", "") if row.found else "")
        self.answers.writerow(
            [
                row.row,
                row.resident_code or "",
                "true" if row.found else "false",
                status,
                *(fields.get(i, "") for i in self.items),
            ]
        )

    def error(self, row: int, message: str) -> None:
        self.errors.writerow([row, message])

    def close(self) -> None:
        self.answers_file.close()
        self.errors_file.close()


class BatchJobs:
    """The batch jobs of one agency, each a folder under ``root`` (module docstring).

    ``client`` makes the agency's client (one per job, opened and closed by the job);
    ``items`` gives the items of an affair's batch answer, the answer file's columns
    (``agency.affairs``: the node's legal table decides, the file shows what it sent).
    """

    def __init__(
        self,
        root: Path,
        client: Callable[[], AgencyClient],
        items: Callable[[str], tuple[str, ...]],
        *,
        keep_days: int = KEEP_DAYS,
        chunk: int = CHUNK,
    ) -> None:
        self.root, self.client, self.items = root, client, items
        self.keep, self.chunk = timedelta(days=keep_days), chunk
        self.root.mkdir(parents=True, exist_ok=True)
        self._live: dict[str, JobStatus] = {}
        self.prune()

    # --- reading ------------------------------------------------------------------

    def _folder(self, job_id: str) -> Path:
        if not (len(job_id) == 32 and all(c in "0123456789abcdef" for c in job_id)):
            raise NotFound(f"There is no batch job {job_id[:40]!r}.")
        folder = self.root / job_id
        if not (folder / "state.json").exists():
            raise NotFound(f"There is no batch job {job_id} (it may have been removed).")
        return folder

    def status(self, job_id: str) -> JobStatus:
        """The job's progress: live while it runs here, else as last saved."""
        live = self._live.get(job_id)
        if live is not None:
            return live
        data = json.loads((self._folder(job_id) / "state.json").read_text(encoding="utf-8"))
        return JobStatus(**{**data, "items": tuple(data.get("items", ()))})

    def jobs(self) -> list[JobStatus]:
        """Every job kept, newest first."""
        found = []
        for folder in self.root.iterdir():
            if (folder / "state.json").exists():
                found.append(self.status(folder.name))
        return sorted(found, key=lambda j: j.created, reverse=True)

    def answers(self, job_id: str) -> Path:
        """``answers.csv`` of the job (what was answered so far, if it is not done)."""
        return self._file(job_id, "answers.csv")

    def errors(self, job_id: str) -> Path:
        """``errors.csv`` of the job: the malformed rows by row number."""
        return self._file(job_id, "errors.csv")

    def _file(self, job_id: str, name: str) -> Path:
        path = self._folder(job_id) / name
        if not path.exists():
            raise NotFound(f"Batch job {job_id} has not started: it has no {name} yet.")
        return path

    # --- writing ------------------------------------------------------------------

    def _save(self, status: JobStatus) -> None:
        folder = self.root / status.id
        temp = folder / "state.json.tmp"
        temp.write_text(json.dumps(asdict(status), ensure_ascii=False), encoding="utf-8")
        os.replace(temp, folder / "state.json")  # a reader never sees half a file

    def submit(
        self, affair: str, upload: BinaryIO, *, filename: str = "upload.csv",
        column: str | None = None,
    ) -> JobStatus:  # fmt: skip
        """Keep the uploaded file in a new job's folder (copied as it is read, never held
        whole) and queue the job; ``InvalidInput`` (no job made) if the file's layout
        cannot be read or the affair gives no batch."""
        self.prune()
        items = self.items(affair)  # raises for an affair that has no batch
        job_id = secrets.token_hex(16)
        folder = self.root / job_id
        folder.mkdir()
        try:
            rows, first = self._copy(upload, folder / "input.csv")
            column_index, header, encoding = _layout(first, column)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        status = JobStatus(
            id=job_id, affair=affair, filename=Path(filename).name[:200] or "upload.csv",
            state="queued", created=_now(), rows=rows - header, column=column_index,
            header=header, encoding=encoding, items=items,
        )  # fmt: skip
        self._save(status)
        return status

    @staticmethod
    def _copy(upload: BinaryIO, target: Path) -> tuple[int, bytes]:
        """Copy ``upload`` to ``target``; (non-blank lines, the file's first line)."""
        rows, tail, first = 0, b"", None
        with target.open("wb") as out:
            while block := upload.read(_COPY):
                out.write(block)
                lines = (tail + block).split(b"\n")
                tail = lines.pop()
                if first is None and lines:
                    first = lines[0][:4096]  # a header is short; a longer line is no header
                rows += sum(1 for line in lines if line.strip())
        if tail.strip():
            rows += 1
        if first is None:
            first = tail[:4096]
        if not rows:
            raise InvalidInput("The file has no row: nothing to send.")
        return rows, first

    def start(self, job_id: str) -> asyncio.Task[JobStatus]:
        """Run the job in the running event loop; its task (it never raises)."""
        self.status(job_id)
        return asyncio.get_running_loop().create_task(self.run(job_id))

    async def run(self, job_id: str) -> JobStatus:
        """Run a queued job to ``done`` or ``failed`` (module docstring); never raises for
        what a node or a line can do."""
        status = self.status(job_id)
        if status.state != "queued":
            raise InvalidInput(f"Batch job {job_id} is {status.state}, not queued.")
        folder = self.root / job_id
        status = replace(status, state="running", started=_now())
        self._live[job_id] = status
        self._save(status)
        files = _Files(folder, status.items)
        try:
            status = await self._answer(status, folder, files)
            status = replace(status, state="done", finished=_now())
        except (TimeoutError, JukinetError, ClientError, OSError) as exc:
            status = self._live[job_id]
            said = exc.message if isinstance(exc, JukinetError) else f"{type(exc).__name__}: {exc}"
            status = replace(
                status, state="failed", finished=_now(),
                message=f"{said.rstrip('.')}. {status.answered:,} of {status.rows:,} rows "
                "were answered; they are in the answer files.",
            )  # fmt: skip
        except Exception as exc:  # a defect: said in one line, the traceback to the log
            log.exception("batch job %s", job_id)
            status = replace(
                self._live[job_id], state="failed", finished=_now(),
                message=f"internal error: {type(exc).__name__}",
            )  # fmt: skip
        finally:
            files.close()
        self._live.pop(job_id, None)
        self._save(status)
        return status

    async def _answer(self, status: JobStatus, folder: Path, files: _Files) -> JobStatus:
        local: deque[tuple[int, str]] = deque()  # row errors found here, not yet written
        sent = 0

        def lines() -> Iterator[bytes]:
            nonlocal sent
            with (folder / "input.csv").open("rb") as source:
                for number, raw in enumerate(source, 1):
                    if raw.strip():
                        sent += number > 1 or not status.header
                    yield self._line(status, number, raw, local)

        counts = {"answered": 0, "found": 0, "errors": 0}

        def flush(upto: int | None) -> None:
            while local and (upto is None or local[0][0] < upto):
                row, message = local.popleft()
                files.error(row, message)
                counts["answered"] += 1
                counts["errors"] += 1

        async with self.client() as agency:
            rows = agency.batch(status.affair, lines(), chunk=self.chunk)
            async for row in rows:
                flush(row.row)
                if row.error is not None:
                    files.error(row.row, row.error)
                    counts["errors"] += 1
                else:
                    files.answer(row)
                    counts["found"] += row.found
                counts["answered"] += 1
                self._progress(status.id, sent, counts)
        flush(None)
        self._progress(status.id, sent, counts, save=True)
        return self._live[status.id]

    def _progress(self, job_id: str, sent: int, counts: dict[str, int], save: bool = False) -> None:
        live = replace(
            self._live[job_id], sent=sent, answered=counts["answered"], found=counts["found"],
            errors=counts["errors"],
        )  # fmt: skip
        self._live[job_id] = live
        if save or live.answered % SAVE_EVERY == 0:
            self._save(live)

    @staticmethod
    def _line(status: JobStatus, number: int, raw: bytes, local: deque[tuple[int, str]]) -> bytes:
        """What goes up for line ``number``: the line as it is, or its codes' cell; a
        blank line (which the node skips, keeping the numbering) for a header or a row
        whose cell cannot be read here (recorded in ``local``)."""
        if number == 1 and status.header:
            return b"\n"
        if status.column is None or not raw.strip():
            return raw
        try:
            text = raw.rstrip(b"\r\n").decode(status.encoding)
        except UnicodeDecodeError:
            local.append((number, f"row {number}: the line is not {status.encoding} text"))
            return b"\n"
        cells = _cells(text)
        if len(cells) <= status.column:
            local.append((number, f"row {number}: the line has {len(cells)} column(s), no "
                          f"column {status.column + 1} for the resident code"))  # fmt: skip
            return b"\n"
        return cells[status.column].encode("utf-8", "replace") + b"\n"

    # --- retention ----------------------------------------------------------------

    def recover(self) -> list[str]:
        """Mark failed, saying so, the jobs left ``running`` by a process that stopped; their
        ids. Run once when the service that runs the jobs starts (not by a mere reader:
        another process's jobs may be running)."""
        found = []
        for folder in self.root.iterdir():
            try:
                status = self.status(folder.name)
            except (NotFound, ValueError, OSError):
                continue
            if status.state == "running":
                self._save(replace(
                    status, state="failed", finished=_now(),
                    message=f"interrupted: the service stopped while the job ran; "
                    f"{status.answered:,} of {status.rows:,} rows were answered.",
                ))  # fmt: skip
                found.append(status.id)
        return found

    def prune(self, now: datetime | None = None) -> list[str]:
        """Remove the jobs finished more than ``keep_days`` ago; their ids."""
        cut = ((now or datetime.now(UTC)) - self.keep).isoformat(timespec="seconds")
        removed = []
        for folder in list(self.root.iterdir()):
            try:
                status = self.status(folder.name)
            except (NotFound, ValueError, OSError, TypeError):
                continue
            if status.finished is not None and status.finished < cut:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(status.id)
        return removed


def batch_items(table: LegalTable, agency: str) -> Callable[[str], tuple[str, ...]]:
    """The items of each affair's batch answer for ``agency`` (``agency.affairs``), or
    ``ProvisionRefused`` for an affair the legal table gives it no batch for."""
    offer = affairs_of(table, agency)

    def items(affair: str) -> tuple[str, ...]:
        found = offer.affair(affair)
        batch = found.function("batch") if found is not None else None
        if batch is None:
            allowed = [a.code for a in offer.affairs if a.allows("batch")]
            raise ProvisionRefused(
                f"The legal table gives {offer.recipient_name} no batch for affair "
                f"{affair!r} (its affairs with a batch: {', '.join(allowed) or 'none'})."
            )
        return batch.receives

    return items


def agency_jobs(root: Path, folder: Path, table: LegalTable | None = None, **kw: Any) -> BatchJobs:
    """The batch jobs of the agency whose folder is ``folder``, kept under ``root``."""
    settings = AgencySettings.from_folder(folder)
    agency = settings.identity.node_id.partition(":")[2]
    items = batch_items(table or load_shipped_legal_table(), agency)
    return BatchJobs(root, lambda: AgencyClient(settings), items, **kw)
