"""``jukinet agency``: what a passport office or pension fund runs (R23, R24)."""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import asdict
from datetime import timedelta, timezone
from pathlib import Path
from typing import Literal

import typer
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from jukinet.agency import AgencyClient
from jukinet.agency.affairs import ITEM_NAMES, AgencyOffer, affairs_of
from jukinet.agency.batch_file import BatchReport, batch_file
from jukinet.agency.batch_job import JobStatus, agency_jobs
from jukinet.agency.client import AgencySettings
from jukinet.cli._common import console, day, err_console, fail, handle_errors
from jukinet.domain.checks import parse_sex
from jukinet.domain.legal_parse import load_legal_table, load_shipped_legal_table
from jukinet.errors import PeerUnreachable
from jukinet.network.messages import LookupResponse, VerifyResponse
from jukinet.network.messages_history import MAX_HISTORY_PAGE, HistoryEntry, HistoryRequest

JST = timezone(timedelta(hours=9), "JST")

app = typer.Typer(help="Identity confirmation for an administrative body.", no_args_is_help=True)

As = typer.Option(
    ..., "--as", help="The agency's folder (agency.toml, node.key, node.pem, ca.pem)."
)
Affair = typer.Option(..., help="The affair (事務) of the legal table this call is for.")
Node = typer.Option(None, help="Another node's URL (default: the node serving the agency).")


def _print(model: object) -> None:
    dump = getattr(model, "model_dump", None)
    data = dump(mode="json") if dump else model
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=1) + "\n")


RETIRED = (
    "status: retired — resident code {code} was retired by a code change at the "
    "resident's request (R6); nothing of the person is answered for it. Ask the person "
    "for their current resident code."
)


def _print_answer(model: LookupResponse | VerifyResponse, code: str) -> None:
    """The answer as JSON; a retired code also gets one line on stderr saying so."""
    _print(model)
    if model.status == "retired":
        err_console.print(RETIRED.format(code=code.strip()))


def _sex(value: str | None) -> Literal["male", "female"] | None:
    return parse_sex(value).value if value else None


@app.command("lookup")
@handle_errors
def lookup(code: str, folder: Path = As, affair: str = Affair, node: str | None = Node) -> None:
    """Identity information of one resident by code (only the affair's fields)."""

    async def go() -> LookupResponse:
        async with AgencyClient.from_folder(folder, node) as agency:
            return await agency.lookup(affair, code)

    _print_answer(asyncio.run(go()), code)


@app.command("search")
@handle_errors
def search(
    name: str = typer.Option(..., help="氏名"),
    born: str | None = typer.Option(None, help="Date of birth."),
    sex: str | None = typer.Option(None),
    address: str | None = typer.Option(None),
    folder: Path = As,
    affair: str = Affair,
    node: str | None = Node,
) -> None:
    """Candidates by the 4 items, variant kanji folded (髙/高, 﨑/崎 …)."""

    async def go() -> object:
        async with AgencyClient.from_folder(folder, node) as agency:
            return await agency.search(
                affair, name, date_of_birth=day(born) if born else None, sex=_sex(sex),
                address=address,
            )  # fmt: skip

    _print(asyncio.run(go()))


@app.command("verify")
@handle_errors
def verify(
    code: str = typer.Option(..., help="Resident code the applicant wrote."),
    name: str = typer.Option(...),
    born: str = typer.Option(...),
    sex: str = typer.Option(...),
    address: str = typer.Option(...),
    folder: Path = As,
    affair: str = Affair,
    node: str | None = Node,
) -> None:
    """Match without disclosure: per item, does the application agree with the register?"""

    async def go() -> VerifyResponse:
        async with AgencyClient.from_folder(folder, node) as agency:
            return await agency.verify(affair, code, name, day(born), _sex(sex) or "male", address)

    _print_answer(asyncio.run(go()), code)


