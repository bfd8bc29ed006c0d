"""The prefecture verifies a resident's card proof (R14, R15; docs/network.md,
"Disclosure and the card").

A prefecture holds no JPKI records, so it splits the work: the chain to the JPKI CA
(its certificate is in every home), the revocation list (the one it fetched last from
the national node, fetched anew when it has none or it is no longer current), the
signature and the freshness it checks itself; whether the certificate was issued to
exactly this resident code, and is still valid in the CA's records, it asks the
national node (``POST /jpki/binding``) over the same mutually authenticated, signed
link it forwards updates on. The national node's answer is only ever used for the
serial and code asked, and only after the signature by that certificate verified.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from sqlalchemy import Connection

from jukinet import config
from jukinet.errors import (
    CardCertificateRefused,
    ConfigurationError,
    DisclosureRefused,
    PeerUnreachable,
)
from jukinet.jpki import load_ca_certificate
from jukinet.jpki.revocation import check_crl
from jukinet.network.messages import DisclosureRequest, JpkiBinding, JpkiBindingRequest
from jukinet.nodes.identity.card_proof import CardEvidence, claimed_serial
from jukinet.nodes.identity.provision_api import CardSource
from jukinet.nodes.jpki_client import fetch_crl, saved_crl
from jukinet.nodes.runtime import load_runtime

__all__ = ["AskNational", "ask_national", "card_source"]

# Ask the national node whether a certificate is bound to a resident code.
AskNational = Callable[[Path, JpkiBindingRequest], Awaitable[JpkiBinding]]


async def ask_national(home: Path, req: JpkiBindingRequest) -> JpkiBinding:
    runtime = load_runtime(config.load(home))
    async with runtime.client() as client:
        answer = await client.post(f"{runtime.settings.national_url}/jpki/binding", req)
    return JpkiBinding.model_validate(answer)


async def _current_crl(home: Path) -> x509.CertificateRevocationList:
    try:
        crl = saved_crl(home)
        check_crl(crl, load_ca_certificate(home), datetime.now(UTC))
    except (ConfigurationError, CardCertificateRefused):  # none yet, or no longer current
        return await fetch_crl(home)
    return crl


def _never(conn: Connection, serial: int, resident_code: str) -> bool:
    return False


def _issued_by(ca: x509.Certificate, req: DisclosureRequest) -> int | None:
    """The serial of the proof's certificate if the CA issued it (the CA's signature on
    it verifies), else None: then nothing is fetched nor asked for the proof."""
    if req.card is None or claimed_serial(req.card) is None:
        return None
    cert = x509.load_der_x509_certificate(base64.b64decode(req.card.certificate))
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return None
    return cert.serial_number


def card_source(home: Path, ask: AskNational | None = None) -> CardSource:
    """What this prefecture verifies card proofs with (module docstring)."""

    async def evidence(req: DisclosureRequest) -> CardEvidence:
        ca = load_ca_certificate(home)
        serial = _issued_by(ca, req)
        if serial is None:
            refusal = CardCertificateRefused(
                "The certificate is not issued by this network's JPKI CA."
            )
            return CardEvidence(ca, None, _never, refusal)
        try:
            crl = await _current_crl(home)
            query = JpkiBindingRequest(serial=f"{serial:040x}", resident_code=req.resident_code)
            bound = (await (ask or ask_national)(home, query)).bound
        except PeerUnreachable:
            unreachable = DisclosureRefused(
                "The national node could not be reached to check the card's certificate; "
                "ask again later, or have a clerk verify the resident."
            )
            return CardEvidence(ca, None, _never, unreachable)

        def binding(conn: Connection, checked: int, resident_code: str) -> bool:
            return bound and checked == serial and resident_code == req.resident_code

        return CardEvidence(ca, crl, binding)

    return evidence
