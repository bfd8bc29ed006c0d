"""Sector-specific pseudonyms: what an affair with a ``sector`` receives instead of the code.

In the spirit of Austria's bereichsspezifisches Personenkennzeichen (bPK, E-Government-
Gesetz §§ 9–13): a keyed one-way function of an internal person id and the sector,

    pseudonym = base32(HMAC-SHA256(secret, person_key + "|" + sector))[:20]

``person_key`` is this node's own random link between the codes one person has
held, never exposed; ``secret`` is 32 random bytes kept in the node's ``node`` table
(``pseudonym_secret``). So a pseudonym is stable across code changes (R6), two
sectors' pseudonyms of one person cannot be linked without the secret, and the
resident code never becomes a common identifier (R4, R5). 20 base32 characters
carry 100 bits.

The pseudonym is specific to the node that computes it (its secret); the national
node and each prefecture give different pseudonyms for one person and sector.
"""

from __future__ import annotations

import base64
import hmac
import secrets

from sqlalchemy import Connection, insert, select

from jukinet.nodes.identity.tables import node

SECRET_KEY = "pseudonym_secret"
LENGTH = 20


def pseudonym(secret: bytes, person_key: str, sector: str) -> str:
    """The person's pseudonym in ``sector``."""
    # hmac.digest is the one-shot C path: a batch computes one per person.
    digest = hmac.digest(secret, f"{person_key}|{sector}".encode(), "sha256")
    # 20 base32 characters encode the first 12.5 bytes: encoding 15 bytes gives the same
    # characters as encoding all 32, for half the work (a batch computes millions).
    return base64.b32encode(digest[:15]).decode("ascii")[:LENGTH]


def node_secret(conn: Connection) -> bytes:
    """This node's pseudonym secret, created on first use if the migration did not."""
    value = conn.execute(select(node.c.value).where(node.c.key == SECRET_KEY)).scalar()
    if value is None:
        value = secrets.token_hex(32)
        conn.execute(insert(node).values(key=SECRET_KEY, value=value))
    return bytes.fromhex(value)
