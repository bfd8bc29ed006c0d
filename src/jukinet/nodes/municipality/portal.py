"""The resident portal's use cases (docs/ui.md, "The resident portal"; R14, R15).

- ``sign_in``: the card's answer to the portal's challenge (``jpki.sign_in``) is checked
  against the JPKI CA and its current CRL, and the user-authentication certificate,
  which names no one, is mapped to the resident through this municipality's own record
  of the cards it issued (``cards.auth_serial``, an active card): the municipality issued
  the card, so it holds which certificate went to whom, as the national node does.
- ``identity``: the resident's record as this municipality holds it, with its history.
  No endpoint of the network serves a municipality the identity information that the
  prefecture or the national node hold (they answer agencies and the monitor only), so
  the portal shows the municipality's record, labelled as such.
- ``check_copy``: a copy of the resident record (its PDF) checked as
  ``jukinet document verify --home`` checks it: signed by a municipality of this
  network with a certificate neither revoked nor expired, the printed items unaltered.
- ``move_out_document`` / ``submit_move_out``: the online 付記転出届 (R21): the portal
  writes the document, the card signs it with its JPKI signing key (the signing
  password typed at the terminal goes to the card agent only), and the portal verifies
  the signature and that the certificate names the holder, then files the signed
  notification for the window, where a clerk records it with ``jukinet move-out
  receive FILE`` (``moving_online.receive``), as a notification that came by any
  other channel: the portal holds no operator session and records no event itself.
- ``disclosure``: every provision of the resident's identity information (R14), asked
  of the prefecture and the national node by this municipality as at the window, each
  node's answer checked with its inclusion proofs against its checkpoint and the
  witnesses' cosignatures (``audit.disclosure_check``), the keys from the directory.

Every step is one entry of the register's audit log, actor ``portal:<resident code>``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TypeVar

from cryptography import x509
from sqlalchemy import select

from jukinet import config
from jukinet.audit import disclosure_check as check
from jukinet.audit import log as audit
from jukinet.audit import provision_log
from jukinet.audit.note import verifier_key
from jukinet.documents import certs as document_certs
from jukinet.documents.verify import Verdict, verify_pdf
from jukinet.domain import moving
from jukinet.domain.codes import parse_resident_code
from jukinet.domain.record import ResidentRecord
from jukinet.errors import (
    CardCertificateRefused,
    ConfigurationError,
    InvalidInput,
    PortalSignInRefused,
    ResidentNotFound,
)
from jukinet.jpki import load_ca_certificate
from jukinet.jpki.revocation import check_crl
from jukinet.jpki.sign_in import SignInAnswer, verify_sign_in
from jukinet.network.messages_disclosure import DisclosureAnswer
from jukinet.network.pki import load_certificate
from jukinet.nodes.jpki_client import fetch_crl, saved_crl, verify_document
from jukinet.nodes.municipality import moving_online
from jukinet.nodes.municipality.disclosure import entries_of, fetch_answer
from jukinet.nodes.municipality.service import audited
from jukinet.nodes.municipality.store import RegisterStore, RegisterTx, Version
from jukinet.nodes.municipality.tables import cards
from jukinet.nodes.runtime import load_runtime

__all__ = [
    "CLERK",
    "PortalDisclosure",
    "SignedIn",
    "check_copy",
    "disclosure",
    "identity",
    "move_out_document",
    "sign_in",
    "submit_move_out",
]

CLERK = "resident-portal"  # who asks the identity nodes, as a clerk's name at the window
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SignedIn:
    resident_code: str
    name: str
    serial: str  # the user-authentication certificate's, 40 hex digits


@dataclass(frozen=True, slots=True)
class PortalDisclosure:
    answer: DisclosureAnswer
    checked: list[check.Checked]
    problems: list[str]


def actor(code: str) -> str:
    return f"portal:{code}"


def _audited(
    store: RegisterStore, who: str, operation: str, target: str,
    work: Callable[[RegisterTx], tuple[T, str, str]],
) -> T:  # fmt: skip
    """``work`` in one transaction, audited once (its refusal too), as ``service.run``
    does for an operator."""
    with audited(store, who, operation, target), store.transaction() as tx:
        result, final_target, detail = work(tx)
        tx.audit(audit.Draft(who, operation, final_target, audit.Outcome.OK, detail))
        return result


async def current_crl(home: Path) -> x509.CertificateRevocationList:
    """The CRL fetched last if still current, else a fresh one from the national node."""
    try:
        crl = saved_crl(home)
        check_crl(crl, load_ca_certificate(home), datetime.now(UTC))
    except (ConfigurationError, CardCertificateRefused):
        return await fetch_crl(home)
    return crl


def _resident(tx: RegisterTx, code: str) -> ResidentRecord:
    record = tx.record(parse_resident_code(code))
    if record is None:
        raise ResidentNotFound(f"No record of this municipality carries code {code}.")
    return record


def _holder(tx: RegisterTx, card_code: str) -> ResidentRecord | None:
    """The record of the card's holder: by the code the card was issued under, or, once
    that code was changed (R6), by the person who held the retired code."""
    code = parse_resident_code(card_code)
    record = tx.record(code)
    if record is None and (person := tx.retired_holder(code)) is not None:
        record = tx.record_by_person(person)
    return record


async def sign_in(
    store: RegisterStore, home: Path, answer: SignInAnswer, *, origin: str, challenge: bytes
) -> SignedIn:
    """The resident whose card signed ``challenge`` for ``origin``, or the one refusal
    (``CardSignInRefused``, ``CardCertificateRefused``, ``PortalSignInRefused``)."""
    ca = load_ca_certificate(home)
    crl = await current_crl(home)
    with audited(store, "portal:card", "portal.signin", "card"):
        signer = verify_sign_in(answer, origin=origin, challenge=challenge, ca=ca, crl=crl)
    serial = f"{signer.serial:040x}"

    def work(tx: RegisterTx) -> tuple[SignedIn, str, str]:
        row = tx.conn.execute(
            select(cards.c.resident_code).where(
                cards.c.auth_serial == serial, cards.c.state == "active"
            )
        ).first()
        record = _holder(tx, row.resident_code) if row else None
        if record is None or record.removal_reason is not None:
            raise PortalSignInRefused(
                "This card is not an active card of a resident of this municipality; sign "
                "in at the portal of the municipality where you live, or ask at its window."
            )
        signed = SignedIn(record.resident_code, record.name.full, serial)
        return signed, record.resident_code, f"signed in with the card, certificate {serial}"

    return _audited(store, "portal:card", "portal.signin", serial, work)


def identity(store: RegisterStore, code: str) -> tuple[ResidentRecord, list[Version]]:
    """The resident's record and every version of it, oldest first (an audited read)."""

    def work(tx: RegisterTx) -> tuple[tuple[ResidentRecord, list[Version]], str, str]:
        record = _resident(tx, code)
        versions = tx.history(record.person_id)
        return (record, versions), record.resident_code, f"{len(versions)} versions"

    return _audited(store, actor(code), "portal.identity", code, work)


