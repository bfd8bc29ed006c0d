"""Every message between nodes, in one place that both sides import.

Schemas are pydantic v2 models, frozen and strict about extra fields, so a
message that carries anything more than it should is refused on arrival (R1).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from jukinet.domain.codes import parse_local_government_code, parse_resident_code
from jukinet.errors import InvalidInput

Role = Literal["national", "prefecture", "municipality", "agency", "monitor"]
Status = Literal["resident", "removed"]
NodeState = Literal["active", "revoked"]

MAX_BATCH = 1000
MAX_POOL = 100_000


_ELEVEN = re.compile(r"[0-9]{11}")  # [0-9], not \d: \d takes any Unicode digit
_SIX = re.compile(r"[0-9]{6}")


def _resident_code(value: str) -> str:
    """One validation of a resident code everywhere: ``domain.codes`` (check digit too)."""
    if not _ELEVEN.fullmatch(value):
        raise ValueError(f"A resident code is exactly 11 ASCII digits (0-9); {value!r} is not one.")
    try:
        return parse_resident_code(value)
    except InvalidInput as exc:
        raise ValueError(exc.message) from None


def _local_government_code(value: str) -> str:
    if not _SIX.fullmatch(value):
        raise ValueError(
            f"A local government code is exactly 6 ASCII digits (0-9); {value!r} is not one."
        )
    try:
        return parse_local_government_code(value)
    except InvalidInput as exc:
        raise ValueError(exc.message) from None


# A resident code (住民票コード) or local government code as it travels: ASCII digits, a
# right check digit. The pattern is only documentation in the OpenAPI schema (a pattern
# constraint would answer before the validator, without naming the reason).
ResidentCodeText = Annotated[
    str, AfterValidator(_resident_code), Field(json_schema_extra={"pattern": "^[0-9]{11}$"})
]
LocalGovernmentCodeText = Annotated[
    str,
    AfterValidator(_local_government_code),
    Field(json_schema_extra={"pattern": "^[0-9]{6}$"}),
]


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
    origin: LocalGovernmentCodeText
    resident_code: ResidentCodeText
    previous_code: ResidentCodeText | None = None
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
    """The receiver has durably taken every update of the sender up to this seq.

    Taken = applied, or refused and kept in the receiver's quarantine: ``quarantined``
    lists every seq of this sender the receiver holds there, unresolved.
    """

    acked_through: int = Field(ge=0)
    quarantined: list[int] = Field(default_factory=list)


class PoolRequest(Message):
    count: int = Field(ge=1, le=MAX_POOL)


class PoolGrant(Message):
    """Fresh random codes, never issued before, now issued to the requesting municipality."""

    codes: list[ResidentCodeText]


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
    quarantined: int = 0  # updates of this outbox the receiver refused and holds (an alert)


class NodeStatus(Message):
    node_id: str
    role: Role
    directory_version: int
    started_at: datetime
    links: list[PeerLink]
    identities: int  # identity records held (prefecture, national) or residents (municipality)
    quarantined: int = 0  # refused updates held here for an operator (an alert)


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
    resident_code: ResidentCodeText


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
    resident_code: ResidentCodeText
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

    ``verified_by`` names how identity was checked: a clerk at the window now; the
    resident card (its signature) slots in later.
    """

    resident_code: ResidentCodeText
    verified_by: Literal["clerk", "card"]
    clerk: str = Field(min_length=1, max_length=64)


class ProvisionEntry(Message):
    at: datetime
    node: str
    recipient: str
    recipient_name: str
    affair: str
    function: Literal["lookup", "search", "verify", "batch"]
    fields: list[str]


class DisclosureResponse(Message):
    resident_code: ResidentCodeText
    provisions: list[ProvisionEntry]  # newest first
