"""Calling another node: mutual TLS 1.3 and a signed request, over kept-alive connections.

::

    async with NodeClient(identity) as client:
        ack = await client.post(f"{prefecture_url}/updates", batch)

A refusal by the peer (any non-2xx answer) raises PeerRefused with the problem's
detail; a peer that cannot be reached, or that breaks off the TLS handshake
(for example because it does not accept our certificate), raises PeerUnreachable.
So does a peer that does not answer in time: a connection (TCP and the TLS
handshake) must be made within ``connect_timeout``, the whole exchange must end
within ``timeout``, and with ``read_timeout`` no gap between two reads may be longer.
A stopped or hung peer therefore costs a caller a bounded wait, never a hang.
"""

from __future__ import annotations

import json
import os
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel
from yarl import URL

from jukinet.errors import InvalidInput, NetworkStopped, PeerRefused, PeerUnreachable
from jukinet.keys import load_private_key
from jukinet.network.signatures import sign_request
from jukinet.network.tls import client_context, pinned_client_context

__all__ = ["NodeClient", "NodeIdentity", "PeerRefused", "PeerUnreachable"]

_DETAIL_LIMIT = 500
# Below the 5 s a node keeps an idle connection open (server.TransportLimits): a
# connection the peer may already have closed, or that a stopped peer never will, is
# not reused for the next request.
KEEPALIVE = 4.0


@dataclass(frozen=True)
class NodeIdentity:
    """Where a node's key, certificate and the network CA's certificate are."""

    node_id: str
    key_path: Path
    cert_path: Path
    ca_path: Path

    @classmethod
    def in_folder(cls, node_id: str, folder: Path) -> NodeIdentity:
        """The files ``jukinet.network.pki.write_identity`` writes into ``folder``."""
        return cls(node_id, folder / "node.key", folder / "node.pem", folder / "ca.pem")

    def load_key(self) -> Ed25519PrivateKey:
        return load_private_key(self.key_path)

    def tls_context(self) -> ssl.SSLContext:
        return client_context(self.cert_path, self.key_path, self.ca_path)


def _detail_of(text: str) -> str:
    try:
        problem = json.loads(text)
    except ValueError:
        return text[:_DETAIL_LIMIT] or "no detail given"
    if isinstance(problem, dict):
        detail = problem.get("detail") or problem.get("title")
        if isinstance(detail, str):
            return detail
    return text[:_DETAIL_LIMIT]


def _failure(exc: Exception) -> str:
    """What failed; aiohttp's own text of a refused or reset connection shows the repr of
    the SSL context, which tells a clerk nothing (its TLS errors keep their text)."""
    if type(exc) is aiohttp.ClientConnectorError:
        code = exc.os_error.errno
        return f"cannot connect ({os.strerror(code) if code else exc.os_error})"
    return f"{type(exc).__name__}: {exc}"


