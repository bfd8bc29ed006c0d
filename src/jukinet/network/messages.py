"""Every message between nodes, in one place that both sides import.

Schemas are pydantic v2 models, frozen and strict about extra fields, so a
message that carries anything more than it should is refused on arrival (R1).

A request a node receives (``Request``) is strict about types too: a count is a JSON
integer, never ``true``, ``"3"`` or ``2.0``; text is a JSON string. JSON has no date
type, so a date (``IsoDate``) is a string ``YYYY-MM-DD`` (or a ``date`` built in
Python), never a timestamp; FastAPI validates parsed JSON in Python mode, and these
types answer the same there as in JSON mode. A resident code (``ResidentCodeText``)
is 11 ASCII digits whose last is the check digit (R6), refused with the sentence
``domain.codes`` gives, as a batch row is.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic_core import PydanticCustomError

from jukinet.domain.codes import parse_local_government_code, parse_resident_code
from jukinet.errors import InvalidInput
from jukinet.network.messages_emergency import CarriedOrder
from jukinet.network.messages_hotlist import HotlistEntry

Role = Literal["national", "prefecture", "municipality", "agency", "monitor"]
Status = Literal["resident", "removed"]
NodeState = Literal["active", "revoked"]

MAX_BATCH = 1000
# Codes in one pool request (R6): bounded work for the national node, under a second on
# PostgreSQL (100,000 took 12 s of one worker thread and connection); a municipality
# that needs more asks again (nodes/municipality/codes_source.py).
MAX_POOL = 10_000


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SHOWN = 12  # characters of a wrong value repeated in its error, never the whole input


def _shown(value: str) -> str:
    return repr(value if len(value) <= _SHOWN else value[:_SHOWN] + "…")


def _code_check(
    kind: str, what: str, digits: int, parse: Callable[[str], str]
) -> Callable[[str], str]:
    """One validation of a code everywhere: ASCII digits only (``\\d`` would take any
    Unicode digit), then ``domain.codes`` (the check digit too), one sentence if not."""
    shape = re.compile(f"[0-9]{{{digits}}}")

    def check(value: str) -> str:
        if not shape.fullmatch(value):
            reason = (
                f"A {what} has exactly {digits} digits, ASCII digits 0-9 only; "
                f"{_shown(value)} is not one."
            )
        else:
            try:
                return parse(value)
            except InvalidInput as exc:
                reason = exc.message
        raise PydanticCustomError(kind, "{reason}", {"reason": reason})

    return check


_resident_code = _code_check("resident_code", "resident code", 11, parse_resident_code)
_local_government_code = _code_check(
    "local_government_code", "local government code", 6, parse_local_government_code
)


def _iso_date(value: object) -> object:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        with contextlib.suppress(ValueError):  # e.g. 2026-02-30: refused below
            return date.fromisoformat(value)
    raise PydanticCustomError("date_format", "a date is written YYYY-MM-DD, e.g. 1950-05-05")


# A resident code (住民票コード) or local government code as it travels: ASCII digits, a
# right check digit (R6). The pattern is only documentation in the OpenAPI schema (a
# pattern constraint would answer before the validator, without naming the reason).
ResidentCodeText = Annotated[
    str, AfterValidator(_resident_code), Field(json_schema_extra={"pattern": "^[0-9]{11}$"})
]
LocalGovernmentCodeText = Annotated[
    str,
    AfterValidator(_local_government_code),
    Field(json_schema_extra={"pattern": "^[0-9]{6}$"}),
]

IsoDate = Annotated[date, BeforeValidator(_iso_date)]
"""A date in a request: ``YYYY-MM-DD`` (JSON has no date type), never a timestamp."""

MAX_BATCH_ROW = 10**12 - 1  # a trillion lines: no batch file is near it
_ROW_NUMBER = re.compile(r"[1-9][0-9]{0,11}")  # checked before int(): no 5,000-digit parse


def _row_number(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):  # given in Python
        return value
    if isinstance(value, str) and _ROW_NUMBER.fullmatch(value):
        return int(value)
    raise PydanticCustomError(
        "first_row",
        "first_row is the number of the chunk's first line in the file: a whole number "
        "from 1 to 999,999,999,999 in ASCII digits, e.g. 20001",
    )


BatchFirstRow = Annotated[
    int, Field(ge=1, le=MAX_BATCH_ROW), BeforeValidator(_row_number)
]  # fmt: skip
"""``first_row`` of ``POST /provision/batch``: the line number, in the agency's file, of
the request's first line (a file goes up in chunks; the node numbers the rows from it,
and reads a ``resident_code`` header only when it is 1). It travels in the query string,
so it is text, and only plain ASCII digits are a number (not ``2.0``, ``+2``, ``01``)."""


class Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Request(Message):
    """A message a node receives from another: strict about types (module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


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


class UpdateBatch(Request):
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


class PoolRequest(Request):
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
    # The directory is the network's heartbeat (R9): past this moment a node holding it
    # stops all network traffic until a fresher one arrives (docs/emergency.md).
    expires_at: datetime
    entries: list[DirectoryEntry]
    # The emergency orders the national node accepted, in force until resumed (R9).
    orders: list[CarriedOrder] = []
    # The hotlist (R7, docs/ids.md): blocks operators confirmed, current and recent history.
    hotlist: list[HotlistEntry] = []


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
    directory_expires_at: datetime | None = None  # R9: past it the node stops its traffic
    started_at: datetime
    links: list[PeerLink]
    identities: int  # identity records held (prefecture, national) or residents (municipality)
    quarantined: int = 0  # refused updates held here for an operator (an alert)


class IdentityLine(Message):
    """One line of ``GET /identities`` (reconcile): the identity information held."""

    resident_code: ResidentCodeText
    name: str
    date_of_birth: date
    sex: Literal["male", "female"]
    address: str
    status: Status
    change_reason: str
    change_date: date
    origin: LocalGovernmentCodeText


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


class LookupRequest(Request):
    """Identity information of one person by resident code, for a listed affair."""

    affair: str
    resident_code: ResidentCodeText


class SearchRequest(Request):
    """Candidates by the 4 items (name required), for a listed affair."""

    affair: str
    name: str = Field(min_length=1, max_length=100)
    date_of_birth: IsoDate | None = None
    sex: Literal["male", "female"] | None = None
    address: str | None = Field(default=None, max_length=300)


class VerifyRequest(Request):
    """Match without disclosure: does what the applicant wrote agree with the register?"""

    affair: str
    resident_code: ResidentCodeText
    name: str = Field(min_length=1, max_length=100)
    date_of_birth: IsoDate
    sex: Literal["male", "female"]
    address: str = Field(min_length=1, max_length=300)


class ProvidedRecord(Message):
    """Only the fields the affair may receive; ``None`` for a field it may not."""

    fields: dict[ProvisionField, str]


# The code asked was retired by a code change (R6): nothing of the person is answered.
CodeStatus = Literal["retired"]


class LookupResponse(Message):
    found: bool
    record: ProvidedRecord | None = None
    status: CodeStatus | None = None


class Candidate(Message):
    score: float
    record: ProvidedRecord


class SearchResponse(Message):
    candidates: list[Candidate]


class VerifyResponse(Message):
    """Per item: match or not. No data of the register is returned."""

    found: bool
    matches: dict[Literal["name", "date_of_birth", "sex", "address"], bool]
    status: CodeStatus | None = None


class BatchRow(Message):
    """One line of a batch answer (JSON lines), in input order."""

    row: int
    resident_code: str | None = None
    found: bool = False
    record: ProvidedRecord | None = None
    status: CodeStatus | None = None
    error: str | None = None


# --- DER and signatures in JSON (R14, R15) ------------------------------------------

CertificateKind = Literal["signing", "authentication"]
# The reasons a municipality gives (jukinet.jpki.Reason); the CA itself gives the others.
MunicipalReason = Literal["card-lost", "code-change", "holder-request"]


def _base64(value: str) -> str:
    try:
        base64.b64decode(value, validate=True)
    except binascii.Error:
        raise PydanticCustomError("base64", "not standard base64 (RFC 4648 §4)") from None
    return value


# DER in JSON: standard base64. A card's RSA-2048 SubjectPublicKeyInfo is 392 characters
# (an RSA-4096 one 736): 1,024 keeps a request well inside its endpoint's body limit.
Base64PublicKey = Annotated[str, Field(min_length=4, max_length=1024), AfterValidator(_base64)]
Base64Der = Annotated[str, Field(min_length=4, max_length=8192), AfterValidator(_base64)]


# --- disclosure (R14; docs/network.md, "Disclosure and the card") ---------------------


_B64_PATTERN = "^[A-Za-z0-9+/]*={0,2}$"
# A JPKI certificate is about 1,000 bytes of DER (1,400 characters); a card's RSA-2048
# signature 344 characters (RSA-4096: 684); a signed DisclosureAsk about 400.
Base64Certificate = Annotated[
    str, Field(min_length=4, max_length=4096, json_schema_extra={"pattern": _B64_PATTERN}),
    AfterValidator(_base64),
]  # fmt: skip
Base64Signature = Annotated[
    str, Field(min_length=4, max_length=684, json_schema_extra={"pattern": _B64_PATTERN}),
    AfterValidator(_base64),
]  # fmt: skip
Base64Payload = Annotated[
    str, Field(min_length=4, max_length=1024, json_schema_extra={"pattern": _B64_PATTERN}),
    AfterValidator(_base64),
]  # fmt: skip
Nonce = Annotated[str, Field(pattern="^[0-9a-f]{32}$")]
NodeIdText = Annotated[str, Field(min_length=3, max_length=64)]


class DisclosureAsk(Request):
    """What the resident's card signs: the request for disclosure itself (R14).

    The node checks that it is asked exactly this (the code, the municipality that
    forwards it, itself among ``nodes``), that it is fresh (``signed_at`` within the
    allowed clock skew) and that its ``nonce`` was not seen before.
    """

    purpose: Literal["jukinet-disclosure/1"]
    resident_code: ResidentCodeText
    municipality: LocalGovernmentCodeText
    nodes: list[NodeIdText] = Field(min_length=1, max_length=4)
    nonce: Nonce
    signed_at: AwareDatetime  # with its offset: compared with the node's clock


class CardProof(Request):
    """The card's answer: its user-authentication certificate (EF 000A, DER), the
    signature (PKCS#1 v1.5, SHA-256) and the exact bytes signed (a ``DisclosureAsk``
    as JSON), each base64."""

    certificate: Base64Certificate
    signature: Base64Signature
    payload: Base64Payload


class DisclosureRequest(Request):
    """A resident asks to whom their identity information was provided (R14).

    ``verified_by`` names how identity was checked: a clerk at the window, or the
    resident's card, whose ``card`` proof the node verifies itself; "card" is never
    taken on the caller's word.
    """

    resident_code: ResidentCodeText
    verified_by: Literal["clerk", "card"]
    clerk: str = Field(min_length=1, max_length=64)
    card: CardProof | None = None

    @model_validator(mode="after")
    def _proof_iff_card(self) -> DisclosureRequest:
        if (self.verified_by == "card") != (self.card is not None):
            raise PydanticCustomError(
                "card_proof",
                "a request verified by the resident card carries the card's proof (card), "
                "and only such a request does",
            )
        return self


class ProvisionEntry(Message):
    at: datetime
    node: str
    recipient: str
    recipient_name: str
    affair: str
    function: Literal["lookup", "search", "verify", "batch"]
    fields: list[str]


# The answer to a DisclosureRequest is messages_disclosure.ProvenDisclosure (R14).


# --- the JPKI certification authority (R15, docs/jpki.md) ---------------------------


class JpkiBindingRequest(Request):
    """A prefecture asks whether a user-authentication certificate is valid and was
    issued to the person holding this resident code now (the national node's records,
    R6/R14/R15)."""

    serial: Annotated[str, Field(pattern="^[0-9a-f]{40}$")]
    resident_code: ResidentCodeText


class JpkiBinding(Message):
    bound: bool


class JpkiCertifyRequest(Request):
    """A municipality asks the CA to certify a card's public keys for its resident.

    The CA takes the 基本4情報 from the national identity record, never from here;
    ``signing_key`` is left out for a person under 15, who gets none.
    """

    resident_code: ResidentCodeText
    authentication_key: Base64PublicKey  # key 0017, DER SubjectPublicKeyInfo
    signing_key: Base64PublicKey | None = None  # key 001A


class JpkiCertificates(Message):
    """The certificates issued, DER in base64."""

    authentication: Base64Der
    signing: Base64Der | None = None


def _both_kinds() -> list[CertificateKind]:
    return ["signing", "authentication"]


class JpkiRevokeRequest(Request):
    """A municipality revokes its resident's certificates (``serial``: only that one)."""

    resident_code: ResidentCodeText
    reason: MunicipalReason
    kinds: list[CertificateKind] = Field(default_factory=_both_kinds, min_length=1, max_length=2)
    serial: str | None = Field(default=None, pattern="^[0-9a-f]{40}$")


class JpkiRevoked(Message):
    serial: str
    kind: CertificateKind
    revoked_at: datetime
    reason: str


class JpkiRevokeResponse(Message):
    revoked: list[JpkiRevoked]  # empty: nothing valid was left to revoke


class JpkiCrl(Message):
    """The CA's current CRL, DER in base64 (its signature is what a node trusts)."""

    crl: Annotated[str, AfterValidator(_base64)]  # grows with the revocations it lists
