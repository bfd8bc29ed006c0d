"""The agency console's pages. Each calls what the CLI calls (``AgencyClient``,
``BatchJobs``, ``affairs_of``); nothing here decides what the agency may do: the legal
table's offer decides what is shown, ``LegalTable.authorize`` words a refusal, and the
node decides again on every call, its refusal shown in its own words."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile
from fastapi.responses import FileResponse, RedirectResponse
from pydantic import ValidationError

from jukinet.agency.affairs import ITEM_NAMES, AffairOffer
from jukinet.agency.batch_job import JobStatus
from jukinet.domain.legal import Function
from jukinet.errors import InvalidInput, JukinetError, NotFound, PeerRefused, ProvisionRefused
from jukinet.network.messages_history import MAX_HISTORY_PAGE, HistoryPage, HistoryRequest
from jukinet.web.agency.app import AgencyConsole
from jukinet.web.common.app import operator, page, site_of

JST = timezone(timedelta(hours=9), "JST")
HISTORY_PAGE = MAX_HISTORY_PAGE  # provision rows a history page shows (the node's page)
Sex = Literal["male", "female"]


def said(exc: Exception) -> str:
    """The one sentence of a refusal or of bad input, never a traceback."""
    if isinstance(exc, PeerRefused):
        return exc.detail  # the node's own sentence, without the URL and status
    if isinstance(exc, JukinetError):
        return exc.message
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return f"{where}: {first['msg']}" if where else str(first["msg"])
    return str(exc)


def item_names(keys: Iterable[str]) -> str:
    return "・".join(ITEM_NAMES.get(k, k) for k in keys)


def in_japan(iso: str | None) -> str:
    """A time the jobs keep (ISO, UTC) as staff read it: Japan time."""
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone(JST).strftime("%Y-%m-%d %H:%M:%S")


def this_month() -> str:
    return datetime.now(UTC).astimezone(JST).strftime("%Y-%m")


def router(console: AgencyConsole) -> APIRouter:
    api = APIRouter()
    offer = console.offer

    def allowed(affair: str, function: str) -> AffairOffer:
        """The affair's offer if the legal table gives this agency ``function`` for it;
        ProvisionRefused in the table's own words otherwise."""
        try:
            chosen = Function(function)
        except ValueError:
            raise NotFound(f"There is no function {function[:20]!r}.") from None
        found = offer.affair(affair)
        if found is None or not found.allows(chosen):
            console.table.authorize(console.agency, affair, chosen)  # raises, in its words
            raise ProvisionRefused(f"Function {function!r} is not offered for {affair!r}.")
        return found

    def refused_page(request: Request, exc: JukinetError) -> Response:
        status = 404 if isinstance(exc, NotFound) else 403
        return page(request, "refused.html", status=status, refused=exc.message)

    def form_page(request: Request, affair: AffairOffer, function: str, status: int = 200,
                  **extra: Any) -> Response:  # fmt: skip
        return page(request, f"{function}.html", status=status, affair=affair,
                    function=affair.function(function), items=ITEM_NAMES, **extra)  # fmt: skip

    def audit(request: Request, who: str, action: str, target: str, refused: str | None,
              detail: str = "") -> None:  # fmt: skip
        site_of(request).audit(f"web:{who}", action, target, "refused" if refused else "ok",
                               refused or detail)  # fmt: skip

    @api.get("/")
    async def affairs(request: Request, who: str = Depends(operator)) -> Response:
        return page(request, "affairs.html", offer=offer, names=item_names)

    @api.get("/affairs/{affair}/{function}")
    async def function_form(request: Request, affair: str, function: str,
                            who: str = Depends(operator)) -> Response:  # fmt: skip
        try:
            found = allowed(affair, function)
        except JukinetError as exc:
            audit(request, who, f"agency.{function[:20]}", affair[:64], exc.message)
            return refused_page(request, exc)
        if function == "batch":
            return page(request, "batch.html", affair=found)
        return form_page(request, found, function, form={})

    @api.post("/affairs/{affair}/lookup")
    async def lookup(request: Request, affair: str, resident_code: str = Form(""),
                     who: str = Depends(operator)) -> Response:  # fmt: skip
        try:
            found = allowed(affair, "lookup")
        except JukinetError as exc:
            audit(request, who, "agency.lookup", affair[:64], exc.message)
            return refused_page(request, exc)
        form = {"resident_code": resident_code}
        try:
            async with console.client() as agency:
                answer = await agency.lookup(affair, resident_code.strip())
        except (JukinetError, ValidationError) as exc:
            audit(request, who, "agency.lookup", affair, said(exc))
            return form_page(request, found, "lookup", 422, form=form, refused=said(exc))
        audit(request, who, "agency.lookup", affair, None, "found" if answer.found else "not found")
        return form_page(request, found, "lookup", form=form, answer=answer)

    @api.post("/affairs/{affair}/verify")
    async def verify(
        request: Request, affair: str, resident_code: str = Form(""), name: str = Form(""),
        date_of_birth: str = Form(""), sex: str = Form(""), address: str = Form(""),
        who: str = Depends(operator),
    ) -> Response:  # fmt: skip
        try:
            found = allowed(affair, "verify")
        except JukinetError as exc:
            audit(request, who, "agency.verify", affair[:64], exc.message)
            return refused_page(request, exc)
        form = {"resident_code": resident_code, "name": name, "date_of_birth": date_of_birth,
                "sex": sex, "address": address}  # fmt: skip
        try:
            born = _day(date_of_birth)
            async with console.client() as agency:
                answer = await agency.verify(affair, resident_code.strip(), name, born,
                                             _sex(sex), address)  # fmt: skip
        except (JukinetError, ValidationError) as exc:
            audit(request, who, "agency.verify", affair, said(exc))
            return form_page(request, found, "verify", 422, form=form, refused=said(exc))
        audit(request, who, "agency.verify", affair, None, "verified")
        return form_page(request, found, "verify", form=form, answer=answer)

    @api.post("/affairs/{affair}/search")
    async def search(
        request: Request, affair: str, name: str = Form(""), date_of_birth: str = Form(""),
        sex: str = Form(""), address: str = Form(""), who: str = Depends(operator),
    ) -> Response:  # fmt: skip
        try:
            found = allowed(affair, "search")
        except JukinetError as exc:
            audit(request, who, "agency.search", affair[:64], exc.message)
            return refused_page(request, exc)
        form = {"name": name, "date_of_birth": date_of_birth, "sex": sex, "address": address}
        try:
            born = _day(date_of_birth) if date_of_birth.strip() else None
            async with console.client() as agency:
                answer = await agency.search(affair, name, date_of_birth=born,
                                             sex=_sex(sex) if sex else None,
                                             address=address or None)  # fmt: skip
        except (JukinetError, ValidationError) as exc:
            audit(request, who, "agency.search", affair, said(exc))
            return form_page(request, found, "search", 422, form=form, refused=said(exc))
        audit(request, who, "agency.search", affair, None, f"{len(answer.candidates)} candidate(s)")
        return form_page(request, found, "search", form=form, answer=answer)

    # --- batch jobs ------------------------------------------------------------------

    @api.post("/affairs/{affair}/batch")
    async def batch(request: Request, affair: str, upload: UploadFile = File(...),
                    column: str = Form(""), who: str = Depends(operator)) -> Response:  # fmt: skip
        try:
            found = allowed(affair, "batch")
        except JukinetError as exc:
            audit(request, who, "agency.batch", affair[:64], exc.message)
            return refused_page(request, exc)
        try:
            job = await asyncio.to_thread(console.jobs.submit, affair, upload.file,
                                          filename=upload.filename or "upload.csv",
                                          column=column.strip() or None)  # fmt: skip
        except JukinetError as exc:
            audit(request, who, "agency.batch", affair, exc.message)
            return page(request, "batch.html", status=422, affair=found, refused=exc.message)
        console.runner.start(job.id)
        audit(request, who, "agency.batch", affair, None, f"job {job.id}: {job.rows} rows")
        return RedirectResponse(f"/jobs/{job.id}", status_code=303)

    @api.get("/jobs")
    async def jobs(request: Request, who: str = Depends(operator)) -> Response:
        every = await asyncio.to_thread(console.jobs.jobs)
        batchable = [a for a in offer.affairs if a.allows("batch")]
        return page(request, "jobs.html", jobs=every, batchable=batchable, when=in_japan)

    def job_status(job_id: str) -> JobStatus:
        return console.jobs.status(job_id)  # NotFound for no such job

    @api.get("/jobs/{job_id}")
    async def job(request: Request, job_id: str, who: str = Depends(operator)) -> Response:
        try:
            status = job_status(job_id)
        except JukinetError as exc:
            return refused_page(request, exc)
        return page(request, "job.html", job=status, when=in_japan)

    @api.get("/jobs/{job_id}/progress")
    async def progress(request: Request, job_id: str, who: str = Depends(operator)) -> Response:
        try:
            status = job_status(job_id)
        except JukinetError as exc:
            return refused_page(request, exc)
        return page(request, "job_progress.html", job=status)

    @api.get("/jobs/{job_id}/{name}.csv")
    async def download(request: Request, job_id: str, name: str,
                       who: str = Depends(operator)) -> Response:  # fmt: skip
        try:
            if name == "answers":
                path = console.jobs.answers(job_id)
            elif name == "errors":
                path = console.jobs.errors(job_id)
            else:
                raise NotFound(f"A batch job has no file {name[:20]!r}.")
        except JukinetError as exc:
            return refused_page(request, exc)
        audit(request, who, f"agency.batch.{name}", job_id, None, "downloaded")
        return FileResponse(path, media_type="text/csv; charset=utf-8",
                            filename=f"{job_id}-{name}.csv")  # fmt: skip

    # --- history -----------------------------------------------------------------------

    @api.get("/history")
    async def history(request: Request, month: str = "", after: str = "",
                      who: str = Depends(operator)) -> Response:  # fmt: skip
        chosen = month or this_month()
        found: HistoryPage | None = None
        refused = None
        try:
            asked = HistoryRequest(month=chosen, limit=HISTORY_PAGE, after=after or None)
            async with console.client() as agency:
                found = await agency.history(asked)
        except (JukinetError, ValidationError) as exc:
            refused = said(exc)
        audit(request, who, "agency.history", chosen[:7], refused, "read")
        return page(request, "history.html", status=422 if refused else 200, month=chosen,
                    history=found, refused=refused, jst=JST, after=after,
                    names=item_names)  # fmt: skip

    return api


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"Give a date of birth (YYYY-MM-DD), not {text[:40]!r}.") from None


def _sex(value: str) -> Sex:
    if value == "male":
        return "male"
    if value == "female":
        return "female"
    raise InvalidInput(f"Choose the sex (male or female), not {value[:40]!r}.")
