"""Copies of the resident record at the window (住民票の写し, docs/copies.md): the clerk
asks for a resident's copy, the municipality builds it from the register, renders it,
signs it with its document certificate, records it in ``issued_copies`` and audits it
(who, whose record, which options), all in one transaction.

``sign_and_record`` is the part a wide-area copy (R20) shares: it takes a built
``ResidentCopy`` however its persons were found.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date

from sqlalchemy import func, insert, select

from jukinet.audit import log as audit
from jukinet.config import NodeConfig
from jukinet.documents.signing import DocumentSigner, Renderer, sign_copy
from jukinet.documents.token import make_token
from jukinet.domain.access import Permission, Session
from jukinet.domain.codes import parse_resident_code
from jukinet.domain.copies import (
    CopyOptions,
    Issuer,
    ResidentCopy,
    build_copy,
    mayor_title_for,
)
from jukinet.errors import ResidentNotFound
from jukinet.nodes.municipality import service
from jukinet.nodes.municipality.store import RegisterStore, RegisterTx
from jukinet.nodes.municipality.tables import issued_copies

__all__ = ["IssuedCopy", "issue_copy", "issuer_of", "next_serial", "sign_and_record"]


@dataclass(frozen=True, slots=True)
class IssuedCopy:
    copy: ResidentCopy
    pdf: bytes
    token: str


def issuer_of(cfg: NodeConfig, store: RegisterStore) -> Issuer:
    """This municipality as the issuer of its copies (mayor from node.toml, R20)."""
    title = cfg.mayor_title or mayor_title_for(store.name)
    return Issuer(str(store.code), store.name, title, cfg.mayor_name)


def next_serial(tx: RegisterTx, year: int) -> str:
    """The next serial of ``year``: ``2026-000001``, ``2026-000002``, … (the primary key
    keeps them unique: two clerks racing for one, the second is refused, nothing kept)."""
    last = tx.conn.execute(
        select(func.max(issued_copies.c.serial)).where(issued_copies.c.serial.like(f"{year}-%"))
    ).scalar_one_or_none()
    number = int(str(last).split("-")[1]) + 1 if last else 1
    return f"{year}-{number:06d}"


def options_text(options: CopyOptions) -> str:
    return json.dumps(asdict(options), ensure_ascii=False, sort_keys=True)


def options_summary(options: CopyOptions) -> str:
    """The options as the audit entry names them."""
    asked = [name for name, value in asdict(options).items() if value and name != "members"]
    if options.members:
        asked.append(f"members {','.join(options.members)}")
    return ", ".join(asked) or "the person only, no optional item"


def sign_and_record(
    tx: RegisterTx,
    copy: ResidentCopy,
    signer: DocumentSigner,
    render: Renderer,
    *,
    clerk: str,
    subject: str,
    options: CopyOptions,
) -> IssuedCopy:
    """Token, rendering, signature, and the row in ``issued_copies``, inside ``tx``."""
    token = make_token(copy, signer.key)
    pdf = sign_copy(render(copy, token.text()), copy, token, signer)
    tx.conn.execute(
        insert(issued_copies).values(
            serial=copy.serial,
            issued_at=audit.now(),
            issued_on=copy.issued_on,
            clerk=clerk,
            subject_code=subject,
            digest=token.digest,
            options=options_text(options),
            wide_area=copy.wide_area,
            home_code=copy.home_code,
        )
    )
    return IssuedCopy(copy, pdf, token.text())


def issue_copy(
    store: RegisterStore,
    session: Session,
    signer: DocumentSigner,
    issuer: Issuer,
    code: str,
    options: CopyOptions,
    today: date,
    render: Renderer,
) -> IssuedCopy:
    """A signed copy of the record of this municipality's resident ``code`` (audited)."""

    def work(tx: RegisterTx) -> tuple[IssuedCopy, str, str]:
        record = tx.record(parse_resident_code(code))
        if record is None:
            raise ResidentNotFound(f"No record of this municipality carries code {code.strip()}.")
        household = tx.members(record.household_id)
        copy = build_copy(
            record,
            household,
            options,
            issuer=issuer,
            serial=next_serial(tx, today.year),
            issued_on=today,
        )
        issued = sign_and_record(
            tx,
            copy,
            signer,
            render,
            clerk=session.actor,
            subject=str(record.resident_code),
            options=options,
        )
        detail = f"copy {copy.serial}, {len(copy.persons)} person(s); {options_summary(options)}"
        return issued, str(record.resident_code), detail

    return service.run(store, session, Permission.READ_RECORD, "copy.issue", code.strip(), work)
