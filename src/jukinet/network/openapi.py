"""A node's OpenAPI description, as true as its code (docs/network.md, "The OpenAPI schema").

FastAPI describes each route's parameters, JSON body and success answer. What else a
node answers is added here, from the place that decides it:

* every operation: the peer gate's refusals (``network/gate.py``) — 401, 403, 408,
  413 and 503 — described from the operation's row of the endpoint table (who may
  call it, its largest body), never written at a route;
* 422 wherever FastAPI validates a body or a parameter (the use cases' InvalidInput
  answers 422 too);
* what a route itself refuses, as the route declares it (``responses={403: ...}``);

every error with the RFC 9457 problem+json body (``messages.Problem``) that the
handlers of ``network/peer.py`` and the gate build. A batch's body and a JSON-lines
answer have their own media types (``BATCH_BODY``, ``json_lines``); the batch route
refuses any other with 415 (``require_batch_media_type``).

Nodes serve no documentation (``openapi_url=None``); ``app.openapi()`` builds the
schema and ``docs/openapi/<kind>.json`` ships it (``python -m jukinet.network.openapi``).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from jukinet.network.endpoints import Endpoint, EndpointTable, Role
from jukinet.network.gate import ALWAYS_OPEN, PROBLEM_MEDIA_TYPE, problem
from jukinet.network.messages import BatchRow, IdentityLine, Problem

__all__ = [
    "BATCH_ANSWER",
    "BATCH_BODY",
    "BATCH_MEDIA_TYPES",
    "IDENTITY_LINES",
    "JSON_LINES",
    "JsonLines",
    "Responses",
    "json_lines",
    "node_openapi",
    "require_batch_media_type",
]

JSON_LINES = "application/jsonl"
# What a batch file may be declared as: the lines are CSV (one resident code) or JSON
# objects, told apart line by line (domain/provision.py), always UTF-8.
BATCH_MEDIA_TYPES = ("text/plain", "text/csv", JSON_LINES, "application/x-ndjson")
_REF = "#/components/schemas/"
Responses = dict[int | str, dict[str, Any]]  # a route's ``responses=``, FastAPI's type
_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


class JsonLines(StreamingResponse):
    """A streamed answer of JSON lines: one JSON object per line (``application/jsonl``)."""

    media_type = JSON_LINES


def json_lines(row: type[BaseModel], description: str) -> Responses:
    """The 200 answer of a route that streams ``row`` objects as JSON lines.

    The schema reads the stream as an array of rows, one per line (as OpenAPI 3.2
    reads a sequential media type); a route uses it with ``response_class=JsonLines``.
    """
    return {200: {"model": list[row], "description": description}}  # type: ignore[valid-type]


IDENTITY_LINES = json_lines(
    IdentityLine, "The identities held (of the municipality asked for), by resident code."
)
BATCH_ANSWER = json_lines(
    BatchRow, "One row per line of the file, in its order: the status, or the row's error."
) | {
    415: {
        "description": f"The body is not declared as one of {', '.join(BATCH_MEDIA_TYPES)}, "
        "in UTF-8."
    }
}

_BATCH_TEXT = (
    "The file, UTF-8: one resident code per line (CSV, one column; a first line "
    '`resident_code` is a header) or one JSON object `{"resident_code": "..."}` per line. '
    "A line that is not one (too long, binary, not a code) is one row with an error."
)
BATCH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A batch file, or one chunk of a large one (the agency client's).",
        "content": {
            media: {"schema": {"type": "string", "description": _BATCH_TEXT}}
            for media in BATCH_MEDIA_TYPES
        },
    }
}


def require_batch_media_type(request: Request) -> None:
    """Refuse (415) a batch body not declared as one of ``BATCH_MEDIA_TYPES`` in UTF-8."""
    declared = request.headers.get("content-type")
    media, charset = _media_type(declared or "")
    if media in BATCH_MEDIA_TYPES and charset in (None, "utf-8"):
        return
    detail = f"A batch file is sent as {', '.join(BATCH_MEDIA_TYPES)} (UTF-8); " + (
        f"this one is declared {declared[:60]!r}." if declared else "this one names no type."
    )
    raise HTTPException(415, detail=problem(415, "unsupported-media-type", detail).model_dump())


def _media_type(value: str) -> tuple[str, str | None]:
    """The media type and charset of a Content-Type value, lower case.

    By hand: the standard library's ``email.message`` takes any unparsable value for
    ``text/plain``, and a few lines are clearer than a dependency for it.
    """
    media, *params = (part.strip() for part in value.split(";"))
    charset = None
    for param in params:
        name, _, given = param.partition("=")
        if name.strip().lower() == "charset":
            charset = given.strip().strip('"').lower()
    return media.lower(), charset


# --- the schema -------------------------------------------------------------------


def node_openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI schema of the node ``app`` (cached on the app, as FastAPI does)."""
    if app.openapi_schema is None:
        kind: Role = app.state.node_kind
        schema = get_openapi(
            title=f"jukinet {kind} node",  # one schema per kind, whichever node it is
            version=app.version,
            description=_DESCRIPTION,
            routes=app.routes,
        )
        describe_refusals(schema, kind, app.state.endpoints)
        app.openapi_schema = schema
    return app.openapi_schema


