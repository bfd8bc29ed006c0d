"""``jukinet register``, ``pool``, ``seed`` and ``demo``: creating and filling a register."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import sys
from datetime import date
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from jukinet import config
from jukinet.card.image import key_path, open_image, read_chip_key
from jukinet.card.operator_card import write_operator_card
from jukinet.card.reader import InProcessReader
from jukinet.cli._common import (
    OperatorOption,
    console,
    day,
    fail,
    handle_errors,
    login,
    password_from_env_or_prompt,
    register,
    state,
)
from jukinet.domain.access import Role, Session
from jukinet.nodes.municipality import pool as code_pool
from jukinet.nodes.municipality import report, service, staff
from jukinet.nodes.municipality.codes_source import code_source_for
from jukinet.nodes.municipality.seeding import SeedReport
from jukinet.nodes.municipality.seeding import seed as seed_register
from jukinet.nodes.municipality.setup import (
    DEFAULT_LOW_WATER,
    DEFAULT_POOL,
    FirstAdministrator,
    init_register,
    migrate,
)
from jukinet.nodes.municipality.store import RegisterStore
from jukinet.seed.places import Places
from jukinet.storage.database import make_engine

app = typer.Typer(help="Create and inspect the municipality's register.", no_args_is_help=True)
pool_app = typer.Typer(help="The pool of unused resident codes (R6).", no_args_is_help=True)


@app.command("init")
@handle_errors
def init(
    municipality: str = typer.Option(..., help="Local government code, e.g. 131016 (Chiyoda)."),
    admin: str = typer.Option(..., help="User name of the first administrator."),
    admin_name: str = typer.Option(..., help="Full name of the first administrator."),
    trained_on: str = typer.Option(..., help="Date of the administrator's security training."),
    pledge_on: str = typer.Option(..., help="Date the administrator signed the pledge."),
    database: str | None = typer.Option(None, "--db", help="Database URL (default: SQLite)."),
    pool_size: int = typer.Option(DEFAULT_POOL, help="Codes in the initial pool."),
    low_water: int = typer.Option(DEFAULT_LOW_WATER, help="Warn below this many unused codes."),
    admin_card: Path = typer.Option(
        ...,
        "--admin-card",
        help="Where to write the administrator's operator card (R11; chip key in FILE.key).",
    ),
) -> None:
    """Create a municipality's register in --home. Password: prompt or JUKINET_PASSWORD.

    The administrator signs in with that password and the operator card written to
    --admin-card, served in the reader (`jukinet card serve FILE --slot 1`)."""
    with Places() as places:
        m = places.municipality(municipality)
    password = password_from_env_or_prompt("JUKINET_PASSWORD", "Administrator password", True)
    cfg = init_register(
        state.home,
        m,
        FirstAdministrator(admin, admin_name, password, day(trained_on), day(pledge_on)),
        code_pool.LocalCodeSource(),
        database_url=database,
        pool_size=pool_size,
        low_water=low_water,
        admin_card=admin_card,
    )
    console.print(f"Created the register of {cfg.name} ({cfg.code}) in {cfg.home}.")
    console.print(
        f"The operator card of {admin} is {admin_card} (chip key {key_path(admin_card)}).",
        soft_wrap=True,
    )


@app.command("migrate")
@handle_errors
def migrate_cmd() -> None:
    """Bring the register's database schema up to date."""
    engine = make_engine(config.load(state.home).database_url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    console.print("Schema is up to date.")


@app.command("summary")
@handle_errors
def summary(operator: str | None = OperatorOption) -> None:
    """Residents, households, ages and the code pool at a glance (an audited read)."""
    with register() as store:
        session = login(store, operator)
        s = report.summary(store, session, date.today())
    show_summary(s)


def show_summary(s: report.Summary) -> None:
    t = Table(title=f"{s.name} ({s.code})", show_header=False, title_justify="left")
    t.add_column("what", style="bold")
    t.add_column("value", justify="right")
    for label, value in (
        ("residents 住民", f"{s.residents:,}"),
        ("  male / female", f"{s.male:,} / {s.female:,}"),
        ("removed records 除票", f"{s.removed:,}"),
        ("households 世帯", f"{s.households:,}"),
        ("towns 町字", f"{s.towns:,}"),
        ("names with variant kanji", f"{s.variant_names:,}"),
        ("unused codes in pool", f"{s.pool_unused:,}"),
        ("audit entries", f"{s.audit_entries:,}"),
    ):
        t.add_row(label, value)
    console.print(t)
    ages = Table(title="age 年齢", title_justify="left")
    ages.add_column("band")
    ages.add_column("residents", justify="right")
    ages.add_column("share", justify="right")
    for band, n in s.age_bands:
        ages.add_row(band, f"{n:,}", f"{(n / s.residents if s.residents else 0):.1%}")
    console.print(ages)


@pool_app.command("status")
@handle_errors
def pool_status() -> None:
    """How many unused codes are left."""
    with register() as store:
        left = code_pool.remaining(store)
        console.print(f"{left:,} unused resident codes (warning below {store.low_water:,}).")


@pool_app.command("replenish")
@handle_errors
def pool_replenish(
    count: int = typer.Argument(..., help="How many codes to add."),
    operator: str | None = OperatorOption,
) -> None:
    """Add codes to the pool (administrator)."""
    with register() as store:
        session = login(store, operator)
        added = asyncio.run(code_pool.replenish(store, session, code_source_for(state.home), count))
        console.print(f"Added {added:,} codes; {code_pool.remaining(store):,} unused.")


@handle_errors
def seed(
    residents: int = typer.Option(10_000, help="How many synthetic residents to add."),
    rng_seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same people)."),
    operator: str | None = OperatorOption,
) -> None:
    """Fill the register with coherent synthetic residents of this municipality."""
    with register() as store, Places() as places:
        session = login(store, operator)
        result = _seed_with_progress(store, session, places, residents, rng_seed)
    console.print(
        f"Seeded {result.residents:,} residents in {result.households:,} households "
        f"in {result.seconds:.1f} s."
    )


