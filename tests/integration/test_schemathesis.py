"""schemathesis against every node kind's OpenAPI schema, in process (issue 8).

For each node kind, schemathesis (``openapi.from_dict``) reads the schema the kind ships
in docs/openapi/, which is its app's ``app.openapi()`` (checked here and in
test_openapi), and drives the real app of a ``network init``ed, seeded network (20
residents of 千代田区, their identity updates delivered to the prefecture and the
national node), on SQLite and, with JUKINET_TEST_PG_URL, on PostgreSQL (in CI always).
Every generated request is signed (RFC 9421) as it goes on the wire, with the own key
of a caller the endpoint table admits for that operation (for provision, an agency the
legal table serves for the operation's function), so the cases reach the routes; the
schema's ``signature`` security scheme lets schemathesis check that a request without
it, or with a made-up one, is refused.

Phases: examples, coverage (boundary and negative values, unexpected methods) and
fuzzing, positive and negative; checks: every built-in check (server errors, status
codes, content types, response schemas and headers, negative data rejected, ignored
auth, missing headers, unsupported methods, resources) but response time, object-level
authorization (no owned objects here) and positive data acceptance (see CONFIG).
Reproducible: a fixed seed, derandomized, no example database. Half the positive cases
are steered past what JSON Schema cannot say (``_guide``).
"""

from __future__ import annotations

import asyncio
import json
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from schemathesis import Case, GenerationMode
from sqlalchemy import create_engine, text
from starlette.types import Receive, Scope, Send

from jukinet.deploy.network import init_network
from jukinet.deploy.openapi import KINDS
from jukinet.deploy.seeding import seed_all
from jukinet.domain.codes import resident_code_check_digit
from jukinet.domain.legal import Function
from jukinet.domain.legal_parse import load_shipped_legal_table
from jukinet.keys import load_private_key
from jukinet.network import outbox as ob
from jukinet.network.endpoints import ENDPOINTS, Role
from jukinet.network.layout import MONITOR_ID, NetworkLayout
from jukinet.network.messages import UpdateBatch
from jukinet.network.openapi import JSON_LINES
from jukinet.network.peer import Peer
from jukinet.network.signatures import sign_request
from jukinet.network.topology import load_topology
from jukinet.nodes.municipality.setup import open_register
from jukinet.nodes.municipality.tables import outbox as municipality_outbox
from jukinet.nodes.national import service as national
from jukinet.nodes.prefecture import service as prefecture
from jukinet.nodes.prefecture.tables import outbox as prefecture_outbox
from jukinet.seed.places import Places
from tests.conftest import PG_ENV, _pg_base_url

TOPOLOGY = """
[network]
name = "fuzz"
[national]
port = 7500
[[prefectures]]
code = "130001"
port = 7510
[[municipalities]]
code = "131016"
port = 7520
residents = 20
[[municipalities]]
code = "131024"
port = 7521
residents = 1
[[agencies]]
code = "onkyu"
name = "総務省 恩給"
[[agencies]]
code = "mofa-passport"
name = "外務省 旅券課"
[[agencies]]
code = "tokyo-pref"
name = "東京都"
[[agencies]]
code = "chiyoda-city"
name = "千代田区"
"""
MUNICIPALITY, PREFECTURE, NATIONAL = "municipality:131016", "prefecture:130001", "national:national"
NEIGHBOUR = "municipality:131024"  # calls the municipality node where a municipality may
MARKER = "signed-on-the-wire"  # the auth provider's placeholder; ``Signer`` replaces it
DOCS = Path(__file__).parents[2] / "docs" / "openapi"
SEED = 20261201
EXAMPLES = 40  # per operation, phase and mode: a few hundred requests per operation in all

