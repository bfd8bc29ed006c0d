"""Checking a resident's card proof on a request for disclosure (R14, R15; docs/network.md,
"Disclosure and the card").

The card signed a ``DisclosureAsk`` with its JPKI user-authentication key. A node
accepts the proof only if

1. the signed bytes are a ``DisclosureAsk`` for exactly this request: this resident
   code, the calling municipality, this node among the nodes asked;
2. the certificate is the network JPKI CA's, not revoked (the CA's CRL), within its
   validity, a user-authentication certificate, and the signature is over exactly
   those bytes (``jukinet.jpki.verify_signature``);
3. it is fresh: signed within ``MAX_SKEW`` of this node's clock, its nonce never seen
   here before (kept in ``card_nonces`` until it could no longer be fresh);
4. the certificate was issued to the person holding this resident code now (across a
   code change, R6) and is still valid in the national node's records (the national
   node reads its own; a prefecture asks it).

The first check that fails is the one refusal, a ``DisclosureRefused`` or
``CardCertificateRefused`` sentence; none of them depends on whether the code exists.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from pydantic import ValidationError
from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.exc import IntegrityError

from jukinet.errors import CardCertificateRefused, DisclosureRefused, JukinetError
from jukinet.jpki import Kind, verify_signature
from jukinet.network.messages import CardProof, DisclosureAsk, DisclosureRequest
from jukinet.nodes.identity.tables import card_nonces

__all__ = ["MAX_SKEW", "Binding", "CardEvidence", "check_card_proof", "claimed_serial"]

MAX_SKEW = timedelta(minutes=5)  # a proof signed further from this node's clock is stale

# Whether the certificate ``serial`` is a valid user-authentication certificate issued
# to ``resident_code`` (inside the caller's transaction).
Binding = Callable[[Connection, int, str], bool]


@dataclass(frozen=True, slots=True)
class CardEvidence:
    """What a node verifies a card proof with: the JPKI CA certificate, a current CRL
    of the CA, and the binding of certificates to resident codes."""

    ca: x509.Certificate
    crl: x509.CertificateRevocationList | None
    bound: Binding
    # A refusal the node decided before its transaction (e.g. a prefecture that did not
    # ask the national node about a certificate that is not the CA's): raised inside it,
    # after the request checks, so that it is audited like any other.
    refusal: JukinetError | None = None


def _decoded(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:  # the message validated it; kept for a hand-made CardProof
        raise DisclosureRefused("The card proof is not readable.") from None


def claimed_serial(proof: CardProof) -> int | None:
    """The serial the proof's certificate claims, unverified (what a prefecture asks the
    national node about); None if the certificate is not readable."""
    try:
        return x509.load_der_x509_certificate(_decoded(proof.certificate)).serial_number
    except (ValueError, DisclosureRefused):
        return None


def _ask(payload: bytes) -> DisclosureAsk:
    try:
        return DisclosureAsk.model_validate_json(payload)
    except ValidationError:
        raise DisclosureRefused(
            "The card proof does not carry a request for disclosure signed by the card."
        ) from None


def check_card_proof(
    conn: Connection,
    req: DisclosureRequest,
    municipality: str,
    node: str,
    evidence: CardEvidence,
    now: datetime,
) -> int:
    """The serial of the certificate that proved ``req``, or the one refusal (module doc)."""
    proof = req.card
    if proof is None:
        raise DisclosureRefused("A request verified by the card carries the card's proof.")
    payload = _decoded(proof.payload)
    ask = _ask(payload)
    if (
        ask.resident_code != req.resident_code
        or ask.municipality != municipality
        or node not in ask.nodes
    ):
        raise DisclosureRefused(
            "The card signed another request, not this one (resident code, municipality "
            "or node asked differ)."
        )
    if evidence.refusal is not None or evidence.crl is None:
        raise evidence.refusal or DisclosureRefused("This node cannot verify the card now.")
    signer = verify_signature(
        payload, _decoded(proof.signature), _decoded(proof.certificate),
        evidence.ca, evidence.crl, now,
    )  # fmt: skip
    if signer.kind is not Kind.AUTHENTICATION:
        raise CardCertificateRefused(
            "The card proof is signed with the signing certificate; a request for "
            "disclosure is signed with the user-authentication certificate."
        )
    if abs(now - ask.signed_at) > MAX_SKEW:
        raise DisclosureRefused(
            f"The card signed this request at {ask.signed_at.isoformat(timespec='seconds')}, "
            f"more than {MAX_SKEW.seconds // 60} minutes from this node's clock; "
            "have the card sign the request again."
        )
    if not evidence.bound(conn, signer.serial, req.resident_code):
        raise CardCertificateRefused(
            "The card's user-authentication certificate is not one issued to this "
            "resident code, or is no longer valid."
        )
    _remember(conn, ask, now)
    return signer.serial


def _stamp(moment: datetime) -> str:
    """A time as stored: ISO 8601 in UTC, so that stored times compare as text."""
    return moment.astimezone(UTC).isoformat()


def _remember(conn: Connection, ask: DisclosureAsk, now: datetime) -> None:
    """Record the nonce (a proof is good once); forget nonces that can no longer be fresh."""
    conn.execute(delete(card_nonces).where(card_nonces.c.expires_at < _stamp(now)))
    seen = conn.execute(select(card_nonces.c.nonce).where(card_nonces.c.nonce == ask.nonce))
    refused = DisclosureRefused(
        "This card proof was used before; have the card sign the request again."
    )
    if seen.first() is not None:
        raise refused
    try:
        expires = _stamp(ask.signed_at + MAX_SKEW)  # after it, the proof is stale anyway
        conn.execute(insert(card_nonces).values(nonce=ask.nonce, expires_at=expires))
    except IntegrityError:  # the same proof at the same moment in another transaction
        raise refused from None
