"""Disclosure to a resident (R14): to whom, when and for what their identity was provided.

At the window a clerk verifies the resident (later: the resident card signs the
request), then this node asks its prefecture and the national node over the
network and merges their answers, newest first. The request is audited here as a
read of the resident's record.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from jukinet import config
from jukinet.domain.access import Permission, Session
from jukinet.domain.codes import parse_resident_code
from jukinet.errors import ConfigurationError, ResidentNotFound
from jukinet.network.messages import DisclosureRequest, DisclosureResponse, ProvisionEntry
from jukinet.nodes.municipality.service import run
from jukinet.nodes.municipality.store import RegisterStore, RegisterTx
from jukinet.nodes.runtime import load_runtime


def disclose(store: RegisterStore, session: Session, home: Path, code: str) -> list[ProvisionEntry]:
    """Every provision of this resident's identity information, newest first."""
    cfg = config.load(home)

    def work(tx: RegisterTx) -> tuple[list[ProvisionEntry], str, str]:
        record = tx.record(parse_resident_code(code))
        if record is None:
            raise ResidentNotFound(f"No record of this municipality carries code {code}.")
        if cfg.network is None:
            raise ConfigurationError("This register is not on a network: nothing was provided.")
        entries = asyncio.run(_ask(cfg, record.resident_code, session.operator.username))
        return entries, record.resident_code, f"{len(entries)} provisions disclosed"

    return run(store, session, Permission.READ_RECORD, "resident.disclosure", code.strip(), work)


async def _ask(cfg: config.NodeConfig, code: str, clerk: str) -> list[ProvisionEntry]:
    assert cfg.network is not None
    runtime = load_runtime(cfg)
    request = DisclosureRequest(resident_code=code, verified_by="clerk", clerk=clerk)
    holders = [cfg.network.upstream_url, cfg.network.national_url]
    entries: list[ProvisionEntry] = []
    async with runtime.client() as client:
        for url in holders:
            answer = DisclosureResponse.model_validate(
                await client.post(f"{url}/disclosure", request)
            )
            entries += answer.provisions
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries
