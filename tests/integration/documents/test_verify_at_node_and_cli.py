"""Checking a copy where a network made by ``network init`` is: the issuing municipality
answers ``POST /documents/verify`` for another municipality (audited there), and
``jukinet document verify`` judges a PDF with the CA and CRLs ``network init`` wrote
(docs/copies.md, docs/flows.md "Where a verifier finds the certificates")."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from jukinet.documents.signing import DocumentSigner
from jukinet.domain.copies import CopyOptions
from jukinet.keys import load_private_key
from jukinet.network.layout import NetworkLayout
from jukinet.network.signatures import sign_request
from jukinet.nodes.municipality import api as municipality
from jukinet.nodes.municipality.copies import sign_and_record
from jukinet.nodes.municipality.setup import open_register
from tests import asgi
from tests.documents_kit import CONTENT_MARKER, a_copy, make_kit, render_test_pdf
from tests.helpers import last_audit

EXE = Path(sys.executable).with_name("jukinet")
TOPOLOGY = """
[network]
name = "copies"
[national]
port = 7600
[[prefectures]]
code = "130001"
port = 7610
[[municipalities]]
code = "131016"
port = 7620
residents = 0
[[municipalities]]
code = "131041"
port = 7621
residents = 0
[[agencies]]
code = "mofa-passport"
name = "外務省 旅券課"
"""
CHIYODA, SHINJUKU = "municipality:131016", "municipality:131041"


def _issue(layout: NetworkLayout, serial: str) -> tuple[bytes, str]:
    """A copy signed by 千代田区 with the certificate network init gave it, and recorded."""
    home = layout.node(CHIYODA)
    store = open_register(home)
    try:
        with store.transaction() as tx:
            issued = sign_and_record(
                tx, a_copy(serial), DocumentSigner.load(home), render_test_pdf,
                clerk="operator:clerk", subject="12345678901", options=CopyOptions(),
            )  # fmt: skip
    finally:
        store.close()
    return issued.pdf, issued.token


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> NetworkLayout:
    return asgi.network_init(tmp_path_factory.mktemp("copies"), TOPOLOGY)


@pytest.fixture(scope="module")
def copy(layout: NetworkLayout, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    pdf, token = _issue(layout, "2026-000001")
    path = tmp_path_factory.mktemp("pdf") / "copy.pdf"
    path.write_bytes(pdf)
    return path, token


@pytest.fixture(scope="module")
def app(layout: NetworkLayout) -> FastAPI:
    app = municipality.create_app(layout.node(CHIYODA))
    app.state.authority = "chiyoda"
    return app


def _post(app: FastAPI, key_file: Path, caller: str, body: Any) -> tuple[int, Any]:
    raw = json.dumps(body).encode()
    headers = {"content-type": "application/json", "content-length": str(len(raw))}
    headers |= sign_request(
        "POST", "https://chiyoda/documents/verify", headers, raw, load_private_key(key_file),
        caller,
    )  # fmt: skip
    answer = asyncio.run(asgi.call(app, "POST", "/documents/verify", raw, headers, host="chiyoda"))
    return answer.status, json.loads(answer.body)


def _audit_of(layout: NetworkLayout, node: str) -> Any:
    store = open_register(layout.node(node))
    try:
        (entry,) = last_audit(store)
    finally:
        store.close()
    return entry


def test_the_issuer_confirms_its_token_to_another_municipality_audited(
    app: FastAPI, layout: NetworkLayout, copy: tuple[Path, str]
) -> None:
    status, verdict = _post(app, layout.node(SHINJUKU) / "node.key", SHINJUKU, {"token": copy[1]})
    assert status == 200, verdict
    assert verdict["genuine"] is True
    assert (verdict["serial"], verdict["municipality"]) == ("2026-000001", "131016")
    assert "氏名" not in json.dumps(verdict, ensure_ascii=False)  # only what the token names
    entry = _audit_of(layout, CHIYODA)
    assert (entry.actor, entry.operation, entry.outcome) == (SHINJUKU, "copy.verify", "ok")


def test_a_forged_token_is_not_confirmed_and_the_check_is_audited(
    app: FastAPI, layout: NetworkLayout, copy: tuple[Path, str]
) -> None:
    parts = copy[1].split(".")
    parts[2] = "2026-000777"
    status, verdict = _post(
        app, layout.node(SHINJUKU) / "node.key", SHINJUKU, {"token": ".".join(parts)}
    )
    assert status == 200
    assert verdict["genuine"] is False
    assert "not signed by this municipality" in verdict["reason"]
    entry = _audit_of(layout, CHIYODA)
    assert (entry.actor, entry.operation, entry.outcome) == (SHINJUKU, "copy.verify", "refused")


def test_an_agency_may_not_ask(app: FastAPI, layout: NetworkLayout, copy: tuple[Path, str]) -> None:
    key = layout.client("agency:mofa-passport") / "node.key"
    status, problem = _post(app, key, "agency:mofa-passport", {"token": copy[1]})
    assert status == 403, problem


def _verify(*args: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    where = ["--home", str(home)] if home else []
    return subprocess.run(
        [str(EXE), *where, "document", "verify", *args], capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip


def test_document_verify_says_genuine_with_the_minimum_and_audits_locally(
    layout: NetworkLayout, copy: tuple[Path, str]
) -> None:
    done = _verify(str(copy[0]), home=layout.node(SHINJUKU))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "GENUINE: copy 2026-000001 issued by 東京都千代田区 on 2026-12-02"
    assert "髙橋 太郎" in done.stdout and "wide-area    no" in done.stdout
    assert "1980" not in done.stdout and "梅田" not in done.stdout  # never the full record
    entry = _audit_of(layout, SHINJUKU)
    assert (entry.operation, entry.target, entry.outcome) == ("copy.verify.file", "copy.pdf", "ok")


def test_document_verify_with_ca_and_crl_refuses_a_changed_byte(
    layout: NetworkLayout, copy: tuple[Path, str], tmp_path: Path
) -> None:
    data = bytearray(copy[0].read_bytes())
    data[data.index(CONTENT_MARKER) + 2] ^= 0x20
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(bytes(data))
    done = _verify(
        str(changed), "--ca", str(layout.ca / "ca.pem"), "--crl",
        str(layout.ca / "document-crl.pem"), "--crl", str(layout.ca / "crl.pem"),
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stdout.strip() == (
        "NOT GENUINE: The content of the file was changed after it was signed."
    )


def test_document_verify_refuses_a_copy_of_another_network(
    layout: NetworkLayout, tmp_path: Path
) -> None:
    from jukinet.documents.signing import signed_copy

    other = make_kit(tmp_path / "other", network="other")
    foreign = tmp_path / "foreign.pdf"
    foreign.write_bytes(signed_copy(a_copy(), other.signer, render_test_pdf))
    done = _verify(str(foreign), home=layout.node(SHINJUKU))
    assert done.returncode == 1
    assert done.stdout.startswith("NOT GENUINE: It was not signed under this network's CA")


def test_after_revocation_document_verify_refuses_the_copies_it_signed(
    tmp_path: Path,
) -> None:
    layout = asgi.network_init(tmp_path, TOPOLOGY.replace("76", "77"))
    pdf, _ = _issue(layout, "2026-000001")
    path = tmp_path / "copy.pdf"
    path.write_bytes(pdf)
    assert _verify(str(path), home=layout.node(SHINJUKU)).returncode == 0
    revoked = subprocess.run(
        [str(EXE), "pki", "revoke-document", "131016", "--dir", str(layout.root)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert revoked.returncode == 0, revoked.stderr
    done = _verify(str(path), home=layout.node(SHINJUKU))
    assert done.returncode == 1
    assert done.stdout.strip() == "NOT GENUINE: The certificate that signed it has been revoked."
