"""The portal's pages: the resident's identity information and the disclosure (R14).
Each calls the use case (``nodes/municipality/portal``); nothing here decides anything."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, File, Request, Response, UploadFile
from fastapi.responses import JSONResponse

from jukinet.domain.legal_parse import load_shipped_legal_table
from jukinet.errors import JukinetError
from jukinet.network.messages import ProvisionEntry
from jukinet.nodes.municipality import moving_online
from jukinet.nodes.municipality import portal as use_case
from jukinet.nodes.municipality.disclosure import entries_of
from jukinet.web.common.app import lang, operator, page, session_of, site_of
from jukinet.web.portal.app import Portal


@dataclass(frozen=True)
class Line:
    """One provision in plain words, e.g. "2026-11-30, 日本年金機構, 年金…, 照会: 氏名・住所"."""

    day: str
    recipient: str
    affair: str
    function: str
    fields: str
    node: str

    @property
    def text(self) -> str:
        return f"{self.day}, {self.recipient}, {self.affair}, {self.function}: {self.fields}"


MAX_COPY = 5 * 1024 * 1024  # a copy's PDF is a few hundred kB; anything larger is not one


def _affairs() -> dict[str, str]:
    table = load_shipped_legal_table()
    return {a.code: a.description for r in table.recipients for a in r.affairs}


def plain(
    entries: list[ProvisionEntry], t: Callable[[str], str], affairs: dict[str, str]
) -> list[Line]:
    lines = []
    for e in entries:
        fields = "・".join(t(f"field.{f}") for f in e.fields) or t("field.none")
        lines.append(Line(f"{e.at:%Y-%m-%d}", e.recipient_name, affairs.get(e.affair, e.affair),
                          t(f"function.{e.function}"), fields, e.node))  # fmt: skip
    return lines


def router(portal: Portal) -> APIRouter:
    api = APIRouter()
    affairs = _affairs()

    @api.get("/")
    async def identity(request: Request, who: str = Depends(operator)) -> Response:
        try:
            record, versions = await asyncio.to_thread(use_case.identity, portal.store, who)
        except JukinetError as exc:
            return page(request, "identity.html", status=404, refused=str(exc))
        return page(request, "identity.html", record=record, versions=list(reversed(versions)))

    @api.get("/disclosure")
    async def disclosure(request: Request, who: str = Depends(operator)) -> Response:
        try:
            done = await use_case.disclosure(portal.store, portal.home, who)
        except JukinetError as exc:
            return page(request, "disclosure.html", status=502, refused=str(exc))
        site, chosen = site_of(request), lang(request)
        lines = plain(entries_of(done.answer), lambda k: site.catalogue.text(chosen, k), affairs)
        asked = f"{done.answer.asked_at:%Y-%m-%d %H:%M}"
        return page(request, "disclosure.html", lines=lines, checked=done.checked,
                    problems=done.problems, asked_at=asked)  # fmt: skip

    @api.get("/copy")
    async def copy_form(request: Request, who: str = Depends(operator)) -> Response:
        return page(request, "copy.html")

    @api.post("/copy")
    async def copy_check(
        request: Request, copy: Annotated[UploadFile, File()], who: str = Depends(operator)
    ) -> Response:
        data = await copy.read(MAX_COPY + 1)
        if not data or len(data) > MAX_COPY:
            return page(request, "copy.html", status=400, error_key="copy.size")
        verdict = await asyncio.to_thread(
            use_case.check_copy, portal.store, portal.home, who, copy.filename or "", data
        )
        return page(request, "copy.html", verdict=verdict,
                    status=200 if verdict.genuine else 422)  # fmt: skip

    @api.get("/move-out")
    async def move_out_form(
        request: Request, filed: str = "", who: str = Depends(operator)
    ) -> Response:
        return page(request, "move_out.html", agent=portal.agent, today=date.today().isoformat(),
                    notice_key="moveout.filed" if filed else None)  # fmt: skip

    @api.post("/move-out/document")
    async def move_out_document(request: Request, who: str = Depends(operator)) -> Response:
        s = session_of(request)
        try:
            body = await _json(request)
            planned = date.fromisoformat(str(body.get("planned_on", "")))
        except ValueError:
            return JSONResponse({"error": site_of(request).catalogue.text(
                lang(request), "moveout.unreadable")}, status_code=422)  # fmt: skip
        try:
            doc = use_case.move_out_document(
                portal.store, who, str(body.get("destination_code", "")),
                str(body.get("destination", "")), planned, date.today(),
            )  # fmt: skip
        except JukinetError as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)
        s.data["move_out"] = json.dumps(doc)  # what the card signs is kept here, not trusted back
        signed = base64.b64encode(moving_online.canonical(doc)).decode("ascii")
        return JSONResponse({"document": signed})

    @api.post("/move-out/signed")
    async def move_out_signed(request: Request, who: str = Depends(operator)) -> Response:
        s = session_of(request)
        kept = s.data.pop("move_out", "")
        try:
            body = await _json(request)
            signature = base64.b64decode(str(body.get("signature", "")), validate=True)
            certificate = base64.b64decode(str(body.get("certificate", "")), validate=True)
            if not kept:
                raise ValueError
        except (ValueError, binascii.Error):
            return JSONResponse({"error": site_of(request).catalogue.text(
                lang(request), "moveout.unreadable")}, status_code=422)  # fmt: skip
        try:
            await use_case.submit_move_out(
                portal.store, portal.home, who, json.loads(kept), signature, certificate
            )
        except JukinetError as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)
        return JSONResponse({"next": "/move-out?filed=1"})

    return api


async def _json(request: Request) -> dict[str, object]:
    body = json.loads(await request.body())
    if not isinstance(body, dict):
        raise ValueError("not an object")
    return body
