"""Disclosure to a resident (R14; DESIGN.md flow 3; docs/flows.md, "Disclosure").

Every provision of the person's identity information at this node, newest first,
each with its leaf in the node's provision log and the leaf's inclusion proof against
the checkpoint signed in the same transaction, and the resident's key ``k_r`` to
their leaves (``jukinet.audit.provision_log``): with it and the published log the
resident, or anyone they give the answer to, checks that nothing was left out.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, cast

from sqlalchemy import Connection

from jukinet.audit import log as audit
from jukinet.audit import provision_log as fmt
from jukinet.audit.note import verifier_key
from jukinet.domain.legal import LegalTable
from jukinet.errors import DisclosureRefused, JukinetError
from jukinet.network.messages import DisclosureRequest, node_id
from jukinet.network.messages_disclosure import ProvenDisclosure, ProvenEntry
from jukinet.nodes.identity import provision_log
from jukinet.nodes.identity import provision_store as q
from jukinet.nodes.identity.card_proof import CardEvidence, check_card_proof
from jukinet.nodes.identity.store import IdentityStore
from jukinet.nodes.identity.tables import security_log

__all__ = ["catch_up", "disclosure", "export_log"]


def _basis_of(table: LegalTable) -> dict[str, str]:
    return {a.code: a.basis for r in table.recipients for a in r.affairs}


def catch_up(store: IdentityStore, conn: Connection, table: LegalTable) -> int:
    """Log the rows written before this node had a provision log (an upgraded node)."""
    basis = _basis_of(table)
    secret = store.disclosure_secret(conn)
    return provision_log.catch_up(conn, secret, lambda affair: basis.get(affair, ""))


def disclosure(
    store: IdentityStore,
    table: LegalTable,
    req: DisclosureRequest,
    municipality: str,
    card: CardEvidence | None = None,
    now: datetime | None = None,
) -> ProvenDisclosure:
    """Every provision of the person's identity information at this node, newest first.

    Only the municipality the person is a resident of now may ask (``origin`` of the
    identity, status resident). Anyone else gets the same ``DisclosureRefused``
    whether the code exists or not, so a refusal tells nothing about the code. The
    person is found by the code (current or retired), and their provisions by the
    person key, so provisions under an earlier code are listed too.

    A request ``verified_by`` the card is answered only if its proof holds against
    ``card`` (``card_proof.check_card_proof``), checked before the scope rule, which
    still applies: the card holder asks through their own municipality.
    """
    names = {r.code: r.name for r in table.recipients}
    clerk_node = node_id("municipality", municipality)
    target = req.resident_code
    name = fmt.origin(store.kind, store.code)
    try:
        with store.transaction() as conn:
            verified = f"clerk {req.clerk} (verified by {req.verified_by})"
            if req.verified_by == "card":
                if card is None:
                    raise DisclosureRefused("This node does not verify resident cards.")
                at = now or datetime.now(UTC)
                serial = check_card_proof(conn, req, municipality, store.node_id, card, at)
                verified = f"clerk {req.clerk} (verified by the card, certificate {serial:040x})"
            person = q.find(conn, req.resident_code)
            if person is None or q.resident_of(conn, person.person_key) != municipality:
                raise DisclosureRefused(
                    f"Municipality {municipality} may ask only about its own residents; "
                    "this resident code is not one of them."
                )
            rows = q.provisions_of(conn, person.person_key)
            if any(r.leaf is None for r in rows):
                catch_up(store, conn, table)
                rows = q.provisions_of(conn, person.person_key)
            signed = provision_log.checkpoint(conn, store.key, name)
            witnessed = provision_log.witnessed(conn, signed.size)
            consistency = [] if witnessed is None else provision_log.consistency(
                conn, witnessed.size, signed.size)  # fmt: skip
            entries = [
                ProvenEntry(
                    at=datetime.fromisoformat(r.at).astimezone(UTC),
                    node=r.node,
                    recipient=r.recipient,
                    recipient_name=names.get(r.recipient, r.recipient),
                    affair=r.affair,
                    function=cast(Literal["lookup", "search", "verify", "batch"], r.function),
                    fields=r.fields.split(",") if r.fields else [],
                    basis=r.basis or "",
                    index=int(r.leaf),
                    leaf=provision_log.leaf_of(r).decode(),
                    proof=[
                        base64.b64encode(h).decode()
                        for h in provision_log.inclusion(conn, int(r.leaf), signed.size)
                    ],
                )
                for r in rows
            ]
            k_r = fmt.resident_key(store.disclosure_secret(conn), person.person_key)
            detail = (
                f"{verified}: {len(entries)} provision(s) disclosed, "
                f"provision log checkpoint {signed.size}"
            )
            store.audit(conn, audit.Draft(clerk_node, "disclosure", target, detail=detail))
    except JukinetError as exc:
        security_log.warning(
            "refused disclosure to %s: %s [%s]", clerk_node, exc, exc.code,
            extra={"peer": clerk_node, "reason": exc.code},
        )  # fmt: skip
        store.refused(clerk_node, "disclosure", target, exc)
        raise
    return ProvenDisclosure(
        resident_code=req.resident_code,
        provisions=entries,
        node=store.node_id,
        resident_key=k_r.hex(),
        checkpoint=signed.full,
        verifier_key=verifier_key(name, store.key.public),
        witnessed="" if witnessed is None else witnessed.full,
        consistency=[base64.b64encode(h).decode() for h in consistency],
    )


def export_log(store: IdentityStore, table: LegalTable, out: Path, actor: str) -> int:
    """Publish the provision log: its leaf lines up to a checkpoint signed now, one a line,
    into ``out``; returns the checkpoint's size (docs/audit.md, "The provision log")."""
    with store.transaction() as conn:
        catch_up(store, conn, table)
        signed = provision_log.checkpoint(conn, store.key, fmt.origin(store.kind, store.code))
        detail = f"provision log of {signed.size} leaves to {out}"
        store.audit(conn, audit.Draft(actor, "provisions.export", "provision log", detail=detail))
    # The leaves up to a signed size never change: read them without holding the writers.
    with store.engine.connect() as conn, out.open("wb") as f:
        for line in provision_log.leaves(conn, signed.size):
            f.write(line + b"\n")
    return signed.size
