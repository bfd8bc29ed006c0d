"""Sign-in (password, then the operator card), sign-out, and registering a card through
an administrator's one-time link. Every outcome goes to the app's audit (``Site.audit``)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from jukinet.errors import AuthenticationFailed
from jukinet.web.common import card
from jukinet.web.common.accounts import AccountLocked
from jukinet.web.common.app import page, session_of, site_of


def _json_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except ValueError:
        raise AuthenticationFailed("The operator card's answer is not readable.") from None
    if not isinstance(body, dict):
        raise AuthenticationFailed("The operator card's answer is not readable.")
    return body


def router() -> APIRouter:
    api = APIRouter()

    @api.get("/signin")
    async def signin_form(request: Request, enrolled: str = "") -> Response:
        s = session_of(request)
        if s.user is not None:
            return RedirectResponse("/", status_code=303)
        return page(request, "signin.html", error_key="error.expired" if s.expired else None,
                    notice_key="enrol.done" if enrolled else None)  # fmt: skip

    @api.post("/signin")
    async def signin(
        request: Request, username: str = Form(""), password: str = Form("")
    ) -> Response:
        site, s = site_of(request), session_of(request)
        try:
            account = site.accounts.check_password(username, password)
        except AuthenticationFailed as exc:
            site.audit(f"web:{username}", "web.signin", "password", "refused", str(exc))
            key = "signin.locked" if isinstance(exc, AccountLocked) else "signin.wrong"
            return page(request, "signin.html", status=401, error_key=key, username=username)
        if not account.credentials:
            site.audit(f"web:{username}", "web.signin", "card", "refused", "no card registered")
            return page(request, "signin.html", status=401, error_key="signin.no_card",
                        username=username)  # fmt: skip
        s.password_ok, s.user = account.username, None
        return RedirectResponse("/signin/card", status_code=303)

    @api.get("/signin/card")
    async def card_page(request: Request) -> Response:
        site, s = site_of(request), session_of(request)
        account = site.accounts.get(s.password_ok) if s.password_ok else None
        if account is None:
            return RedirectResponse("/signin", status_code=303)
        options, s.challenge = card.authentication_options(site, account)
        return page(request, "signin_card.html", options=options)

    @api.post("/signin/card")
    async def card_answer(request: Request) -> Response:
        site, s = site_of(request), session_of(request)
        account = site.accounts.get(s.password_ok) if s.password_ok else None
        challenge, s.challenge = s.challenge, None  # one use
        if account is None or challenge is None:
            return JSONResponse({"error": "card.failed"}, status_code=401)
        try:
            updated = card.authenticated(site, account, challenge, _json_body(await request.body()))
        except AuthenticationFailed as exc:
            site.accounts.count_failure(account.username)  # a refused card counts too
            site.audit(f"web:{account.username}", "web.signin", "card", "refused", str(exc))
            return JSONResponse({"error": "card.failed"}, status_code=401)
        site.accounts.signed_in(updated)
        request.app.state.sessions.renew(s)
        s.user, s.password_ok = updated.username, None
        site.audit(f"web:{updated.username}", "web.signin", "password+card", "ok", "signed in")
        return JSONResponse({"next": "/"})

    @api.post("/signout")
    async def signout(request: Request) -> Response:
        site, s = site_of(request), session_of(request)
        if s.user:
            site.audit(f"web:{s.user}", "web.signout", "session", "ok", "signed out")
        request.app.state.sessions.end(s)
        request.state.session = request.app.state.sessions.new()
        return RedirectResponse("/signin", status_code=303)

    @api.get("/enrol/{token}")
    async def enrol_page(request: Request, token: str) -> Response:
        account = site_of(request).accounts.by_enrolment(token)
        if account is None:
            return page(request, "error.html", status=404, message_key="enrol.invalid")
        return page(request, "enrol.html", token=token, username=account.username)

    @api.post("/enrol/{token}/options")
    async def enrol_options(request: Request, token: str, password: str = Form("")) -> Response:
        site, s = site_of(request), session_of(request)
        account = site.accounts.by_enrolment(token)
        if account is None:
            return JSONResponse({"error": "enrol.invalid"}, status_code=404)
        try:
            site.accounts.check_password(account.username, password)
        except AuthenticationFailed as exc:
            site.audit(f"web:{account.username}", "web.enrol", "password", "refused", str(exc))
            return JSONResponse({"error": "signin.wrong"}, status_code=401)
        options, s.challenge = card.registration_options(site, account)
        s.data["enrolling"] = account.username
        return Response(options, media_type="application/json")

    @api.post("/enrol/{token}/finish")
    async def enrol_finish(request: Request, token: str) -> Response:
        site, s = site_of(request), session_of(request)
        account = site.accounts.by_enrolment(token)
        challenge, s.challenge = s.challenge, None
        if account is None or challenge is None or s.data.pop("enrolling", "") != account.username:
            return JSONResponse({"error": "enrol.invalid"}, status_code=400)
        try:
            updated = card.registered(site, account, challenge, _json_body(await request.body()))
        except AuthenticationFailed as exc:
            site.audit(f"web:{account.username}", "web.enrol", "card", "refused", str(exc))
            return JSONResponse({"error": "card.failed"}, status_code=400)
        site.accounts.put(updated)
        site.audit(f"web:{account.username}", "web.enrol", "card", "ok", "operator card registered")
        return JSONResponse({"next": "/signin?enrolled=1"})

    return api
