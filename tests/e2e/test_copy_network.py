"""A copy issued at 千代田区 and checked over the network by 新宿区: the real node
processes over mTLS answer ``POST /documents/verify`` for a genuine token and a forged
one, each check audited at the issuer; the prefecture may not ask (R3, docs/copies.md)."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from datetime import date
from typing import Any

import pytest

from jukinet import config
from jukinet.documents.render import render_copy
from jukinet.documents.signing import DocumentSigner
from jukinet.domain.copies import CopyOptions
from jukinet.errors import PeerRefused
from jukinet.network.client import NodeClient
from jukinet.network.copy_messages import TokenCheck
from jukinet.nodes.municipality.copies import issue_copy, issuer_of
from jukinet.nodes.municipality.setup import open_register
from tests.e2e.conftest import Network, clerk_session

CHIYODA, SHINJUKU = "municipality:131016", "municipality:131041"


def _issued_token(network: Network) -> str:
    home = network.home(CHIYODA)
    session = clerk_session(home)
    store = open_register(home)
    try:
        with closing(sqlite3.connect(home / "register.db")) as db:
            (code,) = db.execute(
                "SELECT resident_code FROM persons WHERE removal_reason IS NULL LIMIT 1"
            ).fetchone()
        issued = issue_copy(
            store, session, DocumentSigner.load(home), issuer_of(config.load(home), store),
            code, CopyOptions(), date.today(), render_copy,
        )  # fmt: skip
    finally:
        store.close()
    return issued.token


def _ask(network: Network, caller: str, token: str) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        try:
            async with NodeClient(network.identity(caller), timeout=10) as client:
                url = f"{network.url(3)}/documents/verify"
                return await client.post(url, TokenCheck(token=token))
        finally:
            await asyncio.sleep(0.25)  # let the closed TLS transports finish closing

    return asyncio.run(go())


def _last_check(network: Network) -> tuple[str, str, str]:
    with closing(sqlite3.connect(network.home(CHIYODA) / "register.db")) as db:
        row = db.execute(
            "SELECT actor, operation, outcome FROM audit_log WHERE operation = 'copy.verify' "
            "ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    return (str(row[0]), str(row[1]), str(row[2]))


def test_the_issuer_answers_another_municipality_over_the_network(network: Network) -> None:
    token = _issued_token(network)
    verdict = _ask(network, SHINJUKU, token)
    assert verdict["genuine"] is True, verdict
    assert verdict["municipality"] == "131016"
    assert _last_check(network) == (SHINJUKU, "copy.verify", "ok")

    parts = token.split(".")
    parts[4] = "A" * 43  # another digest: the printed items were changed
    forged = _ask(network, SHINJUKU, ".".join(parts))
    assert forged["genuine"] is False
    assert _last_check(network) == (SHINJUKU, "copy.verify", "refused")


def test_a_prefecture_may_not_ask_about_a_copy(network: Network) -> None:
    with pytest.raises(PeerRefused) as refused:
        _ask(network, "prefecture:130001", "JK1.131016.2026-000001.20261202.AAAA.BBBB")
    assert refused.value.status == 403
