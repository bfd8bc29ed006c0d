"""The hotlist's messages (R7, docs/ids.md): a block an operator confirms or lifts, and
the block as the signed directory carries it, current or kept as history.

As an emergency order (``messages_emergency.py``), a block order is a signed note: its
body and the operator's signature line (Ed25519 over the body's canonical JSON), posted
by the operations console to the national node (``POST /ids/blocks``), which puts the
block into the next signed directory. No import of ``messages`` here:
``messages.Directory`` carries these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from jukinet.network.messages_emergency import OrderSignature

__all__ = ["BlockAck", "BlockAction", "BlockOrder", "HotlistEntry", "SignedBlock", "SubjectKind"]

BlockAction = Literal["block", "lift"]
SubjectKind = Literal["address", "node"]


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BlockOrder(_Message):
    """``block`` a subject until ``until``, or ``lift`` the block ``block_id``.

    The subject is an IP address (``kind = "address"``) or a node id (``"node"``: its
    certificate, by fingerprint, is what the hotlist blocks). ``alert`` names the IDS
    alert it confirms, if any."""

    id: str = Field(pattern=r"^[0-9a-f]{16,64}$")
    action: BlockAction
    kind: SubjectKind | None = None
    subject: str = Field(default="", max_length=64)
    block_id: str | None = None  # the block a lift ends
    until: datetime | None = None
    reason: str = Field(default="", max_length=500)
    alert: str | None = Field(default=None, max_length=64)
    not_before: datetime
    expires_at: datetime


class SignedBlock(_Message):
    order: BlockOrder
    signatures: list[OrderSignature] = Field(min_length=1, max_length=8)


class HotlistEntry(_Message):
    """One block in the directory: in force from ``since`` until ``until`` unless lifted;
    kept (as history) for the hotlist's history time after it ended."""

    id: str
    kind: SubjectKind
    subject: str  # an IP address or a node id
    fingerprint: str | None = None  # the blocked node's certificate (kind "node")
    reason: str
    alert: str | None = None
    since: datetime
    until: datetime
    confirmed_by: str
    lifted_at: datetime | None = None
    lifted_by: str | None = None

    def in_force(self, at: datetime) -> bool:
        return self.lifted_at is None and self.since <= at < self.until

    def ended(self) -> datetime:
        return self.lifted_at or self.until


class BlockAck(_Message):
    block_id: str
    action: BlockAction
    kind: SubjectKind
    subject: str
    until: datetime
    directory_version: int  # the directory that carries it
