"""The online 付記転出届 (R21, R15): a JSON document signed with the card's JPKI signing key.

The resident makes it with ``jukinet card sign-move-out`` (the card signs through the
reader, with the signing password); the old municipality takes it with ``jukinet
move-out receive FILE``. The signature is verified against the network's JPKI CA and
its current CRL (fetched from the national node, or the one fetched last when the
national node cannot be reached), and the signing certificate must name the holder
the document names (their 基本4情報 as this register holds them). A forged or revoked
signature is refused, audited, and nothing changes.

The file::

    {"document": {...}, "signature": "<base64>", "certificate": "<base64 DER>"}

where the signature is over the document's canonical JSON (``canonical``).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from datetime import date
from pathlib import Path
from typing import Any

from jukinet.domain import moving
from jukinet.domain.access import Session
from jukinet.domain.codes import parse_resident_code
from jukinet.errors import CardCertificateRefused, InvalidInput, JukinetError
from jukinet.jpki.verify import Signer
from jukinet.nodes.jpki_client import fetch_crl, verify_document
from jukinet.nodes.municipality.moving_out import PlannedMove, notify
from jukinet.nodes.municipality.service import audited
from jukinet.nodes.municipality.store import RegisterStore, RegisterTx

__all__ = ["DOCUMENT_TYPE", "canonical", "document", "receive", "signed_file"]

log = logging.getLogger("jukinet.moving")

DOCUMENT_TYPE = "jukinet-move-out/1"
_FIELDS = ("type", "origin", "holder", "persons", "destination_code", "destination",
           "planned_on", "notified_on", "new_head")  # fmt: skip


def document(n: moving.MoveNotification, origin: str) -> dict[str, Any]:
    """The online notification of ``n`` to the municipality ``origin``, before signing."""
    return {
        "type": DOCUMENT_TYPE, "origin": origin, "holder": n.holder,
        "persons": list(n.persons), "destination_code": n.destination_code,
        "destination": n.destination, "planned_on": n.planned_on.isoformat(),
        "notified_on": n.notified_on.isoformat(), "new_head": n.new_head,
    }  # fmt: skip


def canonical(doc: dict[str, Any]) -> bytes:
    """The bytes the card signs: sorted keys, no spaces, UTF-8."""
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def signed_file(doc: dict[str, Any], signature: bytes, certificate: bytes) -> str:
    return json.dumps(
        {"document": doc, "signature": base64.b64encode(signature).decode(),
         "certificate": base64.b64encode(certificate).decode()},
        ensure_ascii=False, indent=2,
    )  # fmt: skip


def _parse(text: str) -> tuple[dict[str, Any], bytes, bytes]:
    bad = InvalidInput(
        "The file is not an online move-out notification (a JSON document with its "
        "signature and signing certificate, made by `jukinet card sign-move-out`)."
    )
    try:
        outer = json.loads(text)
        doc, sig, cert = outer["document"], outer["signature"], outer["certificate"]
        if (
            not isinstance(doc, dict)
            or set(doc) != set(_FIELDS)
            or set(outer) != {"document", "signature", "certificate"}
        ):
            raise bad
        if doc["type"] != DOCUMENT_TYPE:
            raise bad
        return doc, base64.b64decode(sig, validate=True), base64.b64decode(cert, validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise bad from None


def _notification(doc: dict[str, Any]) -> moving.MoveNotification:
    try:
        persons = doc["persons"]
        if not isinstance(persons, list) or not all(isinstance(p, str) for p in persons):
            raise TypeError
        return moving.MoveNotification(
            str(doc["holder"]), tuple(persons), str(doc["destination_code"]),
            str(doc["destination"]), date.fromisoformat(doc["planned_on"]),
            date.fromisoformat(doc["notified_on"]), "online",
            None if doc["new_head"] is None else str(doc["new_head"]),
        )  # fmt: skip
    except (ValueError, TypeError):
        raise InvalidInput(
            "The online notification carries a field that is not readable."
        ) from None


def holder_matches(tx: RegisterTx, signer: Signer, holder: str) -> None:
    """CardCertificateRefused unless the signing certificate names ``holder`` as this
    register holds them (the portal's online move-out checks it too)."""
    record = tx.record(parse_resident_code(holder))
    held = signer.holder
    if (
        record is None
        or held is None
        or (held.name, held.date_of_birth, held.sex, held.address)
        != (record.name.full, record.date_of_birth, record.sex, record.address.text)
    ):
        raise CardCertificateRefused(
            f"The notification was signed with a certificate that does not name the holder "
            f"{holder} as this register holds them; only the holder signs their own."
        )


async def receive(
    store: RegisterStore, session: Session, home: Path, text: str, today: date
) -> PlannedMove:
    """Verify an online 付記転出届 and record it as ``moving_out.notify`` does."""
    with audited(store, session.actor, "move-out.notify", "online notification"):
        doc, signature, certificate = _parse(text)
        if doc["origin"] != store.code:
            raise InvalidInput(
                f"The notification is addressed to municipality {doc['origin']}, not to "
                f"{store.code}: a move-out is notified to the municipality moved from."
            )
        notification = _notification(doc)
        try:
            await fetch_crl(home)
        except JukinetError as exc:  # verify with the CRL fetched last (it must be current)
            log.warning("could not fetch the JPKI CRL (%s); using the one saved", exc)
        signer = verify_document(home, canonical(doc), signature, certificate)
        with store.engine.connect() as conn:
            holder_matches(RegisterTx(conn, store), signer, notification.holder)
    return notify(store, session, notification, today, signed=text)
