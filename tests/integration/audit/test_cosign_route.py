"""``POST /audit/cosign`` through the prefecture's whole app, on a real ``network init``
with signed requests (R25): the municipality's running job has its checkpoints cosigned;
another prefecture's municipality is refused by the endpoint table before any check."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from jukinet.audit import checkpoints
from jukinet.audit.note import cosigned_at
from jukinet.errors import PeerRefused
from jukinet.keys import load_private_key
from jukinet.network.layout import NetworkLayout
from jukinet.network.messages_audit import CosignRequest
from jukinet.network.signatures import sign_request
from jukinet.nodes.municipality import checkpointing
from jukinet.nodes.municipality.setup import open_register
from jukinet.nodes.prefecture import api as prefecture
from tests import asgi

TOPOLOGY = """
[network]
name = "audit"

[national]
port = 7700

[[prefectures]]
code = "130001"
port = 7710

[[prefectures]]
code = "270008"
port = 7711

[[municipalities]]
code = "131016"
port = 7720
residents = 0

[[municipalities]]
code = "271276"
port = 7721
residents = 0
"""


def poster(app: Any, root: Path, who: str) -> checkpointing.Post:
    """``NodeClient.post`` as ``who`` would call it, into the app in process."""
    key = load_private_key(NetworkLayout(root / "net").node(who) / "node.key")

    async def post(url: str, model: BaseModel) -> dict[str, Any]:
        raw = model.model_dump_json().encode()
        path = url.removeprefix("https://prefecture")
        headers = {"content-type": "application/json", "content-length": str(len(raw)),
                   "accept": "application/json"}  # fmt: skip
        headers |= sign_request("POST", f"https://prefecture{path}", headers, raw, key, who)
        answer = await asgi.call(app, "POST", path, raw, headers, host="prefecture")
        if answer.status != 200:
            raise PeerRefused(answer.status, json.loads(answer.body)["detail"])
        return dict(json.loads(answer.body))

    return post


def test_the_running_job_has_each_checkpoint_cosigned_through_the_app(tmp_path: Path) -> None:
    layout = asgi.network_init(tmp_path, TOPOLOGY)
    app = prefecture.create_app(layout.node("prefecture:130001"))
    app.state.authority = "prefecture"
    store = open_register(layout.node("municipality:131016"))
    witness_key = app.state.runtime.directory.public_key("prefecture:130001")
    try:
        post = poster(app, tmp_path, "municipality:131016")
        made = asyncio.run(checkpointing.publish(store, post, "https://prefecture", witness_key))
        with store.engine.connect() as conn:
            kept = checkpoints.latest(conn)
        assert kept is not None and kept.size == made.size
        assert cosigned_at(kept.full, checkpoints.witness_name("130001"), witness_key)
        osaka = poster(app, tmp_path, "municipality:271276")
        ask = CosignRequest(checkpoint=kept.note, previous_size=0, consistency=[])
        with pytest.raises(PeerRefused) as refused:
            asyncio.run(osaka("https://prefecture/audit/cosign", ask))
        assert refused.value.status == 403
    finally:
        store.close()
