"""The emergency stop (R9, DESIGN.md §9 "Emergency", docs/emergency.md): signing an order,
checking its signatures against the operators' keys, and what the orders a directory
carries mean now (is the network halted, which nodes are isolated).

Halting or isolating is the safe direction and needs one operator of the national node;
resuming needs two different operators (a threshold of two, as TUF's roles have). An
order outside its not-before/expiry window, signed by an unknown key, or by the same
operator twice is refused. The orders are folded in the order the national node
accepted them; an order once obeyed stays in force until a resume lifts it (its expiry
bounds when it may be accepted, not how long it lasts).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from jukinet.errors import EmergencyOrderRefused
from jukinet.network.messages_emergency import (
    NETWORK,
    Action,
    CarriedOrder,
    EmergencyOrder,
    OrderSignature,
    SignedOrder,
)

__all__ = [
    "NETWORK",
    "OPERATORS_FILE",
    "THRESHOLD",
    "Operators",
    "State",
    "check_order",
    "cosign",
    "in_force",
    "key_id",
    "load_operators",
    "new_order",
    "state_of",
    "write_operators",
]

OPERATORS_FILE = "operators.json"  # in every node's home: the operators' public keys
THRESHOLD: dict[str, int] = {"halt": 1, "isolate": 1, "resume": 2}
Operators = Mapping[str, Ed25519PublicKey]  # operator name -> public key


def _body(order: EmergencyOrder) -> bytes:
    return json.dumps(
        order.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def new_order(
    action: Action, scope: str, *, now: datetime | None = None, valid_for: float = 3600.0
) -> EmergencyOrder:
    at = now or datetime.now(UTC)
    return EmergencyOrder(
        id=secrets.token_hex(8),
        action=action,
        scope=scope,
        not_before=at - timedelta(seconds=60),  # a minute of clock skew between hosts
        expires_at=at + timedelta(seconds=valid_for),
    )


def cosign(
    signed: EmergencyOrder | SignedOrder, operator: str, key: Ed25519PrivateKey
) -> SignedOrder:
    """``signed`` with one more signature line, by ``operator``."""
    order = signed if isinstance(signed, EmergencyOrder) else signed.order
    lines = [] if isinstance(signed, EmergencyOrder) else list(signed.signatures)
    line = OrderSignature(
        operator=operator,
        key_id=key_id(key.public_key()),
        signature=base64.b64encode(key.sign(_body(order))).decode(),
    )
    return SignedOrder(order=order, signatures=[*lines, line])


def check_order(
    order: EmergencyOrder, lines: Iterable[OrderSignature], operators: Operators, at: datetime
) -> list[str]:
    """The operators who signed ``order``, once it is valid at ``at`` and has enough of
    them; EmergencyOrderRefused (one clear reason) otherwise."""
    if at < order.not_before:
        when = order.not_before.isoformat(timespec="seconds")
        raise EmergencyOrderRefused(f"Order {order.id} is not valid before {when}.")
    if at >= order.expires_at:
        when = order.expires_at.isoformat(timespec="seconds")
        raise EmergencyOrderRefused(f"Order {order.id} expired at {when}.")
    if order.action == "halt" and order.scope != NETWORK:
        raise EmergencyOrderRefused(f"A halt is for the whole network (scope {NETWORK!r}).")
    if order.action == "isolate" and order.scope == NETWORK:
        raise EmergencyOrderRefused("An isolation names one node; to stop all, halt.")
    body = _body(order)
    signers: list[str] = []
    for line in lines:
        public = operators.get(line.operator)
        if public is None or key_id(public) != line.key_id:
            raise EmergencyOrderRefused(
                f"Order {order.id} is signed by an unknown key ({line.operator}, {line.key_id})."
            )
        try:
            public.verify(base64.b64decode(line.signature, validate=True), body)
        except (binascii.Error, ValueError, InvalidSignature):
            raise EmergencyOrderRefused(
                f"The signature of {line.operator} on order {order.id} does not verify."
            ) from None
        if line.operator in signers:
            raise EmergencyOrderRefused(
                f"Order {order.id} is signed twice by {line.operator}; "
                "a resume needs two different operators."
            )
        signers.append(line.operator)
    needed = THRESHOLD[order.action]
    if len(signers) < needed:
        raise EmergencyOrderRefused(
            f"A {order.action} needs {needed} different operators; order {order.id} has "
            f"{len(signers)} ({', '.join(signers) or 'none'}). Have a second operator approve it."
        )
    return signers


@dataclass
class State:
    """What the orders in force mean: the network halted, these nodes isolated."""

    halted: str | None = None  # the id of the order that halted the network
    isolated: dict[str, str] = field(default_factory=dict)  # node id -> order id


def state_of(orders: Iterable[CarriedOrder], operators: Operators) -> State:
    """The state the carried ``orders`` leave, each checked as of when it was accepted."""
    carried_orders = list(orders)
    for carried in carried_orders:
        check_order(carried.order, carried.signatures, operators, carried.accepted_at)
    return in_force(carried_orders)


def in_force(orders: Iterable[CarriedOrder]) -> State:
    """The state ``orders`` leave, folded in the order they were accepted, unchecked: for
    a directory whose signature (and so its orders, ``state_of``) was verified already."""
    state = State()
    for carried in sorted(orders, key=lambda c: c.accepted_at):
        order = carried.order
        if order.action == "halt":
            state.halted = order.id
        elif order.action == "isolate":
            state.isolated[order.scope] = order.id
        elif order.scope == NETWORK:
            state.halted = None
        else:
            state.isolated.pop(order.scope, None)
    return state


def write_operators(path: Path, operators: Operators) -> None:
    pems = {
        name: key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")
        for name, key in operators.items()
    }
    path.write_text(json.dumps(pems, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def load_operators(path: Path) -> dict[str, Ed25519PublicKey]:
    """The operators' public keys (``{}`` if the file is absent: no order verifies)."""
    if not path.exists():
        return {}
    found: dict[str, Ed25519PublicKey] = {}
    for name, pem in json.loads(path.read_text(encoding="utf-8")).items():
        key = serialization.load_pem_public_key(pem.encode("ascii"))
        if isinstance(key, Ed25519PublicKey):
            found[str(name)] = key
    return found
