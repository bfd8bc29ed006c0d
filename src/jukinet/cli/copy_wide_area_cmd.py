"""``jukinet copy issue CODE --wide-area --home LGCODE --verified-by card|licence``: a
copy of the record of another municipality's resident (広域交付, 第12条の4; R20).

The person says where they live; the clerk names that municipality (``--home``, its
local government code) and how the identity was verified: ``--verified-by licence
--licence NUMBER`` (a driving licence the clerk saw, its 12-digit number recorded) or
``--verified-by card --reader NAME`` (the person's card in the window's reader: mutual
authentication, the PIN at the PIN pad, JUKINET_CARD_PIN for scripts and tests, then
the card signs the request). ``CODE`` is whose record; ``--applicant`` the person
verified, when it is a household copy asked by another member of the household.

The copy is written to ``--out``: a PDF (``jukinet.documents.render``), or its printed
items as JSON for an ``--out`` ending in ``.json``. Signing it is the document signer's,
which takes the same ``ResidentCopy`` (``jukinet.nodes.municipality.wide_area``).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from jukinet.cli._common import OperatorOption, console, login, register, state

if TYPE_CHECKING:
    from jukinet.domain.copies import ResidentCopy

PIN_ENV = "JUKINET_CARD_PIN"

app = typer.Typer(no_args_is_help=True, help="Copies of the resident record (住民票の写し).")


def wide_area(
    code: str,
    home: str,
    verified_by: str,
    *,
    licence: str | None = None,
    applicant: str | None = None,
    household: bool = False,
    members: list[str] | None = None,
    with_code: bool = False,
    with_relationship: bool = False,
    with_domicile: bool = False,
    reader: str | None = None,
    out: Path | None = None,
    operator: str | None = None,
) -> ResidentCopy:
    """The wide-area path of ``copy issue`` (the one call another ``copy issue`` joins)."""
    from jukinet.card.pcsc import PcscReader
    from jukinet.cli._common import password_from_env_or_prompt
    from jukinet.errors import InvalidInput
    from jukinet.nodes.municipality.card_keys import load_window
    from jukinet.nodes.municipality.wide_area import WideAreaCard, WindowAsk, issue_wide_area

    if verified_by not in ("card", "licence"):
        raise InvalidInput("--verified-by is card or licence.")
    if out is not None and out.exists():
        raise InvalidInput(f"{out} exists already; the copy is written to a new file.")
    person = (applicant or code).strip()
    ask = WindowAsk(
        home=home, applicant=person, verified_by=verified_by,  # type: ignore[arg-type]
        subject=code.strip(), whose="self" if person == code.strip() else "household",
        household=household, members=tuple(members or ()), with_relationship=with_relationship,
        with_code=with_code, with_domicile=with_domicile, licence=licence,
    )  # fmt: skip
    with register() as store:
        session = login(store, operator)
        card = None
        if verified_by == "card":
            if not reader:
                raise InvalidInput("Name the reader holding the person's card (--reader).")
            pin = password_from_env_or_prompt(PIN_ENV, "PIN pad: the card's PIN (4 digits)")
            card = WideAreaCard(PcscReader(reader), pin, load_window(state.home, store.code))
        copy = asyncio.run(issue_wide_area(store, session, state.home, ask, card))
    if out is not None:
        _write(copy, out)
    return copy


def _write(copy: ResidentCopy, out: Path) -> None:
    """The copy as a PDF (``--out X.pdf``; the QR code holds its serial and the digest of
    its printed items until the signed token takes its place) or as its printed items
    (``--out X.json``)."""
    from jukinet.documents.render import render_copy
    from jukinet.domain.copies import printed_digest

    if out.suffix.lower() == ".json":
        items = json.dumps(copy.printed_items(), ensure_ascii=False, indent=2)
        out.write_text(items + "\n", encoding="utf-8")
    else:
        out.write_bytes(render_copy(copy, f"{copy.serial} {printed_digest(copy)}"))


@app.command("issue")
def issue(
    code: str = typer.Argument(..., help="Whose record: the resident code."),
    wide_area_: bool = typer.Option(
        False, "--wide-area", help="The person lives in another municipality (第12条の4)."
    ),
    home: str = typer.Option(
        "", "--home", help="The person's home municipality: its local government code."
    ),
    verified_by: str = typer.Option(
        "", "--verified-by", help="How the identity was verified: card or licence."
    ),
    licence: str | None = typer.Option(
        None, "--licence", help="The driving licence's number (12 digits), as seen."
    ),
    applicant: str | None = typer.Option(
        None, "--applicant", help="The person verified, if not CODE (a household member)."
    ),
    household: bool = typer.Option(False, "--household", help="The whole household."),
    members: list[str] = typer.Option([], "--member", help="Some members (resident codes)."),
    with_code: bool = typer.Option(False, "--with-code", help="Print the resident codes."),
    with_relationship: bool = typer.Option(
        False, "--with-relationship", help="Print the head and the relationships."
    ),
    with_domicile: bool = typer.Option(
        False, "--with-domicile", help="Asked for 本籍・筆頭者 (never on a wide-area copy)."
    ),
    reader: str | None = typer.Option(
        None, "--reader", help="The reader holding the person's card (PC/SC name)."
    ),
    out: Path | None = typer.Option(None, "--out", help="Where to write the copy."),
    operator: str | None = OperatorOption,
) -> None:
    """Issue a copy of the resident record; --wide-area for another municipality's resident."""
    from jukinet.errors import InvalidInput

    if not wide_area_:
        raise InvalidInput(
            "This build issues wide-area copies only: add --wide-area --home LGCODE "
            "--verified-by card|licence."
        )
    if not home:
        raise InvalidInput("Name the person's home municipality: --home LGCODE.")
    copy = wide_area(
        code, home, verified_by, licence=licence, applicant=applicant, household=household,
        members=members, with_code=with_code, with_relationship=with_relationship,
        with_domicile=with_domicile, reader=reader, out=out, operator=operator,
    )  # fmt: skip
    console.print(
        f"Wide-area copy {copy.serial} issued by {copy.issuer_name} ({copy.mayor_title}) "
        f"from the register of municipality {copy.home_code}: {len(copy.persons)} person(s), "
        f"{copy.address}.",
        markup=False,
    )
    for person in copy.persons:
        console.print("  " + ", ".join(f"{k} {v}" for k, v in person.items().items()), markup=False)
    if with_domicile:
        console.print("  本籍・筆頭者 are never printed on a wide-area copy (第12条の4).")
    if out is not None:
        console.print(f"  wrote {out}", markup=False)