@app.command("batch")
@handle_errors
def batch(
    source: Path = typer.Argument(..., help="Resident codes: CSV or JSON lines."),
    target: Path = typer.Argument(..., help="Where the answers go (JSON lines)."),
    folder: Path = As,
    affair: str = Affair,
    node: str | None = Node,
    resume: bool = typer.Option(
        False,
        "--resume",
        help="Go on with a batch that broke off: the same SOURCE and TARGET; the rows "
        "after the last answered one are sent and their answers appended.",
    ),
) -> None:
    """Status of every resident in a file, streamed (R24: proof of life)."""

    async def go() -> BatchReport:
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
            disable=not err_console.is_terminal,
        ) as bar:
            task = bar.add_task("")
            async with AgencyClient.from_folder(folder, node) as agency:
                return await batch_file(
                    agency, affair, source, target, resume=resume,
                    progress=lambda n: bar.update(task, description=f"{n:,} rows"),
                )  # fmt: skip

    try:
        report = asyncio.run(go())
    except PeerUnreachable as exc:
        # The rows answered until the break are in TARGET, and its sidecar says which
        # batch it is: the one line (the boundary prints it) tells how to go on.
        said = exc.message.rstrip()
        exc.message = (
            f"{said}{'' if said.endswith('.') else '.'} What was answered is in {target}; "
            "the same command with --resume sends the rest."
        )
        raise
    retired = f", {report.retired:,} retired" if report.retired else ""
    counts = (
        f"{report.rows:,} rows: {report.found:,} found{retired}, {report.errors:,} malformed"
        f" → {target}"
    )
    if report.resumed_after is None:
        console.print(counts)
        return
    cut = ", a cut-off last line dropped" if report.dropped_cut_line else ""
    console.print(f"resumed after row {report.resumed_after:,}{cut}; {counts}")


def _agency_code(folder: Path) -> str:
    """The agency's code (``pension-fund``) from its folder's node id (``agency:pension-fund``)."""
    return AgencySettings.from_folder(folder).identity.node_id.partition(":")[2]


def _print_offer(offer: AgencyOffer) -> None:
    console.print(
        f"{offer.recipient_name} (agency {offer.agency}, served by {offer.served_by}; "
        f"legal table {offer.table_version})"
    )
    for affair in offer.affairs:
        console.print(f"\n{affair.code}: {affair.description}")
        console.print(f"  legal basis: {affair.basis}")
        for f in affair.functions:
            if f.compares:
                items = (
                    "compares "
                    + "・".join(ITEM_NAMES[i] for i in f.compares)
                    + ", receives no item"
                )
            else:
                items = "receives " + "・".join(ITEM_NAMES[i] for i in f.receives)
            limit = f" (at most {f.max_candidates} candidates)" if f.max_candidates else ""
            console.print(f"  {f.function}: {f.name}: {items}{limit}")


@app.command("affairs")
@handle_errors
def affairs(
    folder: Path = As,
    table: Path | None = typer.Option(
        None, help="A legal table file (default: the one shipped with jukinet)."
    ),
    as_json: bool = typer.Option(False, "--json", help="As JSON, for a program."),
) -> None:
    """What the legal table lets this agency do: its affairs, their functions and items."""
    legal = load_legal_table(table) if table else load_shipped_legal_table()
    offer = affairs_of(legal, _agency_code(folder))
    if as_json:
        _print(asdict(offer))
        return
    _print_offer(offer)


def _history_line(e: HistoryEntry) -> str:
    items = ",".join(e.fields) or "-"
    return (
        f"{e.at.astimezone(JST):%Y-%m-%d %H:%M:%S} JST  {e.function:<6} {e.affair}  "
        f"{e.residents:,} resident(s)  items {items}  request {e.request_id}  ({e.basis})"
    )


