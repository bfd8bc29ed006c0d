"""``jukinet event``: the events a clerk records at the window.

Each command parses its options into one event, records it through the service
(one transaction, one audit entry) and prints the receipt.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import typer

from jukinet.cli._common import (
    OperatorOption,
    console,
    day,
    err_console,
    handle_errors,
    login,
    register,
)
from jukinet.cli.render import receipt_lines
from jukinet.domain import events as ev
from jukinet.domain.checks import parse_sex
from jukinet.domain.record import HEAD, Name
from jukinet.errors import InvalidInput
from jukinet.nodes.municipality import service
from jukinet.nodes.municipality.addresses import town_address
from jukinet.nodes.municipality.store import RegisterStore

app = typer.Typer(
    help="Record events at the window (clerks and supervisors).", no_args_is_help=True
)

Family = typer.Option(..., "--family-name", help="氏")
Given = typer.Option(..., "--given-name", help="名")
FamilyKana = typer.Option(..., "--family-kana", help="氏のふりがな (katakana)")
GivenKana = typer.Option(..., "--given-kana", help="名のふりがな (katakana)")
Notified = typer.Option(None, "--notified", help="Notification date (default: today).")
Rel = typer.Option([], "--rel", help="CODE=続柄, relationship to the head; repeatable.")
# Options shared by the two move-ins (and the move within): one definition, one help text.
SexOption = typer.Option(..., "--sex", help="male or female")
Born = typer.Option(..., "--born", help="Date of birth.")
Relationship = typer.Option(HEAD, "--relationship", help="続柄 (世帯主 for a new household).")
Domicile = typer.Option(..., "--domicile", help="本籍")
DomicileHead = typer.Option(..., "--domicile-head", help="筆頭者")
Town = typer.Option(..., "--town", help="町字 of the new address.")
Block = typer.Option(..., "--block", help="番地・号 of the new address.")
Building = typer.Option("", "--building", help="Building and room.")
JoinHousehold = typer.Option(None, "--join-household", help="Join this household instead.")


def _record(operator: str | None, kind: str, build: Callable[[RegisterStore], ev.Event]) -> None:
    """Log in, parse the options into an event, record it; a bad option is an audited refusal."""
    with register() as store:
        session = login(store, operator)
        with service.audited(store, session.actor, f"event.{kind}", "new"):
            event = build(store)
        receipt = service.record_event(store, session, event, date.today())
    for line in receipt_lines(receipt):
        console.print(line)
    if receipt.pool_warning:
        err_console.print(f"[yellow]warning:[/] {receipt.pool_warning}")


def _rels(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        code, sep, rel = item.partition("=")
        if not sep:
            raise InvalidInput(f"Write a relationship as CODE=続柄; got {item!r}.")
        out[code.strip()] = rel.strip()
    return out


def _today(value: str | None) -> date:
    return day(value, date.today())


@app.command("birth")
@handle_errors
def birth(
    parent: str = typer.Option(..., help="Resident code of a parent living here."),
    family_name: str = Family,
    given_name: str = Given,
    family_kana: str = FamilyKana,
    given_kana: str = GivenKana,
    sex: str = typer.Option(..., help="male or female"),
    born: str = typer.Option(..., help="Date of birth."),
    relationship: str = typer.Option("子", help="続柄 to the head."),
    notified: str | None = Notified,
    operator: str | None = OperatorOption,
) -> None:
    """出生: a child born to a resident joins the parent's household."""
    _record(
        operator,
        "birth",
        lambda _: ev.Birth(
            parent,
            Name(family_name, given_name, family_kana, given_kana),
            parse_sex(sex),
            day(born),
            _today(notified),
            relationship,
        ),
    )


