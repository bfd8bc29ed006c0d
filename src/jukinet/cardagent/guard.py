"""The bridge's own security: who may reach the card agent (docs/card-agent.md, "Threat model").

Every request, before any route and before the card is touched, must

1. name the agent itself in ``Host`` — ``127.0.0.1:PORT`` or ``localhost:PORT``, nothing
   else: a page of another site whose name was made to resolve to 127.0.0.1 (DNS
   rebinding) sends its own name there and is refused;
2. come from a page of an allowed origin: its ``Origin`` header, one of them, matched
   exactly (scheme, host and port as the browser serializes them). A request without
   ``Origin`` (no page sent it; browsers send it on every cross-origin ``fetch``) or
   with another is refused, without CORS headers, so the page cannot read the answer
   either.

A CORS preflight (``OPTIONS`` with ``Access-Control-Request-Method``) of an allowed
origin is answered here for ``GET``/``POST`` and the ``Content-Type`` header only; when
Chromium asks for Private Network Access (``Access-Control-Request-Private-Network:
true``: a public page calling a loopback address) the answer allows it. No answer
carries ``Access-Control-Allow-Credentials``, so a browser never sends cookies or other
credentials with a request the page can read, and the agent sets none. Written as a
small ASGI middleware rather than Starlette's ``CORSMiddleware``, which lets a request
without ``Origin`` through to the route, checks no ``Host``, and knows nothing of
Private Network Access.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jukinet.errors import CardAgentRefused

__all__ = ["ALLOWED_HEADERS", "ALLOWED_METHODS", "Guard", "check_origin"]

ALLOWED_METHODS = ("GET", "POST")
ALLOWED_HEADERS = frozenset({"content-type"})
PREFLIGHT_MAX_AGE = 600
_SECURITY_HEADERS = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def check_origin(text: str) -> str:
    """An origin given with ``--allow-origin``, as a browser serializes it, or a refusal.

    ``https://host[:port]``; ``http://`` only for a page on this terminal itself
    (127.0.0.1 or localhost), which browsers count as secure as https."""
    parts = urlsplit(text)
    local = parts.hostname in ("127.0.0.1", "localhost")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if (
        parts.scheme not in ("https", "http")
        or not parts.hostname
        or parts.path
        or parts.query
        or parts.fragment
        or parts.username is not None
        or port == -1
        or text != text.lower()
    ):
        raise CardAgentRefused(
            f"{text!r} is not an origin: give scheme, host and port as the browser sends "
            "them, in lower case, without a path (https://portal.example.jp or "
            "https://portal.example.jp:8443)."
        )
    if parts.scheme == "http" and not local:
        raise CardAgentRefused(
            f"{text}: an allowed page is served over https (http only from this terminal "
            "itself, 127.0.0.1 or localhost)."
        )
    default = {"https": 443, "http": 80}[parts.scheme]
    if port == default:
        raise CardAgentRefused(
            f"{text}: the browser leaves out the default port {default}; allow "
            f"{parts.scheme}://{parts.hostname} instead."
        )
    return text


def _refusal(code: int, message: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = json.dumps(
        {"error": CardAgentRefused.code, "message": message}, ensure_ascii=False
    ).encode()
    headers = [(b"content-type", b"application/json; charset=utf-8")]
    headers += [(k.encode(), v.encode()) for k, v in _SECURITY_HEADERS.items()]
    headers.append((b"vary", b"Origin"))
    return code, headers, body


async def _answer(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes = b""
) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """The checks above around ``app``, for the agent listening on ``port``."""

    def __init__(self, app: ASGIApp, port: int, origins: Iterable[str]) -> None:
        self.app = app
        self.hosts = frozenset({f"127.0.0.1:{port}", f"localhost:{port}"})
        self.origins = frozenset(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        hosts = headers.getlist("host")
        if len(hosts) != 1 or hosts[0].lower() not in self.hosts:
            await _answer(send, *_refusal(
                421, "This card agent answers only at 127.0.0.1 or localhost on its own port.",
            ))  # fmt: skip
            return
        origins = headers.getlist("origin")
        if not origins:
            await _answer(send, *_refusal(
                403, "The card agent answers pages of the allowed sites only; this request "
                "came from no page (it has no Origin).",
            ))  # fmt: skip
            return
        origin = origins[0]
        if len(origins) != 1 or origin not in self.origins:
            await _answer(send, *_refusal(
                403, f"The page at {origin[:200]} is not allowed to use this terminal's card.",
            ))  # fmt: skip
            return
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(send, headers, origin)
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out["access-control-allow-origin"] = origin
                out.append("vary", "Origin")
                for name, value in _SECURITY_HEADERS.items():
                    out[name] = value
            await send(message)

        await self.app(scope, receive, with_cors)

    async def _preflight(self, send: Send, headers: Headers, origin: str) -> None:
        method = headers["access-control-request-method"]
        asked = {
            h.strip().lower()
            for h in headers.get("access-control-request-headers", "").split(",")
            if h.strip()
        }
        if method not in ALLOWED_METHODS or not asked <= ALLOWED_HEADERS:
            await _answer(send, *_refusal(
                403, "The card agent takes GET and POST with a JSON body only.",
            ))  # fmt: skip
            return
        out = [
            (b"access-control-allow-origin", origin.encode()),
            (b"access-control-allow-methods", ", ".join(ALLOWED_METHODS).encode()),
            (b"access-control-allow-headers", b"Content-Type"),
            (b"access-control-max-age", str(PREFLIGHT_MAX_AGE).encode()),
            (b"vary", b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
        ]
        out += [(k.encode(), v.encode()) for k, v in _SECURITY_HEADERS.items()]
        if headers.get("access-control-request-private-network", "").lower() == "true":
            out.append((b"access-control-allow-private-network", b"true"))
        await _answer(send, 204, out)
