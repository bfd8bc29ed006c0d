"""Provision of identity information to administrative bodies, and disclosure (R2, R4, R5,
R14, R23, R24; DESIGN.md section 2, flows 2 and 3).

Every call names an affair of the legal table (別表, ``jukinet.domain.legal``). The
table decides whether the calling agency may use this function for this affair; this
node decides whether it serves the recipient at all (``serves``). Anything refused is
one audit entry (outcome ``refused``) and one line on the ``jukinet.security`` logger,
and nothing else. Anything allowed is one transaction that decides the answer, writes
one ``provisions`` row per person provided and one audit entry. A batch is one such
transaction per chunk of ``CHUNK`` codes.

The answer holds exactly the affair's fields; an affair with a ``sector`` receives
the sector pseudonym (``pseudonym``) and never the resident code.

A code retired by a code change (R6) still leads to the person: lookup, verify and
batch answer with the person's current record (its ``resident_code`` field, if the
affair may receive it, is the current code). The provision row keeps the code as
asked, and the person key ties it to the person for disclosure.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import Path
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import Connection, bindparam, select

from jukinet.audit import log as audit
from jukinet.domain.codes import parse_resident_code
from jukinet.domain.legal import (
    Affair,
    Function,
    LegalTable,
    Level,
    Recipient,
    load_legal_table,
    load_shipped_legal_table,
)
from jukinet.domain.names import fold
from jukinet.errors import InvalidInput, JukinetError, ProvisionRefused, ResidentNotFound
from jukinet.network.messages import (
    MAX_CANDIDATES,
    BatchRow,
    Candidate,
    DisclosureRequest,
    DisclosureResponse,
    LookupRequest,
    LookupResponse,
    ProvidedRecord,
    ProvisionEntry,
    ProvisionField,
    SearchRequest,
    SearchResponse,
    VerifyRequest,
    VerifyResponse,
    node_id,
)
from jukinet.network.peer import Caller
from jukinet.nodes.identity.pseudonym import pseudonym
from jukinet.nodes.identity.store import IdentityStore
from jukinet.nodes.identity.tables import identities, provisions, retired_codes, security_log

__all__ = [
    "CHUNK",
    "LEGAL_TABLE_FILE",
    "PREFECTURES",
    "batch",
    "batch_lines",
    "body_lines",
    "disclosure",
    "load_table",
    "lookup",
    "router",
    "search",
    "serves",
    "verify",
]

LEGAL_TABLE_FILE = "legal.toml"
CHUNK = 5000  # codes per set-based statement and transaction in a batch (DESIGN.md §7)
SEARCH_SCAN = 1000  # rows of one folded name (and date of birth) read to rank candidates

# The order in which a provided record lists its fields.
_FIELD_ORDER: tuple[ProvisionField, ...] = (
    "resident_code", "pseudonym", "name", "date_of_birth", "sex", "address", "status",
    "change_reason", "change_date",
)  # fmt: skip

# How a prefectural recipient's code names its prefecture: the prefecture's name in
# romaji, alone or as a prefix ("tokyo", "tokyo-education"), keyed by the first two
# digits of the prefecture's local government code (JIS X 0401).
PREFECTURES: dict[str, str] = {
    "01": "hokkaido", "02": "aomori", "03": "iwate", "04": "miyagi", "05": "akita",
    "06": "yamagata", "07": "fukushima", "08": "ibaraki", "09": "tochigi", "10": "gunma",
    "11": "saitama", "12": "chiba", "13": "tokyo", "14": "kanagawa", "15": "niigata",
    "16": "toyama", "17": "ishikawa", "18": "fukui", "19": "yamanashi", "20": "nagano",
    "21": "gifu", "22": "shizuoka", "23": "aichi", "24": "mie", "25": "shiga", "26": "kyoto",
    "27": "osaka", "28": "hyogo", "29": "nara", "30": "wakayama", "31": "tottori",
    "32": "shimane", "33": "okayama", "34": "hiroshima", "35": "yamaguchi", "36": "tokushima",
    "37": "kagawa", "38": "ehime", "39": "kochi", "40": "fukuoka", "41": "saga",
    "42": "nagasaki", "43": "kumamoto", "44": "oita", "45": "miyazaki", "46": "kagoshima",
    "47": "okinawa",
}  # fmt: skip


def load_table(home: Path) -> LegalTable:
    """The node's legal table: ``home/legal.toml`` if present, else the shipped one."""
    own = home / LEGAL_TABLE_FILE
    return load_legal_table(own) if own.exists() else load_shipped_legal_table()


