"""``jukinet identity``: the identity information of a prefecture or national node.

Works on the node's home (``--home``) directly, like ``jukinet quarantine``: the bulk
load of identities (docs/operations.md, "Loading identities in bulk") and the
provision log's partitions and retention ("Keeping the provision log").
"""

from __future__ import annotations

from pathlib import Path

import typer

from jukinet.cli._common import console, handle_errors, identity_node
from jukinet.errors import ConfigurationError

app = typer.Typer(no_args_is_help=True, help="Identity information of this node: load, retention.")


@app.command("load")
@handle_errors
def load(
    csv_file: Path = typer.Option(
        ..., "--csv", exists=True, dir_okay=False, help="The identities, one per row (UTF-8)."
    ),
    operator: str = typer.Option(..., "--operator", help="Who loads (audited)."),
    indexes: str = typer.Option(
        "auto",
        help="Build the secondary indexes after the rows (after), keep them (with), or after "
        "into an empty node only (auto). PostgreSQL only.",
    ),
) -> None:
    """Load identities from a CSV file in one transaction: every row, or none."""
    from jukinet.nodes.identity.bulkload import load_csv

    if indexes not in ("auto", "with", "after"):
        raise ConfigurationError(f"--indexes is auto, with or after, not {indexes!r}.")
    with identity_node("identities") as store:
        from jukinet.nodes.national.tables import issued_codes

        registry = issued_codes if store.kind == "national" else None
        done = load_csv(store, csv_file, operator=operator, registry=registry,
                        indexes=indexes)  # type: ignore[arg-type]  # fmt: skip
    console.print(
        f"Loaded {done.rows:,} identities ({done.residents:,} resident, {done.removed:,} "
        f"removed, {done.municipalities} municipalities) in {done.seconds:.1f} s "
        f"({done.rows / max(done.seconds, 1e-9):,.0f}/s, {done.method}, indexes {done.indexes}); "
        f"history sender {done.sender}."
    )


@app.command("migrate")
@handle_errors
def migrate() -> None:
    """Bring the node's database schema up to date (after an upgrade of jukinet)."""
    from jukinet import config
    from jukinet.cli._common import state
    from jukinet.storage.database import make_engine

    cfg = config.load(state.home)
    if cfg.kind == "prefecture":
        from jukinet.nodes.prefecture.store import migrate as upgrade
    elif cfg.kind == "national":
        from jukinet.nodes.national.store import migrate as upgrade
    else:
        raise ConfigurationError(
            f"{state.home} is a {cfg.kind} node: `jukinet register migrate` brings its schema "
            "up to date."
        )
    engine = make_engine(cfg.database_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    console.print("Schema is up to date.")


@app.command("partitions")
@handle_errors
def partitions() -> None:
    """Make the provision log's partitions of this month and the next ones (PostgreSQL)."""
    from jukinet.nodes.identity import provision_retention

    with identity_node("identities") as store:
        made = provision_retention.ensure_partitions(store)
        with store.engine.connect() as conn:
            held = sorted(provision_retention.months(conn)) if provision_retention.partitioned(
                conn) else []  # fmt: skip
    if not held:
        console.print("The provision log is one table here (SQLite): no partitions to make.")
        return
    console.print(f"Made {', '.join(made) or 'none'}; months held: {held[0]:%Y-%m} to "
                  f"{held[-1]:%Y-%m}.")  # fmt: skip


@app.command("prune")
@handle_errors
def prune(
    operator: str = typer.Option("system", "--operator", help="Who prunes (audited)."),
    keep_years: int = typer.Option(7, min=1, help="Keep provision records this many years."),
    keep_days: int | None = typer.Option(
        None, min=1, help="Keep this many days instead of --keep-years."
    ),
) -> None:
    """Remove the provision records older than the retention (7 years, MISSION.md)."""
    from datetime import UTC, datetime

    from jukinet.nodes.identity import provision_retention

    cutoff = provision_retention.cutoff_of(datetime.now(UTC), keep_years, keep_days)
    with identity_node("identities") as store:
        done = provision_retention.prune(store, cutoff, actor=operator)
    dropped = f"; dropped {', '.join(done.partitions)}" if done.partitions else ""
    console.print(f"Pruned {done.rows:,} provision records older than {done.cutoff}{dropped}.")