CONFIG: dict[str, Any] = {
    "seed": SEED,
    "generation": {"mode": "all", "max-examples": EXAMPLES, "deterministic": True,
                   "database": "none", "with-security-parameters": False},
    "phases": {"stateful": {"enabled": False}},
    "checks": {
        "object_level_authorization": {"enabled": False},
        # A resident code's check digit and the affairs the legal table gives a caller are
        # beyond JSON Schema: a request valid by the schema may still be refused (422, 403).
        "positive_data_acceptance": {"enabled": False},
    },
}  # fmt: skip


# A batch file is text whichever of its media types it is declared as; a JSON-lines
# answer is read as the array of its lines (as the schema describes it).
schemathesis.serializer.alias(["application/jsonl", "application/x-ndjson"], "text/plain")


@schemathesis.deserializer(JSON_LINES)
def _json_lines(context: schemathesis.DeserializationContext, response: Any) -> list[Any]:
    return [json.loads(line) for line in response.content.splitlines() if line.strip()]


class Signer(requests.auth.AuthBase):
    """Signs a request as it goes on the wire (its final URL and body), as ``key_id``."""

    def __init__(self, key: Ed25519PrivateKey, key_id: str, authority: str) -> None:
        self.key, self.key_id, self.authority = key, key_id, authority

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        # Only a request that carries the provider's marker: a probe that removed the
        # signature, or put a made-up one in, goes as it is (and must be refused).
        if request.headers.get("Signature") != MARKER:
            return request
        del request.headers["Signature"]
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        assert isinstance(body, bytes), type(body)
        url = urlsplit(request.url or "")
        target = url.path + (f"?{url.query}" if url.query else "")
        request.headers.update(
            sign_request(
                request.method or "GET",
                f"https://{self.authority}{target}",
                dict(request.headers),
                body,
                self.key,
                self.key_id,
            )
        )
        return request


@dataclass
class Caller:
    """Who calls an operation in the fuzzing: its signer and, for provision, an affair."""

    signer: Signer
    affair: str | None = None


@dataclass
class Node:
    kind: str
    app: FastAPI
    callers: dict[tuple[str, str], Caller]
    held: list[str]  # resident codes the node holds

    def caller(self, method: str, path: str) -> Caller:
        return self.callers[(method.upper(), path)]


@dataclass
class Network:
    layout: NetworkLayout
    held: list[str]

    def key(self, who: str) -> Ed25519PrivateKey:
        folder = self.layout.client(who) if who.split(":")[0] in ("agency", "monitor") else None
        return load_private_key((folder or self.layout.node(who)) / "node.key")


class InProcess:
    """The ASGI app schemathesis calls: the node app the fixture puts in (schemathesis
    reads its schemas at import, the apps come later), never its lifespan, so the
    delivery worker and directory refresh stay off (no other node processes here)."""

    def __init__(self) -> None:
        self.app: FastAPI | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            raise RuntimeError("no lifespan here")  # to schemathesis: not supported
        assert self.app is not None, "the nodes fixture sets the app"
        await self.app(scope, receive, send)


IN_PROCESS = {kind: InProcess() for kind in KINDS}