def serves(store: IdentityStore, recipient: Recipient) -> bool:
    """Whether this node provides to ``recipient`` at all.

    The national node serves recipients of national level; a prefecture node serves
    prefectural recipients of its own prefecture, named by their code (see
    ``PREFECTURES``). Municipal recipients are served by no node yet.
    """
    if store.kind == "national":
        return recipient.level is Level.NATIONAL
    if store.kind == "prefecture" and recipient.level is Level.PREFECTURAL:
        name = PREFECTURES.get(store.code[:2])
        return name is not None and (
            recipient.code == name or recipient.code.startswith(name + "-")
        )
    return False


# --- the person as held -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Person:
    resident_code: str  # the current code
    person_key: str
    name: str
    date_of_birth: date
    sex: str
    address: str
    status: str
    change_reason: str
    change_date: date
    name_folded: str
    address_folded: str


_COLUMNS = [
    identities.c[f]
    for f in (
        "resident_code", "person_key", "name", "date_of_birth", "sex", "address", "status",
        "change_reason", "change_date", "name_folded", "address_folded",
    )
]  # fmt: skip


def _person(row: Sequence[Any]) -> _Person:
    return _Person(*row[: len(_COLUMNS)])


# Built once: lookups and verifies run these per request (see audit.log for why).
_BY_CODE = select(*_COLUMNS).where(identities.c.resident_code == bindparam("code"))
_BY_RETIRED_CODE = (
    select(*_COLUMNS)
    .join(retired_codes, retired_codes.c.person_key == identities.c.person_key)
    .where(retired_codes.c.code == bindparam("code"))
)


def _find(conn: Connection, code: str) -> _Person | None:
    """The person holding ``code`` now, or who held it before a code change (R6)."""
    row = conn.execute(_BY_CODE, {"code": code}).first()
    if row is None:
        row = conn.execute(_BY_RETIRED_CODE, {"code": code}).first()
    return _person(row) if row else None


def _value(person: _Person, name: str) -> str:
    value = getattr(person, name)
    return value.isoformat() if isinstance(value, date) else str(value)


class _Provider:
    """What one call provides: the affair's fields of each person, and the log rows."""

    def __init__(
        self, store: IdentityStore, recipient: Recipient, affair: Affair, function: Function,
        agency: str,
    ) -> None:  # fmt: skip
        self.store, self.recipient, self.affair = store, recipient, affair
        self.function, self.agency = function, agency
        self.request_id = uuid.uuid4().hex
        self.fields: list[ProvisionField] = [
            f for f in _FIELD_ORDER if f in affair.fields and f != "pseudonym"
        ]
        if affair.sector is not None:  # the pseudonym replaces the resident code
            self.fields = ["pseudonym", *(f for f in self.fields if f != "resident_code")]
        given = "" if function is Function.VERIFY else ",".join(self.fields)
        self.given = given
        self.secret: bytes | None = None

    def record(self, conn: Connection, person: _Person) -> ProvidedRecord:
        values: dict[str, str] = {}
        for f in self.fields:
            if f == "pseudonym":
                if self.secret is None:
                    self.secret = self.store.pseudonym_secret(conn)
                assert self.affair.sector is not None
                values[f] = pseudonym(self.secret, person.person_key, self.affair.sector)
            else:
                values[f] = _value(person, f)
        # Built from this node's own data and the checked table: no validation needed.
        return ProvidedRecord.model_construct(fields=cast(dict[ProvisionField, str], values))

    def log(self, conn: Connection, provided: Sequence[tuple[_Person, str]]) -> None:
        """One provision row per person provided (``provided``: person, code as asked)."""
        if not provided:
            return
        at = audit.now()
        # A batch writes one row per person; the DBAPI's executemany with plain tuples
        # skips SQLAlchemy's per-row parameter processing (a quarter of a batch's time).
        columns = ("at", "node", "agency", "recipient", "affair", "function", "person_key",
                   "resident_code", "fields", "request_id")  # fmt: skip
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        sql = (
            f"INSERT INTO {provisions.name} ({', '.join(columns)}) "
            f"VALUES ({', '.join([mark] * len(columns))})"
        )
        fixed = (self.store.node_id, self.agency, self.recipient.code, self.affair.code,
                 str(self.function))  # fmt: skip
        conn.exec_driver_sql(
            sql,
            [(at, *fixed, p.person_key, asked, self.given, self.request_id)
             for p, asked in provided],
        )  # fmt: skip

    def audit(self, conn: Connection, detail: str) -> None:
        target = f"{self.recipient.code}/{self.affair.code}"
        draft = audit.Draft(self.agency, f"provision.{self.function}", target,
                            detail=f"request {self.request_id}: {detail}")  # fmt: skip
        self.store.audit(conn, draft)


