"""Signing a rendered copy: a PAdES certifying signature (DocMDP: no changes allowed) made
with the issuing municipality's document certificate (``documents.certs``), with pyHanko.

In the same revision as the signature, so covered by it, the PDF's catalog gets
``/JukinetCopy << /Token (JK1....) /Items <stream> >>``: the token the QR code prints and
the printed items as canonical JSON (``printed_json``), whose SHA-256 is the token's
digest. A file check so needs no image decoder, and can show the names of the persons
without reading text back out of the page.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from jukinet.documents import certs
from jukinet.documents.token import CopyToken, make_token
from jukinet.domain.copies import CERTIFICATION, ResidentCopy, printed_json
from jukinet.errors import ConfigurationError, InvalidInput
from jukinet.keys import load_document_key
from jukinet.network import pki

__all__ = ["CATALOG_KEY", "DocumentSigner", "sign_copy", "signed_copy"]

CATALOG_KEY = "/JukinetCopy"
FIELD = "Certification"

# What draws a copy: ``jukinet.documents.render.render_copy(copy, qr_text) -> bytes``.
Renderer = Callable[[ResidentCopy, str], bytes]


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


@dataclass(frozen=True)
class DocumentSigner:
    """A municipality's document key, its certificate and the document CA's."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    ca_cert: x509.Certificate

    @classmethod
    def load(cls, home: Path) -> DocumentSigner:
        """The signer in a municipality's home (written by ``network init``)."""
        if not (home / certs.KEY_FILE).exists():
            raise ConfigurationError(
                f"{home} holds no document-signing key ({certs.KEY_FILE}); copies are signed "
                "by municipalities of a network made with `jukinet network init`."
            )
        signer = cls(
            load_document_key(home / certs.KEY_FILE),
            pki.load_certificate(home / certs.CERT_FILE),
            pki.load_certificate(home / certs.CA_CERT_FILE),
        )
        if signer.cert.public_key() != signer.key.public_key():
            raise ConfigurationError(f"The document key and certificate in {home} differ.")
        return signer

    def pyhanko(self) -> signers.SimpleSigner:
        """This key and its chain as pyHanko's signer (the safety report signs with it)."""
        return self._pyhanko()

    def _pyhanko(self) -> signers.SimpleSigner:
        der = self.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return signers.SimpleSigner(
            signing_cert=_asn1(self.cert),
            signing_key=asn1_keys.PrivateKeyInfo.load(der),
            cert_registry=SimpleCertificateStore.from_certs([_asn1(self.ca_cert)]),
        )


def sign_copy(pdf: bytes, copy: ResidentCopy, token: CopyToken, signer: DocumentSigner) -> bytes:
    """``pdf`` (the rendered ``copy``) with the token, the items and a certifying signature."""
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    except (PdfError, ValueError) as exc:
        raise InvalidInput(f"The rendered copy is not a readable PDF: {exc}") from None
    items = generic.StreamObject(stream_data=printed_json(copy).encode("utf-8"))
    writer.root[CATALOG_KEY] = generic.DictionaryObject(
        {
            generic.pdf_name("/Token"): generic.TextStringObject(token.text()),
            generic.pdf_name("/Items"): writer.add_object(items),
        }
    )
    writer.update_root()
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        location=copy.issuer_name,
        reason=CERTIFICATION,
    )
    out = signers.PdfSigner(meta, signer._pyhanko()).sign_pdf(writer)
    return bytes(out.getbuffer())


def signed_copy(copy: ResidentCopy, signer: DocumentSigner, render: Renderer) -> bytes:
    """Token, rendering (with the token as the QR code's text) and signature, in that order."""
    token = make_token(copy, signer.key)
    return sign_copy(render(copy, token.text()), copy, token, signer)