def _move_in(
    *,
    abroad: bool,
    code: str | None,
    name: Name,
    sex: str,
    born: str,
    relationship: str,
    domicile: str,
    domicile_head: str,
    town: str,
    block: str,
    building: str,
    previous: str,
    issuer: str,
    moved: str,
    notified: str | None,
    join: int | None,
    operator: str | None,
) -> None:
    def build(store: RegisterStore) -> ev.Event:
        person = ev.NewPerson(
            name, day(born), parse_sex(sex), relationship, domicile, domicile_head, code or None
        )
        address = town_address(store, town, block, building)
        if abroad:
            return ev.MoveInFromAbroad(
                (person,), address, previous, day(moved), _today(notified), join
            )
        return ev.DomesticMoveIn(
            (person,), address, previous, issuer, day(moved), _today(notified), join
        )

    _record(operator, "move-in-abroad" if abroad else "move-in", build)


@app.command("move-in")
@handle_errors
def move_in(
    code: str = typer.Option(..., help="Resident code on the move-out certificate."),
    family_name: str = Family,
    given_name: str = Given,
    family_kana: str = FamilyKana,
    given_kana: str = GivenKana,
    sex: str = SexOption,
    born: str = Born,
    relationship: str = Relationship,
    domicile: str = Domicile,
    domicile_head: str = DomicileHead,
    town: str = Town,
    block: str = Block,
    building: str = Building,
    previous: str = typer.Option(..., help="The address moved from (前住所)."),
    issuer: str = typer.Option(..., help="Local government code of the certificate's issuer."),
    moved: str = typer.Option(..., help="Date of moving in."),
    notified: str | None = Notified,
    join_household: int | None = JoinHousehold,
    operator: str | None = OperatorOption,
) -> None:
    """転入: move-in from another municipality, on a paper move-out certificate."""
    _move_in(
        abroad=False, code=code, name=Name(family_name, given_name, family_kana, given_kana),
        sex=sex, born=born, relationship=relationship, domicile=domicile,
        domicile_head=domicile_head, town=town, block=block, building=building,
        previous=previous, issuer=issuer, moved=moved, notified=notified, join=join_household,
        operator=operator,
    )  # fmt: skip


@app.command("move-in-abroad")
@handle_errors
def move_in_abroad(
    family_name: str = Family,
    given_name: str = Given,
    family_kana: str = FamilyKana,
    given_kana: str = GivenKana,
    sex: str = SexOption,
    born: str = Born,
    relationship: str = Relationship,
    domicile: str = Domicile,
    domicile_head: str = DomicileHead,
    town: str = Town,
    block: str = Block,
    building: str = Building,
    previous: str = typer.Option(..., help="Where abroad the person lived."),
    moved: str = typer.Option(..., help="Date of arrival."),
    code: str | None = typer.Option(None, help="The code the person held before, if any."),
    notified: str | None = Notified,
    join_household: int | None = JoinHousehold,
    operator: str | None = OperatorOption,
) -> None:
    """国外転入: move-in from abroad (a new code from the pool unless one is held)."""
    _move_in(
        abroad=True, code=code, name=Name(family_name, given_name, family_kana, given_kana),
        sex=sex, born=born, relationship=relationship, domicile=domicile,
        domicile_head=domicile_head, town=town, block=block, building=building,
        previous=previous, issuer="", moved=moved, notified=notified, join=join_household,
        operator=operator,
    )  # fmt: skip


@app.command("move-within")
@handle_errors
def move_within(
    household: int = typer.Option(..., help="Household number."),
    town: str = Town,
    block: str = Block,
    building: str = Building,
    moved: str = typer.Option(..., help="Date of the move."),
    notified: str | None = Notified,
    operator: str | None = OperatorOption,
) -> None:
    """転居: a household moves within the municipality."""
    _record(
        operator,
        "move-within",
        lambda store: ev.MoveWithin(
            household, town_address(store, town, block, building), day(moved), _today(notified)
        ),
    )


@app.command("move-out")
@handle_errors
def move_out(
    codes: list[str] = typer.Argument(..., help="Resident codes of the persons leaving."),
    destination: str = typer.Option(..., help="転出先: where they move to."),
    abroad: bool = typer.Option(False, help="Moving abroad (国外転出)."),
    moved: str = typer.Option(..., help="(Planned) date of moving out."),
    new_head: str | None = typer.Option(None, help="New head if the head leaves."),
    notified: str | None = Notified,
    operator: str | None = OperatorOption,
) -> None:
    """転出 / 国外転出: persons leave the municipality; their records become 除票."""
    _record(
        operator,
        "move-out",
        lambda _: ev.MoveOut(
            tuple(codes), destination, abroad, day(moved), _today(notified), new_head
        ),
    )


