"""Provision of identity information to administrative bodies, and disclosure (R2, R4, R5,
R14, R23, R24; DESIGN.md section 2, flows 2 and 3).

Every call names an affair of the legal table (別表, ``jukinet.domain.legal``). The
table decides whether the calling agency may use this function for this affair, and
names the one node that serves each recipient (``served_by``): a call to any other
node is refused. Anything refused is one audit entry (outcome ``refused``) and one
line on the ``jukinet.security`` logger, and nothing else. Anything allowed decides
the answer, writes one ``provisions`` row per person provided and one audit entry,
in one transaction: a lookup, verify or search in the transaction of its group
(``provision_writer``: the calls waiting together are committed together, and each
is answered only once committed), a batch in one transaction per chunk of ``CHUNK``
codes.

The answer holds exactly the affair's fields; an affair with a ``sector`` receives
the sector pseudonym (``pseudonym``) and never the resident code.

A code retired by a code change (R6) is answered as retired and nothing more:
lookup, verify and batch say ``found: false, status: "retired"`` and give no item of
the person, not the new code, not even whether the person is alive (the resident
asked for a new code so that the old one leads nowhere; an agency holding the old code
asks the person for the current one). The node still knows whom the old code named,
so the call writes one provision row for that person with no fields given (``fields``
empty) and the code as asked: the resident's disclosure (R14) lists the attempt, and
the audit entry says ``retired``.

These are the use cases; the policy they apply is ``jukinet.domain.provision``, the
queries ``provision_store``, the group commit ``provision_writer``, the HTTP routes
``provision_api``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import cast

from sqlalchemy import Connection

from jukinet.audit import log as audit
from jukinet.domain import provision as policy
from jukinet.domain.legal import (
    Affair,
    Function,
    LegalTable,
    Recipient,
)
from jukinet.domain.legal_parse import load_legal_table, load_shipped_legal_table
from jukinet.domain.provision import BatchItem, HeldIdentity
from jukinet.errors import JukinetError
from jukinet.network import seclog
from jukinet.network.messages import (
    MAX_CANDIDATES,
    BatchRow,
    Candidate,
    LookupRequest,
    LookupResponse,
    ProvidedRecord,
    ProvisionField,
    SearchRequest,
    SearchResponse,
    VerifyRequest,
    VerifyResponse,
    node_id,
)
from jukinet.network.signed_request import SignedRequest
from jukinet.nodes.identity import provision_batch as shape
from jukinet.nodes.identity import provision_requests as kept
from jukinet.nodes.identity import provision_store as q
from jukinet.nodes.identity import pseudonym_store
from jukinet.nodes.identity.disclosure import disclosure
from jukinet.nodes.identity.provision_seal import seal
from jukinet.nodes.identity.provision_writer import Pending, Work
from jukinet.nodes.identity.pseudonym import pseudonym
from jukinet.nodes.identity.store import IdentityStore, refusal
from jukinet.nodes.identity.tables import security_log

__all__ = [
    "CHUNK",
    "LEGAL_TABLE_FILE",
    "batch",
    "batch_answer",
    "disclosure",
    "load_table",
    "lookup",
    "lookup_work",
    "search",
    "search_work",
    "verify",
    "verify_work",
]

LEGAL_TABLE_FILE = "legal.toml"
CHUNK = 5000  # codes per set-based statement and transaction in a batch (DESIGN.md §7)


def load_table(home: Path) -> LegalTable:
    """The node's legal table: ``home/legal.toml`` if present, else the shipped one."""
    own = home / LEGAL_TABLE_FILE
    return load_legal_table(own) if own.exists() else load_shipped_legal_table()


