"""Every message between nodes, in one place that both sides import.

Schemas are pydantic v2 models, frozen and strict about extra fields, so a
message that carries anything more than it should is refused on arrival (R1).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

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


# --- provision to administrative bodies (R2, R5, R23, R24) and disclosure (R14) ---

ProvisionField = Literal[
    "resident_code", "name", "date_of_birth", "sex", "address", "status", "change_reason",
    "change_date", "pseudonym",
]  # fmt: skip
MAX_CANDIDATES = 20


class LookupRequest(Message):
    """Identity information of one person by resident code, for a listed affair."""

    affair: str
    resident_code: str = Field(pattern=r"^\d{11}$")


class SearchRequest(Message):
    """Candidates by the 4 items (name required), for a listed affair."""

    affair: str
    name: str = Field(min_length=1, max_length=100)
    date_of_birth: date | None = None
    sex: Literal["male", "female"] | None = None
    address: str | None = Field(default=None, max_length=300)


class VerifyRequest(Message):
    """Match without disclosure: does what the applicant wrote agree with the register?"""

    affair: str
    resident_code: str = Field(pattern=r"^\d{11}$")
    name: str = Field(min_length=1, max_length=100)
    date_of_birth: date
    sex: Literal["male", "female"]
    address: str = Field(min_length=1, max_length=300)


class ProvidedRecord(Message):
    """Only the fields the affair may receive; ``None`` for a field it may not."""

    fields: dict[ProvisionField, str]


class LookupResponse(Message):
    found: bool
    record: ProvidedRecord | None = None


class Candidate(Message):
    score: float
    record: ProvidedRecord


class SearchResponse(Message):
    candidates: list[Candidate]


class VerifyResponse(Message):
    """Per item: match or not. No data of the register is returned."""

    found: bool
    matches: dict[Literal["name", "date_of_birth", "sex", "address"], bool]


class BatchRow(Message):
    """One line of a batch answer (JSON lines), in input order."""

    row: int
    resident_code: str | None = None
    found: bool = False
    record: ProvidedRecord | None = None
    error: str | None = None


class DisclosureRequest(Message):
    """A resident asks to whom their identity information was provided (R14).

    ``verified_by`` names how identity was checked: a clerk at the window, for now.
    The resident card slots in when its signature can prove who asks; until then
    ``"card"`` is refused, never taken on the caller's word.
    """

    resident_code: str = Field(pattern=r"^\d{11}$")
    verified_by: Literal["clerk"]
    clerk: str = Field(min_length=1, max_length=64)

    @field_validator("verified_by", mode="before")
    @classmethod
    def _no_card_yet(cls, value: object) -> object:
        if value == "card":
            raise PydanticCustomError(
                "card_not_accepted",
                "verification by the resident card is not accepted yet (the card cannot "
                "prove the resident's identity); a clerk must verify the resident at the window",
            )
        return value


class ProvisionEntry(Message):
    at: datetime
    node: str
    recipient: str
    recipient_name: str
    affair: str
    function: Literal["lookup", "search", "verify", "batch"]
    fields: list[str]


class DisclosureResponse(Message):
    resident_code: str
    provisions: list[ProvisionEntry]  # newest first
