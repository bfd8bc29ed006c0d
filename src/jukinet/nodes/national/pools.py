"""Resident code pools (R6): random codes, none ever issued before, each issued once.

The national code registry (``issued_codes``) holds every code ever handed out, with
the municipality it went to. A fresh pool draws random codes and drops any code the
registry, a current identity or a retired code already has, so a code is never
issued twice and a retired code never comes back.
"""

from __future__ import annotations

from jukinet.audit import log as audit
from jukinet.domain.codes import parse_local_government_code
from jukinet.errors import ConfigurationError, InvalidInput, JukinetError
from jukinet.network.messages import MAX_POOL, PoolGrant, node_id
from jukinet.nodes.identity.store import IdentityStore
from jukinet.nodes.national.store import NationalStore


def issue_pool(
    store: IdentityStore, municipality_code: str, count: int, *, actor: str | None = None
) -> PoolGrant:
    """Issue ``count`` fresh codes to a municipality: one transaction, one audit entry."""
    who = actor or node_id("municipality", municipality_code)
    try:
        if not isinstance(store, NationalStore):
            raise ConfigurationError("Only the national node issues resident code pools.")
        municipality = parse_local_government_code(municipality_code)
        if not 1 <= count <= MAX_POOL:
            raise InvalidInput(f"A pool has 1 to {MAX_POOL} codes; {count} were asked for.")
        with store.transaction() as conn:
            codes = store.fresh_codes(conn, count)
            store.record_issued(conn, codes, municipality, audit.now())
            store.audit(
                conn, audit.Draft(who, "pools.issue", municipality, detail=f"{count} codes")
            )
        return PoolGrant(codes=codes)
    except JukinetError as exc:
        store.refused(who, "pools.issue", municipality_code, exc)
        raise


def code_was_issued(store: NationalStore, code: str) -> bool:
    """Whether the national registry ever issued ``code``."""
    return store.was_issued(code)