def _seed_with_progress(
    store: RegisterStore, session: Session, places: Places, residents: int, rng_seed: int
) -> SeedReport:
    with Progress(
        TextColumn("seeding"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task("seed", total=residents)
        return asyncio.run(
            seed_register(
                store,
                session,
                places,
                code_source_for(state.home),
                residents,
                today=date.today(),
                rng_seed=rng_seed,
                progress=lambda n: bar.update(task, completed=n),
            )
        )


DEMO_MARK = ".jukinet-demo"


def _program() -> str:
    """How the user called us (e.g. .venv/bin/jukinet), to print commands they can paste."""
    called = Path(sys.argv[0])
    return str(called) if called.name == "jukinet" else "jukinet"


@handle_errors
def demo(
    municipality: str = typer.Option("131016", help="Local government code of the municipality."),
    residents: int = typer.Option(100_000, help="Synthetic residents to create."),
    home: Path = typer.Option(Path("var/demo"), help="Folder of the demo node (recreated)."),
) -> None:
    """Create a municipality register, fill it with synthetic residents, show a summary."""
    if home.exists():
        if not (home / DEMO_MARK).exists():
            raise fail(f"{home} exists and is not a demo folder; choose another --home.")
        shutil.rmtree(home)
    admin_password = secrets.token_urlsafe(12)
    clerk_password = secrets.token_urlsafe(12)
    today = date.today()
    with Places() as places:
        m = places.municipality(municipality)
        home.mkdir(parents=True)
        (home / DEMO_MARK).write_text("demo node: removed by the next `jukinet demo`\n")
        admin_card, clerk_card = home / "admin-card.img", home / "clerk-card.img"
        cfg = init_register(
            home,
            m,
            FirstAdministrator("admin", "Demo Administrator", admin_password, today, today),
            code_pool.LocalCodeSource(),
            admin_card=admin_card,
        )
        state.home = home
        with register() as store:
            # the demo signs its administrator in with the card in process
            chip = open_image(admin_card, read_chip_key(key_path(admin_card)))
            session = service.login(store, "admin", admin_password, InProcessReader(chip))
            staff.add(
                store, session, username="clerk", full_name="Demo Clerk", role=Role.CLERK,
                password=clerk_password, trained_on=today, pledge_signed_on=today,
            )  # fmt: skip
            write_operator_card(clerk_card, staff.issue_card(store, session, "clerk"))
            result = _seed_with_progress(store, session, places, residents, 0)
            s = report.summary(store, session, today)
    console.print(
        f"Created {cfg.name} ({cfg.code}) in {home}: {result.residents:,} residents "
        f"in {result.households:,} households, seeded in {result.seconds:.1f} s.",
        soft_wrap=True,
    )
    show_summary(s)
    console.print("\nTry it as the demo clerk (the card in the reader, in another terminal):")
    console.print(f"  {_program()} card serve {clerk_card} --slot 1", soft_wrap=True)
    console.print(
        f"  export JUKINET_HOME={home} JUKINET_OPERATOR=clerk JUKINET_PASSWORD={clerk_password}",
        soft_wrap=True,
    )
    console.print(f"  {_program()} household show 1", soft_wrap=True)
    console.print(f"Administrator: admin / {admin_password}, card {admin_card}")
