"""Sector pseudonyms kept per person and sector (``tables.pseudonyms``).

A pseudonym is a function of the node's secret, the person key and the sector only
(``pseudonym``): a person keeps the key across code changes (R6) and when removed,
so a kept pseudonym never goes stale. A batch reads it with the identity (a join)
and computes only the ones not kept yet (``missing``), once per person and sector.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection

from jukinet.nodes.identity.pseudonym import pseudonym
from jukinet.nodes.identity.tables import identities, pseudonyms

__all__ = ["fill", "missing"]


def missing(conn: Connection, secret: bytes, sector: str, keys: Iterable[str]) -> dict[str, str]:
    """Compute and keep the pseudonyms of ``keys`` (people who have none kept in
    ``sector``); returns them by person key."""
    made = {key: pseudonym(secret, key, sector) for key in keys}
    if made:
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        # Plain tuples through the DBAPI's executemany (as provision_store.log_calls);
        # a key kept meanwhile (another call of the same chunk) is left as it is.
        conn.exec_driver_sql(
            f"INSERT INTO {pseudonyms.name} (person_key, sector, pseudonym) "
            f"VALUES ({mark}, {mark}, {mark}) ON CONFLICT DO NOTHING",
            [(key, sector, value) for key, value in made.items()],
        )
    return made


def fill(conn: Connection, secret: bytes, sector: str, per_statement: int = 20_000) -> int:
    """Keep the pseudonym in ``sector`` of every identity that has none yet; returns how
    many were made (set-up of a new sector ahead of its first batch, or a bulk load)."""
    query = (
        f"SELECT DISTINCT i.person_key FROM {identities.name} i "
        f"LEFT JOIN {pseudonyms.name} p ON p.person_key = i.person_key AND p.sector = "
        f"{'?' if conn.dialect.paramstyle == 'qmark' else '%s'} WHERE p.person_key IS NULL"
    )
    keys = [row[0] for row in conn.exec_driver_sql(query, (sector,))]
    for start in range(0, len(keys), per_statement):
        missing(conn, secret, sector, keys[start : start + per_statement])
    return len(keys)
