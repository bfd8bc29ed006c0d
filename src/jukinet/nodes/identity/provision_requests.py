"""The signed requests behind the provisions, kept and re-verified (R2, R7, R14).

A lookup, verify or search that provides anything keeps the caller's signed request
(``network.signed_request.SignedRequest``) in ``provision_requests``, one row per
request, written in the transaction of its group with its provision rows
(``provision_writer``); the provision rows carry its ``request_id``. ``check`` re-verifies
kept requests offline with the reference RFC 9421 verifier and checks that each one
asked for what its provision rows say: the caller is the row's agency, the affair and
the function are those of the rows, and the resident code of a lookup or verify is the
code the rows record as asked.

A batch (R24) does not keep its request yet: its body is the whole list of codes, so
keeping it means one row per batch (not per chunk) with a body up to the batch's size,
written with the first chunk, and its codes checked against the chunks' rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select

from jukinet.network.signed_request import SignedRequest, reverify
from jukinet.nodes.identity.tables import provision_requests, provisions

__all__ = ["Kept", "Problem", "check", "kept", "log_requests"]

_FIELDS = ("keyid", "method", "url", "content_digest", "signature_input", "signature", "body",
           "public_key", "certificate")  # fmt: skip
_PATHS = {
    "/provision/lookup": "lookup",
    "/provision/verify": "verify",
    "/provision/search": "search",
}


@dataclass(frozen=True, slots=True)
class Kept:
    """A signed request to keep, with the id its provision rows carry."""

    request_id: str
    at: str
    signed: SignedRequest


@dataclass(frozen=True, slots=True)
class Problem:
    request_id: str
    what: str


def log_requests(conn: Connection, requests: Sequence[Kept]) -> None:
    """The signed requests of a group's calls, one row each (one multi-row insert)."""
    if not requests:
        return
    rows = [
        {"request_id": k.request_id, "at": k.at, **{f: getattr(k.signed, f) for f in _FIELDS}}
        for k in requests
    ]
    conn.execute(insert(provision_requests), rows)


def kept(conn: Connection, request_id: str | None = None) -> Iterator[Kept]:
    """The kept requests (or the one with ``request_id``), oldest first."""
    query = select(provision_requests).order_by(provision_requests.c.at)
    if request_id is not None:
        query = query.where(provision_requests.c.request_id == request_id)
    for r in conn.execute(query):
        signed = SignedRequest(
            keyid=r.keyid, method=r.method, url=r.url, content_digest=r.content_digest,
            signature_input=r.signature_input, signature=r.signature, body=bytes(r.body),
            public_key=r.public_key, certificate=r.certificate,
        )  # fmt: skip
        yield Kept(r.request_id, r.at, signed)


def check(conn: Connection, request_id: str | None = None) -> tuple[int, list[Problem]]:
    """How many kept requests were checked, and what does not hold (see the module)."""
    count, problems = 0, []
    for k in kept(conn, request_id):
        count += 1
        rows = conn.execute(
            select(provisions.c.agency, provisions.c.affair, provisions.c.function,
                   provisions.c.resident_code).where(provisions.c.request_id == k.request_id)
        ).all()  # fmt: skip
        for what in _problems(k, rows):
            problems.append(Problem(k.request_id, what))
    return count, problems


def _problems(k: Kept, rows: Sequence[Any]) -> Iterator[str]:
    why = reverify(k.signed)
    if why is not None:
        yield f"the kept signature does not verify: {why}"
        return
    if not rows:
        yield "no provision row carries this request"
        return
    path = k.signed.url.split("://", 1)[-1].partition("/")[2].partition("?")[0]
    function = _PATHS.get("/" + path)
    try:
        asked = json.loads(k.signed.body)
    except ValueError:
        asked = None
    if not isinstance(asked, dict):
        yield "the signed body is not a JSON object"
        return
    for agency, affair, row_function, code in rows:
        if agency != k.signed.keyid:
            yield f"a provision row names {agency}, but {k.signed.keyid} signed the request"
        if affair != asked.get("affair"):
            yield f"a provision row names affair {affair}, the request asked {asked.get('affair')}"
        if row_function != function:
            yield f"a provision row is a {row_function}, the request went to {path}"
        if function in ("lookup", "verify") and code != asked.get("resident_code"):
            yield f"a provision row records code {code}, the request asked another"
