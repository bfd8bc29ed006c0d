"""The issuing municipality's check of a copy's token (``POST /documents/verify``,
docs/copies.md): a QR code scanned from paper is asked about where the copy was issued.

The answer says whether this municipality issued a copy with that serial, on that
date, with that digest of the printed items, signed with its document key; and when
it recorded it. It names nothing the token does not already name (no person, R4).
Every check is audited, genuine or not, with the caller as the actor.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from jukinet.audit import log as audit
from jukinet.documents.certs import load_crls
from jukinet.documents.signing import DocumentSigner
from jukinet.documents.token import CopyToken, parse_token
from jukinet.errors import InvalidInput
from jukinet.network.copy_messages import TokenVerdict
from jukinet.nodes.municipality.store import RegisterStore, RegisterTx
from jukinet.nodes.municipality.tables import issued_copies

__all__ = ["check_token"]


def check_token(
    store: RegisterStore,
    signer: DocumentSigner,
    caller: str,
    text: str,
    crl: Path | None = None,
) -> TokenVerdict:
    """The verdict on ``text`` (a copy's token) asked by ``caller`` (a node id), audited.
    With ``crl`` (the document CA's, as the home holds it), a copy signed with this
    municipality's revoked document certificate is not confirmed."""
    revoked = crl is not None and crl.exists() and _revoked(signer, crl)
    with store.transaction() as tx:
        verdict = _verdict(tx, signer, text, revoked)
        target = f"copy {verdict.serial}" if verdict.serial else "copy (unreadable token)"
        outcome = audit.Outcome.OK if verdict.genuine else audit.Outcome.REFUSED
        tx.audit(audit.Draft(caller, "copy.verify", target, outcome, verdict.reason))
    return verdict


def _revoked(signer: DocumentSigner, crl: Path) -> bool:
    lists = load_crls([crl])
    return any(
        c.issuer == signer.cert.issuer
        and c.get_revoked_certificate_by_serial_number(signer.cert.serial_number) is not None
        for c in lists
    )


def _verdict(tx: RegisterTx, signer: DocumentSigner, text: str, revoked: bool) -> TokenVerdict:
    code = str(tx.municipality_code)
    try:
        token = parse_token(text)
    except InvalidInput as exc:
        return TokenVerdict(genuine=False, reason=exc.message, municipality=code)

    def no(reason: str) -> TokenVerdict:
        return TokenVerdict(genuine=False, reason=reason, municipality=code, serial=token.serial)

    if token.municipality != code:
        return no(f"The token names municipality {token.municipality}; ask that municipality.")
    if revoked:
        return no("This municipality's document certificate has been revoked.")
    public = signer.cert.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey) or not token.verify(public):
        return no("The token was not signed by this municipality.")
    row = tx.conn.execute(
        select(issued_copies).where(issued_copies.c.serial == token.serial)
    ).first()
    if row is None:
        return no(f"This municipality issued no copy numbered {token.serial}.")
    if not _matches(token, row.digest, row.issued_on):
        return no(f"Copy {token.serial} was issued with other contents or on another date.")
    return TokenVerdict(
        genuine=True,
        reason=f"This municipality issued copy {token.serial} with these printed items.",
        municipality=code,
        serial=token.serial,
        issued_on=row.issued_on,
        issued_at=row.issued_at,
        wide_area=row.wide_area,
    )


def _matches(token: CopyToken, digest: str, issued_on: object) -> bool:
    return token.digest == digest and token.issued_on == issued_on