class _Provider:
    """What one call provides: the affair's fields of each person, and the log rows.

    With ``pending`` (a lookup, verify or search in its group, ``provision_writer``)
    the rows and the audit entry go into it, written with the group's; without (a
    batch chunk) they are written at once in the caller's transaction.
    """

    def __init__(
        self, store: IdentityStore, recipient: Recipient, affair: Affair, function: Function,
        agency: str, pending: Pending | None = None, signed: SignedRequest | None = None,
    ) -> None:  # fmt: skip
        self.store, self.recipient, self.affair = store, recipient, affair
        self.function, self.agency, self.pending = function, agency, pending
        self.signed = signed  # the caller's signed request, kept with the rows (R14)
        self.request_id = uuid.uuid4().hex
        self.fields = policy.provided_fields(affair)
        self.given = policy.logged_fields(function, self.fields)
        self.secret: bytes | None = None
        self.sealed = ""  # the seal of the rows logged since the last audit entry

    def record(self, conn: Connection, person: HeldIdentity) -> ProvidedRecord:
        pseudo: str | None = None
        if self.affair.sector is not None:
            if self.secret is None:
                self.secret = self.store.pseudonym_secret(conn)
            pseudo = pseudonym(self.secret, person.person_key, self.affair.sector)
        values = policy.values(person, self.fields, pseudo)
        # Built from this node's own data and the checked table: no validation needed.
        return ProvidedRecord.model_construct(fields=cast(dict[ProvisionField, str], values))

    def log(
        self, conn: Connection, provided: Sequence[tuple[HeldIdentity, str]],
        retired: Sequence[tuple[HeldIdentity, str]] = (),
    ) -> None:  # fmt: skip
        """One provision row per person provided (``provided``: person, code as asked),
        and one with no fields per person asked for by a retired code (R6, R14)."""
        fixed = (self.store.node_id, self.agency, self.recipient.code, self.affair.code,
                 str(self.function))  # fmt: skip
        at = audit.now()
        persons = [(p.person_key, asked, self.given) for p, asked in provided]
        persons += [(p.person_key, asked, "") for p, asked in retired]
        call = q.Provided(at, fixed, persons, self.request_id, self.affair.basis)
        if self.pending is None:
            q.log_calls(conn, [call], self.store.disclosure_secret(conn))
            self._touched(persons)
        else:
            self.pending.provided.append(call)
            if self.signed is not None and persons:
                self.pending.requests.append(kept.Kept(self.request_id, at, self.signed))
            self.pending.after.append(lambda: self._touched(persons))
        if persons:  # the audit entry of this call (or chunk) seals the rows (R12, R14)
            self.sealed = seal([(*fixed, *person) for person in persons], at)

    def log_keys(self, conn: Connection, provided: dict[str, str], retired: dict[str, str]) -> None:
        """``log`` for a batch chunk, by person key: ``provided`` and ``retired`` map each
        person's key to the code asked (one row per person, no identity objects)."""
        fixed = (self.store.node_id, self.agency, self.recipient.code, self.affair.code,
                 str(self.function))  # fmt: skip
        at = audit.now()
        persons = [(key, asked, self.given) for key, asked in provided.items()]
        persons += [(key, asked, "") for key, asked in retired.items()]
        call = q.Provided(at, fixed, persons, self.request_id, self.affair.basis)
        q.log_calls(conn, [call], self.store.disclosure_secret(conn))
        self._touched(persons)
        if persons:  # the audit entry of the chunk seals the rows (R12, R14)
            self.sealed = seal([(*fixed, *person) for person in persons], at)

    def _touched(self, persons: Sequence[tuple[str, str, str]]) -> None:
        security = seclog.for_node(self.store.node_id)
        if security is not None:  # how many residents this call touched (R7)
            security.event(
                "provision", "success", f"provision.{self.function}", caller=self.agency,
                request_id=self.request_id, residents=len(persons), affair=self.affair.code,
                touched=[person for person, _, _ in persons],
            )  # fmt: skip

    def audit(self, conn: Connection, detail: str) -> None:
        target = f"{self.recipient.code}/{self.affair.code}"
        draft = audit.Draft(self.agency, f"provision.{self.function}", target,
                            detail=f"request {self.request_id}: {detail}{self.sealed}")  # fmt: skip
        self.sealed = ""
        if self.pending is None:
            self.store.audit(conn, draft)
        else:
            self.pending.drafts.append(draft)


def _refused(
    store: IdentityStore, actor: str, function: Function, affair: str, exc: JukinetError,
    pending: Pending | None = None,
) -> None:  # fmt: skip
    security_log.warning(
        "refused provision.%s of affair %r to %s: %s [%s]", function, affair, actor, exc, exc.code,
        extra={"peer": actor, "affair": affair, "function": str(function), "reason": exc.code},
    )  # fmt: skip

    def event() -> None:
        security = seclog.for_node(store.node_id)
        if security is not None:
            security.event("provision-refused", "failure", exc.message, caller=actor,
                           code=exc.code, affair=affair)  # fmt: skip

    operation = f"provision.{function}"
    if pending is None:
        store.refused(actor, operation, affair, exc)
        event()
    else:  # written with the group, even though this call fails (Pending.refuse)
        pending.refuse(refusal(actor, operation, affair, exc), event)


