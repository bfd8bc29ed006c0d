"""Signing in with the resident card (R15; docs/card-agent.md, "Signing in"): the page
asks for a challenge, the terminal's card agent has the card sign it with the
user-authentication key after the PIN the resident typed into the page (the PIN goes to
127.0.0.1 only), and the portal checks the answer (``nodes/municipality/portal.sign_in``).
No password; the session is the foundation's (renewed at sign-in, idle timeout)."""

from __future__ import annotations

import base64
import json

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from jukinet.errors import CardSignInRefused, JukinetError
from jukinet.jpki.sign_in import SignInAnswer, new_challenge
from jukinet.nodes.municipality import portal as use_case
from jukinet.web.common.app import page, session_of, site_of
from jukinet.web.portal.app import Portal


def router(portal: Portal) -> APIRouter:
    api = APIRouter()

    @api.get("/signin")
    async def signin_form(request: Request) -> Response:
        s = session_of(request)
        if s.user is not None:
            return RedirectResponse("/", status_code=303)
        return page(request, "portal_signin.html", agent=portal.agent,
                    error_key="error.expired" if s.expired else None)  # fmt: skip

    @api.post("/signin/challenge")
    async def challenge(request: Request) -> Response:
        s = session_of(request)
        s.challenge = new_challenge()  # one attempt: taken by /signin/card
        return JSONResponse({"challenge": base64.b64encode(s.challenge).decode("ascii")})

    @api.post("/signin/card")
    async def card_answer(request: Request) -> Response:
        s = session_of(request)
        given, s.challenge = s.challenge, None
        try:
            if given is None:
                raise CardSignInRefused("No sign-in was started on this page; sign in again.")
            try:
                body = json.loads(await request.body())
            except ValueError:
                body = None
            if not isinstance(body, dict):
                raise CardSignInRefused("The card's sign-in answer is not readable.")
            signed = await use_case.sign_in(
                portal.store, portal.home, SignInAnswer.from_json(body),
                origin=portal.origin, challenge=given,
            )  # fmt: skip
        except JukinetError as exc:
            return JSONResponse({"error": str(exc)}, status_code=401)
        request.app.state.sessions.renew(s)
        s.user = signed.resident_code
        s.data["name"] = signed.name
        return JSONResponse({"next": "/"})

    @api.post("/signout")
    async def signout(request: Request) -> Response:
        site, s = site_of(request), session_of(request)
        if s.user:
            site.audit(use_case.actor(s.user), "portal.signout", s.user, "ok", "signed out")
        request.app.state.sessions.end(s)
        request.state.session = request.app.state.sessions.new()
        return RedirectResponse("/signin", status_code=303)

    return api