def _trusted(cfg: config.NodeConfig, answer: DisclosureAnswer) -> tuple[
    dict[str, str], dict[str, list[str]]
]:  # fmt: skip
    """The nodes' provision-log keys and their witnesses' keys from the directory (as
    ``jukinet disclosure verify --home`` takes them)."""
    directory = load_runtime(cfg).directory
    keys: dict[str, str] = {}
    witnesses: dict[str, list[str]] = {}
    for one in answer.answers:
        witnesses[one.node] = check.cosigner_keys(one, directory.public_key)
        public = directory.public_key(one.node)
        if public is not None:
            kind, _, code = one.node.partition(":")
            keys[one.node] = verifier_key(provision_log.origin(kind, code), public)
    return keys, witnesses


async def disclosure(store: RegisterStore, home: Path, code: str) -> PortalDisclosure:
    """Every provision of the resident's identity information, with each node's answer
    checked (R14); audited as ``resident.disclosure`` is at the window."""
    cfg = config.load(home)
    who = actor(code)
    with audited(store, who, "portal.disclosure", code):
        with store.engine.connect() as conn:
            record = _resident(RegisterTx(conn, store), code)
        answer = await fetch_answer(cfg, record.resident_code, CLERK)
    keys, witnesses = _trusted(cfg, answer)
    checked, problems = check.check_answer(answer, None, keys, witnesses)

    def work(tx: RegisterTx) -> tuple[PortalDisclosure, str, str]:
        count = len(entries_of(answer))
        verdict = "verified" if not problems else f"{len(problems)} answer(s) do not verify"
        detail = f"{count} provisions disclosed (the resident's card sign-in); {verdict}"
        return PortalDisclosure(answer, checked, problems), record.resident_code, detail

    return _audited(store, who, "portal.disclosure", code, work)


def check_copy(store: RegisterStore, home: Path, code: str, name: str, data: bytes) -> Verdict:
    """Whether ``data`` is a genuine, unaltered copy of a resident record of this network
    (any municipality's); audited as ``copy.verify.file`` is, ok or refused."""
    crls = [p for p in (home / document_certs.CRL_FILE, home / "crl.pem") if p.exists()]
    verdict = verify_pdf(data, load_certificate(home / "ca.pem"), document_certs.load_crls(crls))
    outcome = audit.Outcome.OK if verdict.genuine else audit.Outcome.REFUSED
    with store.transaction() as tx:
        tx.audit(audit.Draft(actor(code), "portal.copy.verify", name[:80] or "copy", outcome,
                             verdict.line()))  # fmt: skip
    return verdict


ONLINE_MOVE_OUTS = "online-move-outs"  # in the node's home: signed notifications to record


def move_out_document(
    store: RegisterStore, code: str, destination_code: str, destination: str,
    planned_on: date, today: date,
) -> dict[str, object]:  # fmt: skip
    """The online 付記転出届 of the resident ``code`` alone, for the card to sign; the
    domain's refusal (dates, a move to this same municipality) before anything is signed."""
    n = moving.MoveNotification(code, (code,), destination_code.strip(), destination.strip(),
                                planned_on, today, "online", None)  # fmt: skip
    moving.check_notification(n, str(store.code), today)
    return moving_online.document(n, str(store.code))


async def submit_move_out(
    store: RegisterStore, home: Path, code: str, document: dict[str, object],
    signature: bytes, certificate: bytes,
) -> Path:  # fmt: skip
    """The signed notification verified (JPKI CA, current CRL, the certificate naming the
    holder) and filed for the window; audited ``portal.move-out``."""
    who = actor(code)
    with audited(store, who, "portal.move-out", code):
        if document.get("holder") != code:
            raise InvalidInput("A resident notifies their own move-out only.")
        await current_crl(home)
        signer = verify_document(home, moving_online.canonical(document), signature, certificate)
        with store.engine.connect() as conn:
            moving_online.holder_matches(RegisterTx(conn, store), signer, code)
    folder = home / ONLINE_MOVE_OUTS
    folder.mkdir(mode=0o700, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    path = folder / f"{stamp}-{code}.json"
    text = moving_online.signed_file(document, signature, certificate)

    def work(tx: RegisterTx) -> tuple[Path, str, str]:
        path.write_text(text, encoding="utf-8")
        return path, code, f"online move-out signed with the card, filed as {path.name}"

    return _audited(store, who, "portal.move-out", code, work)
