"""The window's pages. Each calls the service function the CLI's command calls
(``service.show_resident``/``resident_history``/``show_household`` as ``jukinet resident``
and ``household``, ``service.record_event`` as ``jukinet event birth/move-in/move-out/death``,
``copies.issue_copy`` as ``jukinet copy issue``, ``operator_trail`` with the permission of
``jukinet audit show``), so each read and write leaves the CLI's audit entry; a
refusal is the domain's own sentence, next to the field it concerns (``fields.py``)."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from jukinet.domain import events as ev
from jukinet.domain.checks import parse_date, parse_sex
from jukinet.domain.copies import CopyOptions
from jukinet.domain.reasons import reason
from jukinet.domain.record import HEAD, Name
from jukinet.errors import AccessDenied, InvalidInput, JukinetError
from jukinet.nodes.municipality import service
from jukinet.nodes.municipality.addresses import town_address
from jukinet.nodes.municipality.copies import IssuedCopy, issue_copy
from jukinet.nodes.municipality.copy_preview import preview_copy
from jukinet.nodes.municipality.operator_trail import operator_trail
from jukinet.nodes.municipality.resident_search import find_residents
from jukinet.web.common.app import page
from jukinet.web.window.app import Window, clerk_of
from jukinet.web.window.fields import BIRTH_FIELDS, MOVE_IN_FIELDS, field_of


def router(window: Window) -> APIRouter:
    api = APIRouter()
    store = window.store

    @api.get("/")
    async def find(request: Request, code: str = "", name: str = "", born: str = "") -> Response:
        session = clerk_of(window, request)
        context: dict[str, Any] = {"code": code, "name": name, "born": born}
        if code.strip():
            return RedirectResponse(f"/resident/{quote(code.strip(), safe='')}", status_code=303)
        if not (name.strip() or born.strip()):
            return page(request, "find.html", **context)
        try:
            if not name.strip():
                raise InvalidInput("Type the name to search for.")
            try:
                day = parse_date(born.strip())
            except JukinetError as exc:
                context["errors"] = {"born": str(exc)}
                return page(request, "find.html", status=422, **context)
            found = await asyncio.to_thread(find_residents, store, session, name, day)
        except JukinetError as exc:
            context["errors"] = {"name": str(exc)}
            return page(request, "find.html", status=422, **context)
        return page(request, "find.html", found=found, **context)

    @api.get("/resident/{code}")
    async def resident(
        request: Request,
        code: str,
        born: str = "",
        moved: str = "",
        died: str = "",
        arrived: str = "",
    ) -> Response:
        session = clerk_of(window, request)
        try:
            record = await asyncio.to_thread(service.show_resident, store, session, code)
            versions = await asyncio.to_thread(service.resident_history, store, session, code)
            household = await asyncio.to_thread(
                service.show_household, store, session, record.household_id
            )
        except JukinetError as exc:
            return page(request, "find.html", status=404, code=code, name="", born="",
                        errors={"code": str(exc)})  # fmt: skip
        return page(request, "resident.html", record=record, versions=versions,
                    household=household, born_event=born, moved_event=moved,
                    died_event=died, arrived_event=arrived,
                    reason_name=lambda c: reason(c).name_ja)  # fmt: skip

    @api.get("/birth")
    async def birth_form(request: Request, parent: str = "") -> Response:
        clerk_of(window, request)
        values = {f: "" for f in BIRTH_FIELDS} | {"parent": parent, "relationship": "子"}
        return page(request, "birth.html", values=values, errors={}, focus="")

    @api.post("/birth")
    async def birth(
        request: Request, parent: str = Form(""), family_name: str = Form(""),
        given_name: str = Form(""), family_kana: str = Form(""), given_kana: str = Form(""),
        sex: str = Form(""), born: str = Form(""), relationship: str = Form("子"),
        notified: str = Form(""),
    ) -> Response:  # fmt: skip
        session = clerk_of(window, request)
        values = {"parent": parent, "family_name": family_name, "given_name": given_name,
                  "family_kana": family_kana, "given_kana": given_kana, "sex": sex,
                  "born": born, "relationship": relationship, "notified": notified}  # fmt: skip

        parsing: list[str] = []  # the field being parsed when parsing stopped

        def build() -> ev.Event:
            parsing[:] = ["sex"]
            chosen_sex = parse_sex(sex)
            parsing[:] = ["born"]
            day = parse_date(born.strip())
            parsing[:] = ["notified"]
            on = parse_date(notified.strip()) if notified.strip() else date.today()
            parsing.clear()
            name = Name(family_name.strip(), given_name.strip(), family_kana.strip(),
                        given_kana.strip())  # fmt: skip
            return ev.Birth(parent.strip(), name, chosen_sex, day, on, relationship.strip())

        def record() -> service.Receipt:
            # As ``jukinet event birth``: a form that does not parse is an audited refusal.
            with service.audited(store, session.actor, "event.birth", "new"):
                event = build()
            return service.record_event(store, session, event, date.today())

        try:
            receipt = await asyncio.to_thread(record)
        except JukinetError as exc:
            field = parsing[0] if parsing else field_of(exc)
            errors = {field or "form": str(exc)}
            return page(
                request, "birth.html", status=422, values=values, errors=errors, focus=field or ""
            )  # the refused field has the focus
        child = receipt.records[0]
        return RedirectResponse(
            f"/resident/{parent.strip()}?born={receipt.event_id}#household-{child.household_id}",
            status_code=303,
        )

    def _options(household: str, relationship: str, domicile: str, with_code: str) -> CopyOptions:
        return CopyOptions(household=bool(household), with_relationship=bool(relationship),
                           with_domicile=bool(domicile), with_code=bool(with_code))  # fmt: skip

    @api.get("/resident/{code}/copy")
    async def copy_preview(
        request: Request, code: str, household: str = "", relationship: str = "",
        domicile: str = "", with_code: str = "",
    ) -> Response:  # fmt: skip
        session = clerk_of(window, request)
        options = _options(household, relationship, domicile, with_code)
        try:
            copy = await asyncio.to_thread(
                preview_copy, store, session, window.issuer, code, options, date.today()
            )
        except JukinetError as exc:
            return page(request, "find.html", status=404, code=code, name="", born="",
                        errors={"code": str(exc)})  # fmt: skip
        return page(request, "copy.html", code=code, copy=copy, options=options)

    @api.post("/resident/{code}/copy")
    async def copy_issue(
        request: Request, code: str, household: str = Form(""), relationship: str = Form(""),
        domicile: str = Form(""), with_code: str = Form(""),
    ) -> Response:  # fmt: skip
        session = clerk_of(window, request)
        options = _options(household, relationship, domicile, with_code)

        def issue() -> IssuedCopy:
            # In the worker thread: the first copy loads the signer (pyHanko) there.
            from jukinet.documents.render import render_copy

            return issue_copy(store, session, window.signer(), window.issuer, code, options,
                              date.today(), render_copy)  # fmt: skip

        try:
            issued = await asyncio.to_thread(issue)
        except JukinetError as exc:
            return page(request, "find.html", status=422, code=code, name="", born="",
                        errors={"code": str(exc)})  # fmt: skip
        filename = f"juminhyo-{issued.copy.serial}.pdf"
        return Response(
            issued.pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    async def move_out_page(
        request: Request, code: str, values: dict[str, Any], errors: dict[str, str],
        status: int = 200,
    ) -> Response:  # fmt: skip
        session = clerk_of(window, request)
        record = await asyncio.to_thread(service.show_resident, store, session, code)
        household = await asyncio.to_thread(
            service.show_household, store, session, record.household_id
        )
        return page(request, "move_out.html", status=status, record=record,
                    household=household, values=values, errors=errors,
                    focus=next(iter(errors), ""))  # fmt: skip

    @api.get("/resident/{code}/move-out")
    async def move_out_form(request: Request, code: str) -> Response:
        values = {"persons": [code.strip()], "destination": "", "abroad": "", "moved": "",
                  "new_head": "", "notified": ""}  # fmt: skip
        try:
            return await move_out_page(request, code, values, {})
        except JukinetError as exc:
            return page(request, "find.html", status=404, code=code, name="", born="",
                        errors={"code": str(exc)})  # fmt: skip

    @api.post("/resident/{code}/move-out")
    async def move_out(
        request: Request, code: str, persons: list[str] = Form([]),
        destination: str = Form(""), abroad: str = Form(""), moved: str = Form(""),
        new_head: str = Form(""), notified: str = Form(""),
    ) -> Response:  # fmt: skip
        session = clerk_of(window, request)
        values = {"persons": persons, "destination": destination, "abroad": abroad,
                  "moved": moved, "new_head": new_head, "notified": notified}  # fmt: skip
        parsing: list[str] = []

        def build() -> ev.Event:
            parsing[:] = ["moved"]
            on = parse_date(moved.strip())
            parsing[:] = ["notified"]
            told = parse_date(notified.strip()) if notified.strip() else date.today()
            parsing.clear()
            head = new_head.strip() or None
            return ev.MoveOut(tuple(persons), destination, bool(abroad), on, told, head)

        def record() -> service.Receipt:
            # As ``jukinet event move-out``: a form that does not parse is an audited refusal.
            with service.audited(store, session.actor, "event.move-out", "new"):
                event = build()
            return service.record_event(store, session, event, date.today())

        try:
            receipt = await asyncio.to_thread(record)
        except JukinetError as exc:
            field = parsing[0] if parsing else field_of(exc, "move-out")
            return await move_out_page(request, code, values, {field or "form": str(exc)},
                                       status=422)  # fmt: skip
        return RedirectResponse(f"/resident/{code.strip()}?moved={receipt.event_id}",
                                status_code=303)  # fmt: skip

    async def death_page(
        request: Request, code: str, values: dict[str, str], errors: dict[str, str],
        status: int = 200,
    ) -> Response:  # fmt: skip
        session = clerk_of(window, request)
        record = await asyncio.to_thread(service.show_resident, store, session, code)
        household = await asyncio.to_thread(
            service.show_household, store, session, record.household_id
        )
        return page(request, "death.html", status=status, record=record, household=household,
                    values=values, errors=errors, focus=next(iter(errors), ""))  # fmt: skip

    @api.get("/resident/{code}/death")
    async def death_form(request: Request, code: str) -> Response:
        try:
            return await death_page(request, code, {"died": "", "new_head": "", "notified": ""}, {})
        except JukinetError as exc:
            return page(request, "find.html", status=404, code=code, name="", born="",
                        errors={"code": str(exc)})  # fmt: skip

    @api.post("/resident/{code}/death")
    async def death(
        request: Request, code: str, died: str = Form(""), new_head: str = Form(""),
        notified: str = Form(""),
    ) -> Response:  # fmt: skip
        session = clerk_of(window, request)
        values = {"died": died, "new_head": new_head, "notified": notified}
        parsing: list[str] = []

        def build() -> ev.Event:
            parsing[:] = ["died"]
            on = parse_date(died.strip())
            parsing[:] = ["notified"]
            told = parse_date(notified.strip()) if notified.strip() else date.today()
            parsing.clear()
            return ev.Death(code.strip(), on, told, new_head.strip() or None)

        def record() -> service.Receipt:
            # As ``jukinet event death``: a form that does not parse is an audited refusal.
            with service.audited(store, session.actor, "event.death", code.strip()):
                event = build()
            return service.record_event(store, session, event, date.today())

        try:
            receipt = await asyncio.to_thread(record)
        except JukinetError as exc:
            field = parsing[0] if parsing else field_of(exc, "death")
            return await death_page(request, code, values, {field or "form": str(exc)},
                                    status=422)  # fmt: skip
        return RedirectResponse(f"/resident/{code.strip()}?died={receipt.event_id}",
                                status_code=303)  # fmt: skip

    @api.get("/move-in")
    async def move_in_form(request: Request) -> Response:
        clerk_of(window, request)
        values = {f: "" for f in MOVE_IN_FIELDS} | {"relationship": HEAD}
        return page(request, "move_in.html", values=values, errors={}, focus="")

    @api.post("/move-in")
    async def move_in(request: Request) -> Response:
        session = clerk_of(window, request)
        form = await request.form()
        values = {f: str(form.get(f, "")) for f in MOVE_IN_FIELDS}
        v = {k: x.strip() for k, x in values.items()}
        abroad = bool(v["abroad"])
        parsing: list[str] = []

        def build() -> ev.Event:
            # As ``jukinet event move-in`` / ``move-in-abroad`` build their event.
            parsing[:] = ["sex"]
            chosen_sex = parse_sex(v["sex"])
            parsing[:] = ["born"]
            born = parse_date(v["born"])
            parsing[:] = ["moved"]
            moved = parse_date(v["moved"])
            parsing[:] = ["notified"]
            told = parse_date(v["notified"]) if v["notified"] else date.today()
            parsing[:] = ["town"]
            address = town_address(store, v["town"], v["block"], v["building"])
            parsing.clear()
            name = Name(v["family_name"], v["given_name"], v["family_kana"], v["given_kana"])
            person = ev.NewPerson(name, born, chosen_sex, v["relationship"], v["domicile"],
                                  v["domicile_head"], v["code"] or None)  # fmt: skip
            if abroad:
                return ev.MoveInFromAbroad((person,), address, v["previous"], moved, told)
            return ev.DomesticMoveIn((person,), address, v["previous"], v["issuer"], moved, told)

        def record() -> service.Receipt:
            kind = "event.move-in-abroad" if abroad else "event.move-in"
            with service.audited(store, session.actor, kind, "new"):
                event = build()
            return service.record_event(store, session, event, date.today())

        try:
            receipt = await asyncio.to_thread(record)
        except JukinetError as exc:
            field = parsing[0] if parsing else field_of(exc, "move-in")
            return page(request, "move_in.html", status=422, values=values,
                        errors={field or "form": str(exc)}, focus=field or "")  # fmt: skip
        code = receipt.records[0].resident_code
        return RedirectResponse(f"/resident/{code}?arrived={receipt.event_id}", status_code=303)

    @api.get("/audit")
    async def trail(request: Request, operator: str = "") -> Response:
        session = clerk_of(window, request)
        if not operator.strip():
            return page(request, "audit_trail.html", operator="", errors={})
        try:
            entries = await asyncio.to_thread(operator_trail, store, session, operator)
        except JukinetError as exc:
            return page(request, "audit_trail.html", status=403 if isinstance(exc, AccessDenied)
                        else 404, operator=operator, errors={"operator": str(exc)})  # fmt: skip
        return page(request, "audit_trail.html", operator=operator, errors={}, entries=entries)

    return api