def _refused(
    store: IdentityStore, actor: str, function: Function, affair: str, exc: JukinetError
) -> None:
    security_log.warning(
        "refused provision.%s of affair %r to %s: %s [%s]", function, affair, actor, exc, exc.code,
        extra={"peer": actor, "affair": affair, "function": str(function), "reason": exc.code},
    )  # fmt: skip
    store.refused(actor, f"provision.{function}", affair, exc)


def _authorize(
    store: IdentityStore, table: LegalTable, agency: str, affair: str, function: Function
) -> _Provider:
    """The provider of this call, or (audited and logged) ProvisionRefused."""
    actor = node_id("agency", agency)
    try:
        recipient, allowed = table.authorize(agency, affair, function)
        if not serves(store, recipient):
            raise ProvisionRefused(
                f"{recipient.name} ({recipient.level} level) is not served by {store.node_id}; "
                "national bodies ask the national node, prefectural bodies their prefecture."
            )
    except JukinetError as exc:
        _refused(store, actor, function, affair, exc)
        raise
    return _Provider(store, recipient, allowed, function, actor)


# --- lookup, search, verify ---------------------------------------------------------


def lookup(
    store: IdentityStore, table: LegalTable, agency: str, req: LookupRequest
) -> LookupResponse:
    """Identity information of one person by resident code, the affair's fields only."""
    p = _authorize(store, table, agency, req.affair, Function.LOOKUP)
    with store.transaction() as conn:
        person = _find(conn, req.resident_code)
        if person is None:
            p.audit(conn, "not found")
            return LookupResponse(found=False)
        record = p.record(conn, person)
        p.log(conn, [(person, req.resident_code)])
        p.audit(conn, f"provided 1 ({p.given})")
    return LookupResponse.model_construct(found=True, record=record)


def _score(person: _Person, req: SearchRequest, address: str) -> float:
    points = 1.0  # the folded name is equal: that is how candidates are found
    if req.date_of_birth is not None and person.date_of_birth == req.date_of_birth:
        points += 1
    if req.sex is not None and person.sex == req.sex:
        points += 1
    if address and (person.address_folded.startswith(address) or address in person.address_folded):
        points += 1
    return points / 4


def search(
    store: IdentityStore, table: LegalTable, agency: str, req: SearchRequest
) -> SearchResponse:
    """Ranked candidates by the 4 items, compared after folding; never more than allowed.

    Candidates have the folded name (and, if given, the date of birth) exactly; sex
    and the address (folded, prefix or part) rank them; residents before removed
    identities at equal score.
    """
    p = _authorize(store, table, agency, req.affair, Function.SEARCH)
    name = fold(req.name)
    if not name:
        exc = InvalidInput("The name to search for is empty once spaces are removed.")
        _refused(store, p.agency, Function.SEARCH, req.affair, exc)
        raise exc
    address = fold(req.address) if req.address else ""
    limit = min(p.affair.max_candidates, MAX_CANDIDATES)
    query = select(*_COLUMNS).where(identities.c.name_folded == name)
    if req.date_of_birth is not None:
        query = query.where(identities.c.date_of_birth == req.date_of_birth)
    with store.transaction() as conn:
        people = [_person(r) for r in conn.execute(query.limit(SEARCH_SCAN))]
        ranked = sorted(
            ((_score(person, req, address), person) for person in people),
            key=lambda sp: (-sp[0], sp[1].status != "resident", sp[1].resident_code),
        )[:limit]
        candidates = [
            Candidate.model_construct(score=score, record=p.record(conn, person))
            for score, person in ranked
        ]
        p.log(conn, [(person, person.resident_code) for _, person in ranked])
        p.audit(conn, f"{len(candidates)} candidate(s) of {len(people)} ({p.given})")
    return SearchResponse.model_construct(candidates=candidates)


_VerifyItem = Literal["name", "date_of_birth", "sex", "address"]
_VERIFY_ITEMS: tuple[_VerifyItem, ...] = ("name", "date_of_birth", "sex", "address")


