"""``jukinet copy issue``: a signed copy of the resident record (住民票の写し) at the window,
for this municipality's own resident, or with ``--wide-area`` for another municipality's
(R20, ``copy_wide_area_cmd``) (docs/copies.md); ``jukinet document verify``: is a copy's
PDF genuine and unaltered (anyone, offline, with the network's CA and CRLs)."""

from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from jukinet.cli._common import OperatorOption, console, handle_errors, login, register, state

if TYPE_CHECKING:
    from jukinet.documents.signing import Renderer

app = typer.Typer(no_args_is_help=True, help="Copies of the resident record at the window.")
document_app = typer.Typer(no_args_is_help=True, help="Check a signed copy of the record.")


def _members(value: str | None) -> tuple[str, ...]:
    return tuple(c.strip() for c in value.split(",") if c.strip()) if value else ()


@app.command("issue")
@handle_errors
def issue(
    code: str = typer.Argument(..., help="The resident's code."),
    out: Path = typer.Option(..., "--out", help="The PDF to write (must not exist)."),
    household: bool = typer.Option(False, "--household", help="The whole household."),
    members: str | None = typer.Option(
        None, "--members", help="Some members of the household: their codes, comma-separated."
    ),
    with_code: bool = typer.Option(False, "--with-code", help="Print 住民票コード (R4)."),
    with_relationship: bool = typer.Option(
        False, "--with-relationship", help="Print 世帯主の氏名及び続柄."
    ),
    with_domicile: bool = typer.Option(False, "--with-domicile", help="Print 本籍・筆頭者."),
    wide_area: bool = typer.Option(
        False, "--wide-area", help="The person lives in another municipality (第12条の4, R20)."
    ),
    home: str = typer.Option(
        "", "--home", help="With --wide-area: the person's home municipality (its code)."
    ),
    verified_by: str = typer.Option(
        "", "--verified-by", help="With --wide-area: how identity was verified: card or licence."
    ),
    licence: str | None = typer.Option(
        None, "--licence", help="The driving licence's number (12 digits), as seen."
    ),
    applicant: str | None = typer.Option(
        None, "--applicant", help="The person verified, if not CODE (a household member)."
    ),
    reader: str | None = typer.Option(
        None, "--reader", help="The reader holding the person's card (PC/SC name)."
    ),
    operator: str | None = OperatorOption,
) -> None:
    """Issue a signed copy of a resident's record: built from the register (or, with
    --wide-area, from the home municipality's answer), rendered, certified with this
    municipality's document certificate, recorded and audited."""
    from jukinet import config
    from jukinet.documents.signing import DocumentSigner
    from jukinet.domain.copies import CopyOptions
    from jukinet.errors import InvalidInput
    from jukinet.nodes.municipality.copies import issue_copy, issuer_of

    if out.exists():
        raise InvalidInput(f"{out} exists already; name a new file.")
    if wide_area:
        from jukinet.cli.copy_wide_area_cmd import issue_wide_area_copy

        if not home:
            raise InvalidInput("Name the person's home municipality: --home LGCODE.")
        issue_wide_area_copy(
            code, home, verified_by, licence=licence, applicant=applicant, household=household,
            members=list(_members(members)), with_code=with_code,
            with_relationship=with_relationship, with_domicile=with_domicile, reader=reader,
            out=out, operator=operator, render=_renderer(),
        )  # fmt: skip
        return
    options = CopyOptions(
        household=household,
        members=_members(members),
        with_relationship=with_relationship,
        with_domicile=with_domicile,
        with_code=with_code,
    )
    cfg = config.load(state.home)
    signer = DocumentSigner.load(state.home)
    render = _renderer()
    with register() as store:
        session = login(store, operator)
        started = time.perf_counter()
        issued = issue_copy(
            store, session, signer, issuer_of(cfg, store), code, options, date.today(), render
        )
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(issued.pdf)
    copy = issued.copy
    names = "、".join(p.name.full for p in copy.persons)
    console.print(
        f"Copy {copy.serial} of {names} issued by {copy.issuer_name} on "
        f"{copy.issued_on.isoformat()}, signed ({time.perf_counter() - started:.2f} s).",
        markup=False,
    )
    console.print(f"  wrote {out}", markup=False)


def _renderer() -> Renderer:
    from jukinet.documents.render import render_copy

    return render_copy


@document_app.command("verify")
@handle_errors
def verify(
    file: Path = typer.Argument(..., help="The PDF of a copy."),
    ca: Path | None = typer.Option(
        None, "--ca", help="The network CA certificate (default: ca.pem in --home)."
    ),
    crl: list[Path] = typer.Option(
        [], "--crl", help="A CRL of the network (repeatable; default: the CRLs in --home)."
    ),
) -> None:
    """Is FILE a genuine, unaltered copy signed by a municipality of this network?
    Exit 0 if it is, 1 if not; shows only what is needed to compare it with the paper."""
    from jukinet.deploy.documents import crl_paths
    from jukinet.documents.certs import load_crls
    from jukinet.documents.verify import verify_pdf
    from jukinet.errors import InvalidInput
    from jukinet.network.pki import load_certificate

    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"Cannot read {file}: {exc.strerror}.") from None
    if ca is None and not (state.home / "ca.pem").exists():
        raise InvalidInput(
            "Give the network CA with --ca and its CRLs with --crl, or a node's home with "
            "--home (docs/flows.md, where a verifier finds the certificates)."
        )
    anchor = load_certificate(ca if ca is not None else state.home / "ca.pem")
    crls = load_crls(crl if crl else crl_paths(state.home))
    verdict = verify_pdf(data, anchor, crls)
    _audit_locally(file, verdict.genuine, verdict.line())
    console.print(verdict.line(), markup=False)
    if verdict.genuine:
        console.print(f"  serial       {verdict.serial}", markup=False)
        console.print(f"  issued by    {verdict.issuer_name} ({verdict.issuer_code})", markup=False)
        console.print(f"  issued on    {verdict.issued_on}", markup=False)
        console.print(f"  persons      {'、'.join(verdict.names)}", markup=False)
        console.print(f"  wide-area    {'yes' if verdict.wide_area else 'no'}", markup=False)
    else:
        raise typer.Exit(1)


def _audit_locally(file: Path, genuine: bool, line: str) -> None:
    """With a municipality's home (--home holding its node.toml), the check is audited."""
    from jukinet import config
    from jukinet.audit import log as audit

    if not (state.home / config.CONFIG_FILE).exists():
        return
    if config.load(state.home).kind != "municipality":
        return
    outcome = audit.Outcome.OK if genuine else audit.Outcome.REFUSED
    actor = f"local:{os.environ.get('USER', 'unknown')}"
    with register() as store, store.transaction() as tx:
        tx.audit(audit.Draft(actor, "copy.verify.file", file.name, outcome, line))
