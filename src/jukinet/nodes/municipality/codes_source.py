"""Where a municipality's new resident codes come from (R6).

A stand-alone register makes its own random codes; a municipality on a network
asks the national node, which issues codes that no municipality ever had
(``POST /pools``, docs/network.md).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from jukinet import config
from jukinet.domain.codes import ResidentCode, parse_resident_code
from jukinet.network.client import NodeClient, NodeIdentity
from jukinet.network.messages import MAX_POOL, PoolGrant, PoolRequest
from jukinet.nodes.municipality.pool import CodeSource, LocalCodeSource
from jukinet.nodes.runtime import load_runtime


class NationalCodeSource:
    """Codes issued by the national node over mTLS, in requests of at most ``MAX_POOL``."""

    name = "national"

    def __init__(
        self,
        identity: NodeIdentity,
        national_url: str,
        pins: Callable[[str], str | None] | None = None,
    ) -> None:
        self.identity, self.url, self.pins = identity, national_url.rstrip("/") + "/pools", pins

    async def issue(self, count: int) -> list[ResidentCode]:
        codes: list[ResidentCode] = []
        async with NodeClient(self.identity, pins=self.pins) as client:
            while len(codes) < count:
                ask = min(MAX_POOL, count - len(codes))
                grant = PoolGrant.model_validate(
                    await client.post(self.url, PoolRequest(count=ask))
                )
                codes += [parse_resident_code(c) for c in grant.codes]
        return codes


def code_source_for(home: Path) -> CodeSource:
    """The national node for a networked municipality, else codes made locally."""
    cfg = config.load(home)
    if cfg.network is None:
        return LocalCodeSource()
    runtime = load_runtime(cfg)
    return NationalCodeSource(runtime.identity, cfg.network.national_url, runtime.pin)