def verify(
    store: IdentityStore, table: LegalTable, agency: str, req: VerifyRequest
) -> VerifyResponse:
    """Match or not per item (name and address after folding); no data is returned."""
    p = _authorize(store, table, agency, req.affair, Function.VERIFY)
    with store.transaction() as conn:
        person = _find(conn, req.resident_code)
        if person is None:
            p.audit(conn, "not found")
            return VerifyResponse(found=False, matches=dict.fromkeys(_VERIFY_ITEMS, False))
        matches: dict[_VerifyItem, bool] = {
            "name": person.name_folded == fold(req.name),
            "date_of_birth": person.date_of_birth == req.date_of_birth,
            "sex": person.sex == req.sex,
            "address": person.address_folded == fold(req.address),
        }
        p.log(conn, [(person, req.resident_code)])
        p.audit(conn, f"verified 1: {sum(matches.values())} of 4 items match")
    return VerifyResponse(found=True, matches=matches)


# --- batch (R24) --------------------------------------------------------------------

_Item = tuple[int, str | None, str | None]  # row, code, error


def _parse_line(text: str) -> str:
    """The resident code on one CSV or JSON line, or InvalidInput."""
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"not valid JSON ({exc.msg})") from None
        if not isinstance(data, dict) or not isinstance(data.get("resident_code"), str):
            raise InvalidInput('a JSON line must be an object with a "resident_code" string')
        value: str = data["resident_code"]
    else:
        cells = next(csv.reader([text]), [])
        if len(cells) != 1:
            raise InvalidInput(f"expected one column (resident_code), got {len(cells)}")
        value = cells[0]
    return parse_resident_code(value)


def _parse(lines: Iterable[str], first_row: int = 1) -> Iterator[_Item]:
    """(row, code, error) per non-blank line; row is the 1-based line number in the file.

    A client sends a large file in chunks; ``first_row`` is the line number of the
    chunk's first line. A first line ``resident_code`` of the file is a CSV header.
    """
    first = first_row == 1
    for row, line in enumerate(lines, first_row):
        text = line.strip().lstrip("\ufeff")
        if not text:
            continue
        if first:
            first = False
            if text.strip('"').lower() == "resident_code":
                continue
        try:
            yield row, _parse_line(text), None
        except JukinetError as exc:
            yield row, None, f"row {row}: {exc.message}"


def batch(
    store: IdentityStore,
    table: LegalTable,
    agency: str,
    affair: str,
    lines: Iterable[str],
    first_row: int = 1,
) -> Iterator[BatchRow]:
    """Status (and the affair's fields) of every resident code in ``lines``, in input order.

    Authorised at once (a refusal raises here, before any row); the rows then come
    chunk by chunk: per chunk one set-based read over the sorted codes, the provision
    rows and one audit entry in one transaction. ``lines`` is read lazily, so memory
    stays flat whatever its length. Malformed lines give a row with ``error``.
    """
    p = _authorize(store, table, agency, affair, Function.BATCH)
    return _batch(p, _parse(lines, first_row))


def _batch(p: _Provider, items: Iterator[_Item]) -> Iterator[BatchRow]:
    chunks = 0
    while chunk := list(islice(items, CHUNK)):
        chunks += 1
        yield from _batch_chunk(p, chunk, chunks)
    if chunks == 0:
        with p.store.transaction() as conn:
            p.audit(conn, "empty batch")


def _batch_chunk(p: _Provider, chunk: list[_Item], number: int) -> list[BatchRow]:
    codes = sorted({code for _, code, _ in chunk if code is not None})  # B-tree locality
    with p.store.transaction() as conn:
        held: dict[str, _Person] = {}
        if codes:
            query = select(*_COLUMNS).where(identities.c.resident_code.in_(codes))
            held = {r.resident_code: _person(r) for r in conn.execute(query)}
        missing = [c for c in codes if c not in held]
        if missing:  # retired by a code change (R6): rare, so a second small statement
            query = (
                select(retired_codes.c.code, *_COLUMNS)
                .join(identities, identities.c.person_key == retired_codes.c.person_key)
                .where(retired_codes.c.code.in_(missing))
            )
            held.update((r[0], _person(r[1:])) for r in conn.execute(query))
        records = {code: p.record(conn, person) for code, person in held.items()}
        provided: dict[str, tuple[_Person, str]] = {}  # one row per person per chunk
        for code in codes:
            person = held.get(code)
            if person is not None and person.person_key not in provided:
                provided[person.person_key] = (person, code)
        p.log(conn, list(provided.values()))
        errors = sum(1 for _, code, _ in chunk if code is None)
        p.audit(
            conn,
            f"chunk {number}, rows {chunk[0][0]}-{chunk[-1][0]}: provided {len(provided)}, "
            f"not found {len(codes) - len(held)}, malformed {errors} ({p.given})",
        )
    rows: list[BatchRow] = []
    for row, asked, error in chunk:
        if asked is None:
            rows.append(BatchRow.model_construct(row=row, error=error))
            continue
        record = records.get(asked)
        rows.append(
            BatchRow.model_construct(
                row=row, resident_code=asked, found=record is not None, record=record
            )
        )
    return rows


