"""``jukinet audit``: verify, checkpoint, export and read the tamper-evident audit log (R12, R25).

Every node kind has the same log (docs/audit.md). On a municipality the commands need
an operator allowed to read the audit log; on a prefecture or national node access to
its home is the credential. Each command is audited on the node it ran on.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import typer
from rich.text import Text
from sqlalchemy import Connection

from jukinet.audit import bundle, checkpoints
from jukinet.audit import log as audit
from jukinet.cli._common import (
    OperatorOption,
    console,
    fail,
    handle_errors,
    login,
    register,
    state,
)
from jukinet.domain.access import Permission
from jukinet.keys import NodeKey
from jukinet.nodes.municipality.service import run
from jukinet.nodes.municipality.store import RegisterTx

app = typer.Typer(help="Verify and read the audit log.", no_args_is_help=True)


T = TypeVar("T")


def _on_node(
    operation: str, work: Callable[[Connection, NodeKey, str], tuple[T, str]], operator: str | None
) -> T:
    """Run ``work(conn, node key, log origin)`` in one audited transaction on any node kind.

    ``work`` returns (result, detail for the audit entry).
    """
    import getpass

    from jukinet import config

    kind = config.load(state.home).kind
    if kind == "municipality":
        with register() as store:
            session = login(store, operator)
            name = checkpoints.origin(kind, str(store.code))

            def in_tx(tx: RegisterTx) -> tuple[T, str, str]:
                result, detail = work(tx.conn, store.key, name)
                return result, "audit log", detail

            return run(store, session, Permission.READ_AUDIT, operation, "audit log", in_tx)
    from jukinet.nodes.national.store import open_store as open_national
    from jukinet.nodes.prefecture.store import open_store as open_prefecture

    node = (open_national if kind == "national" else open_prefecture)(state.home)
    try:
        with node.transaction() as conn:
            result, detail = work(conn, node.key, checkpoints.origin(kind, node.code))
            node.audit(conn, audit.Draft(f"cli:{getpass.getuser()}", operation, "audit log",
                                         detail=detail))  # fmt: skip
        return result
    finally:
        node.close()


@app.command("checkpoint")
@handle_errors
def checkpoint(operator: str | None = OperatorOption) -> None:
    """Sign a checkpoint of the audit log now (C2SP tlog-checkpoint) and print it."""

    def work(conn: Connection, key: NodeKey, name: str) -> tuple[str, str]:
        made = checkpoints.make(conn, key, name)
        return made.full, f"checkpoint at size {made.size}"

    console.print(_on_node("audit.checkpoint", work, operator), end="", markup=False)


@app.command("export")
@handle_errors
def export(
    out: Path = typer.Option(..., "--out", help="The directory to write the bundle into."),
    operator: str | None = OperatorOption,
) -> None:
    """Write the audit bundle for an external auditor: entries, checkpoints, proofs, key."""
    if out.exists() and any(out.iterdir()):
        raise fail(f"{out} is not empty: export into a new directory.")

    cosigner = _cosigner_key()

    def work(conn: Connection, key: NodeKey, name: str) -> tuple[int, str]:
        witnessed = cosigner is not None and any(c.cosignatures for c in checkpoints.every(conn))
        made = bundle.export(conn, key, name, out, cosigner if witnessed else None)
        return made.size, f"bundle of {made.size} entries to {out}"

    size = _on_node("audit.export", work, operator)
    console.print(f"Audit bundle written to {out}: {size} entries up to the signed checkpoint.")


def _cosigner_key() -> str | None:
    """A networked municipality's prefecture's cosigning key, from the directory it holds."""
    from jukinet import config
    from jukinet.domain.codes import LocalGovernmentCode, prefecture_code_of
    from jukinet.network.messages import node_id
    from jukinet.nodes.runtime import load_runtime

    cfg = config.load(state.home)
    if cfg.kind != "municipality" or cfg.network is None:
        return None
    prefecture = str(prefecture_code_of(LocalGovernmentCode(cfg.code)))
    public = load_runtime(cfg).directory.public_key(node_id("prefecture", prefecture))
    return (
        None
        if public is None
        else bundle.cosigner_key(checkpoints.witness_name(prefecture), public)
    )


@app.command("verify")
@handle_errors
def verify(
    operator: str | None = OperatorOption,
    bundle_dir: Path | None = typer.Option(
        None, "--bundle", help="Check an exported bundle offline instead of this node's log."
    ),
) -> None:
    """Check every entry against the Merkle tree and the signed head; say where it was
    tampered with. With --bundle, check an exported bundle offline (no node needed).

    On a prefecture or national node (which has no operator accounts: access to its
    home is the credential) the provision log is checked against its seals too.
    """
    from jukinet import config

    if bundle_dir is not None:
        entries, problems = bundle.verify(bundle_dir)
        for p in problems:
            console.print(f"[red]bundle[/]: {p}", markup=True)
        if problems:
            raise fail(f"The audit bundle does not hold ({len(problems)} problems found).", 3)
        console.print(
            f"Audit bundle intact: {entries} entries, checkpoint signature and consistency "
            "proofs verified."
        )
        return
    if config.load(state.home).kind != "municipality":
        _report(_verify_identity_node())
        return
    with register() as store:
        session = login(store, operator)

        def work(tx: RegisterTx) -> tuple[audit.Verification, str, str]:
            result = audit.verify(tx.conn, store.key.public)
            outcome = "intact" if result.intact else f"{len(result.problems)} problems"
            return result, "audit log", f"{result.entries} entries: {outcome}"

        result = run(store, session, Permission.READ_AUDIT, "audit.verify", "audit log", work)
    _report(result)


def _verify_identity_node() -> audit.Verification:
    """The audit tree, its signed head and the provision log's seals (R12, R25)."""
    import getpass

    from jukinet import config
    from jukinet.nodes.identity.provision_seal import verify_provisions
    from jukinet.nodes.national.store import open_store as open_national
    from jukinet.nodes.prefecture.store import open_store as open_prefecture

    kind = config.load(state.home).kind
    store = (open_national if kind == "national" else open_prefecture)(state.home)
    try:
        with store.transaction() as conn:
            chain = audit.verify(conn, store.key.public)
            problems = (*chain.problems, *verify_provisions(conn))
            outcome = "intact" if not problems else f"{len(problems)} problems"
            detail = f"{chain.entries} entries and the provision log: {outcome}"
            store.audit(conn, audit.Draft(f"cli:{getpass.getuser()}", "audit.verify",
                                          "audit log", detail=detail))  # fmt: skip
        return audit.Verification(chain.entries, problems)
    finally:
        store.close()