def _deliver(layout: NetworkLayout) -> list[str]:
    """Deliver the seeded updates: municipality -> prefecture -> national (the use cases
    the routes call), as the delivery workers would; the resident codes now held."""
    register = open_register(layout.node(MUNICIPALITY))
    pref = prefecture.open_node(layout.node(PREFECTURE))
    nat = national.open_node(layout.node(NATIONAL))
    try:
        with register.engine.connect() as conn:
            updates = ob.pending(conn, municipality_outbox, 1000, after=0)
        ack = prefecture.receive(
            pref, Peer(MUNICIPALITY, "municipality", "131016"),
            UpdateBatch(sender=MUNICIPALITY, updates=updates),
        )  # fmt: skip
        assert ack.acked_through == len(updates) and not ack.quarantined
        with pref.engine.connect() as conn:
            forwarded = ob.pending(conn, prefecture_outbox, 1000, after=0)
        ack = national.receive(
            nat, Peer(PREFECTURE, "prefecture", "130001"),
            UpdateBatch(sender=PREFECTURE, updates=forwarded),
        )  # fmt: skip
        assert ack.acked_through == len(forwarded) and not ack.quarantined
        return sorted({u.resident_code for u in updates})
    finally:
        register.close()
        pref.close()
        nat.close()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def network(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, places: Places
) -> Iterator[Network]:
    root = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    (root / "topology.toml").write_text(TOPOLOGY, encoding="utf-8")
    topology = load_topology(root / "topology.toml", places)
    schemas: list[str] = []
    base = None
    if request.param == "postgres":
        base = _pg_base_url()
        if not base:
            pytest.skip(f"no PostgreSQL server configured ({PG_ENV} is not set)")
        base = base.replace("postgresql://", "postgresql+psycopg://", 1)
    admin = create_engine(base) if base else None

    def database_for(node: str) -> str | None:
        if admin is None or base is None:
            return None
        schema = f"t_fuzz_{node.split(':')[0]}_{uuid.uuid4().hex[:8]}"
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        schemas.append(schema)
        return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"

    try:
        layout = init_network(topology, places, root / "net", database_url_for=database_for,
                              pool_size=100)  # fmt: skip
        asyncio.run(seed_all(layout, topology, places))
        yield Network(layout, _deliver(layout))
    finally:
        if admin is not None:
            with admin.begin() as conn:
                for schema in schemas:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


_FUNCTION = {f"/provision/{f.value}": f for f in Function}


def _callers(network: Network, kind: str, node: str, app: FastAPI) -> dict[tuple[str, str], Caller]:
    """For each operation of the node, a caller its row admits (own key, right scope)."""
    directory = app.state.directory
    here = directory.lookup(node)
    table = load_shipped_legal_table()
    authority = urlsplit(here.url).netloc
    callers: dict[tuple[str, str], Caller] = {}
    for row in ENDPOINTS.of_kind(kind):
        affair = None
        if Role.AGENCY in row.roles:
            function = _FUNCTION.get(row.path)
            served = [
                r for r in table.served_at(kind, here.code)
                if directory.lookup(f"agency:{r.agency}") is not None
            ]  # fmt: skip
            fits = [
                (r.agency, a.code)
                for r in served
                for a in r.affairs
                if function is None or function in a.functions
            ] or [(r.agency, r.affairs[0].code) for r in served]
            who, affair = f"agency:{fits[0][0]}", fits[0][1]
        elif Role.MONITOR in row.roles:
            who = MONITOR_ID
        else:
            role = next(iter(row.roles))
            who = {Role.MUNICIPALITY: MUNICIPALITY, Role.PREFECTURE: PREFECTURE,
                   Role.NATIONAL: NATIONAL}[role]  # fmt: skip
            if who == node:  # municipality to municipality (R21): another one calls
                who = NEIGHBOUR
        entry = directory.lookup(who)
        assert entry is not None and row.admits(entry, here), f"{who} may not call {row}"
        signer = Signer(network.key(who), who, authority)
        callers[(row.method, row.path)] = Caller(signer, affair)
    return callers


@pytest.fixture(scope="module")
def nodes(network: Network) -> Iterator[dict[str, Node]]:
    """Each kind's real app; its schema is the committed one that schemathesis reads."""
    out = {}
    for kind, (node_id, create_app) in KINDS.items():
        app = create_app(network.layout.node(node_id))
        assert app.openapi() == json.loads((DOCS / f"{kind}.json").read_text(encoding="utf-8"))
        here = app.state.directory.lookup(node_id)
        app.state.authority = urlsplit(here.url).netloc  # what a caller signs (no real socket)
        held = network.held if kind != "municipality" else []
        out[kind] = Node(kind, app, _callers(network, kind, node_id, app), held)
        IN_PROCESS[kind].app = app
    yield out
    for kind in KINDS:
        IN_PROCESS[kind].app = None  # the apps (and their database pools) can go


