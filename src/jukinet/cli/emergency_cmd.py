"""``jukinet emergency``: the emergency stop of a network (R9, docs/emergency.md).

An operator of the national node signs an order with their own key (``--key``, one of
the keys ``network init`` made in ``DIR/operators/``) and the operations console posts
it to the national node, which puts it into the next signed directory. Halting or
isolating takes one operator. Resuming takes two: ``resume`` signs the order and leaves
it pending in ``DIR/operators/pending/<id>.json``; ``approve <id>`` by a second operator
adds their signature and posts it. Every node that obeys an order audits it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from jukinet.cli._common import console, handle_errors
from jukinet.config import NATIONAL_KEY_FILE
from jukinet.errors import ConfigurationError
from jukinet.keys import load_private_key, load_public_key
from jukinet.network.client import NodeClient
from jukinet.network.directory import verify_directory
from jukinet.network.emergency import (
    NETWORK,
    OPERATORS_FILE,
    cosign,
    key_id,
    load_operators,
    new_order,
    state_of,
)
from jukinet.network.emergency_orders import drop_pending, load_pending, post_order, save_pending
from jukinet.network.layout import NetworkLayout
from jukinet.network.messages import SignedDirectory
from jukinet.network.messages_emergency import Action, EmergencyAck, SignedOrder
from jukinet.network.monitor import monitor_identity
from jukinet.network.topology import load_topology
from jukinet.seed.places import Places

app = typer.Typer(no_args_is_help=True, help="The emergency stop: isolate, halt, resume (R9).")

DIR = typer.Option(..., "--dir", help="The network's folder.")
KEY = typer.Option(..., "--key", help="The operator's emergency key file (DIR/operators/).")
VALID = typer.Option(3600.0, min=60.0, help="Seconds the order may be accepted in.")


def _national(layout: NetworkLayout) -> tuple[str, Path]:
    if not layout.topology.exists():
        raise ConfigurationError(f"{layout.root} holds no network: run `jukinet network init`.")
    with Places() as places:
        national = load_topology(layout.topology, places).national
    return national.url, layout.node(national.node_id)


def _operator(layout: NetworkLayout, key_file: Path) -> tuple[str, Ed25519PrivateKey]:
    """The operator whose key ``key_file`` is (by the national node's list), and the key."""
    key = load_private_key(key_file)
    _, home = _national(layout)
    wanted = key_id(key.public_key())
    for name, public in load_operators(home / OPERATORS_FILE).items():
        if key_id(public) == wanted:
            return name, key
    return key_file.stem, key  # unknown: the national node refuses it, audited


def _post(layout: NetworkLayout, signed: SignedOrder) -> EmergencyAck:
    url, _ = _national(layout)
    return post_order(layout, url, signed)


def _show(ack: EmergencyAck) -> None:
    console.print(
        f"Order {ack.order_id} accepted: {ack.action} {ack.scope}; it is in directory "
        f"version {ack.directory_version}, which every node fetches within seconds."
    )
    if ack.halted:
        console.print("[red]alert:[/] the network is halted: no node exchanges anything.")
    for node in ack.isolated:
        console.print(f"[red]alert:[/] {node} is isolated: every peer refuses it.")


def _order(layout: NetworkLayout, key: Path, action: Action, scope: str, valid: float) -> None:
    name, private = _operator(layout, key)
    _show(_post(layout, cosign(new_order(action, scope, valid_for=valid), name, private)))


@app.command("halt")
@handle_errors
def halt(directory: Path = DIR, key: Path = KEY, valid: float = VALID) -> None:
    """Halt the whole network (one operator): every node stops all network traffic."""
    _order(NetworkLayout(directory), key, "halt", NETWORK, valid)


@app.command("isolate")
@handle_errors
def isolate(
    node: str = typer.Argument(..., help="The node id, e.g. municipality:131016."),
    directory: Path = DIR,
    key: Path = KEY,
    valid: float = VALID,
) -> None:
    """Isolate one node (one operator): every peer refuses it, its own outbox holds."""
    _order(NetworkLayout(directory), key, "isolate", node, valid)


@app.command("resume")
@handle_errors
def resume(
    scope: str = typer.Argument(NETWORK, help="'network' (after a halt) or the isolated node."),
    directory: Path = DIR,
    key: Path = KEY,
    valid: float = VALID,
) -> None:
    """Sign a resume as the first operator; it waits for a second operator's approval."""
    layout = NetworkLayout(directory)
    name, private = _operator(layout, key)
    signed = cosign(new_order("resume", scope, valid_for=valid), name, private)
    save_pending(layout, signed)
    console.print(f"Resume of {scope} signed by {name}: order {signed.order.id}, pending.")
    console.print(f"A second operator approves it: jukinet emergency approve {signed.order.id} "
                  f"--dir {directory} --key <their key>")  # fmt: skip


@app.command("approve")
@handle_errors
def approve(
    order: str = typer.Argument(..., help="The pending order's id (printed by resume)."),
    directory: Path = DIR,
    key: Path = KEY,
) -> None:
    """Add a second operator's signature to a pending resume and send it."""
    layout = NetworkLayout(directory)
    pending = load_pending(layout, order)
    name, private = _operator(layout, key)
    ack = _post(layout, cosign(pending, name, private))
    drop_pending(layout, order)
    _show(ack)


@app.command("status")
@handle_errors
def status(directory: Path = DIR) -> None:
    """The orders in the national node's directory and what they leave in force."""
    layout = NetworkLayout(directory)
    url, home = _national(layout)

    async def fetch() -> dict[str, Any]:
        async with NodeClient(monitor_identity(layout), timeout=10.0) as client:
            answer: dict[str, Any] = await client.get(f"{url}/directory")
            return answer

    signed = SignedDirectory.model_validate(asyncio.run(fetch()))
    national_key = load_public_key(home / NATIONAL_KEY_FILE, "national node's public key")
    current = verify_directory(signed, national_key)
    state = state_of(current.orders, load_operators(home / OPERATORS_FILE))
    console.print(f"directory version {current.version}, expires "
                  f"{current.expires_at.isoformat(timespec='seconds')}")  # fmt: skip
    for c in current.orders:
        signers = ", ".join(s.operator for s in c.signatures)
        console.print(f"  {c.accepted_at.isoformat(timespec='seconds')}  {c.order.id}  "
                      f"{c.order.action} {c.order.scope}  ({signers})")  # fmt: skip
    if state.halted:
        console.print(f"[red]alert:[/] the network is halted (order {state.halted}).")
    for node, by in state.isolated.items():
        console.print(f"[red]alert:[/] {node} is isolated (order {by}).")
    if not state.halted and not state.isolated:
        console.print("No emergency order in force.")