def _authorize(
    store: IdentityStore, table: LegalTable, agency: str, affair: str, function: Function,
    pending: Pending | None = None, signed: SignedRequest | None = None,
) -> _Provider:  # fmt: skip
    """The provider of this call, or (audited and logged) ProvisionRefused."""
    actor = node_id("agency", agency)
    try:
        recipient, allowed = table.authorize(agency, affair, function)
        policy.check_served(recipient, store.kind, store.code)
    except JukinetError as exc:
        _refused(store, actor, function, affair, exc, pending)
        raise
    return _Provider(store, recipient, allowed, function, actor, pending, signed)


# --- lookup, search, verify: group commit (provision_writer) --------------------------


def lookup(
    store: IdentityStore, table: LegalTable, agency: str, req: LookupRequest
) -> LookupResponse:
    """Identity information of one person by resident code (``lookup_work``), once on record."""
    return store.provision_writer.call(lookup_work(store, table, agency, req))


def search(
    store: IdentityStore, table: LegalTable, agency: str, req: SearchRequest
) -> SearchResponse:
    """Ranked candidates by the 4 items (``search_work``), once on record."""
    return store.provision_writer.call(search_work(store, table, agency, req))


def verify(
    store: IdentityStore, table: LegalTable, agency: str, req: VerifyRequest
) -> VerifyResponse:
    """Match or not per item (``verify_work``), once on record."""
    return store.provision_writer.call(verify_work(store, table, agency, req))


def lookup_work(
    store: IdentityStore,
    table: LegalTable,
    agency: str,
    req: LookupRequest,
    signed: SignedRequest | None = None,
) -> Work[LookupResponse]:
    """Identity information of one person by resident code, the affair's fields only."""

    def work(conn: Connection, pending: Pending) -> LookupResponse:
        p = _authorize(store, table, agency, req.affair, Function.LOOKUP, pending, signed)
        found = q.find_asked(conn, req.resident_code)
        if found is None:
            p.audit(conn, "not found")
            return LookupResponse(found=False)
        person, retired = found
        if retired:
            p.log(conn, [], [(person, req.resident_code)])
            p.audit(conn, "retired code: nothing provided")
            return LookupResponse(found=False, status="retired")
        record = p.record(conn, person)
        p.log(conn, [(person, req.resident_code)])
        p.audit(conn, f"provided 1 ({p.given})")
        return LookupResponse.model_construct(found=True, record=record)

    return work


def search_work(
    store: IdentityStore,
    table: LegalTable,
    agency: str,
    req: SearchRequest,
    signed: SignedRequest | None = None,
) -> Work[SearchResponse]:
    """Ranked candidates by the 4 items, compared after folding; never more than allowed.

    Candidates have the folded name (and, if given, the date of birth) exactly; sex
    and the address (folded, prefix or part) rank them; residents before removed
    identities at equal score.
    """

    def work(conn: Connection, pending: Pending) -> SearchResponse:
        p = _authorize(store, table, agency, req.affair, Function.SEARCH, pending, signed)
        try:
            name = policy.search_key(req.name)
        except JukinetError as exc:
            _refused(store, p.agency, Function.SEARCH, req.affair, exc, pending)
            raise
        limit = policy.candidate_limit(p.affair, MAX_CANDIDATES)
        people = q.by_name(conn, name, req.date_of_birth)
        ranked = policy.rank(
            people, date_of_birth=req.date_of_birth, sex=req.sex, address=req.address,
            limit=limit,
        )  # fmt: skip
        candidates = [
            Candidate.model_construct(score=score, record=p.record(conn, person))
            for score, person in ranked
        ]
        p.log(conn, [(person, person.resident_code) for _, person in ranked])
        p.audit(conn, f"{len(candidates)} candidate(s) of {len(people)} ({p.given})")
        return SearchResponse.model_construct(candidates=candidates)

    return work


