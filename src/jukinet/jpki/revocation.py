"""Revocation of JPKI certificates: the reasons, and the CA's X.509 CRL (R15).

Each reason is one X.509 CRL reason code (RFC 5280 §5.3.1), so that any node reads
the reason from the CRL alone and names it in a sentence (docs/jpki.md, "Revocation"):

==================  ====================  ===========================================
reason              CRLReason             who revokes, which certificates
==================  ====================  ===========================================
card-lost           keyCompromise         the municipality: the card was lost
code-change         superseded            the municipality: the card updated for a
                                          resident code change; the CA itself when a
                                          new certificate of the same kind is issued
holder-request      (none: unspecified)   the municipality: the holder asked
identity-changed    affiliationChanged    the CA, on an identity update of name, date
                                          of birth, sex or address: signing only
move-out            privilegeWithdrawn    the CA, on a removal by move-out (signing
                                          only) or abroad / ex officio (both)
death               cessationOfOperation  the CA, on a removal by death: both
==================  ====================  ===========================================
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from jukinet.errors import CardCertificateRefused
from jukinet.jpki.ca import JpkiCA
from jukinet.jpki.validity import day_in_japan

__all__ = [
    "CRL_HOURS",
    "Reason",
    "Revoked",
    "build_crl",
    "check_crl",
    "crl_der",
    "load_crl",
    "reason_of",
]

CRL_HOURS = 48  # nextUpdate: a CRL is good for two days; the CA reissues it daily or on change


class Reason(StrEnum):
    CARD_LOST = "card-lost"
    CODE_CHANGE = "code-change"
    HOLDER_REQUEST = "holder-request"
    IDENTITY_CHANGED = "identity-changed"
    MOVE_OUT = "move-out"
    DEATH = "death"

    @property
    def phrase(self) -> str:
        """Why, as it ends a sentence: "… revoked on 2026-11-30 (the card was reported lost)"."""
        return _PHRASES[self]

    @property
    def x509(self) -> x509.ReasonFlags:
        return _FLAGS[self]


_PHRASES = {
    Reason.CARD_LOST: "the card was reported lost",
    Reason.CODE_CHANGE: "the card was updated for a resident code change or a newer "
    "certificate replaced it",
    Reason.HOLDER_REQUEST: "the holder asked for it",
    Reason.IDENTITY_CHANGED: "the holder's name, date of birth, sex or address changed",
    Reason.MOVE_OUT: "the holder moved out or their resident record was removed",
    Reason.DEATH: "the holder died",
}
_FLAGS = {
    Reason.CARD_LOST: x509.ReasonFlags.key_compromise,
    Reason.CODE_CHANGE: x509.ReasonFlags.superseded,
    Reason.HOLDER_REQUEST: x509.ReasonFlags.unspecified,
    Reason.IDENTITY_CHANGED: x509.ReasonFlags.affiliation_changed,
    Reason.MOVE_OUT: x509.ReasonFlags.privilege_withdrawn,
    Reason.DEATH: x509.ReasonFlags.cessation_of_operation,
}
_BY_FLAG = {flag: reason for reason, flag in _FLAGS.items()}


@dataclass(frozen=True, slots=True)
class Revoked:
    """One revoked certificate, as the CA's database and its CRL hold it."""

    serial: int
    revoked_at: datetime
    reason: Reason


def build_crl(
    ca: JpkiCA, revoked: Iterable[Revoked], number: int, this_update: datetime
) -> x509.CertificateRevocationList:
    """The CA's CRL number ``number``: every revoked certificate, signed with the CA key."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.cert.subject)
        .last_update(this_update)
        .next_update(this_update + timedelta(hours=CRL_HOURS))
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
    )
    for r in revoked:
        entry = x509.RevokedCertificateBuilder().serial_number(r.serial)
        entry = entry.revocation_date(r.revoked_at)
        if r.reason is not Reason.HOLDER_REQUEST:  # RFC 5280: omit the code, not "unspecified"
            entry = entry.add_extension(x509.CRLReason(r.reason.x509), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(ca.key, hashes.SHA256())


def load_crl(data: bytes) -> x509.CertificateRevocationList:
    """A CRL from DER or PEM bytes (CardCertificateRefused if it is neither)."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError:
        raise CardCertificateRefused("The revocation list (CRL) is not readable.") from None


def crl_der(crl: x509.CertificateRevocationList) -> bytes:
    return crl.public_bytes(serialization.Encoding.DER)


def check_crl(crl: x509.CertificateRevocationList, ca: x509.Certificate, at: datetime) -> None:
    """Refuse a CRL that is not the CA's, or that is too old to say anything about ``at``."""
    public = ca.public_key()
    if crl.issuer != ca.subject or not crl.is_signature_valid(public):  # type: ignore[arg-type]
        raise CardCertificateRefused(
            "The revocation list (CRL) is not signed by this network's JPKI CA."
        )
    next_update = crl.next_update_utc
    if next_update is None or next_update < at:
        when = (
            "has no next update"
            if next_update is None
            else f"expired on {day_in_japan(next_update)}"
        )
        raise CardCertificateRefused(
            f"The revocation list (CRL) {when}; fetch the current one (jukinet jpki crl)."
        )


def reason_of(entry: x509.RevokedCertificate) -> Reason:
    """The reason of a CRL entry (no reason code: the holder asked)."""
    try:
        flag = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    except x509.ExtensionNotFound:
        return Reason.HOLDER_REQUEST
    return _BY_FLAG.get(flag, Reason.HOLDER_REQUEST)
