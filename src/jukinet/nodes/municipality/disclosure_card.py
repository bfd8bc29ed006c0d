"""The request for disclosure signed with the resident's card, at the window (R14, R15;
docs/network.md, "Disclosure and the card").

The terminal writes the request the card is to sign (a ``DisclosureAsk``: the resident
code, this municipality, the nodes asked, a fresh nonce and the time), the resident
enters their user-authentication PIN, and the card signs the request's SHA-256
DigestInfo with its JPKI user-authentication key. The request then carries the card's
certificate, the signature and the exact bytes signed; every node asked verifies them
itself. A wrong PIN stops at the card: nothing is signed and nothing is sent.
"""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime

from jukinet.card.reader import Reader
from jukinet.card.terminal import Terminal
from jukinet.card.user_auth import sign_as_user
from jukinet.network.messages import CardProof, DisclosureAsk, DisclosureRequest

__all__ = ["card_request", "signed_ask"]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def signed_ask(
    resident_code: str,
    municipality: str,
    nodes: list[str],
    now: datetime | None = None,
    nonce: str | None = None,
) -> bytes:
    """The bytes the card signs: a ``DisclosureAsk`` as compact JSON."""
    ask = DisclosureAsk(
        purpose="jukinet-disclosure/1",
        resident_code=resident_code,
        municipality=municipality,
        nodes=nodes,
        nonce=nonce or secrets.token_hex(16),
        signed_at=now or datetime.now(UTC),
    )
    return ask.model_dump_json().encode("utf-8")


def card_request(
    reader: Reader, pin: str, payload: bytes, resident_code: str, clerk: str
) -> DisclosureRequest:
    """The request for disclosure proved by the card in ``reader`` (CardRefused if the card
    refuses, e.g. a wrong PIN: then nothing was signed)."""
    reader.connect()
    try:
        signed = sign_as_user(Terminal(reader), pin, payload)
    finally:
        reader.disconnect()
    proof = CardProof(
        certificate=_b64(signed.certificate),
        signature=_b64(signed.signature),
        payload=_b64(payload),
    )
    return DisclosureRequest(
        resident_code=resident_code, verified_by="card", clerk=clerk, card=proof
    )
