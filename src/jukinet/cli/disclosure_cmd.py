"""``jukinet disclosure``: check a disclosure answer offline; publish a provision log (R14).

``verify`` needs no node: a resident, or anyone they give the answer to, runs it on
the answer file (``jukinet resident disclosure --out``) and the identity nodes'
published provision logs (``export-log``). With ``--home`` of a networked node the
nodes' keys come from the network directory there; else from the answer itself, which
proves only that the answer is consistent, not whose it is (the output says so).
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from pydantic import ValidationError

from jukinet.cli._common import console, fail, handle_errors, state
from jukinet.errors import ConfigurationError, DisclosureUnverified

if TYPE_CHECKING:
    from jukinet.network.messages_disclosure import ProvenDisclosure
    from jukinet.nodes.identity.store import IdentityStore

app = typer.Typer(
    no_args_is_help=True, help="Check a disclosure answer; publish the provision log (R14)."
)


def _trusted(answers: list[ProvenDisclosure]) -> tuple[dict[str, str], dict[str, list[str]]] | None:
    """The provision-log verifier keys of the answers' nodes, and of the witnesses on their
    checkpoints, from this home's network directory."""
    from jukinet import config
    from jukinet.audit import provision_log
    from jukinet.audit.disclosure_check import cosigner_keys
    from jukinet.audit.note import verifier_key
    from jukinet.nodes.runtime import load_runtime

    try:
        cfg = config.load(state.home)
    except ConfigurationError:
        return None
    if cfg.network is None:
        return None
    directory = load_runtime(cfg).directory
    keys, witnesses = {}, {}
    for one in answers:
        node = one.node
        witnesses[node] = cosigner_keys(one, directory.public_key)
        public = directory.public_key(node)
        if public is None:
            raise DisclosureUnverified(f"{node} is not an active node of the network directory.")
        kind, _, code = node.partition(":")
        keys[node] = verifier_key(provision_log.origin(kind, code), public)
    return keys, witnesses


@app.command("verify")
@handle_errors
def verify(
    answer_file: Path = typer.Argument(..., help="The answer (jukinet resident disclosure --out)."),
    logs: list[Path] = typer.Option(
        [], "--log", help="A node's published provision log (export-log); repeatable."
    ),
) -> None:
    """Check every signature and inclusion proof of a disclosure answer; with --log, also
    that the node's log holds no provision of the resident that the answer left out."""
    from jukinet.audit import disclosure_check as check
    from jukinet.audit.provision_log import LeafError
    from jukinet.network.messages_disclosure import DisclosureAnswer

    try:
        answer = DisclosureAnswer.model_validate_json(answer_file.read_bytes())
    except (OSError, ValidationError) as exc:
        first = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise DisclosureUnverified(f"{answer_file} is not a disclosure answer: {first}") from None
    by_node: dict[str, list[bytes]] = {}
    for path in logs:
        try:
            lines = check.read_log(path.read_bytes())
            node = check.log_node(lines)
        except (OSError, LeafError) as exc:
            raise DisclosureUnverified(f"{path} is not a provision log: {exc}") from None
        if node is not None:
            by_node[node] = lines
    trusted = _trusted(list(answer.answers))
    keys, witnesses = trusted if trusted is not None else (None, None)
    checked, problems = check.check_answer(answer, by_node, keys, witnesses)
    for c in checked:
        scope = (f"nothing left out up to leaf {c.size}" if c.complete
                 else "completeness not checked (no --log of this node)")  # fmt: skip
        if c.witnessed_by:
            scope += f"; witnessed by {', '.join(c.witnessed_by)}"
        console.print(f"OK {c.node}: {c.provisions} provision(s) proved in its checkpoint "
                      f"of size {c.size}; {scope}", soft_wrap=True)  # fmt: skip
    if trusted is None:
        console.print("The nodes' keys were taken from the answer itself: run with --home of a "
                      "networked node to check them against the network directory.")  # fmt: skip
    if problems:
        for p in problems[1:]:
            console.print(f"FAIL {p}", soft_wrap=True)
        raise fail(f"the disclosure answer does not verify: {problems[0]}")


@app.command("export-log")
@handle_errors
def export_log(
    out: Path = typer.Option(..., "--out", help="The file to write the provision log into."),
) -> None:
    """Publish this identity node's provision log up to a checkpoint signed now."""
    from jukinet import config
    from jukinet.nodes.identity import disclosure, provision

    kind = config.load(state.home).kind
    if kind == "prefecture":
        from jukinet.nodes.prefecture.store import open_store as open_prefecture

        store: IdentityStore = open_prefecture(state.home)
    elif kind == "national":
        from jukinet.nodes.national.store import open_store as open_national

        store = open_national(state.home)
    else:
        raise ConfigurationError(
            f"{state.home} is a {kind} node; only prefecture and national nodes provide."
        )
    try:
        size = disclosure.export_log(
            store, provision.load_table(state.home), out, f"cli:{getpass.getuser()}"
        )
    finally:
        store.close()
    console.print(f"Provision log of {size} leaves written to {out}.")