def verify_work(
    store: IdentityStore,
    table: LegalTable,
    agency: str,
    req: VerifyRequest,
    signed: SignedRequest | None = None,
) -> Work[VerifyResponse]:
    """Match or not per item (name and address after folding); no data is returned."""
    nothing = dict.fromkeys(policy.VERIFY_ITEMS, False)

    def work(conn: Connection, pending: Pending) -> VerifyResponse:
        p = _authorize(store, table, agency, req.affair, Function.VERIFY, pending, signed)
        found = q.find_asked(conn, req.resident_code)
        if found is None:
            p.audit(conn, "not found")
            return VerifyResponse(found=False, matches=nothing)
        person, retired = found
        if retired:
            p.log(conn, [], [(person, req.resident_code)])
            p.audit(conn, "retired code: nothing verified")
            return VerifyResponse(found=False, matches=nothing, status="retired")
        matches = policy.verify_matches(
            person, name=req.name, date_of_birth=req.date_of_birth, sex=req.sex,
            address=req.address,
        )  # fmt: skip
        p.log(conn, [(person, req.resident_code)])
        p.audit(conn, f"verified 1: {sum(matches.values())} of 4 items match")
        return VerifyResponse(found=True, matches=matches)

    return work


# --- batch (R24) --------------------------------------------------------------------


def batch_answer(
    store: IdentityStore,
    table: LegalTable,
    agency: str,
    affair: str,
    lines: Iterable[bytes | str],
    first_row: int = 1,
) -> Iterator[bytes]:
    """Status (and the affair's fields) of every resident code in ``lines``, in input order,
    as JSON lines: one block of bytes per chunk (``provision_batch``).

    Authorised at once (a refusal raises here, before any row); the rows then come
    chunk by chunk: per chunk one set-based read over the sorted codes (the kept sector
    pseudonyms joined in), the provision rows and one audit entry in one transaction.
    ``lines`` is read lazily, so memory stays flat whatever its length. A malformed
    line (not a code, longer than ``policy.MAX_BATCH_LINE`` bytes, binary, not UTF-8)
    gives one row with a short ``error`` naming its row, and the batch goes on.
    """
    p = _authorize(store, table, agency, affair, Function.BATCH)
    return _batch(p, policy.parse_batch(lines, first_row))


def batch(
    store: IdentityStore,
    table: LegalTable,
    agency: str,
    affair: str,
    lines: Iterable[bytes | str],
    first_row: int = 1,
) -> Iterator[BatchRow]:
    """``batch_answer``'s rows as messages (authorised at once, read lazily)."""
    blocks = batch_answer(store, table, agency, affair, lines, first_row)
    return (BatchRow.model_validate_json(line) for block in blocks for line in block.splitlines())


def _batch(p: _Provider, items: Iterator[BatchItem]) -> Iterator[bytes]:
    chunks = 0
    render = shape.Render(p.fields)
    while chunk := list(islice(items, CHUNK)):
        chunks += 1
        yield _batch_chunk(p, render, chunk, chunks)
    if chunks == 0:
        with p.store.transaction() as conn:
            p.audit(conn, "empty batch")


def _batch_chunk(p: _Provider, render: shape.Render, chunk: list[BatchItem], number: int) -> bytes:
    codes = sorted({code for _, code, _ in chunk if code is not None})  # B-tree locality
    sector = p.affair.sector
    with p.store.transaction() as conn:
        held = shape.read_held(conn, codes, sector)
        if sector is not None and any(r[-1] is None for r in held):
            # Computed once per person and sector, then kept (pseudonym_store).
            made = pseudonym_store.missing(
                conn, p.store.pseudonym_secret(conn), sector, {r[1] for r in held if r[-1] is None}
            )
            held = [r if r[-1] is not None else (*r[:-1], made[r[1]]) for r in held]
        records: dict[str, str] = {}
        provided: dict[str, str] = {}  # one row per person per chunk: key -> code asked
        for r in held:
            records[r[0]] = render(r)
            provided.setdefault(r[1], r[0])
        missing = [c for c in codes if c not in records]
        retired = shape.read_retired(conn, missing) if missing else {}
        asked_retired: dict[str, str] = {}
        for code_asked, key in sorted(retired.items()):
            if key not in provided:
                asked_retired.setdefault(key, code_asked)
        p.log_keys(conn, provided, asked_retired)
        q.index_persons(conn)  # a run of the newest rows into the person index, sorted
        errors = sum(1 for _, code, _ in chunk if code is None)
        gone = len(codes) - len(records) - len(retired)
        p.audit(
            conn,
            f"chunk {number}, rows {chunk[0][0]}-{chunk[-1][0]}: provided {len(provided)}, "
            f"retired {len(retired)}, not found {gone}, malformed {errors} ({p.given})",
        )
    return shape.answer_lines(chunk, records, retired)
