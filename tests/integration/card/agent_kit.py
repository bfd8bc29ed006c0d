"""A card agent as the terminal runs it: the installed command as a process on a free
port of 127.0.0.1, and a card certified by a network JPKI CA to put in pcscd's reader."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding

from jukinet.card import certs
from jukinet.card.builder import (
    Authorities,
    CardKeys,
    CardPins,
    Holder,
    JpkiCertificates,
    issue_card,
)
from jukinet.card.content import CardContent
from jukinet.jpki import Holder as CertifiedHolder
from jukinet.jpki import JpkiCA, build_crl, create_ca, issue_authentication, issue_signing

READER = "Virtual PCD 00 00"
PIN = "8642"
PASSWORD = "QWERTY99"
ORIGIN = "https://portal.jukinet.test"
OTHER_ORIGIN = "https://other.jukinet.test"
RESIDENT = CertifiedHolder("山田 花子", date(1985, 4, 1), "female", "東京都千代田区千代田1-1")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class CertifiedCard:
    ca: JpkiCA
    content: CardContent
    auth_cert: x509.Certificate
    sign_cert: x509.Certificate

    def crl(self, *revoked: Any) -> x509.CertificateRevocationList:
        return build_crl(self.ca, revoked, 1, datetime.now(UTC))


def certified_card(keys: CardKeys, *, signing: bool = True) -> CertifiedCard:
    """A card whose JPKI certificates the network's JPKI CA issued (as at the window);
    without ``signing``, a child's card: no signing key nor certificate (R15)."""
    ca = create_ca("agent test")
    auth = issue_authentication(ca, keys.jpki_auth.public_key(), RESIDENT.date_of_birth)
    sign = issue_signing(ca, keys.jpki_sign.public_key(), RESIDENT)
    der = JpkiCertificates(
        auth.public_bytes(Encoding.DER),
        sign.public_bytes(Encoding.DER) if signing else None,
        ca.cert.public_bytes(Encoding.DER),
    )
    holder = Holder("12345678901", "C000000001", "131016", RESIDENT.name, date(2031, 3, 31))
    password = PASSWORD if signing else None
    pins = CardPins(jpki_auth=PIN, jpki_sign=password, resident="5678", municipal="2468")
    authorities = Authorities(
        der, Ed25519PrivateKey.generate(), certs.public_bytes(Ed25519PrivateKey.generate())
    )
    return CertifiedCard(ca, issue_card(holder, pins, authorities, keys), auth, sign)


@dataclass
class Agent:
    port: int
    process: subprocess.Popen[str]
    output: str = ""
    """What the process printed, once it ended."""

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        origin: str | None = ORIGIN,
        host: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        """One request as a page's fetch() makes it: status, headers (lower case), JSON."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        sent = {"Host": host or f"127.0.0.1:{self.port}", **(headers or {})}
        if origin is not None:
            sent["Origin"] = origin
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
            sent["Content-Length"] = str(len(data))
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in sent.items():
                conn.putheader(name, value)
            conn.endheaders(data)
            response = conn.getresponse()
            raw = response.read()
            got = {k.lower(): v for k, v in response.getheaders()}
        finally:
            conn.close()
        return response.status, got, json.loads(raw) if raw else {}


@contextmanager
def running_agent(*origins: str, reader: str = READER) -> Iterator[Agent]:
    """``jukinet card-agent`` for ``origins`` until the block ends."""
    port = free_port()
    args = [sys.executable, "-m", "jukinet", "card-agent", "--port", str(port), "--reader", reader]
    for origin in origins:
        args += ["--allow-origin", origin]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[3] / "src")}
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    agent = Agent(port, process)
    deadline = time.monotonic() + 30
    while True:
        try:
            agent.call("GET", "/v1/status")
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                said = process.communicate()[0]
                raise AssertionError(f"the card agent did not start: {said}") from None
            time.sleep(0.1)
    try:
        yield agent
    finally:
        process.terminate()
        agent.output, _ = process.communicate(timeout=30)
