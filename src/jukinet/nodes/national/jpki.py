"""The JPKI certification authority at the national node, J-LIS's role (R15, docs/jpki.md).

A municipality has the card keys of one of its own current residents certified
(``certify``) and revokes their certificates (``revoke``); any member reads the CA's
current CRL (``current_crl``). Each is one short transaction and one audit entry; a
refusal changes nothing and leaves one refusal entry. The holder's 基本4情報 come from
the national identity record, never from the request. A municipality asking about a
code that is not its current resident's gets one refusal, the same whether the code
exists or not.
"""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

from cryptography.hazmat.primitives import serialization
from sqlalchemy import Connection

from jukinet import config
from jukinet.audit import log as audit
from jukinet.errors import CertificationRefused, ConfigurationError, JukinetError
from jukinet.jpki import (
    Holder,
    JpkiCA,
    Kind,
    Reason,
    build_crl,
    card_public_key,
    crl_der,
    issue_authentication,
    issue_signing,
    load_ca,
)
from jukinet.jpki.holder import Sex
from jukinet.jpki.validity import day_in_japan
from jukinet.network.endpoints import Member
from jukinet.network.messages import (
    JpkiCertificates,
    JpkiCertifyRequest,
    JpkiCrl,
    JpkiRevoked,
    JpkiRevokeRequest,
    JpkiRevokeResponse,
)
from jukinet.nodes.identity.store import IdentityStore
from jukinet.nodes.national import jpki_store as q

__all__ = ["CRL_REISSUE", "certify", "current_crl", "load_authority", "revoke"]

security_log = logging.getLogger("jukinet.security")

CRL_REISSUE = timedelta(hours=24)  # a CRL this old is replaced by a new one when asked for


def load_authority(home: Path) -> JpkiCA | None:
    """The JPKI CA in the national node's home (``network init`` puts it there), or None."""
    if not (home / config.JPKI_CA_KEY_FILE).exists():
        return None
    return load_ca(home)


def _authority(ca: JpkiCA | None) -> JpkiCA:
    if ca is None:
        raise ConfigurationError(
            f"The national node holds no JPKI CA key ({config.JPKI_CA_KEY_FILE} in its home); "
            "a network made by `jukinet network init` has one."
        )
    return ca


def _now() -> datetime:
    return datetime.now(UTC)


def _b64(der: bytes) -> str:
    return base64.b64encode(der).decode("ascii")


def _own_resident(conn: Connection, caller: Member, code: str) -> q.Held:
    held = q.held_identity(conn, code)
    if (
        caller.role != "municipality"
        or held is None
        or held.status != "resident"
        or held.origin != caller.code
    ):
        raise CertificationRefused(
            f"{caller.node_id} may have the JPKI certificates of its own residents issued or "
            "revoked only; this resident code is not one of them."
        )
    return held


def _refused(
    store: IdentityStore, actor: str, operation: str, target: str, exc: JukinetError
) -> None:
    security_log.warning("refused %s by %s: %s [%s]", operation, actor, exc, exc.code)
    store.refused(actor, operation, target, exc)


def certify(
    store: IdentityStore,
    ca: JpkiCA | None,
    caller: Member,
    req: JpkiCertifyRequest,
    now: datetime | None = None,
) -> JpkiCertificates:
    """Issue the user-authentication certificate (and the signing one, if its key is given)
    to a card's keys; any still-valid certificate of the same kind is revoked as replaced."""
    actor, target = caller.node_id, req.resident_code
    try:
        authority = _authority(ca)
        auth_key = card_public_key(base64.b64decode(req.authentication_key))
        signing_key = (
            card_public_key(base64.b64decode(req.signing_key)) if req.signing_key else None
        )
        if signing_key is not None and signing_key == auth_key:
            raise CertificationRefused(
                "The authentication key and the signing key are the same key; a card has two."
            )
        at = now or _now()
        with store.transaction() as conn:
            held = _own_resident(conn, caller, req.resident_code)
            holder = Holder(held.name, held.date_of_birth, cast(Sex, held.sex), held.address)
            issued = [
                (
                    Kind.AUTHENTICATION,
                    issue_authentication(authority, auth_key, held.date_of_birth, at),
                )
            ]
            if signing_key is not None:
                issued.append((Kind.SIGNING, issue_signing(authority, signing_key, holder, at)))
            replaced = q.active_certificates(conn, held.person_key, [k for k, _ in issued], at)
            for old in replaced:
                q.record_revocation(
                    conn, old.serial, at, Reason.CODE_CHANGE, actor, "replaced by a new certificate"
                )
            for kind, cert in issued:
                q.record_certificate(
                    conn, serial=cert.serial_number, kind=kind, held=held, municipality=caller.code,
                    issued_at=at, not_after=cert.not_valid_after_utc,
                    der=cert.public_bytes(serialization.Encoding.DER),
                )  # fmt: skip
            detail = ", ".join(f"{k} {q.serial_hex(c.serial_number)}" for k, c in issued)
            detail += f" until {day_in_japan(issued[0][1].not_valid_after_utc)}"
            if replaced:
                detail += "; replaced " + ", ".join(f"{o.kind} {o.serial}" for o in replaced)
            store.audit(conn, audit.Draft(actor, "jpki.certify", target, detail=detail))
    except JukinetError as exc:
        _refused(store, actor, "jpki.certify", target, exc)
        raise
    der = {k: _b64(c.public_bytes(serialization.Encoding.DER)) for k, c in issued}
    return JpkiCertificates(authentication=der[Kind.AUTHENTICATION], signing=der.get(Kind.SIGNING))


