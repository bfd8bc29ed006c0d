"""A resident signs in on a web page with the card in the terminal's reader (R15; issue 13).

Chromium (Debian's, through Playwright) loads a small sign-in page from a local site
whose Content-Security-Policy forbids inline scripts; the page's module uses
``card-agent.js`` to reach the ``jukinet card-agent`` process, which has the card in
pcscd's virtual reader sign the site's challenge; the site verifies the answer with
``verify_sign_in``. The PIN is typed into the page and never reaches the site.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from jukinet.card.builder import CardKeys
from jukinet.card.chip import Chip
from jukinet.card.image import new_chip_key, open_image, write_image
from jukinet.errors import JukinetError
from jukinet.jpki.sign_in import SignInAnswer, new_challenge, verify_sign_in

from .agent_kit import PIN, CertifiedCard, certified_card, free_port, running_agent
from .conftest import Inserted

sync_api = pytest.importorskip("playwright.sync_api")

PAGE = Path(__file__).parent / "agent_page"
MODULE = Path(__file__).parents[3] / "src/jukinet/cardagent/browser/card-agent.js"


@dataclass
class Site:
    """The portal: serves the page, gives challenges, verifies answers; keeps every body
    it was sent, to show the PIN is never among them."""

    port: int
    agent: str
    card: CertifiedCard
    challenges: list[bytes] = field(default_factory=list)
    received: list[bytes] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def verify(self, body: bytes) -> str:
        if not self.challenges:
            return "No sign-in was started."
        challenge = self.challenges.pop()  # a challenge serves one attempt
        try:
            signer = verify_sign_in(
                SignInAnswer.from_json(json.loads(body)), origin=self.origin,
                challenge=challenge, ca=self.card.ca.cert, crl=self.card.crl(),
            )  # fmt: skip
        except JukinetError as refused:
            return refused.message
        return f"Signed in with certificate {signer.serial:X}."


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, kind: str, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header(
                "Content-Security-Policy",
                f"default-src 'self'; connect-src 'self' {site.agent}; script-src 'self'",
            )
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/":
                page = (PAGE / "index.html").read_text().replace("{{AGENT}}", site.agent)
                self._send("text/html; charset=utf-8", page.encode())
            elif self.path in ("/page.js", "/card-agent.js"):
                source = PAGE / "page.js" if self.path == "/page.js" else MODULE
                self._send("text/javascript", source.read_bytes())
            else:
                self.send_error(404)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            site.received.append(body)
            if self.path == "/challenge":
                challenge = new_challenge()
                site.challenges.append(challenge)
                answer = {"challenge": base64.b64encode(challenge).decode()}
            else:
                answer = {"message": site.verify(body)}
            self._send("application/json", json.dumps(answer).encode())

    return Handler


@pytest.fixture
def site(card_keys: CardKeys) -> Iterator[Site]:
    port = free_port()
    portal = Site(port, "", certified_card(card_keys))
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(portal))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield portal
    server.shutdown()
    server.server_close()


def test_a_resident_signs_in_on_the_page_with_the_card(
    site: Site, tmp_path: Path, insert_card: Callable[[Chip, int], Inserted]
) -> None:
    key = new_chip_key()
    write_image(tmp_path / "card.img", site.card.content, key)
    insert_card(open_image(tmp_path / "card.img", key), 0)
    with running_agent(site.origin) as agent, sync_api.sync_playwright() as playwright:
        site.agent = f"http://127.0.0.1:{agent.port}"
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        try:
            page = browser.new_page()
            errors: list[str] = []
            # Script errors and CSP refusals; a resource answered 4xx (the wrong PIN's 401,
            # the favicon's 404) is logged too and is not one.
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on(
                "console",
                lambda m: (
                    errors.append(m.text)
                    if m.type == "error" and not m.text.startswith("Failed to load resource")
                    else None
                ),
            )
            page.goto(site.origin + "/")
            expect = sync_api.expect
            expect(page.locator("#status")).to_have_text("JPKI, 3 tries left")

            page.get_by_label("利用者証明用暗証番号 (4 digits)").fill("0000")
            page.get_by_role("button", name="ログイン").click()
            expect(page.locator("#result")).to_have_text(
                "Wrong user-authentication PIN (利用者証明用暗証番号): "
                "2 tries left before it blocks."
            )
            expect(page.locator("#status")).to_have_text("JPKI, 2 tries left")

            page.get_by_label("利用者証明用暗証番号 (4 digits)").fill(PIN)
            page.keyboard.press("Enter")
            serial = f"{site.card.auth_cert.serial_number:X}"
            expect(page.locator("#result")).to_have_text(f"Signed in with certificate {serial}.")
            expect(page.locator("#status")).to_have_text("JPKI, 3 tries left")
            assert errors == []
        finally:
            browser.close()
    assert site.received and all(PIN.encode() not in body for body in site.received)
