"""The emergency stop's messages (R9, docs/emergency.md): an order, its signature lines,
the order as the signed directory carries it, and the national node's answer.

An order is a signed note: its body (id, action, scope, not-before, expiry) and one
signature line per operator (Ed25519 over the body's canonical JSON, sorted keys, no
spaces, UTF-8). Halting or isolating needs one operator; resuming two different ones.
No import of ``messages`` here: ``messages.Directory`` carries these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Action",
    "CarriedOrder",
    "EmergencyAck",
    "EmergencyOrder",
    "OrderSignature",
    "SignedOrder",
]

Action = Literal["halt", "isolate", "resume"]
NETWORK = "network"  # the scope of an order for the whole network


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EmergencyOrder(_Message):
    """What the operators order: ``halt`` (scope ``network``), ``isolate`` (scope a node
    id), ``resume`` (scope ``network`` or the isolated node's id)."""

    id: str = Field(pattern=r"^[0-9a-f]{16,64}$")
    action: Action
    scope: str = Field(min_length=1, max_length=64)
    not_before: datetime
    expires_at: datetime


class OrderSignature(_Message):
    """One signature line: the operator's name and key id, Ed25519 over the order."""

    operator: str = Field(min_length=1, max_length=64)
    key_id: str  # SHA-256 of the operator's raw public key, hex, first 16 digits
    signature: str  # base64


class SignedOrder(_Message):
    order: EmergencyOrder
    signatures: list[OrderSignature] = Field(min_length=1, max_length=8)


class CarriedOrder(_Message):
    """An order the national node accepted, as every later directory carries it."""

    order: EmergencyOrder
    signatures: list[OrderSignature]
    accepted_at: datetime


class EmergencyAck(_Message):
    order_id: str
    action: Action
    scope: str
    directory_version: int  # the directory that carries it
    halted: bool
    isolated: list[str]
