"""A municipality's side of the JPKI CA (R15, docs/jpki.md): a card's public keys certified
for one of its residents, and their certificates revoked, by the national node.

Like every use case that asks another node (``service.run_after``), the permission and
the resident are checked first, the national node is asked with no transaction open,
then the answer is audited here in one short transaction. The certificates that come
back are checked before they are handed on: issued by the network's JPKI CA (the
certificate in this node's home), for exactly the keys that were sent.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast, get_args

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from jukinet import config
from jukinet.domain.access import Permission, Session
from jukinet.domain.codes import parse_resident_code
from jukinet.domain.record import ResidentRecord
from jukinet.errors import ConfigurationError, InvalidInput, PeerUnreachable, ResidentNotFound
from jukinet.jpki import card_public_key, load_ca_certificate
from jukinet.network.messages import (
    CertificateKind,
    JpkiCertificates,
    JpkiCertifyRequest,
    JpkiRevoked,
    JpkiRevokeRequest,
    JpkiRevokeResponse,
    MunicipalReason,
)
from jukinet.nodes.municipality.service import run_after
from jukinet.nodes.municipality.store import RegisterStore, RegisterTx
from jukinet.nodes.runtime import load_runtime

__all__ = ["CardCertificates", "certify_card_keys", "revoke_card_certificates"]

# What the window uses for card work: clerks and supervisors record events there.
PERMISSION = Permission.RECORD_EVENT
MUNICIPAL_REASONS: tuple[str, ...] = get_args(MunicipalReason)


@dataclass(frozen=True, slots=True)
class CardCertificates:
    """The certificates to write to the card, DER (EF 000A and 0001 of its JPKI application)."""

    authentication: bytes
    signing: bytes | None  # None: not asked for (a person under 15 gets none)


def _resident(tx: RegisterTx, code: str) -> ResidentRecord:
    record = tx.record(parse_resident_code(code))
    if record is None or not record.is_resident:
        raise ResidentNotFound(f"No current resident of this municipality carries code {code}.")
    return record


def _national(home: Path) -> str:
    cfg = config.load(home)
    if cfg.network is None:
        raise ConfigurationError("This register is not on a network: no JPKI CA to ask.")
    return cfg.network.national_url


def _checked(der_b64: str, sent: bytes, ca: x509.Certificate) -> bytes:
    """The DER of a certificate the CA sent, once it is the CA's and certifies ``sent``."""
    der = base64.b64decode(der_b64)
    try:
        cert = x509.load_der_x509_certificate(der)
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        raise PeerUnreachable(
            "The national node answered with a certificate not issued by the network's JPKI CA."
        ) from None
    public = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if public != sent:
        raise PeerUnreachable("The national node certified another key than the card's.")
    return der


async def certify_card_keys(
    store: RegisterStore,
    session: Session,
    home: Path,
    resident_code: str,
    auth_public_key: bytes,
    signing_public_key: bytes | None,
) -> CardCertificates:
    """Have the card's keys (DER SubjectPublicKeyInfo, RSA-2048) certified for a resident."""
    code = resident_code.strip()

    async def fetch() -> CardCertificates:
        for key in (auth_public_key, signing_public_key):
            if key is not None:
                card_public_key(key)  # refused here already, with the CA's sentence
        with store.engine.connect() as conn:  # a plain read: no write lock, no audit-head lock
            record = _resident(RegisterTx(conn, store), code)
        request = JpkiCertifyRequest(
            resident_code=record.resident_code,
            authentication_key=base64.b64encode(auth_public_key).decode(),
            signing_key=base64.b64encode(signing_public_key).decode()
            if signing_public_key is not None
            else None,
        )
        runtime = load_runtime(config.load(home))
        async with runtime.client() as client:
            answer = JpkiCertificates.model_validate(
                await client.post(f"{_national(home)}/jpki/certify", request)
            )
        ca = load_ca_certificate(home)
        signing = None
        if signing_public_key is not None:
            if answer.signing is None:
                raise PeerUnreachable("The national node issued no signing certificate.")
            signing = _checked(answer.signing, signing_public_key, ca)
        return CardCertificates(_checked(answer.authentication, auth_public_key, ca), signing)

    def work(tx: RegisterTx, issued: CardCertificates) -> tuple[CardCertificates, str, str]:
        record = _resident(tx, code)
        serials = [
            f"{kind} {x509.load_der_x509_certificate(der).serial_number:040x}"
            for kind, der in (
                ("authentication", issued.authentication),
                ("signing", issued.signing),
            )
            if der is not None
        ]
        return issued, record.resident_code, "certified " + ", ".join(serials)

    return await run_after(store, session, PERMISSION, "card.certify", code, fetch, work)


async def revoke_card_certificates(
    store: RegisterStore,
    session: Session,
    home: Path,
    resident_code: str,
    reason: str,
    kinds: Sequence[CertificateKind] = ("signing", "authentication"),
) -> list[JpkiRevoked]:
    """Revoke a resident's valid certificates (``reason``: card-lost, code-change or
    holder-request); the ones revoked, none if nothing valid was left."""
    code = resident_code.strip()

    async def fetch() -> list[JpkiRevoked]:
        if reason not in MUNICIPAL_REASONS:
            raise InvalidInput(
                f"A municipality revokes for one of {', '.join(MUNICIPAL_REASONS)}; "
                f"{reason!r} is not one."
            )
        if not kinds or not set(kinds) <= set(get_args(CertificateKind)):
            raise InvalidInput("Name the certificates to revoke: signing, authentication or both.")
        with store.engine.connect() as conn:
            record = _resident(RegisterTx(conn, store), code)
        request = JpkiRevokeRequest(
            resident_code=record.resident_code,
            reason=cast(MunicipalReason, reason),
            kinds=list(dict.fromkeys(kinds)),
        )
        runtime = load_runtime(config.load(home))
        async with runtime.client() as client:
            answer = JpkiRevokeResponse.model_validate(
                await client.post(f"{_national(home)}/jpki/revoke", request)
            )
        return answer.revoked

    def work(tx: RegisterTx, revoked: list[JpkiRevoked]) -> tuple[list[JpkiRevoked], str, str]:
        record = _resident(tx, code)
        listed = ", ".join(f"{r.kind} {r.serial}" for r in revoked) or "nothing valid to revoke"
        return revoked, record.resident_code, f"{reason}: {listed}"

    return await run_after(store, session, PERMISSION, "card.revoke", code, fetch, work)