def _report(result: audit.Verification) -> None:
    if result.intact:
        n = result.entries
        console.print(
            f"Audit log intact: {n} entr{'y' if n == 1 else 'ies'}, signed head verified."
        )
        return
    for p in result.problems:
        where = f"entry {p.seq}" if p.seq else "provision log"
        console.print(f"[red]{where}[/]: {p.what}")
    raise fail(f"The audit log was tampered with ({len(result.problems)} problems found).", 3)


@app.command("requests")
@handle_errors
def requests(
    request_id: str | None = typer.Option(None, "--request", help="Only this request id."),
) -> None:
    """Re-verify, offline, the signed requests kept with the provisions (R2, R14): each
    caller's RFC 9421 signature under the key it was verified with, by the reference
    verifier, and that each asked for what its provision rows say. National and
    prefecture nodes."""
    import getpass

    from jukinet import config
    from jukinet.nodes.identity.provision_requests import check
    from jukinet.nodes.national.store import open_store as open_national
    from jukinet.nodes.prefecture.store import open_store as open_prefecture

    kind = config.load(state.home).kind
    if kind == "municipality":
        raise fail("A municipality provides nothing: its node keeps no provision requests.", 2)
    store = (open_national if kind == "national" else open_prefecture)(state.home)
    try:
        with store.transaction() as conn:
            count, problems = check(conn, request_id)
            outcome = "all verify" if not problems else f"{len(problems)} problems"
            store.audit(conn, audit.Draft(f"cli:{getpass.getuser()}", "audit.requests",
                                          "provision requests",
                                          detail=f"{count} requests: {outcome}"))  # fmt: skip
    finally:
        store.close()
    for p in problems:
        console.print(f"[red]request {p.request_id}[/]: {p.what}", markup=True)
    if problems:
        raise fail(f"Kept requests do not hold ({len(problems)} problems found).", 3)
    if request_id is not None and count == 0:
        raise fail(f"No request {request_id} is kept here.", 2)
    console.print(f"{count} kept request(s) verify under their signers' keys.")


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
