"""``jukinet copy issue CODE --wide-area --home LGCODE --verified-by card|licence``: a
copy of the record of another municipality's resident (広域交付, 第12条の4; R20).

The person says where they live; the clerk names that municipality (``--home``, its
local government code) and how the identity was verified: ``--verified-by licence
--licence NUMBER`` (a driving licence the clerk saw, its 12-digit number recorded) or
``--verified-by card --reader NAME`` (the person's card in the window's reader: mutual
authentication, the PIN at the PIN pad, JUKINET_CARD_PIN for scripts and tests, then
the card signs the request). ``CODE`` is whose record; ``--applicant`` the person
verified, when it is a household copy asked by another member of the household.

The home municipality answers without 本籍・筆頭者; this municipality's mayor certifies
the copy: it is rendered, signed with this municipality's document certificate and
recorded in the transaction that audits the issue (``nodes/municipality/wide_area``,
``nodes/municipality/copies``), and written to ``--out`` as the PDF.
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from jukinet.cli._common import console, login, register, state

if TYPE_CHECKING:
    from jukinet.documents.signing import Renderer

PIN_ENV = "JUKINET_CARD_PIN"


def issue_wide_area_copy(
    code: str,
    home: str,
    verified_by: str,
    *,
    licence: str | None,
    applicant: str | None,
    household: bool,
    members: list[str],
    with_code: bool,
    with_relationship: bool,
    with_domicile: bool,
    reader: str | None,
    out: Path,
    operator: str | None,
    render: Renderer,
) -> None:
    """The wide-area path of ``copy issue``: ask the home municipality, sign, write."""
    from jukinet import config
    from jukinet.card.pcsc import PcscReader
    from jukinet.cli._common import password_from_env_or_prompt
    from jukinet.documents.signing import DocumentSigner
    from jukinet.domain.copies import CopyOptions
    from jukinet.errors import InvalidInput
    from jukinet.nodes.municipality.card_keys import load_window
    from jukinet.nodes.municipality.copies import issuer_of, next_serial, sign_and_record
    from jukinet.nodes.municipality.wide_area import WideAreaCard, WindowAsk, issue_wide_area_then

    if verified_by not in ("card", "licence"):
        raise InvalidInput("--verified-by is card or licence.")
    person = (applicant or code).strip()
    ask = WindowAsk(
        home=home, applicant=person, verified_by=verified_by,  # type: ignore[arg-type]
        subject=code.strip(), whose="self" if person == code.strip() else "household",
        household=household, members=tuple(members), with_relationship=with_relationship,
        with_code=with_code, with_domicile=with_domicile, licence=licence,
    )  # fmt: skip
    options = CopyOptions(
        household=household, members=tuple(members), with_relationship=with_relationship,
        with_domicile=False, with_code=with_code, wide_area=True,
    )  # fmt: skip
    cfg = config.load(state.home)
    signer = DocumentSigner.load(state.home)
    today = date.today()
    started = time.perf_counter()
    with register() as store:
        session = login(store, operator)
        card = None
        if verified_by == "card":
            if not reader:
                raise InvalidInput("Name the reader holding the person's card (--reader).")
            pin = password_from_env_or_prompt(PIN_ENV, "PIN pad: the card's PIN (4 digits)")
            card = WideAreaCard(PcscReader(reader), pin, load_window(state.home, store.code))
        issuer = issuer_of(cfg, store)
        clerk = session.operator.username
        issued = asyncio.run(
            issue_wide_area_then(
                store, session, state.home, ask,
                lambda tx, copy: sign_and_record(tx, copy, signer, render, clerk=clerk,
                                                 subject=code.strip(), options=options),
                card, issuer=issuer, today=today,
                serial=lambda tx: next_serial(tx, today.year),
            )
        )  # fmt: skip
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(issued.pdf)
    copy = issued.copy
    console.print(
        f"Wide-area copy {copy.serial} issued by {copy.issuer_name} ({copy.mayor_title}) "
        f"from the register of municipality {copy.home_code}: {len(copy.persons)} person(s), "
        f"{copy.address}; signed ({time.perf_counter() - started:.2f} s).",
        markup=False,
    )
    for p in copy.persons:
        console.print("  " + ", ".join(f"{k} {v}" for k, v in p.items().items()), markup=False)
    if with_domicile:
        console.print("  本籍・筆頭者 are never printed on a wide-area copy (第12条の4).")
    console.print(f"  wrote {out}", markup=False)
