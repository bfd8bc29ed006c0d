"""The app factory every web interface uses (docs/ui.md).

``web_app(site, *routers)`` is a FastAPI app with: a server-side session per browser
(``sessions.py``), a CSRF token checked on every unsafe method, the security headers
(a Content-Security-Policy of ``'self'`` only: no inline script or style, no frames),
the static files (htmx vendored, the CSS), the sign-in routes (``signin.py``), and
error pages in plain words: no traceback ever reaches the browser.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException

from jukinet.web.common.i18n import LANG_COOKIE, Lang, lang_of
from jukinet.web.common.sessions import COOKIE, Sessions, WebSession
from jukinet.web.common.site import Site

HERE = Path(__file__).parent
log = logging.getLogger("jukinet.web")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: with no-referrer a browser sends "Origin: null" on a
    # form post, and the Origin check of unsafe requests (check_csrf) needs the real one.
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Strict-Transport-Security": "max-age=31536000",
}
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class SignInNeeded(Exception):
    """The page needs a signed-in operator: the browser goes to the sign-in page."""


class CsrfRefused(Exception):
    """An unsafe request without this session's CSRF token."""


def session_of(request: Request) -> WebSession:
    s: WebSession = request.state.session
    return s


def operator(request: Request) -> str:
    """The signed-in operator (both factors passed); SignInNeeded otherwise."""
    user = session_of(request).user
    if user is None:
        raise SignInNeeded
    return user


def site_of(request: Request) -> Site:
    s: Site = request.app.state.site
    return s


def lang(request: Request) -> Lang:
    return lang_of(request.cookies.get(LANG_COOKIE))


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """``template`` rendered with the shared context: the messages in the chosen
    language (``t``), the CSRF token, the operator, the menu."""
    site, s, chosen = site_of(request), session_of(request), lang(request)
    env: Environment = request.app.state.templates
    html = env.get_template(template).render(
        t=lambda key: site.catalogue.text(chosen, key), lang=chosen, csrf=s.csrf, user=s.user,
        nav=site.nav, site=site, path=request.url.path, **context,
    )  # fmt: skip
    return HTMLResponse(html, status_code=status)


async def check_csrf(request: Request) -> None:
    """Every unsafe method carries the session's token, in the form field ``csrf`` or
    the ``X-CSRF-Token`` header (fetch calls), and no other site's Origin;
    SameSite=Strict is the third line."""
    if request.method not in UNSAFE:
        return
    origin = request.headers.get("origin")
    if origin is not None and origin != site_of(request).origin:
        raise CsrfRefused  # a browser says where the form came from: another site
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        field = (await request.form()).get("csrf")
        sent = field if isinstance(field, str) else None
    if not sent or not secrets.compare_digest(sent, session_of(request).csrf):
        raise CsrfRefused


def _error(request: Request, status: int, key: str) -> HTMLResponse:
    return page(request, "error.html", status=status, message_key=key)


def web_app(site: Site, *routers: APIRouter, signin: APIRouter | None = None) -> FastAPI:
    """The app of ``site`` with ``routers``; ``signin`` replaces the password-and-card
    sign-in routes (``signin.py``) with the app's own (the resident portal's card)."""
    app = FastAPI(
        docs_url=None, redoc_url=None, openapi_url=None, dependencies=[Depends(check_csrf)]
    )
    app.state.site = site
    app.state.sessions = Sessions(site.idle_timeout)
    app.state.templates = Environment(
        loader=ChoiceLoader(
            [FileSystemLoader(site.templates), FileSystemLoader(HERE / "templates")]
        ),
        autoescape=select_autoescape(default=True),
    )  # fmt: skip
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.middleware("http")
    async def sessions_and_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        sessions: Sessions = request.app.state.sessions
        sent = request.cookies.get(COOKIE)
        s = sessions.get(sent)
        if s is None:
            s = sessions.new(expired=sent is not None)
        request.state.session = s
        try:
            response = await call_next(request)
        except Exception:  # the browser gets plain words; the traceback goes to the log only
            log.exception("web request %s %s failed", request.method, request.url.path)
            response = _error(request, 500, "error.500")
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        current: WebSession = request.state.session
        if current.id != sent:
            response.set_cookie(COOKIE, current.id, secure=True, httponly=True,
                                samesite="strict", path="/")  # fmt: skip
        return response

    @app.exception_handler(SignInNeeded)
    async def to_signin(request: Request, _exc: SignInNeeded) -> Response:
        if request.headers.get("hx-request"):
            return Response(status_code=204, headers={"HX-Redirect": "/signin"})
        return RedirectResponse("/signin", status_code=303)

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, _exc: CsrfRefused) -> Response:
        return _error(request, 403, "error.403")

    @app.exception_handler(RequestValidationError)
    async def bad_input(request: Request, _exc: RequestValidationError) -> Response:
        return _error(request, 400, "error.400")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        key = {404: "error.404", 403: "error.403", 405: "error.404"}.get(
            exc.status_code, "error.400"
        )
        return _error(request, exc.status_code, key)

    @app.get("/lang/{chosen}")
    async def switch_lang(chosen: str, back: str = "/") -> Response:
        # Only a path of this site: never an open redirect.
        target = back if back.startswith("/") and not back.startswith("//") else "/"
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(LANG_COOKIE, lang_of(chosen), secure=True, httponly=True,
                            samesite="strict", path="/", max_age=365 * 86400)  # fmt: skip
        return response

    from jukinet.web.common.signin import router as signin_router

    app.include_router(signin if signin is not None else signin_router())
    for r in routers:
        app.include_router(r)
    return app
