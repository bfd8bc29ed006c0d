"""``jukinet audit``: verify and read the tamper-evident audit log (R12, R25)."""

from __future__ import annotations

import typer
from rich.text import Text

from jukinet.audit import log as audit
from jukinet.cli._common import OperatorOption, console, fail, handle_errors, login, register
from jukinet.domain.access import Permission
from jukinet.nodes.municipality.service import run
from jukinet.nodes.municipality.store import RegisterTx

app = typer.Typer(help="Verify and read the audit log.", no_args_is_help=True)


@app.command("verify")
@handle_errors
def verify(operator: str | None = OperatorOption) -> None:
    """Check every entry of the chain and the signed head; say where it was tampered with."""
    with register() as store:
        session = login(store, operator)

        def work(tx: RegisterTx) -> tuple[audit.Verification, str, str]:
            result = audit.verify(tx.conn, store.key.public)
            outcome = "intact" if result.intact else f"{len(result.problems)} problems"
            return result, "audit log", f"{result.entries} entries: {outcome}"

        result = run(store, session, Permission.READ_AUDIT, "audit.verify", "audit log", work)
    if result.intact:
        console.print(f"Audit log intact: {result.entries} entries, signed head verified.")
        return
    for p in result.problems:
        console.print(f"[red]entry {p.seq}[/]: {p.what}")
    raise fail(f"The audit log was tampered with ({len(result.problems)} problems found).", 3)


@app.command("show")
@handle_errors
def show(
    last: int = typer.Option(20, "--last", help="How many of the newest entries."),
    operator: str | None = OperatorOption,
) -> None:
    """The newest entries of the audit log."""
    with register() as store:
        session = login(store, operator)

        def work(tx: RegisterTx) -> tuple[list[audit.Entry], str, str]:
            head, _ = audit.lock_head(tx.conn)
            found = list(audit.entries(tx.conn, after=max(0, head - last)))
            return found, "audit log", f"read {len(found)} entries"

        found = run(store, session, Permission.READ_AUDIT, "audit.show", "audit log", work)
    # One line per entry, never truncated: an auditor reads every character.
    for e in found:
        console.print(
            Text.assemble(
                (f"{e.seq:>8} ", "bold"), f"{e.at}  {e.actor}  {e.operation}  {e.target}  ",
                (e.outcome, "green" if e.outcome == audit.Outcome.OK else "red"),
                f"  {e.detail}" if e.detail else "",
            ),
            soft_wrap=True,
        )  # fmt: skip