class Signature:
    """Every case carries the marker; ``Signer`` makes it a real signature on the wire."""

    def get(self, case: Case, context: schemathesis.AuthContext) -> str:
        return MARKER

    def set(self, case: Case, data: str, context: schemathesis.AuthContext) -> None:
        case.headers = {**(case.headers or {}), "Signature": data}


def _schema(kind: str) -> schemathesis.BaseSchema:
    """The schema the node ships (docs/openapi/, equal to ``app.openapi()``: ``nodes``)."""
    raw = json.loads((DOCS / f"{kind}.json").read_text(encoding="utf-8"))
    schema = schemathesis.openapi.from_dict(raw, config=schemathesis.Config.from_dict(CONFIG))
    schema.auth()(Signature)
    schema.app = IN_PROCESS[kind]
    return schema


def _coin(value: object) -> int:
    """A stable choice from a generated value (``hash`` of a str changes between runs)."""
    return zlib.crc32(repr(value).encode("utf-8", "surrogatepass"))


def _fixed(code: object) -> object:
    """An 11-digit resident code with its check digit made right; anything else as it is."""
    if isinstance(code, str) and len(code) == 11 and code.isascii() and code.isdigit():
        return code[:10] + str(resident_code_check_digit(code[:10]))
    return code


def _guide(case: Case, node: Node, caller: Caller) -> None:
    """Steer half the positive cases past what JSON Schema cannot say (check digits, the
    affairs the legal table gives the caller, the codes the node holds): still valid
    data, now reaching the records and the update rules behind the checks."""
    if case.meta is None or case.meta.generation.mode is not GenerationMode.POSITIVE:
        return
    body, query = case.body, case.query
    if _coin((body, query)) % 2:
        return
    if caller.affair is not None:
        for where in (body, query):
            if isinstance(where, dict) and isinstance(where.get("affair"), str):
                where["affair"] = caller.affair
    if isinstance(query, dict) and isinstance(query.get("municipality"), str):
        query["municipality"] = MUNICIPALITY.split(":")[1]
    if isinstance(body, dict) and "resident_code" in body:
        body["resident_code"] = (
            node.held[_coin(body) % len(node.held)] if node.held else _fixed(body["resident_code"])
        )
    if isinstance(body, str) and case.operation.path == "/provision/batch" and node.held:
        case.body = f"{node.held[_coin(body) % len(node.held)]}\n{body}"
    if isinstance(body, dict) and case.operation.path == "/moving":
        body["origin"] = caller.signer.key_id.split(":")[1]  # the caller's own messages
        if isinstance(body.get("seq"), int):
            body["seq"] = 1 + _coin(body) % 3
    if isinstance(body, dict) and isinstance(body.get("updates"), list):
        body["sender"] = caller.signer.key_id
        for update in body["updates"]:
            if isinstance(update, dict):
                update["origin"] = MUNICIPALITY.split(":")[1]
                for key in ("resident_code", "previous_code"):
                    update[key] = _fixed(update.get(key))


def _run(case: Case, node: Node) -> None:
    caller = node.caller(case.operation.method, case.operation.path)
    _guide(case, node, caller)
    case.call_and_validate(auth=caller.signer)


national_schema, prefecture_schema, municipality_schema = map(_schema, KINDS)


@national_schema.parametrize()
def test_the_national_node_answers_as_its_schema_says(case: Case, nodes: dict[str, Node]) -> None:
    _run(case, nodes["national"])


@prefecture_schema.parametrize()
def test_a_prefecture_node_answers_as_its_schema_says(case: Case, nodes: dict[str, Node]) -> None:
    _run(case, nodes["prefecture"])


@municipality_schema.parametrize()
def test_a_municipality_node_answers_as_its_schema_says(case: Case, nodes: dict[str, Node]) -> None:
    _run(case, nodes["municipality"])
