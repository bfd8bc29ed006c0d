"""Every provision keeps the caller's signed request, re-verifiable offline (R2, R7, R14).

A real national node (``jukinet node run``: TLS 1.3 with client certificates, the peer
check) answers an agency's signed lookups, verifies and searches; afterwards the node's
database holds one ``provision_requests`` row per request that provided anything, and
``jukinet audit requests`` re-verifies them with the reference RFC 9421 library. A
tampered record (another resident code in its body, or a changed signature) fails.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from jukinet.agency import AgencyClient
from jukinet.deploy.network import init_network, write_topology
from jukinet.domain.names import fold
from jukinet.network.client import NodeClient, NodeIdentity
from jukinet.network.layout import NetworkLayout
from jukinet.network.messages import LookupRequest, SearchRequest, VerifyRequest
from jukinet.network.signed_request import reverify
from jukinet.network.topology import free_port_block, load_topology
from jukinet.nodes.identity import provision_requests as kept
from jukinet.nodes.identity.tables import identities, provision_requests, provisions
from jukinet.nodes.national import service as national
from jukinet.seed.places import Places

EXE = Path(sys.executable).with_name("jukinet")
AFFAIR = "national-pension-status"
TABLE = """version = "test"
[[recipients]]
code = "jpf"
name = "日本年金機構"
level = "national"
kind = "government"
agency = "pension-fund"
served_by = "national"
[[recipients.affairs]]
code = "national-pension-status"
description = "年金の現況確認"
basis = "住民基本台帳法 別表第一"
functions = ["lookup", "search", "verify"]
fields = ["name", "date_of_birth", "sex", "address", "status"]
"""
NAME, ADDRESS = "山田 太郎", "東京都千代田区丸の内一丁目1"
CODES = ("78977083124", "93212803039")


def _identity(code: str) -> dict[str, object]:
    now = datetime.now(UTC).isoformat()
    return {
        "resident_code": code, "person_key": uuid.uuid4().hex, "name": NAME,
        "date_of_birth": date(1950, 5, 5), "sex": "male", "address": ADDRESS,
        "status": "resident", "change_reason": "birth", "change_date": date(1950, 5, 5),
        "origin": "131016", "recorded_at": now, "applied_at": now,
        "name_folded": fold(NAME), "address_folded": fold(ADDRESS),
    }  # fmt: skip


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NetworkLayout]:
    root = tmp_path_factory.mktemp("signed")
    ports = free_port_block(3)
    topo_file = root / "topology.toml"
    topo_file.write_text(
        f'[network]\nname = "signed"\n[national]\nport = {ports}\n'
        f'[[prefectures]]\ncode = "130001"\nport = {ports + 1}\n'
        f'[[municipalities]]\ncode = "131016"\nport = {ports + 2}\nresidents = 0\n'
        '[[agencies]]\ncode = "pension-fund"\nname = "日本年金機構"\n'
    )
    with Places() as places:
        topo = load_topology(topo_file, places)
        made = init_network(topo, places, root / "net", pool_size=10)
        write_topology(made, topo_file)
    home = made.node("national:national")
    (home / "legal.toml").write_text(TABLE)
    store = national.open_node(home)
    with store.transaction() as conn:
        conn.execute(insert(identities), [_identity(c) for c in CODES])
    store.close()
    yield made


def _calls(layout: NetworkLayout) -> None:
    """Signed calls from the pension fund to its national node, over mTLS."""
    from jukinet import config

    home = layout.node("national:national")
    cfg = config.load(home)
    assert cfg.network is not None
    url = f"https://127.0.0.1:{cfg.network.port}"
    agency: NodeIdentity = AgencyClient.from_folder(
        layout.client("agency:pension-fund")
    ).settings.identity
    node = subprocess.Popen(
        [str(EXE), "--home", str(home), "node", "run"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip

    async def go() -> None:
        async with NodeClient(agency) as client:
            for _ in range(300):  # the node starts
                try:
                    await client.get(f"{url}/health")
                    break
                except Exception:
                    await asyncio.sleep(0.1)
            for code in CODES:
                req = LookupRequest(affair=AFFAIR, resident_code=code)
                answer = await client.post(f"{url}/provision/lookup", req)
                assert answer["found"] is True
            unknown = LookupRequest(affair=AFFAIR, resident_code="96089210434")
            assert (await client.post(f"{url}/provision/lookup", unknown))["found"] is False
            verify = VerifyRequest(affair=AFFAIR, resident_code=CODES[0], name=NAME,
                                   date_of_birth=date(1950, 5, 5), sex="male",
                                   address=ADDRESS)  # fmt: skip
            assert (await client.post(f"{url}/provision/verify", verify))["found"] is True
            search = SearchRequest(affair=AFFAIR, name=NAME, date_of_birth=date(1950, 5, 5))
            assert len((await client.post(f"{url}/provision/search", search))["candidates"]) == 2

    try:
        asyncio.run(go())
    finally:
        node.terminate()
        node.wait(timeout=30)


def _audit_requests(home: Path, *more: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(EXE), "--home", str(home), "audit", "requests", *more],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_each_provision_keeps_its_signed_request_and_it_verifies_offline(
    layout: NetworkLayout,
) -> None:
    """R2, R7, R14: the provision rows of each call name a kept request; the request is
    the agency's own signature (the reference verifier accepts it under the key of the
    agency's certificate) over the code and affair the rows record; a tampered record fails.
    """
    _calls(layout)
    home = layout.node("national:national")
    store = national.open_node(home)
    try:
        with store.transaction() as conn:
            requests = list(kept.kept(conn))
            by_request = {
                r.request_id: r
                for r in conn.execute(select(provisions.c.request_id, provisions.c.resident_code))
            }
        # Two lookups, one verify, one search provided something; the unknown code did not.
        assert len(requests) == 4
        assert {k.request_id for k in requests} == set(by_request)
        for k in requests:
            assert k.signed.keyid == "agency:pension-fund"
            assert k.signed.certificate is not None and len(k.signed.certificate) == 64
            assert reverify(k.signed) is None
        lookup = requests[0]
        assert json.loads(lookup.signed.body)["resident_code"] == CODES[0]
        assert lookup.signed.url.endswith("/provision/lookup")
    finally:
        store.close()
    ok = _audit_requests(home)
    assert ok.returncode == 0, ok.stderr
    assert "4 kept request(s) verify" in ok.stdout

    # Another code in the kept body: the Content-Digest (signed) no longer matches it.
    store = national.open_node(home)
    try:
        with store.transaction() as conn:
            other = lookup.signed.body.replace(CODES[0].encode(), CODES[1].encode())
            conn.execute(
                update(provision_requests)
                .where(provision_requests.c.request_id == lookup.request_id)
                .values(body=other)
            )
    finally:
        store.close()
    bad = _audit_requests(home)
    assert bad.returncode == 3
    assert f"request {lookup.request_id}" in bad.stdout
    assert "Content-Digest" in bad.stdout
    alone = _audit_requests(home, "--request", requests[1].request_id)
    assert alone.returncode == 0 and "1 kept request(s) verify" in alone.stdout

    # A signature changed by one character no longer verifies under the agency's key.
    store = national.open_node(home)
    try:
        with store.transaction() as conn:
            sig = requests[1].signed.signature
            flipped = sig[:12] + ("A" if sig[12] != "A" else "B") + sig[13:]
            conn.execute(
                update(provision_requests)
                .where(provision_requests.c.request_id == requests[1].request_id)
                .values(signature=flipped)
            )
    finally:
        store.close()
    bad = _audit_requests(home, "--request", requests[1].request_id)
    assert bad.returncode == 3 and "does not verify" in bad.stdout


def test_the_lean_route_answers_as_the_fastapi_route_byte_for_byte(layout: NetworkLayout) -> None:
    """R2, R23: the lookup, verify and search answered on the gate's lean path
    (``provision_api.fast_routes``) are the FastAPI routes' answers byte for byte, found
    or not, and so are the refusals (problem+json) and a body FastAPI refuses (422)."""
    from jukinet.keys import load_private_key
    from jukinet.network.signatures import sign_request
    from jukinet.nodes.national.api import create_app
    from tests.asgi import call

    home = layout.node("national:national")
    agency = AgencyClient.from_folder(layout.client("agency:pension-fund")).settings.identity
    key = load_private_key(agency.key_path)
    app = create_app(home)
    assert set(app.state.fast_routes) == {
        ("POST", f"/provision/{f}") for f in ("lookup", "verify", "search")
    }
    taken: list[bool] = []  # whether the lean path answered (or left it to FastAPI)

    def counted(route: Any) -> Any:
        async def counting(*args: Any) -> Any:
            answer = await route(*args)
            taken.append(answer is not None)
            return answer

        return counting

    lean = {where: counted(route) for where, route in app.state.fast_routes.items()}
    born = "1950-05-05"
    bodies = [
        ("/provision/lookup", {"affair": AFFAIR, "resident_code": CODES[0]}),
        ("/provision/lookup", {"affair": AFFAIR, "resident_code": "96089210434"}),
        ("/provision/lookup", {"affair": "passport-issuance", "resident_code": CODES[0]}),
        ("/provision/lookup", {"affair": AFFAIR, "resident_code": "12345678901"}),
        ("/provision/verify", {"affair": AFFAIR, "resident_code": CODES[1], "name": NAME,
                               "date_of_birth": born, "sex": "female", "address": ADDRESS}),
        ("/provision/search", {"affair": AFFAIR, "name": NAME, "date_of_birth": born}),
        ("/provision/search", {"affair": AFFAIR, "name": "", "date_of_birth": born}),
    ]  # fmt: skip

    async def ask(path: str, body: bytes) -> tuple[int, str, bytes]:
        signed = sign_request("POST", f"https://national{path}", {}, body, key, agency.node_id)
        headers = {"content-type": "application/json", **signed}
        answer = await call(app, "POST", path, body, headers)
        return answer.status, answer.media_type, answer.body

    async def both() -> None:
        for path, fields in bodies:
            body = json.dumps(fields, ensure_ascii=False).encode()
            app.state.fast_routes = lean
            fast = await ask(path, body)
            app.state.fast_routes = {}
            routed = await ask(path, body)
            assert fast == routed, (path, fields)
        # The lean path answered all but the bodies FastAPI refuses (a bad code, no name).
        assert taken == [True, True, True, False, True, True, False]
        # What each case answered (so that the comparison covers every kind of answer).
        app.state.fast_routes = lean
        seen = [(await ask(p, json.dumps(f).encode()))[:2] for p, f in bodies]
        assert [status for status, _ in seen] == [200, 200, 403, 422, 200, 200, 422]
        assert seen[2][1] == seen[3][1] == "application/problem+json"

    asyncio.run(both())
    app.state.fast_routes = {}


def test_two_server_processes_write_one_audit_log_and_one_provision_log(
    layout: NetworkLayout,
) -> None:
    """R12, R14, R25: with ``workers = 2`` the national node serves from two processes,
    each with its own provision writer; concurrent lookups through both leave one audit
    log and one provision log that verify (no forked head), every provision with its
    kept request, and the command that stops the node stops both."""
    home = layout.node("national:national")
    toml = home / "node.toml"
    before = toml.read_text()
    lines = [ln for ln in before.splitlines() if not ln.startswith("workers =")]
    lines.insert(lines.index("[network]") + 1, "workers = 2")
    toml.write_text("\n".join(lines) + "\n")
    from jukinet import config

    cfg = config.load(home)
    assert cfg.network is not None and cfg.network.workers == 2
    url = f"https://127.0.0.1:{cfg.network.port}"
    agency = AgencyClient.from_folder(layout.client("agency:pension-fund")).settings.identity
    store = national.open_node(home)
    with store.transaction() as conn:
        rows_before = len(conn.execute(select(provisions.c.id)).all())
    store.close()
    node = subprocess.Popen(
        [str(EXE), "--home", str(home), "node", "run"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    calls = 200

    async def go() -> list[int]:
        async with NodeClient(agency, connections=8) as client:
            for _ in range(300):
                try:
                    await client.get(f"{url}/health")
                    break
                except Exception:
                    await asyncio.sleep(0.1)
            workers = [
                int(p) for p in subprocess.run(
                    ["pgrep", "-P", str(node.pid)], capture_output=True, text=True
                ).stdout.split()
            ]  # fmt: skip

            async def one(i: int) -> None:
                req = LookupRequest(affair=AFFAIR, resident_code=CODES[i % 2])
                assert (await client.post(f"{url}/provision/lookup", req))["found"] is True

            await asyncio.gather(*(one(i) for i in range(calls)))
            return workers

    try:
        workers = asyncio.run(go())
    finally:
        node.terminate()
        node.wait(timeout=30)
        toml.write_text(before)
    assert len(workers) == 2
    assert not [p for p in workers if Path(f"/proc/{p}").exists()]  # both stopped
    verified = subprocess.run(
        [str(EXE), "--home", str(home), "audit", "verify"], capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "Audit log intact" in verified.stdout
    store = national.open_node(home)
    try:
        with store.transaction() as conn:
            rows = conn.execute(select(provisions.c.request_id)).all()
            ids = {r.request_id for r in kept.kept(conn)}
    finally:
        store.close()
    new = rows[rows_before:]
    assert len(new) == calls and {r.request_id for r in new} <= ids


def test_only_the_national_node_runs_more_than_one_server_process(layout: NetworkLayout) -> None:
    """A prefecture with ``workers = 2`` does not start: one clear error, no traceback."""
    home = layout.node("prefecture:130001")
    toml = home / "node.toml"
    before = toml.read_text()
    lines = [ln for ln in before.splitlines() if not ln.startswith("workers =")]
    lines.insert(lines.index("[network]") + 1, "workers = 2")
    toml.write_text("\n".join(lines) + "\n")
    try:
        run = subprocess.run(
            [str(EXE), "--home", str(home), "node", "run"], capture_output=True, text=True,
            timeout=60,
        )  # fmt: skip
    finally:
        toml.write_text(before)
    assert run.returncode != 0
    assert "only the national node runs more than one server process" in run.stderr
    assert "Traceback" not in run.stderr
