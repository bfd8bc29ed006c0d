"""``jukinet agency``: what a passport office or pension fund runs (R23, R24)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Literal

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from jukinet.agency import AgencyClient
from jukinet.cli._common import console, day, err_console, handle_errors
from jukinet.domain.checks import parse_sex
from jukinet.errors import InvalidInput

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


def _sex(value: str | None) -> Literal["male", "female"] | None:
    return parse_sex(value).value if value else None


@app.command("lookup")
@handle_errors
def lookup(code: str, folder: Path = As, affair: str = Affair, node: str | None = Node) -> None:
    """Identity information of one resident by code (only the affair's fields)."""

    async def go() -> object:
        async with AgencyClient.from_folder(folder, node) as agency:
            return await agency.lookup(affair, code)

    _print(asyncio.run(go()))


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

    async def go() -> object:
        async with AgencyClient.from_folder(folder, node) as agency:
            return await agency.verify(affair, code, name, day(born), _sex(sex) or "male", address)

    _print(asyncio.run(go()))


@app.command("batch")
@handle_errors
def batch(
    source: Path = typer.Argument(..., help="Resident codes: CSV or JSON lines."),
    target: Path = typer.Argument(..., help="Where the answers go (JSON lines)."),
    folder: Path = As,
    affair: str = Affair,
    node: str | None = Node,
) -> None:
    """Status of every resident in a file, streamed (R24: proof of life)."""
    counts = {"rows": 0, "found": 0, "errors": 0}

    async def go() -> None:
        with (
            source.open("rb") as lines,  # bytes: the node answers undecodable rows per row
            target.open("w", encoding="utf-8") as out,
            Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                     console=err_console, transient=True,
                     disable=not err_console.is_terminal) as bar,
        ):  # fmt: skip
            task = bar.add_task("0 rows")
            async with AgencyClient.from_folder(folder, node) as agency:
                async for row in agency.batch(
                    affair, lines, progress=lambda n: bar.update(task, description=f"{n:,} rows")
                ):
                    out.write(row.model_dump_json(exclude_none=True) + "\n")
                    counts["rows"] += 1
                    counts["found"] += row.found
                    counts["errors"] += row.error is not None

    try:
        asyncio.run(go())
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"{source} is not UTF-8 text ({exc.reason}): save it as UTF-8 CSV or JSON lines; "
            f"{counts['rows']:,} rows were answered before it ({target})."
        ) from None
    console.print(
        f"{counts['rows']:,} rows: {counts['found']:,} found, {counts['errors']:,} malformed "
        f"→ {target}"
    )
