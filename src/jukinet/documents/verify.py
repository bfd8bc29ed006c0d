"""Is this PDF a genuine, unaltered copy of the resident record of this network?

One answer, ``Verdict``: genuine or not with the reason in one sentence, and for a
genuine copy only the items a reader needs to compare it with the paper: serial,
issuing municipality, date, the names of the persons, and whether it is a wide-area
copy (R4: never the whole record, never a resident code).

The checks, in order: the file has exactly one signature, a certifying one (DocMDP, no
changes) that covers the whole file; the signed bytes are unchanged and the signature
is valid (pyHanko); its certificate chains up to the network CA given, through the
document CA, and neither is on the CRLs given (revocation information is required);
the signer is a municipality's document certificate; the token stored in the signed
revision is signed by that same certificate, names that municipality, and its digest
is the SHA-256 of the printed items stored beside it, whose serial and date agree.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.path import ValidationPath

from jukinet.documents.certs import municipality_of
from jukinet.documents.signing import CATALOG_KEY
from jukinet.documents.token import CopyToken, parse_token
from jukinet.errors import InvalidInput

__all__ = ["Verdict", "verify_pdf"]


@dataclass(frozen=True, slots=True)
class Verdict:
    genuine: bool
    reason: str
    serial: str = ""
    issuer_code: str = ""
    issuer_name: str = ""
    issued_on: date | None = None
    names: tuple[str, ...] = field(default_factory=tuple)
    wide_area: bool = False
    token: CopyToken | None = None

    def line(self) -> str:
        """The verdict in one line, as the CLI prints it."""
        if not self.genuine:
            return f"NOT GENUINE: {self.reason}"
        return f"GENUINE: copy {self.serial} issued by {self.issuer_name} on {self.issued_on}"


class _NotGenuine(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def verify_pdf(
    data: bytes, network_ca: x509.Certificate, crls: list[x509.CertificateRevocationList]
) -> Verdict:
    """The verdict on the PDF ``data`` against ``network_ca`` and its ``crls``."""
    try:
        return _verify(data, network_ca, crls)
    except _NotGenuine as exc:
        return Verdict(False, exc.reason)


def _verify(
    data: bytes, network_ca: x509.Certificate, crls: list[x509.CertificateRevocationList]
) -> Verdict:
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
    except Exception:  # pyHanko raises many kinds on a broken file; each means the same
        raise _NotGenuine("The file is not a readable PDF.") from None
    if len(signatures) != 1:
        raise _NotGenuine(
            "The file holds no signature."
            if not signatures
            else "The file holds more than one signature; a copy carries exactly one."
        )
    signature = signatures[0]
    context = ValidationContext(
        trust_roots=[asn1_x509.Certificate.load(_der(network_ca))],
        crls=[
            asn1_crl.CertificateList.load(c.public_bytes(serialization.Encoding.DER)) for c in crls
        ],
        allow_fetching=False,
        revocation_mode="hard-fail",
    )
    try:
        status = validate_pdf_signature(signature, context)
    except Exception:  # a mangled signature value or dictionary: pyHanko cannot even judge it
        raise _NotGenuine("The signature in the file is damaged.") from None
    if not status.intact:
        raise _NotGenuine("The content of the file was changed after it was signed.")
    if not status.valid:
        raise _NotGenuine("The signature does not match the signed content.")
    if status.revoked:
        raise _NotGenuine("The certificate that signed it has been revoked.")
    if not status.trusted:
        raise _NotGenuine(
            "It was not signed under this network's CA, or the revocation list given is "
            "not this network's or out of date."
        )
    if status.coverage is not SignatureCoverageLevel.ENTIRE_FILE:
        raise _NotGenuine("Something was added to the file after it was signed.")
    if signature.docmdp_level is not MDPPerm.NO_CHANGES:
        raise _NotGenuine("It is not a certified copy (no certifying signature).")
    signer = x509.load_der_x509_certificate(status.signing_cert.dump())
    revocation = _revocation(status.validation_path, crls) if status.validation_path else "missing"
    if revocation == "revoked":
        raise _NotGenuine("The certificate that signed it has been revoked.")
    if revocation == "missing":
        raise _NotGenuine(
            "No current revocation list of this network's CAs was given, so whether the "
            "signer's certificate is revoked cannot be told."
        )
    holder = municipality_of(signer)
    if holder is None:
        raise _NotGenuine("It was not signed by a municipality's document certificate.")
    code, name = holder
    token, items = _stored(reader)
    public = signer.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey) or not token.verify(public):
        raise _NotGenuine("The token in the file was not signed by the issuing municipality.")
    if token.municipality != code:
        raise _NotGenuine("The token names another municipality than the one that signed it.")
    if hashlib.sha256(items).hexdigest() != token.digest:
        raise _NotGenuine("The token's digest is not that of the items the signature covers.")
    printed = _items(items)
    if (
        printed.get("交付番号") != token.serial
        or printed.get("交付市区町村") != code
        or printed.get("交付年月日") != token.issued_on.isoformat()
    ):
        raise _NotGenuine("The token and the printed items disagree on serial or date.")
    persons = printed.get("記載事項")
    names = (
        tuple(str(p.get("氏名", "")) for p in persons if isinstance(p, dict))
        if isinstance(persons, list)
        else ()
    )
    return Verdict(
        True,
        "The signature is valid, the file is unaltered, and the issuer's certificate is "
        "this network's and not revoked.",
        serial=token.serial,
        issuer_code=code,
        issuer_name=name,
        issued_on=token.issued_on,
        names=names,
        wide_area=printed.get("広域交付") is True,
        token=token,
    )


def _revocation(path: ValidationPath, crls: list[x509.CertificateRevocationList]) -> str | None:
    """Why a certificate of ``path`` fails on its issuer's CRLs, or None if none does.

    Checked here, not only by pyHanko: pyHanko judges revocation at the signing time
    the signer claims, so a certificate revoked after that time still passes, and it
    wants no CRL for a certificate that names no distribution point. A copy carries no
    time stamp, so its claimed time proves nothing: a revoked document key is refused
    outright, and without a current CRL of each issuer nothing is genuine."""
    chain = [x509.load_der_x509_certificate(c.dump()) for c in path]
    now = datetime.now(UTC)
    for issuer, cert in itertools.pairwise(chain):
        public = issuer.public_key()
        if not isinstance(public, _CRL_KEYS):
            return "missing"
        current = [
            crl
            for crl in crls
            if crl.issuer == issuer.subject
            and crl.is_signature_valid(public)
            and (crl.next_update_utc is None or crl.next_update_utc > now)
        ]
        if not current:
            return "missing"
        if any(c.get_revoked_certificate_by_serial_number(cert.serial_number) for c in current):
            return "revoked"
    return None


_CRL_KEYS = (ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey)


def _stored(reader: PdfFileReader) -> tuple[CopyToken, bytes]:
    try:
        entry = reader.root[CATALOG_KEY]
        text = entry["/Token"]
        items = entry["/Items"]
        if not isinstance(items, generic.StreamObject) or not isinstance(text, str):
            raise TypeError
        return parse_token(str(text)), items.data
    except (KeyError, TypeError, InvalidInput):
        raise _NotGenuine("The file carries no readable copy token.") from None


def stored_items(pdf: bytes) -> dict[str, object]:
    """The printed items a signed copy stores beside its token (what its digest covers),
    read without checking anything: ``verify_pdf`` says whether they are genuine."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf))
        return _items(_stored(reader)[1])
    except _NotGenuine as exc:
        raise InvalidInput(exc.reason) from None


def _items(data: bytes) -> dict[str, object]:
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _NotGenuine("The printed items stored in the file cannot be read.") from None
    if not isinstance(value, dict):
        raise _NotGenuine("The printed items stored in the file cannot be read.")
    return value
