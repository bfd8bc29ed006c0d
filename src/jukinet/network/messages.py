"""Every message between nodes, in one place that both sides import.

Schemas are pydantic v2 models, frozen and strict about extra fields, so a
message that carries anything more than it should is refused on arrival (R1).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["national", "prefecture", "municipality", "agency", "monitor"]
Status = Literal["resident", "removed"]
NodeState = Literal["active", "revoked"]

MAX_BATCH = 1000
MAX_POOL = 100_000


class Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def node_id(role: Role, code: str) -> str:
    """The network-wide name of a node, e.g. ``municipality:131016``."""
    return f"{role}:{code}"


class IdentityUpdate(Message):
    """One change of identity information (本人確認情報, R1) — nothing else may travel.

    ``seq`` is the sender's own sequence number (1, 2, 3 … without gaps); ``origin``
    is the municipality where the change was recorded.
    """

    seq: int = Field(ge=1)
    origin: str = Field(pattern=r"^\d{6}$")
    resident_code: str = Field(pattern=r"^\d{11}$")
    previous_code: str | None = Field(default=None, pattern=r"^\d{11}$")
    name: str = Field(min_length=1, max_length=100)
    date_of_birth: date
    sex: Literal["male", "female"]
    address: str = Field(min_length=1, max_length=300)
    status: Status
    change_reason: str = Field(min_length=1, max_length=32)
    change_date: date
    recorded_at: datetime


class UpdateBatch(Message):
    """What a sender delivers: its updates in sequence order."""

    sender: str
    updates: list[IdentityUpdate] = Field(min_length=1, max_length=MAX_BATCH)


class UpdateAck(Message):
    """The receiver has durably applied every update of the sender up to this seq."""

    acked_through: int = Field(ge=0)


class PoolRequest(Message):
    count: int = Field(ge=1, le=MAX_POOL)


class PoolGrant(Message):
    """Fresh random codes, never issued before, now issued to the requesting municipality."""

    codes: list[str]


class DirectoryEntry(Message):
    node_id: str
    role: Role
    code: str
    name: str
    url: str  # https://host:port, empty for agencies and monitors (clients only)
    cert_pem: str
    fingerprint: str  # SHA-256 of the certificate's DER, hex
    status: NodeState = "active"


class Directory(Message):
    network: str
    version: int = Field(ge=1)
    issued_at: datetime
    entries: list[DirectoryEntry]


class SignedDirectory(Message):
    """The directory and the national node's Ed25519 signature over its canonical JSON."""

    directory: Directory
    signature: str  # base64


class PeerLink(Message):
    node_id: str
    outbox_backlog: int
    last_delivery_at: datetime | None
    last_error: str | None


class NodeStatus(Message):
    node_id: str
    role: Role
    directory_version: int
    started_at: datetime
    links: list[PeerLink]
    identities: int  # identity records held (prefecture, national) or residents (municipality)


class Problem(Message):
    """RFC 9457 problem details, the body of every refusal."""

    type: str
    title: str
    status: int
    detail: str
