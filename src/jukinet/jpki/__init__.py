"""The JPKI certification authority (公的個人認証, R15) and verification at any node.

``ca`` issues the signing and user-authentication certificates to a card's keys,
``revocation`` revokes them and builds the CA's CRL, ``verify`` checks a document
signed with a card; ``validity`` and ``holder`` are the rules and the 基本4情報 as a
certificate carries them. docs/jpki.md describes all of it.
"""

from __future__ import annotations

from jukinet.jpki.ca import (
    JpkiCA,
    Kind,
    card_public_key,
    create_ca,
    issue_authentication,
    issue_signing,
    load_ca,
    load_ca_certificate,
    public_key_der,
    save_ca,
)
from jukinet.jpki.holder import Holder
from jukinet.jpki.revocation import Reason, Revoked, build_crl, crl_der, load_crl
from jukinet.jpki.verify import Signer, check_certificate, load_certificate, verify_signature

__all__ = [
    "Holder",
    "JpkiCA",
    "Kind",
    "Reason",
    "Revoked",
    "Signer",
    "build_crl",
    "card_public_key",
    "check_certificate",
    "create_ca",
    "crl_der",
    "issue_authentication",
    "issue_signing",
    "load_ca",
    "load_ca_certificate",
    "load_certificate",
    "load_crl",
    "public_key_der",
    "save_ca",
    "verify_signature",
]