# --- disclosure (R14) ---------------------------------------------------------------


def disclosure(
    store: IdentityStore, table: LegalTable, req: DisclosureRequest, clerk_node: str
) -> DisclosureResponse:
    """Every provision of the person's identity information at this node, newest first.

    The person is found by the code (current or retired), and their provisions by the
    person key, so provisions under an earlier code are listed too.
    """
    names = {r.code: r.name for r in table.recipients}
    target = req.resident_code
    try:
        with store.transaction() as conn:
            person = _find(conn, req.resident_code)
            if person is None:
                raise ResidentNotFound(
                    f"{store.node_id} holds no identity under resident code {req.resident_code}."
                )
            rows = conn.execute(
                select(provisions)
                .where(provisions.c.person_key == person.person_key)
                .order_by(provisions.c.at.desc(), provisions.c.id.desc())
            ).all()
            entries = [
                ProvisionEntry(
                    at=datetime.fromisoformat(r.at).astimezone(UTC),
                    node=r.node,
                    recipient=r.recipient,
                    recipient_name=names.get(r.recipient, r.recipient),
                    affair=r.affair,
                    function=cast(Literal["lookup", "search", "verify", "batch"], r.function),
                    fields=r.fields.split(",") if r.fields else [],
                )
                for r in rows
            ]
            detail = (
                f"clerk {req.clerk} (verified by {req.verified_by}): "
                f"{len(entries)} provision(s) disclosed"
            )
            store.audit(conn, audit.Draft(clerk_node, "disclosure", target, detail=detail))
    except JukinetError as exc:
        security_log.warning("refused disclosure to %s: %s [%s]", clerk_node, exc, exc.code)
        store.refused(clerk_node, "disclosure", target, exc)
        raise
    return DisclosureResponse(resident_code=req.resident_code, provisions=entries)


# --- HTTP (national and prefecture nodes) -------------------------------------------


def batch_lines(rows: Iterable[BatchRow], per_chunk: int = 1000) -> Iterator[bytes]:
    """Batch rows as JSON lines, a chunk at a time (a sync iterator: Starlette runs it,
    and the database work behind ``rows``, in a worker thread, off the event loop)."""
    chunk: list[str] = []
    for row in rows:
        chunk.append(row.model_dump_json(exclude_none=True) + "\n")
        if len(chunk) >= per_chunk:
            yield "".join(chunk).encode()
            chunk = []
    if chunk:
        yield "".join(chunk).encode()


def body_lines(body: bytes) -> Iterator[str]:
    """The lines of an uploaded file, decoded lazily (bad UTF-8 becomes a malformed row)."""
    return iter(io.TextIOWrapper(io.BytesIO(body), encoding="utf-8", errors="replace"))


def router(store: IdentityStore, table: LegalTable) -> APIRouter:
    """The provision and disclosure endpoints (docs/network.md, "Endpoints").

    Lookup and verify run on the event loop: one short transaction each, and the
    thread pool costs more than it saves here (DESIGN.md §7). Search and disclosure
    run in a worker thread; a batch streams from a worker thread chunk by chunk.
    """
    api = APIRouter()

    @api.post("/provision/lookup")
    async def provision_lookup(req: LookupRequest, peer: Caller) -> LookupResponse:
        return lookup(store, table, peer.code, req)

    @api.post("/provision/verify")
    async def provision_verify(req: VerifyRequest, peer: Caller) -> VerifyResponse:
        return verify(store, table, peer.code, req)

    @api.post("/provision/search")
    async def provision_search(req: SearchRequest, peer: Caller) -> SearchResponse:
        return await asyncio.to_thread(search, store, table, peer.code, req)

    @api.post("/provision/batch")
    async def provision_batch(
        request: Request,
        peer: Caller,
        affair: Annotated[str, Query()],
        first_row: Annotated[int, Query(ge=1)] = 1,
    ) -> StreamingResponse:
        # The body is already in memory: the peer check verified its Content-Digest
        # before anything was done with it.
        lines = body_lines(await request.body())
        rows = await asyncio.to_thread(batch, store, table, peer.code, affair, lines, first_row)
        return StreamingResponse(batch_lines(rows), media_type="application/jsonl")

    @api.post("/disclosure")
    async def provision_disclosure(req: DisclosureRequest, peer: Caller) -> DisclosureResponse:
        return await asyncio.to_thread(disclosure, store, table, req, peer.node_id)

    return api