class NodeClient:
    """One aiohttp session (mTLS, keep-alive) whose every request is signed."""

    def __init__(
        self,
        identity: NodeIdentity,
        *,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        read_timeout: float | None = None,
        connections: int = 16,
        pins: Callable[[str], str | None] | None = None,
        hold: Callable[[str, str], str | None] | None = None,
    ) -> None:
        """``pins`` maps an origin (``https://host:port``) to the only server certificate
        (PEM) to accept there — a node passes its directory's; without it the network
        CA and the host name are checked. ``hold`` (method, URL) says why a request may
        not leave now (R9: an expired directory, a halt, an isolation): it raises
        NetworkStopped and nothing is sent. Timeouts are in seconds (module docstring)."""
        self._hold = hold
        self.identity = identity
        self._pins = pins
        self._pinned: dict[str, ssl.SSLContext] = {}
        self._timeout = timeout
        self._connect_timeout = min(connect_timeout, timeout)
        self._read_timeout = read_timeout
        self._connections = connections
        self._key: Ed25519PrivateKey | None = None
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> NodeClient:
        self._key = self.identity.load_key()
        connector = aiohttp.TCPConnector(
            ssl=self.identity.tls_context(), limit=self._connections, keepalive_timeout=KEEPALIVE
        )
        timeouts = aiohttp.ClientTimeout(
            total=self._timeout, sock_connect=self._connect_timeout, sock_read=self._read_timeout
        )
        self._session = aiohttp.ClientSession(connector=connector, timeout=timeouts)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @asynccontextmanager
    async def _exchange(
        self, method: str, url: str, body: bytes, content_type: str | None
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        if self._session is None or self._key is None:
            raise RuntimeError("Use NodeClient as 'async with NodeClient(...) as client'.")
        held = self._hold(method, url) if self._hold is not None else None
        if held is not None:
            raise NetworkStopped(held)
        target = URL(url)
        if target.scheme != "https" or not target.host:
            raise InvalidInput(f"Nodes talk HTTPS only; {url!r} is not an https:// URL.")
        headers = {"Accept": "application/json"}
        if content_type is not None:
            headers["Content-Type"] = content_type
        # Sign exactly what goes on the wire: yarl's encoded form of the URL.
        wire = str(target)
        headers |= sign_request(method, wire, headers, body, self._key, self.identity.node_id)
        request_ssl: ssl.SSLContext | bool = True  # the session's context
        if self._pins is not None:
            origin = f"{target.scheme}://{target.authority}"
            pem = self._pins(origin)
            if pem is None:
                raise PeerRefused(
                    421, f"{origin} is not a node of the directory (R7): not contacted.", url
                )
            request_ssl = self._pinned_context(pem)
        try:
            async with self._session.request(
                method,
                URL(wire, encoded=True),
                data=body or None,
                headers=headers,
                ssl=request_ssl,
            ) as response:
                if not 200 <= response.status < 300:
                    text = await response.text(errors="replace")
                    raise PeerRefused(response.status, _detail_of(text), url)
                yield response
        except TimeoutError as exc:  # aiohttp's own timeouts are TimeoutErrors too
            raise PeerUnreachable(f"{url}: {self._no_answer(exc)}") from exc
        except (aiohttp.ClientError, ssl.SSLError) as exc:
            raise PeerUnreachable(f"{url}: {_failure(exc)}") from exc

    def _no_answer(self, exc: TimeoutError) -> str:
        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            return (
                f"no answer within {self._connect_timeout:g} s to the connection and TLS "
                "handshake (the node is down, stopped or overloaded)"
            )
        if isinstance(exc, aiohttp.SocketTimeoutError):
            return f"no answer within {self._read_timeout:g} s (the node stopped sending)"
        return f"no answer within {self._timeout:g} s (the whole exchange took too long)"

    def _pinned_context(self, pem: str) -> ssl.SSLContext:
        context = self._pinned.get(pem)
        if context is None:
            context = pinned_client_context(self.identity.cert_path, self.identity.key_path, pem)
            self._pinned[pem] = context
        return context

    async def _json(self, response: aiohttp.ClientResponse, url: str) -> Any:
        raw = await response.read()
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            raise PeerUnreachable(f"{url} answered with something that is not JSON.") from None

    async def post(self, url: str, model: BaseModel) -> dict[str, Any]:
        """POST the model as JSON; the answer's JSON object."""
        body = model.model_dump_json().encode("utf-8")
        async with self._exchange("POST", url, body, "application/json") as response:
            answer = await self._json(response, url)
        if not isinstance(answer, dict):
            raise PeerUnreachable(f"{url} answered with JSON that is not an object.")
        return answer

    async def get(self, url: str) -> Any:
        """GET, and the answer's JSON."""
        async with self._exchange("GET", url, b"", None) as response:
            return await self._json(response, url)

    async def lines(self, url: str) -> AsyncIterator[dict[str, Any]]:
        """GET a JSON-lines answer, one object per line, as they arrive."""
        async for item in self._lines("GET", url, b"", None):
            yield item

    async def raw_lines_post(
        self, url: str, body: bytes, content_type: str
    ) -> AsyncIterator[bytes]:
        """POST ``body`` and read the answer line by line as it arrives (batch status);
        the caller parses each line (e.g. straight into its model)."""
        async with self._exchange("POST", url, body, content_type) as response:
            async for raw in response.content:
                if raw.strip():
                    yield raw

    async def _lines(
        self, method: str, url: str, body: bytes, content_type: str | None
    ) -> AsyncIterator[dict[str, Any]]:
        async with self._exchange(method, url, body, content_type) as response:
            async for raw in response.content:
                if not raw.strip():
                    continue
                try:
                    item = json.loads(raw)
                except ValueError:
                    raise PeerUnreachable(f"{url} sent a line that is not JSON.") from None
                if not isinstance(item, dict):
                    raise PeerUnreachable(f"{url} sent a line that is not a JSON object.")
                yield item
