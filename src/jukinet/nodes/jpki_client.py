"""JPKI at any node (R15, docs/jpki.md): the CA's CRL fetched from the national node, and
a document signed with a card verified against the CA certificate in the node's home.

Every home of a network holds the JPKI CA certificate (``network init``); the newest CRL
a node fetched is kept beside it (``jpki-crl.der``), so that a node verifies with the
revocations it last learnt when the national node cannot be reached.
"""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509

from jukinet import config
from jukinet.errors import ConfigurationError
from jukinet.jpki import Signer, crl_der, load_ca_certificate, load_crl, verify_signature
from jukinet.jpki.revocation import check_crl
from jukinet.network.messages import JpkiCrl
from jukinet.nodes.runtime import load_runtime

__all__ = ["fetch_crl", "saved_crl", "verify_document"]


async def fetch_crl(home: Path) -> x509.CertificateRevocationList:
    """The CA's current CRL from the national node, checked against the CA certificate in
    ``home`` and saved there (replacing the one saved before)."""
    cfg = config.load(home)
    runtime = load_runtime(cfg)
    async with runtime.client() as client:
        answer = JpkiCrl.model_validate(
            await client.get(f"{runtime.settings.national_url}/jpki/crl")
        )
    crl = load_crl(base64.b64decode(answer.crl))
    check_crl(crl, load_ca_certificate(home), datetime.now(UTC))
    path = home / config.JPKI_CRL_FILE
    temporary = path.with_name(path.name + ".new")
    temporary.write_bytes(crl_der(crl))
    os.replace(temporary, path)
    return crl


def saved_crl(home: Path) -> x509.CertificateRevocationList:
    """The CRL this node fetched last (ConfigurationError if it never fetched one)."""
    path = home / config.JPKI_CRL_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigurationError(
            f"This node holds no JPKI revocation list yet ({path}); fetch it with "
            "`jukinet --home HOME jpki crl`."
        ) from None
    return load_crl(data)


def verify_document(
    home: Path,
    data: bytes,
    signature: bytes,
    certificate: bytes,
    crl: bytes | None = None,
    at: datetime | None = None,
) -> Signer:
    """Who signed ``data``, verified with the node's JPKI CA certificate and ``crl`` (or the
    CRL it fetched last); CardCertificateRefused names what is wrong."""
    ca = load_ca_certificate(home)
    revocations = load_crl(crl) if crl is not None else saved_crl(home)
    return verify_signature(data, signature, certificate, ca, revocations, at)