@app.command("death")
@handle_errors
def death(
    code: str,
    died: str = typer.Option(..., help="Date of death."),
    new_head: str | None = typer.Option(None, help="New head if the head died."),
    notified: str | None = Notified,
    operator: str | None = OperatorOption,
) -> None:
    """死亡: the record is removed (kept as 除票)."""
    _record(operator, "death", lambda _: ev.Death(code, day(died), _today(notified), new_head))


@app.command("name-change")
@handle_errors
def name_change(
    code: str,
    family_name: str = Family,
    given_name: str = Given,
    family_kana: str = FamilyKana,
    given_kana: str = GivenKana,
    changed: str = typer.Option(..., help="Date of the change."),
    notified: str | None = Notified,
    operator: str | None = OperatorOption,
) -> None:
    """氏名の変更: a new name (e.g. after a family-register change)."""
    name = Name(family_name, given_name, family_kana, given_kana)
    _record(
        operator, "name-change", lambda _: ev.NameChange(code, name, day(changed), _today(notified))
    )


@app.command("household-split")
@handle_errors
def household_split(
    codes: list[str] = typer.Argument(..., help="Persons forming the new household."),
    new_head: str = typer.Option(..., help="Head of the new household."),
    rel: list[str] = Rel,
    split: str | None = typer.Option(None, help="Date (default today)."),
    notified: str | None = Notified,
    operator: str | None = OperatorOption,
) -> None:
    """世帯分離: some members form a new household at the same address."""
    _record(
        operator,
        "household-split",
        lambda _: ev.HouseholdSplit(
            tuple(codes), new_head, _rels(rel), _today(split), _today(notified)
        ),
    )


@app.command("household-merge")
@handle_errors
def household_merge(
    from_household: int = typer.Option(..., "--from", help="Household that joins."),
    into_household: int = typer.Option(..., "--into", help="Household it joins."),
    rel: list[str] = Rel,
    merged: str | None = typer.Option(None, help="Date (default today)."),
    notified: str | None = Notified,
    operator: str | None = OperatorOption,
) -> None:
    """世帯合併: every member of one household joins another at the same address."""
    _record(
        operator,
        "household-merge",
        lambda _: ev.HouseholdMerge(
            from_household, into_household, _rels(rel), _today(merged), _today(notified)
        ),
    )


@app.command("head-change")
@handle_errors
def head_change(
    household: int = typer.Option(...),
    new_head: str = typer.Option(...),
    rel: list[str] = Rel,
    changed: str | None = typer.Option(None, help="Date (default today)."),
    notified: str | None = Notified,
    operator: str | None = OperatorOption,
) -> None:
    """世帯主変更: another member becomes head; give every other member's new 続柄."""
    _record(
        operator,
        "head-change",
        lambda _: ev.HeadChange(household, new_head, _today(changed), _today(notified), _rels(rel)),
    )


@app.command("correct")
@handle_errors
def correct(
    code: str,
    field: str = typer.Option(..., help=f"One of: {', '.join(ev.CORRECTABLE_FIELDS)}."),
    value: str = typer.Option(...),
    reason: str = typer.Option(..., help="Why the record was wrong."),
    on: str | None = typer.Option(None, help="Date (default today)."),
    operator: str | None = OperatorOption,
) -> None:
    """職権修正: a supervisor corrects a field recorded wrongly."""
    _record(
        operator,
        "minor-correction",
        lambda _: ev.MinorCorrection(code, field, value, reason, _today(on)),
    )


@app.command("code-change")
@handle_errors
def code_change(
    code: str,
    on: str | None = typer.Option(None, help="Date (default today)."),
    operator: str | None = OperatorOption,
) -> None:
    """住民票コードの変更 (R6): a new random code; the old one is retired for good."""
    _record(operator, "code-change", lambda _: ev.CodeChange(code, _today(on), _today(on)))
