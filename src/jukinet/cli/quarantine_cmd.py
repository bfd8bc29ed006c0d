"""``jukinet quarantine``: refused identity updates held on a prefecture or national node.

Works on the node's home (``--home``) directly, like the other operator commands;
each decision is one audit entry on that node (docs/network.md, "Quarantine").
"""

from __future__ import annotations

import typer

from jukinet.cli._common import console, handle_errors, identity_node

app = typer.Typer(no_args_is_help=True, help="Refused identity updates held on this node.")


@app.command("list")
@handle_errors
def list_items(
    every: bool = typer.Option(False, "--all", help="Also the items already resolved."),
) -> None:
    """The quarantined updates: sender, seq, resident code, why, and any decision."""
    from jukinet.nodes.identity import quarantine

    with identity_node("a quarantine") as store:
        found = quarantine.items(store, open_only=not every)
    for i in found:
        decision = f"{i.resolution} by {i.resolved_by}" if i.resolution else "open"
        console.print(
            f"#{i.id} {i.sender} update {i.sender_seq}, resident code {i.resident_code}, "
            f"since {i.quarantined_at[:19]} [{decision}]: {i.reason}",
            soft_wrap=True, markup=False,
        )  # fmt: skip
    console.print(f"{sum(1 for i in found if i.resolution is None)} open.")


@app.command("release")
@handle_errors
def release(
    item: int = typer.Argument(..., help="The item's number (quarantine list)."),
    operator: str = typer.Option(..., "--operator", help="Who decides (audited)."),
    note: str = typer.Option("", "--note", help="Why (kept with the decision)."),
) -> None:
    """Apply a quarantined update now (after its cause is fixed; the person's earlier first)."""
    from jukinet.nodes.identity import quarantine

    with identity_node("a quarantine") as store:
        done = quarantine.release(store, item, operator=operator, note=note or None)
    console.print(f"Released: {done.sender} update {done.sender_seq} is applied.")


@app.command("drop")
@handle_errors
def drop(
    item: int = typer.Argument(..., help="The item's number (quarantine list)."),
    operator: str = typer.Option(..., "--operator", help="Who decides (audited)."),
    note: str = typer.Option(..., "--note", help="Why it is not applied (kept)."),
) -> None:
    """Record that a quarantined update will not be applied."""
    from jukinet.nodes.identity import quarantine

    with identity_node("a quarantine") as store:
        done = quarantine.drop(store, item, operator=operator, note=note)
    console.print(f"Dropped: {done.sender} update {done.sender_seq} will not be applied.")