@app.command("history")
@handle_errors
def history(
    folder: Path = As,
    month: str | None = typer.Option(None, help="A month in Japan time, e.g. 2026-12."),
    since: str | None = typer.Option(None, help="First day (Japan time), with --until."),
    until: str | None = typer.Option(None, help="Last day (Japan time), included."),
    affair: str | None = typer.Option(None, help="Only this affair."),
    codes: bool = typer.Option(False, "--codes", help="List the resident codes asked, too."),
    as_json: bool = typer.Option(False, "--json", help="One JSON entry a line."),
    node: str | None = Node,
) -> None:
    """What this agency itself has received: its provisions in a month or range of days."""
    request = HistoryRequest(
        month=month, since=day(since) if since else None, until=day(until) if until else None,
        affair=affair, codes=codes, limit=MAX_HISTORY_PAGE,
    )  # fmt: skip

    async def go() -> tuple[int, int]:
        entries = residents = 0
        async with AgencyClient.from_folder(folder, node) as agency:
            async for entry in agency.history_all(request):
                entries, residents = entries + 1, residents + entry.residents
                if as_json:
                    sys.stdout.write(entry.model_dump_json(exclude_none=True) + "\n")
                else:
                    console.print(_history_line(entry), highlight=False, soft_wrap=True)
                    if entry.resident_codes:
                        console.print("  codes: " + " ".join(entry.resident_codes), soft_wrap=True)
        return entries, residents

    entries, residents = asyncio.run(go())
    if not as_json:
        window = month or f"{since} to {until}"
        err_console.print(f"{window}: {entries:,} provision(s), {residents:,} resident(s) in all")


@app.command("job")
@handle_errors
def job(
    source: Path = typer.Argument(..., help="A CSV of resident codes (one column, or named)."),
    folder: Path = As,
    affair: str = Affair,
    jobs_dir: Path = typer.Option(..., "--jobs", help="The folder the jobs are kept in."),
    column: str | None = typer.Option(None, help="The header of the codes' column."),
) -> None:
    """Run a CSV as a batch job, as the console's upload does: progress, then the answer
    and error files (UTF-8 with BOM, for Excel)."""
    jobs = agency_jobs(jobs_dir, folder)
    with source.open("rb") as upload:
        queued = jobs.submit(affair, upload, filename=source.name, column=column)

    async def go() -> JobStatus:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
            disable=not err_console.is_terminal,
        ) as bar:
            task = bar.add_task(f"{queued.rows:,} rows", total=queued.rows)
            running = jobs.start(queued.id)
            while not running.done():
                bar.update(task, completed=jobs.status(queued.id).answered)
                await asyncio.sleep(0.2)
            return await running

    done = asyncio.run(go())
    files = f"{jobs.answers(done.id)}, {jobs.errors(done.id)}"
    if done.state != "done":
        raise fail(f"batch job {done.id} failed: {done.message} ({files})")
    console.print(
        f"job {done.id}: {done.answered:,} rows: {done.found:,} found, "
        f"{done.errors:,} malformed → {files}",
        soft_wrap=True,
    )


ConsolePort = typer.Option(None, "--port", help="The console's HTTPS port (kept once given).")
ConsoleHost = typer.Option(None, "--host", help="The host name staff's browsers use (localhost).")


@app.command("console")
@handle_errors
def console_serve(
    folder: Path = As, port: int | None = ConsolePort, host: str | None = ConsoleHost
) -> None:
    """Serve the agency console (web) for this agency's staff on its own HTTPS port."""
    from jukinet.web.agency.app import console_settings, serve_agency_console

    settings = console_settings(folder, port, host)
    err_console.print(f"agency console: {settings.origin}/", soft_wrap=True)
    serve_agency_console(folder, port, host)


@app.command("staff")
@handle_errors
def staff(
    name: str = typer.Argument(..., help="The staff member's account name, e.g. tanaka."),
    folder: Path = As,
    password: str | None = typer.Option(None, help="Their first password (default: made)."),
    port: int | None = ConsolePort,
    host: str | None = ConsoleHost,
) -> None:
    """Add a staff account to the agency console (or renew its link) and print a one-time
    link to register their card (24 h)."""
    from jukinet.web.agency.app import enrol_staff

    chosen, link = enrol_staff(folder, name, password, port, host)
    console.print(f"{name}: password {chosen}")
    console.print(f"Registration link (once, 24 h): {link}", soft_wrap=True)
