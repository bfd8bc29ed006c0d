"""Resident code pools (R6): random codes, none ever issued before, each issued once.

The national code registry (``issued_codes``) holds every code ever handed out, with
the municipality it went to. A fresh pool draws random codes and drops any code the
registry, a current identity or a retired code already has, so a code is never
issued twice and a retired code never comes back.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import Connection, insert, select

from jukinet.audit import log as audit
from jukinet.domain.codes import generate_resident_code, parse_local_government_code
from jukinet.errors import ConfigurationError, InvalidInput, JukinetError
from jukinet.network.messages import MAX_POOL, PoolGrant, node_id
from jukinet.nodes.identity.store import IdentityStore
from jukinet.nodes.identity.tables import identities, issued_codes, retired_codes

_CHUNK = 500


def issue_pool(
    store: IdentityStore, municipality_code: str, count: int, *, actor: str | None = None
) -> PoolGrant:
    """Issue ``count`` fresh codes to a municipality: one transaction, one audit entry."""
    who = actor or node_id("municipality", municipality_code)
    try:
        if store.kind != "national":
            raise ConfigurationError("Only the national node issues resident code pools.")
        municipality = parse_local_government_code(municipality_code)
        if not 1 <= count <= MAX_POOL:
            raise InvalidInput(f"A pool has 1 to {MAX_POOL} codes; {count} were asked for.")
        with store.transaction() as conn:
            codes = _fresh_codes(conn, count)
            at = audit.now()
            for chunk in _chunks(codes):
                conn.execute(
                    insert(issued_codes),
                    [{"code": c, "municipality": municipality, "issued_at": at} for c in chunk],
                )
            store.audit(
                conn, audit.Draft(who, "pools.issue", municipality, detail=f"{count} codes")
            )
        return PoolGrant(codes=codes)
    except JukinetError as exc:
        store.refused(who, "pools.issue", municipality_code, exc)
        raise


def code_was_issued(store: IdentityStore, code: str) -> bool:
    """Whether the national registry ever issued ``code``."""
    with store.engine.connect() as conn:
        found = conn.execute(select(issued_codes.c.code).where(issued_codes.c.code == code))
        return found.first() is not None


def _fresh_codes(conn: Connection, count: int) -> list[str]:
    """``count`` random codes that no registry row, identity or retired code has."""
    chosen: dict[str, None] = {}  # insertion-ordered set: the random draw order
    while len(chosen) < count:
        candidates = {generate_resident_code() for _ in range(count - len(chosen))}
        candidates -= chosen.keys()
        for chunk in _chunks(sorted(candidates)):
            for column in (issued_codes.c.code, identities.c.resident_code, retired_codes.c.code):
                candidates -= set(conn.scalars(select(column).where(column.in_(chunk))))
        chosen.update(dict.fromkeys(candidates))
    return list(chosen)


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]
