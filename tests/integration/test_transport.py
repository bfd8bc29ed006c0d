"""The transport end to end: a real uvicorn server on 127.0.0.1, real mTLS, real signatures.

The server plays prefecture 130001 with its own endpoint table: ``POST /updates``
takes its own municipalities only, ``GET /prefectures-only`` prefectures only,
``GET /identities`` (JSON lines) any member. Every test starts its own server with
a fresh directory view and replay cache, and stops it again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from jukinet.errors import (
    ConfigurationError,
    InvalidInput,
    NetworkStopped,
    PeerRefused,
    PeerUnreachable,
)
from jukinet.network import pki
from jukinet.network.client import NodeClient, NodeIdentity
from jukinet.network.directory import DirectoryView, sign_directory
from jukinet.network.endpoints import Endpoint, EndpointTable, Role, Scope
from jukinet.network.messages import (
    Directory,
    DirectoryEntry,
    PoolRequest,
    SignedDirectory,
)
from jukinet.network.peer import Caller, check_endpoints, install_problem_handlers, serve_endpoints
from jukinet.network.server import serve_async
from jukinet.network.signatures import ReplayCache, sign_request

SERVER = "prefecture:130001"
CHIYODA = "municipality:131016"
SHINJUKU = "municipality:131041"
OSAKA = "prefecture:270008"
KITA = "municipality:271276"  # 大阪市北区: Osaka's, not this prefecture's


@dataclass(frozen=True)
class World:
    folder: Path
    national: Ed25519PrivateKey
    entries: tuple[DirectoryEntry, ...]

    def identity(self, name: str, node: str = "") -> NodeIdentity:
        """The identity in folder ``name`` (node id defaults to the folder's name)."""
        return NodeIdentity.in_folder(node or name, self.folder / name.replace(":", "_"))

    def signed(
        self, version: int, revoked: frozenset[str] = frozenset(), lifetime: float = 600.0
    ) -> SignedDirectory:
        entries = [
            e.model_copy(update={"status": "revoked"}) if e.node_id in revoked else e
            for e in self.entries
        ]
        at = datetime.now(UTC)
        directory = Directory(
            network="demo",
            version=version,
            issued_at=at,
            expires_at=at + timedelta(seconds=lifetime),
            entries=entries,
        )
        return sign_directory(directory, self.national)


def _member(ca: pki.NetworkCA, folder: Path, role: str, code: str, **kw: Any) -> DirectoryEntry:
    key, cert = pki.issue_certificate(ca, role, code, ["127.0.0.1"], **kw)
    pki.write_identity(folder / f"{role}_{code}", key, cert, ca.cert)
    return DirectoryEntry(
        node_id=f"{role}:{code}",
        role=role,  # type: ignore[arg-type]
        code=code,
        name=code,
        url="https://127.0.0.1:7410" if role == "prefecture" else "",
        cert_pem=pki.cert_pem(cert),
        fingerprint=pki.fingerprint(cert),
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    folder = tmp_path_factory.mktemp("network")
    ca = pki.create_ca("demo")
    entries = tuple(
        _member(ca, folder, role, code)
        for role, code in [
            ("prefecture", "130001"),
            ("municipality", "131016"),
            ("municipality", "131041"),
            ("prefecture", "270008"),
            ("municipality", "271276"),
        ]
    )
    # Not in the directory, or not acceptable at the handshake:
    foreign = pki.create_ca("demo")
    _member(foreign, folder / "foreign", "municipality", "131016")
    _member(foreign, folder / "foreign", "prefecture", "130001")
    long_ago = datetime.now(UTC) - timedelta(days=30)
    _member(
        ca,
        folder / "expired",
        "municipality",
        "131016",
        not_before=long_ago,
        not_after=long_ago + timedelta(days=1),
    )
    # The CA revokes Shinjuku's certificate; only servers started with the CRL know.
    pki.save_ca(ca, folder / "ca")
    pki.revoke(folder / "ca", pki.load_certificate(folder / "municipality_131041" / "node.pem"))
    return World(folder, Ed25519PrivateKey.generate(), entries)


_P = Role.PREFECTURE
MAX_BODY = 4096  # POST /updates of this table takes at most this many bytes
TABLE = EndpointTable(
    (
        Endpoint(
            _P,
            "POST",
            "/updates",
            frozenset({Role.MUNICIPALITY}),
            Scope.OWN_PREFECTURE,
            max_body=MAX_BODY,
        ),
        Endpoint(_P, "GET", "/prefectures-only", frozenset({Role.PREFECTURE})),
        Endpoint(_P, "GET", "/identities", frozenset(Role)),
    )
)


def _app(world: World, table: EndpointTable = TABLE) -> FastAPI:
    app = FastAPI(openapi_url=None)
    install_problem_handlers(app)
    serve_endpoints(app, "prefecture", SERVER, table)
    app.state.directory = DirectoryView(world.signed(1), world.national.public_key())
    app.state.replay = ReplayCache()

    @app.post("/updates")
    async def updates(request: PoolRequest, peer: Caller) -> dict[str, Any]:
        return {"peer": asdict(peer), "count": request.count}

    @app.get("/prefectures-only")
    async def prefectures_only(peer: Caller) -> dict[str, Any]:
        return {"peer": asdict(peer)}

    @app.get("/identities")
    async def identities(peer: Caller) -> StreamingResponse:
        async def rows() -> AsyncIterator[bytes]:
            for n in range(3):
                yield (json.dumps({"n": n, "for": peer.node_id}) + "\n").encode()

        return StreamingResponse(rows(), media_type="application/jsonl")

    return check_endpoints(app)


@asynccontextmanager
async def _running(
    app: FastAPI, server: NodeIdentity, crl_path: Path | None = None
) -> AsyncIterator[str]:
    """The app served over mTLS on an ephemeral port of 127.0.0.1; its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    port = sock.getsockname()[1]
    stop = asyncio.Event()
    task = asyncio.create_task(
        serve_async(
            app,
            host="127.0.0.1",
            port=port,
            cert_path=server.cert_path,
            key_path=server.key_path,
            ca_path=server.ca_path,
            crl_path=crl_path,
            sockets=[sock],
            stop=stop,
        )
    )
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        stop.set()
        await task


def _run(world: World, scenario: Callable[[FastAPI, str], Awaitable[None]]) -> None:
    async def main() -> None:
        app = _app(world)
        async with _running(app, world.identity(SERVER)) as url:
            await scenario(app, url)

    asyncio.run(main())


async def _raw(
    world: World,
    method: str,
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    times: int = 1,
    who: str = CHIYODA,
) -> list[tuple[int, str, dict[str, Any]]]:
    """Send the same request ``times`` times with aiohttp directly (mTLS, given headers)."""
    identity = world.identity(who)
    connector = aiohttp.TCPConnector(ssl=identity.tls_context())
    answers = []
    async with aiohttp.ClientSession(connector=connector) as session:
        for _ in range(times):
            async with session.request(method, url, data=body, headers=headers) as response:
                answers.append(
                    (
                        response.status,
                        response.headers["Content-Type"],
                        await response.json(content_type=None),
                    )
                )
    return answers


def _signed_headers(
    world: World, url: str, body: bytes, *, created: float | None = None
) -> dict[str, str]:
    key = world.identity(CHIYODA).load_key()
    headers = {"Content-Type": "application/json"}
    return headers | sign_request("POST", url, headers, body, key, CHIYODA, created=created)


BODY = PoolRequest(count=5).model_dump_json().encode()


@pytest.fixture
def security_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.WARNING, logger="jukinet.security"):
        yield caplog


def test_a_signed_call_by_an_allowed_role_reaches_the_endpoint(world: World) -> None:
    async def scenario(app: FastAPI, url: str) -> None:
        async with NodeClient(world.identity(CHIYODA)) as client:
            answer = await client.post(f"{url}/updates", PoolRequest(count=5))
            again = await client.post(f"{url}/updates", PoolRequest(count=6))  # kept alive
        assert answer == {
            "peer": {"node_id": CHIYODA, "role": "municipality", "code": "131016"},
            "count": 5,
        }
        assert again["count"] == 6
        async with NodeClient(world.identity(OSAKA)) as client:
            assert (await client.get(f"{url}/prefectures-only"))["peer"]["node_id"] == OSAKA
            rows = [row async for row in client.lines(f"{url}/identities")]
        assert rows == [{"n": n, "for": OSAKA} for n in range(3)]

    _run(world, scenario)


def test_a_caller_of_the_wrong_role_is_forbidden_with_a_problem(
    world: World, security_log: pytest.LogCaptureFixture
) -> None:
    async def scenario(app: FastAPI, url: str) -> None:
        async with NodeClient(world.identity(OSAKA)) as client:
            with pytest.raises(PeerRefused) as refused:
                await client.post(f"{url}/updates", PoolRequest(count=5))
        assert refused.value.status == 403
        assert refused.value.detail == "role prefecture may not call POST /updates"

        key = world.identity(OSAKA).load_key()
        headers = sign_request("POST", f"{url}/updates", {}, BODY, key, OSAKA)
        [(status, content_type, problem)] = await _raw(
            world, "POST", f"{url}/updates", BODY, headers, who=OSAKA
        )
        assert (status, content_type) == (403, "application/problem+json")
        assert problem["status"] == 403
        assert problem["type"] == "urn:jukinet:problem:role-not-allowed"

    _run(world, scenario)
    refusals = [r.getMessage() for r in security_log.records if r.name == "jukinet.security"]
    assert refusals[0] == (
        "refused POST /updates from prefecture:270008: role prefecture may not call POST /updates"
    )


def test_a_municipality_of_another_prefecture_is_refused_at_the_peer_check(
    world: World, security_log: pytest.LogCaptureFixture
) -> None:
    """The row's scope: a municipality calls its own prefecture only (R7, flow 1)."""

    async def scenario(app: FastAPI, url: str) -> None:
        async with NodeClient(world.identity(KITA)) as client:
            with pytest.raises(PeerRefused) as refused:
                await client.post(f"{url}/updates", PoolRequest(count=5))
        assert refused.value.status == 403
        assert refused.value.detail == (
            "municipality:271276 may not call POST /updates on prefecture:130001: "
            "municipality, its own prefecture only."
        )

        key = world.identity(KITA).load_key()
        headers = sign_request("POST", f"{url}/updates", {}, BODY, key, KITA)
        [(status, content_type, problem)] = await _raw(
            world, "POST", f"{url}/updates", BODY, headers, who=KITA
        )
        assert (status, content_type) == (403, "application/problem+json")
        assert problem["type"] == "urn:jukinet:problem:outside-scope"

    _run(world, scenario)
    refusals = [r.getMessage() for r in security_log.records if r.name == "jukinet.security"]
    assert refusals[0].startswith("refused POST /updates from municipality:271276: ")


def test_a_route_without_a_row_is_refused_when_the_app_is_made(world: World) -> None:
    with pytest.raises(ConfigurationError, match="GET /identities has no row"):
        _app(world, EndpointTable(TABLE.rows[:2]))


def test_a_row_without_a_route_is_refused_when_the_app_is_made(world: World) -> None:
    extra = Endpoint(Role.PREFECTURE, "GET", "/status", frozenset({Role.MONITOR}))
    with pytest.raises(ConfigurationError, match="GET /status on a prefecture node has no route"):
        _app(world, TABLE.plus([extra]))


def test_a_route_that_does_not_check_its_caller_is_refused_when_the_app_is_made(
    world: World,
) -> None:
    app = FastAPI(openapi_url=None)
    serve_endpoints(app, "prefecture", SERVER, TABLE.plus([]))

    @app.get("/identities")
    async def identities() -> dict[str, Any]:
        return {}

    with pytest.raises(ConfigurationError, match="/identities does not check its caller"):
        check_endpoints(app)


def test_a_certificate_of_a_foreign_ca_fails_the_handshake(world: World) -> None:
    async def scenario(app: FastAPI, url: str) -> None:
        impostor = NodeIdentity(
            CHIYODA,
            world.folder / "foreign" / "municipality_131016" / "node.key",
            world.folder / "foreign" / "municipality_131016" / "node.pem",
            world.identity(CHIYODA).ca_path,  # trusts the real CA, shows a foreign certificate
        )
        async with NodeClient(impostor) as client:
            with pytest.raises(PeerUnreachable):
                await client.post(f"{url}/updates", PoolRequest(count=5))

    _run(world, scenario)


def test_a_server_with_a_foreign_certificate_is_not_trusted(world: World) -> None:
    async def main() -> None:
        fake = NodeIdentity.in_folder(SERVER, world.folder / "foreign" / "prefecture_130001")
        async with (
            _running(_app(world), fake) as url,
            NodeClient(world.identity(CHIYODA)) as client,
        ):
            with pytest.raises(PeerUnreachable, match="certificate"):
                await client.post(f"{url}/updates", PoolRequest(count=5))

    asyncio.run(main())


def test_an_expired_certificate_fails_the_handshake(world: World) -> None:
    async def scenario(app: FastAPI, url: str) -> None:
        expired = world.identity("expired/municipality:131016", CHIYODA)
        async with NodeClient(expired) as client:
            with pytest.raises(PeerUnreachable):
                await client.post(f"{url}/updates", PoolRequest(count=5))

    _run(world, scenario)


def test_a_server_started_with_the_crl_refuses_revoked_certificates(world: World) -> None:
    async def main() -> None:
        app = _app(world)
        crl = world.folder / "ca" / "crl.pem"
        async with _running(app, world.identity(SERVER), crl) as url:
            async with NodeClient(world.identity(CHIYODA)) as client:
                await client.post(f"{url}/updates", PoolRequest(count=1))
            async with NodeClient(world.identity(SHINJUKU)) as client:
                with pytest.raises(PeerUnreachable):
                    await client.post(f"{url}/updates", PoolRequest(count=1))

    asyncio.run(main())


def test_tls_1_2_is_refused(world: World) -> None:
    async def scenario(app: FastAPI, url: str) -> None:
        context = world.identity(CHIYODA).tls_context()
        context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_2
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as session:
            with pytest.raises(aiohttp.ClientError):
                async with session.get(f"{url}/identities") as response:
                    await response.read()

    _run(world, scenario)


def test_plain_http_gets_no_answer(world: World) -> None:
    async def scenario(app: FastAPI, url: str) -> None:
        plain = url.replace("https://", "http://")
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.ClientError):
                async with session.post(f"{plain}/updates", data=BODY) as response:
                    await response.read()
        async with NodeClient(world.identity(CHIYODA)) as client:
            with pytest.raises(InvalidInput, match="HTTPS only"):
                await client.post(f"{plain}/updates", PoolRequest(count=5))

    _run(world, scenario)


def test_a_revoked_node_is_forbidden_once_the_directory_says_so(world: World) -> None:
    async def scenario(app: FastAPI, url: str) -> None:
        async with NodeClient(world.identity(SHINJUKU)) as client:
            await client.post(f"{url}/updates", PoolRequest(count=1))
            view: DirectoryView = app.state.directory
            assert view.update(world.signed(2, revoked=frozenset({SHINJUKU})))
            with pytest.raises(PeerRefused) as refused:
                await client.post(f"{url}/updates", PoolRequest(count=1))
        assert refused.value.status == 403
        assert "not an active member" in refused.value.detail

    _run(world, scenario)


def test_an_expired_directory_stops_traffic_both_ways_until_a_fresh_one(world: World) -> None:
    """R9: the directory is the heartbeat; past its expiry a node refuses every peer with
    503 network-stopped, and its own client sends nothing; a fresh directory restarts both."""

    async def scenario(app: FastAPI, url: str) -> None:
        view: DirectoryView = app.state.directory
        assert view.update(world.signed(2, lifetime=-1.0))  # newer, but already expired
        async with NodeClient(world.identity(CHIYODA)) as client:
            with pytest.raises(PeerRefused) as refused:
                await client.post(f"{url}/updates", PoolRequest(count=1))
            assert refused.value.status == 503
            assert "expired" in refused.value.detail and "(R9)" in refused.value.detail

        held = NodeClient(
            world.identity(CHIYODA), hold=lambda _m, _u: view.stop_reason(CHIYODA, SERVER)
        )
        async with held as client:
            with pytest.raises(NetworkStopped, match="expired"):
                await client.post(f"{url}/updates", PoolRequest(count=2))
            assert view.update(world.signed(3))  # the national node's next heartbeat
            answer = await client.post(f"{url}/updates", PoolRequest(count=3))
        assert answer["count"] == 3

    _run(world, scenario)


def test_a_replayed_request_is_refused(world: World) -> None:
    async def scenario(app: FastAPI, url: str) -> None:
        headers = _signed_headers(world, f"{url}/updates", BODY)
        first, second = await _raw(world, "POST", f"{url}/updates", BODY, headers, times=2)
        assert first[0] == 200
        assert second[:2] == (401, "application/problem+json")
        assert "replay" in second[2]["detail"]

    _run(world, scenario)


def test_a_tampered_body_with_the_original_signature_is_refused(world: World) -> None:
    async def scenario(app: FastAPI, url: str) -> None:
        headers = _signed_headers(world, f"{url}/updates", BODY)
        tampered = PoolRequest(count=9_999).model_dump_json().encode()
        [(status, _, problem)] = await _raw(world, "POST", f"{url}/updates", tampered, headers)
        assert status == 401
        assert "Content-Digest" in problem["detail"]

    _run(world, scenario)


def test_an_unsigned_request_over_valid_mtls_is_refused(world: World) -> None:
    async def scenario(app: FastAPI, url: str) -> None:
        headers = {"Content-Type": "application/json"}
        [(status, _, problem)] = await _raw(world, "POST", f"{url}/updates", BODY, headers)
        assert status == 401
        assert problem["detail"] == "The request carries no signature."

    _run(world, scenario)


def test_a_stale_signature_is_refused(world: World) -> None:
    async def scenario(app: FastAPI, url: str) -> None:
        headers = _signed_headers(world, f"{url}/updates", BODY, created=time.time() - 60)
        [(status, _, problem)] = await _raw(world, "POST", f"{url}/updates", BODY, headers)
        assert status == 401
        assert "created" in problem["detail"]

    _run(world, scenario)


def test_a_request_signed_for_another_node_is_refused(world: World) -> None:
    async def scenario(app: FastAPI, url: str) -> None:
        other = "https://127.0.0.1:7411/updates"  # what the caller signed, for another port
        headers = _signed_headers(world, other, BODY) | {"Host": "127.0.0.1:7411"}
        [(status, _, problem)] = await _raw(world, "POST", f"{url}/updates", BODY, headers)
        assert status == 401
        assert "addressed to 127.0.0.1:7411" in problem["detail"]

    _run(world, scenario)


def _pem_of(world: World, node: str) -> str:
    return next(e.cert_pem for e in world.entries if e.node_id == node)


def test_a_pinned_client_refuses_a_member_that_took_another_nodes_address(world: World) -> None:
    """R8: a node serving with its own valid certificate cannot pose as another node."""
    tokyo = _pem_of(world, SERVER)

    async def main() -> None:
        impostor = world.identity(OSAKA)  # a real member, same CA, same host name
        async with (
            _running(_app(world), impostor) as url,
            NodeClient(world.identity(CHIYODA), pins=lambda _origin: tokyo) as client,
        ):
            with pytest.raises(PeerUnreachable, match="certificate"):
                await client.post(f"{url}/updates", BODY_MODEL)
        async with (
            _running(_app(world), world.identity(SERVER)) as url,
            NodeClient(world.identity(CHIYODA), pins=lambda _origin: tokyo) as client,
        ):
            answer = await client.post(f"{url}/updates", BODY_MODEL)
            assert answer["peer"]["node_id"] == CHIYODA

    asyncio.run(main())


def test_a_pinned_client_never_contacts_an_address_outside_the_directory(world: World) -> None:
    async def main() -> None:
        async with NodeClient(world.identity(CHIYODA), pins=lambda _origin: None) as client:
            with pytest.raises(PeerRefused, match="not a node of the directory") as refused:
                await client.post("https://127.0.0.1:1/updates", BODY_MODEL)
            assert refused.value.status == 421

    asyncio.run(main())


BODY_MODEL = PoolRequest(count=5)


# --- hostile peers (R7): limits before the body is read, the signature before the body ---


async def _send_raw(
    world: World,
    url: str,
    head: dict[str, str],
    chunks: AsyncIterator[bytes] | None = None,
    *,
    who: str = CHIYODA,
) -> tuple[int, dict[str, Any], int]:
    """POST /updates over mTLS by hand: ``head`` as given, then ``chunks`` (chunked
    transfer coding) until the server answers or closes; (status, problem, bytes sent)."""
    port = int(url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=world.identity(who).tls_context()
    )
    lines = ["POST /updates HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{name}: {value}" for name, value in head.items()]
    if chunks is not None:
        lines.append("Transfer-Encoding: chunked")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    answer = asyncio.create_task(reader.read(-1))
    sent = 0
    try:
        if chunks is not None:
            async for chunk in chunks:
                if answer.done():
                    break
                writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
                await writer.drain()
        raw = await asyncio.wait_for(answer, 10)
    except (ConnectionError, ssl.SSLError):
        raw = await asyncio.wait_for(answer, 10)
    finally:
        writer.close()
    head_part, _, body = raw.partition(b"\r\n\r\n")
    status = int(head_part.split(b" ", 2)[1])
    return status, json.loads(body[body.index(b"{") : body.rindex(b"}") + 1]), sent


async def _endless(
    size: int = 64 * 1024, pause: float = 0.0, total: int = 32 * 1024 * 1024
) -> AsyncIterator[bytes]:
    """``total`` bytes in chunks of ``size`` (the same chunk again: nothing piles up here)."""
    chunk = b"x" * size
    for _ in range(total // size):
        yield chunk
        await asyncio.sleep(pause)


def test_an_unsigned_malformed_body_is_refused_401_before_it_is_parsed(
    world: World, security_log: pytest.LogCaptureFixture
) -> None:
    """R7: the signature is checked first; an unsigned caller learns nothing of the schema."""

    async def scenario(app: FastAPI, url: str) -> None:
        headers = {"Content-Type": "application/json"}
        [(status, _, problem)] = await _raw(world, "POST", f"{url}/updates", b"{no", headers)
        assert (status, problem["detail"]) == (401, "The request carries no signature.")
        forged = _signed_headers(world, f"{url}/updates", BODY)  # signed for another body
        [(status, _, problem)] = await _raw(world, "POST", f"{url}/updates", b"{no", forged)
        assert status == 401
        assert "Content-Digest" in problem["detail"]

    _run(world, scenario)
    refusals = [r.getMessage() for r in security_log.records if r.name == "jukinet.security"]
    assert refusals[0] == (
        "refused POST /updates from an unidentified caller: The request carries no signature."
    )
    assert refusals[1].startswith("refused POST /updates from municipality:131016: The body")


def test_a_declared_body_over_the_endpoints_limit_is_refused_413_unread(
    world: World, security_log: pytest.LogCaptureFixture
) -> None:
    """R7: Content-Length over the row's max_body is refused at once, signed or not."""

    async def scenario(app: FastAPI, url: str) -> None:
        huge = str(300 * 1024 * 1024)
        signed = _signed_headers(world, f"{url}/updates", BODY)
        status, problem, _ = await _send_raw(world, url, signed | {"Content-Length": huge})
        assert (status, problem["status"]) == (413, 413)
        assert problem["type"] == "urn:jukinet:problem:body-too-large"
        assert problem["detail"] == (
            f"The body of POST /updates may be at most {MAX_BODY} bytes; this one declares {huge}."
        )

    _run(world, scenario)
    refusals = [r.getMessage() for r in security_log.records if r.name == "jukinet.security"]
    assert refusals == [
        f"refused POST /updates from municipality:131016: The body of POST /updates may be "
        f"at most {MAX_BODY} bytes; this one declares {300 * 1024 * 1024}."
    ]


def test_a_chunked_body_is_cut_off_at_the_endpoints_limit(
    world: World, security_log: pytest.LogCaptureFixture
) -> None:
    """R7: without a Content-Length the node counts the bytes and stops at the limit."""

    async def scenario(app: FastAPI, url: str) -> None:
        signed = _signed_headers(world, f"{url}/updates", BODY)
        status, problem, sent = await _send_raw(world, url, signed, _endless(1024))
        assert status == 413
        assert problem["detail"] == f"The body of POST /updates is longer than {MAX_BODY} bytes."
        assert sent < 2 * 1024 * 1024  # the node answered long before the sender was done

    _run(world, scenario)


def test_an_unsigned_endless_body_is_refused_before_any_of_it_is_read(world: World) -> None:
    async def scenario(app: FastAPI, url: str) -> None:
        status, problem, sent = await _send_raw(world, url, {}, _endless())
        assert (status, problem["detail"]) == (401, "The request carries no signature.")
        assert sent < 8 * 1024 * 1024  # of 32 MB: the node did not wait for the body

    _run(world, scenario)


def test_a_slow_sender_is_timed_out(world: World, security_log: pytest.LogCaptureFixture) -> None:
    """R7: a body that trickles in holds a connection only until the node's body timeout."""

    async def scenario(app: FastAPI, url: str) -> None:
        app.state.body_timeout = 0.5
        signed = _signed_headers(world, f"{url}/updates", BODY)
        started = time.monotonic()
        status, problem, _ = await _send_raw(world, url, signed, _endless(1, pause=0.1, total=50))
        assert status == 408
        assert problem["detail"] == "The body of POST /updates did not arrive within 0.5 s."
        assert time.monotonic() - started < 5

    _run(world, scenario)
    assert any("did not arrive" in r.getMessage() for r in security_log.records)


def test_a_request_signed_by_one_node_over_anothers_certificate_is_refused(
    world: World, security_log: pytest.LogCaptureFixture
) -> None:
    """R7, R8: the caller is the node its TLS handshake proved and the node that signed,
    the same one. Chiyoda's valid signature sent over Shinjuku's certificate is refused
    (403, naming both), and never reaches the endpoint; over its own certificate the same
    signed request is served."""

    async def scenario(app: FastAPI, url: str) -> None:
        headers = _signed_headers(world, f"{url}/updates", BODY)
        [(status, content_type, problem)] = await _raw(
            world, "POST", f"{url}/updates", BODY, headers, who=SHINJUKU
        )
        assert (status, content_type) == (403, "application/problem+json")
        assert problem["type"] == "urn:jukinet:problem:signature-refused"
        assert problem["detail"] == (
            f"The request is signed by {CHIYODA} but came over the TLS certificate of "
            f"{SHINJUKU}; a node signs with its own certificate's identity."
        )
        fresh = _signed_headers(world, f"{url}/updates", BODY)
        [(status, _, answer)] = await _raw(
            world, "POST", f"{url}/updates", BODY, fresh, who=CHIYODA
        )
        assert status == 200 and answer["peer"]["node_id"] == CHIYODA

    _run(world, scenario)
    refusals = [r.getMessage() for r in security_log.records if r.name == "jukinet.security"]
    assert any(
        f"refused POST /updates from {CHIYODA}: The request is signed" in r for r in refusals
    )