_DESCRIPTION = (
    "A jukinet node. Every request comes over mutual TLS with a certificate of the "
    "network CA and carries an RFC 9421 signature by the caller's node key (docs/network.md, "
    "Transport); who may call what is the endpoint table (network/endpoints.py). "
    "Every refusal is an RFC 9457 problem (application/problem+json)."
)

_SECURITY_SCHEMES = {
    "mutualTLS": {
        "type": "mutualTLS",
        "description": "A client certificate of the network CA, of an active directory member.",
    },
    "signature": {
        "type": "apiKey",
        "in": "header",
        "name": "Signature",
        "description": (
            "RFC 9421 signature (label jukinet, ed25519, keyid = the caller's node id) over "
            "@method, @authority, @path, @query and content-digest, with created and nonce; "
            "sent with Signature-Input and an RFC 9530 Content-Digest (sha-256)."
        ),
    },
}


def describe_refusals(schema: dict[str, Any], kind: Role, table: EndpointTable) -> None:
    """Add to ``schema`` every refusal of its operations, each as a problem+json body."""
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Problem"] = Problem.model_json_schema(ref_template=_REF + "{model}")
    components["securitySchemes"] = copy.deepcopy(_SECURITY_SCHEMES)
    schema["security"] = [{name: [] for name in _SECURITY_SCHEMES}]
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            row = table.row(kind, method.upper(), path)
            if row is None:  # check_endpoints refuses such an app before it is served
                continue
            responses: dict[str, Any] = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"]["description"] = _INVALID
            for status, description in _gate_refusals(row):
                said = responses.get(status, {}).get("description")
                responses[status] = {
                    "description": f"{description} {said}" if said else description
                }
            for status, response in responses.items():
                if int(status) >= 400:
                    response["content"] = _problem_content(int(status))
            operation["responses"] = dict(sorted(responses.items()))
    if not _references(schema, _VALIDATION_SCHEMAS):
        for name in _VALIDATION_SCHEMAS:
            schemas.pop(name, None)


_INVALID = (
    "The request is not valid: a body, parameter or value the node refuses "
    "(the detail names the first problem)."
)


def _gate_refusals(row: Endpoint) -> list[tuple[str, str]]:
    """What the peer gate answers for ``row`` (network/gate.py), in its own words."""
    body = (
        "a request to it has no body"
        if row.max_body == 0
        else f"it reads at most {row.max_body:,} bytes"
    )
    return [
        ("401", "No valid signature: missing, not verifying, stale, a replay, or the body "
                "does not match its Content-Digest."),
        ("403", f"The signer is not an active member of the directory, or may not call it "
                f"(allowed: {row.callers})."),
        ("408", "The body did not arrive within the node's body timeout."),
        ("413", f"The body is too large ({body})."),
        ("503", "Too many signed requests within the replay window; try again shortly."
                + ("" if (row.method, row.path) in ALWAYS_OPEN else
                   " Or the network is stopped for this node or the caller (network-stopped, "
                   "R9): its directory expired, the network is halted or a node isolated.")),
    ]  # fmt: skip


def _problem_content(status: int) -> dict[str, Any]:
    content: dict[str, Any] = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": _REF + "Problem"}}}
    if status == 503:  # uvicorn's own backstop (limit_concurrency) answers in plain text
        content["text/plain"] = {"schema": {"type": "string"}}
    return content


def _references(schema: Mapping[str, Any], names: Iterable[str]) -> bool:
    text = json.dumps(schema.get("paths", {}))
    return any(f'"{_REF}{name}"' in text for name in names)


def write_schema(app: FastAPI) -> str:
    """The schema as committed in docs/openapi/: sorted keys, two-space indent, a newline."""
    return json.dumps(node_openapi(app), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
