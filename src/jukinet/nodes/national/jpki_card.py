"""The national node verifies a resident's card proof (R14, R15; docs/network.md,
"Disclosure and the card") with what it holds itself: the JPKI CA certificate, the CA's
current CRL and its records of which certificate was issued to which resident code.
A prefecture, which holds no such records, asks ``binding``.
"""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime

from sqlalchemy import Connection

from jukinet.errors import ConfigurationError
from jukinet.jpki import JpkiCA, load_crl
from jukinet.network.endpoints import Member
from jukinet.network.messages import DisclosureRequest, JpkiBinding, JpkiBindingRequest
from jukinet.nodes.identity.card_proof import CardEvidence
from jukinet.nodes.identity.provision_api import CardSource
from jukinet.nodes.identity.store import IdentityStore
from jukinet.nodes.national import jpki
from jukinet.nodes.national import jpki_store as q

__all__ = ["binding", "card_source"]


def _bound(conn: Connection, serial: int, resident_code: str) -> bool:
    return q.bound(conn, serial, resident_code, datetime.now(UTC))


def card_source(store: IdentityStore, ca: JpkiCA | None) -> CardSource:
    """What the national node verifies card proofs with (a CRL at most a day old)."""

    async def evidence(req: DisclosureRequest) -> CardEvidence:
        if ca is None:
            raise ConfigurationError(
                "The national node holds no JPKI CA; it cannot verify a resident card."
            )
        crl = await asyncio.to_thread(jpki.current_crl, store, ca)
        return CardEvidence(ca.cert, load_crl(base64.b64decode(crl.crl)), _bound)

    return evidence


def binding(store: IdentityStore, caller: Member, req: JpkiBindingRequest) -> JpkiBinding:
    """Whether ``req.serial`` is a valid user-authentication certificate of exactly
    ``req.resident_code`` (asked by a prefecture verifying a card proof). A plain read:
    the prefecture audits the disclosure it answers or refuses."""
    with store.engine.connect() as conn:
        return JpkiBinding(bound=_bound(conn, int(req.serial, 16), req.resident_code))