def revoke(
    store: IdentityStore, caller: Member, req: JpkiRevokeRequest, now: datetime | None = None
) -> JpkiRevokeResponse:
    """Revoke the resident's valid certificates of ``req.kinds`` (or the one ``serial``)."""
    actor, target = caller.node_id, req.resident_code
    reason = Reason(req.reason)
    try:
        at = now or _now()
        with store.transaction() as conn:
            held = _own_resident(conn, caller, req.resident_code)
            active = q.active_certificates(conn, held.person_key, [Kind(k) for k in req.kinds], at)
            if req.serial is not None:
                active = [c for c in active if c.serial == req.serial]
                if not active:
                    raise CertificationRefused(
                        f"Certificate {req.serial} is not a valid certificate of this resident."
                    )
            for cert in active:
                q.record_revocation(conn, cert.serial, at, reason, actor, f"asked by {actor}")
            listed = ", ".join(f"{c.kind} {c.serial}" for c in active) or "nothing valid to revoke"
            store.audit(
                conn, audit.Draft(actor, "jpki.revoke", target, detail=f"{reason}: {listed}")
            )
    except JukinetError as exc:
        _refused(store, actor, "jpki.revoke", target, exc)
        raise
    return JpkiRevokeResponse(
        revoked=[
            JpkiRevoked(serial=c.serial, kind=c.kind.value, revoked_at=at, reason=reason.value)
            for c in active
        ]
    )


def _fresh(latest: q.LatestCrl | None, revocations: int, at: datetime) -> bool:
    return (
        latest is not None
        and latest.revocations == revocations
        and at - latest.this_update < CRL_REISSUE
    )


def current_crl(store: IdentityStore, ca: JpkiCA | None, now: datetime | None = None) -> JpkiCrl:
    """The newest CRL; a new one is signed (and audited) when a revocation came after
    the newest or it is a day old (it is good for two: ``jpki.revocation.CRL_HOURS``)."""
    at = now or _now()
    with store.engine.connect() as conn:  # a plain read first: most requests end here
        latest, count = q.latest_crl(conn), q.revocation_count(conn)
    if _fresh(latest, count, at) and latest is not None:
        return JpkiCrl(crl=_b64(latest.der))
    authority = _authority(ca)
    with store.transaction() as conn:
        latest, count = q.latest_crl(conn), q.revocation_count(conn)
        if not (_fresh(latest, count, at) and latest is not None):  # not reissued meanwhile
            number = latest.number + 1 if latest is not None else 1
            revoked = q.revoked_for_crl(conn, at)
            crl = build_crl(authority, revoked, number, at)
            der = crl_der(crl)
            next_update = cast(datetime, crl.next_update_utc)
            q.record_crl(conn, number, at, next_update, count, der)
            detail = f"{len(revoked)} revoked; next update {next_update.isoformat()}"
            store.audit(
                conn, audit.Draft(store.node_id, "jpki.crl", f"CRL {number}", detail=detail)
            )
            latest = q.LatestCrl(number, at, count, der)
    return JpkiCrl(crl=_b64(latest.der))
