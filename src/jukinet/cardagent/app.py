"""The card agent's routes (docs/card-agent.md, "Protocol").

=====================  ==========================================================
``GET /v1/status``     reader, card, application, tries left of both PINs
``GET /v1/certificate?kind=authentication``  the user-authentication certificate
``POST /v1/certificate``  {kind: "signing", pin}: the signing certificate (it names
                       the holder, so the card asks the signing password, as JPKI does)
``POST /v1/sign``      {kind, pin, challenge | data, hash}: the card's signature
=====================  ==========================================================

Every refusal is ``{"error": code, "message": sentence}`` (and ``tries_left`` after a
wrong PIN). The PIN is read from the body, passed to the card and dropped with the
request; it is never logged (the agent has no access log, and no message holds it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from jukinet.cardagent.card import Card, NoReader, NoSuchCertificate, PinBlocked, WrongPin
from jukinet.cardagent.guard import Guard
from jukinet.cardagent.protocol import (
    MAX_BODY,
    KeyKind,
    b64,
    parse_certificate_request,
    parse_sign_request,
)
from jukinet.errors import CardAgentRefused, CardError, CardNotPresent, CardRefused, JukinetError

__all__ = ["make_app"]

T = TypeVar("T")

# Each refusal's HTTP status: what a page's script branches on, with ``error``.
_STATUS: tuple[tuple[type[JukinetError], int], ...] = (
    (WrongPin, 401),
    (PinBlocked, 423),
    (NoReader, 503),
    (CardNotPresent, 409),
    (NoSuchCertificate, 404),
    (CardAgentRefused, 400),
    (CardRefused, 502),
    (CardError, 502),
)


def _refusal(error: JukinetError) -> JSONResponse:
    status = next((code for kind, code in _STATUS if isinstance(error, kind)), 500)
    body: dict[str, Any] = {"error": error.code, "message": error.message}
    if isinstance(error, WrongPin):
        body["tries_left"] = error.tries_left
    if isinstance(error, CardNotPresent):
        body["message"] = "There is no card in the reader: insert the resident card."
    return JSONResponse(body, status_code=status)


async def _on_card(step: Callable[[], T]) -> T | JSONResponse:
    try:
        return await run_in_threadpool(step)
    except JukinetError as error:
        return _refusal(error)


async def _json_body(request: Request) -> bytes | JSONResponse:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        return _refusal(
            CardAgentRefused("The request body is JSON (Content-Type: application/json).")
        )
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return JSONResponse(
                {"error": CardAgentRefused.code, "message": "The request body is too large."},
                status_code=413,
            )
    return body


def make_app(card: Card, port: int, origins: Iterable[str]) -> ASGIApp:
    """The agent for ``card``, listening on ``port``, for pages of ``origins``."""

    async def status(request: Request) -> JSONResponse:
        answer = await _on_card(card.status)
        if isinstance(answer, JSONResponse):
            return answer
        return JSONResponse(
            {
                "reader": {"present": answer.reader is not None, "name": answer.reader},
                "card": {"present": answer.card_present, "application": answer.application},
                "signing_certificate": answer.signing_certificate,
                "pins": {
                    kind.value: {"tries_left": pin.tries_left, "blocked": pin.blocked}
                    for kind, pin in answer.pins.items()
                },
            }
        )

    async def certificate(request: Request) -> JSONResponse:
        if request.method == "GET":
            try:
                kind = KeyKind(request.query_params.get("kind", ""))
            except ValueError:
                return _refusal(CardAgentRefused('"kind" is "authentication" or "signing".'))
            if kind is KeyKind.SIGNING:
                return JSONResponse(
                    {
                        "error": "pin-required",
                        "message": "The signing certificate holds the holder's name, date of "
                        "birth, sex and address: POST /v1/certificate with the signing "
                        "password.",
                    },
                    status_code=401,
                )
            pin: str | None = None
        else:
            raw = await _json_body(request)
            if isinstance(raw, JSONResponse):
                return raw
            try:
                kind, pin = parse_certificate_request(raw)
            except CardAgentRefused as error:
                return _refusal(error)
        der = await _on_card(lambda: card.certificate(kind, pin))
        if isinstance(der, JSONResponse):
            return der
        return JSONResponse({"kind": kind.value, "certificate": b64(der)})

    async def sign(request: Request) -> JSONResponse:
        raw = await _json_body(request)
        if isinstance(raw, JSONResponse):
            return raw
        try:
            asked = parse_sign_request(raw)
        except CardAgentRefused as error:
            return _refusal(error)
        origin = request.headers["origin"]  # the guard let only an allowed one through
        signed = await _on_card(lambda: card.sign(asked, origin))
        if isinstance(signed, JSONResponse):
            return signed
        answer: dict[str, Any] = {
            "kind": asked.kind.value,
            "hash": asked.hash.value,
            "signature": b64(signed.signature),
            "certificate": b64(signed.certificate),
        }
        if asked.challenge is not None:
            answer |= {
                "origin": origin,
                "challenge": b64(asked.challenge),
                "message": b64(signed.message),
            }
        return JSONResponse(answer)

    app = Starlette(
        routes=[
            Route("/v1/status", status, methods=["GET"]),
            Route("/v1/certificate", certificate, methods=["GET", "POST"]),
            Route("/v1/sign", sign, methods=["POST"]),
        ]
    )
    return Guard(app, port, origins)
