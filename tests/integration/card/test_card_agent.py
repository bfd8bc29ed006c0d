"""The terminal's card agent bridges the reader to a web page (R15, R19, R21; issue 13).

Real parts throughout: pcscd with vsmartcard's virtual reader holding the card, the
installed ``jukinet card-agent`` as a process on a free port of 127.0.0.1, spoken to
over HTTP with the headers a browser's fetch() sends. Signatures are checked by the
server side's verifier and, independently, by ``openssl``.
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from jukinet.card.builder import CardKeys
from jukinet.card.chip import Chip
from jukinet.card.image import new_chip_key, open_image, write_image
from jukinet.errors import CardCertificateRefused, CardSignInRefused
from jukinet.jpki import Kind, Reason, Revoked, verify_signature
from jukinet.jpki.holder import holder_of
from jukinet.jpki.sign_in import SignInAnswer, new_challenge, sign_in_message, verify_sign_in
from jukinet.nodes.municipality import moving_online

from .agent_kit import (
    ORIGIN,
    OTHER_ORIGIN,
    PASSWORD,
    PIN,
    RESIDENT,
    Agent,
    CertifiedCard,
    certified_card,
    running_agent,
)
from .conftest import Inserted


@pytest.fixture(scope="module")
def card(card_keys: CardKeys) -> CertifiedCard:
    return certified_card(card_keys)


@pytest.fixture(scope="module")
def agent() -> Iterator[Agent]:
    with running_agent(ORIGIN, OTHER_ORIGIN) as running:
        yield running


@pytest.fixture
def inserted(
    tmp_path: Path, card: CertifiedCard, insert_card: Callable[[Chip, int], Inserted]
) -> Inserted:
    """A fresh card (every PIN's tries whole) in the agent's reader."""
    key = new_chip_key()
    write_image(tmp_path / "card.img", card.content, key)
    return insert_card(open_image(tmp_path / "card.img", key), 0)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _sign_in(agent: Agent, challenge: bytes, pin: str = PIN, origin: str = ORIGIN) -> tuple:
    return agent.call(
        "POST", "/v1/sign", {"kind": "authentication", "pin": pin, "challenge": _b64(challenge)},
        origin=origin,
    )  # fmt: skip


def _tries(agent: Agent, kind: str = "authentication") -> dict[str, object]:
    status, _, body = agent.call("GET", "/v1/status")
    assert status == 200
    return body["pins"][kind]  # type: ignore[no-any-return]


def _openssl_verifies(tmp_path: Path, cert: bytes, message: bytes, signature: bytes) -> str:
    """``openssl dgst -sha256 -verify`` with the public key of the certificate ``cert``."""
    (tmp_path / "cert.der").write_bytes(cert)
    (tmp_path / "message").write_bytes(message)
    (tmp_path / "sig").write_bytes(signature)
    pub = subprocess.run(
        ["openssl", "x509", "-inform", "DER", "-in", tmp_path / "cert.der", "-pubkey", "-noout"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    (tmp_path / "pub.pem").write_bytes(pub)
    done = subprocess.run(
        ["openssl", "dgst", "-sha256", "-verify", tmp_path / "pub.pem",
         "-signature", tmp_path / "sig", tmp_path / "message"],
        capture_output=True, text=True,
    )  # fmt: skip
    return done.stdout.strip()


def test_status_without_a_card_then_with_it_says_nothing_personal(
    agent: Agent, card: CertifiedCard, request: pytest.FixtureRequest
) -> None:
    """R19: the status names the reader, the card's application and the tries left only."""
    status, headers, body = agent.call("GET", "/v1/status")
    assert status == 200 and body["reader"] == {"present": True, "name": "Virtual PCD 00 00"}
    assert body["card"] == {"present": False, "application": None}
    assert headers["access-control-allow-origin"] == ORIGIN
    assert "access-control-allow-credentials" not in headers and "set-cookie" not in headers

    request.getfixturevalue("inserted")
    status, _, body = agent.call("GET", "/v1/status")
    assert status == 200
    assert body["card"] == {"present": True, "application": "JPKI"}
    assert body["signing_certificate"] is True
    assert body["pins"] == {
        "authentication": {"tries_left": 3, "blocked": False},
        "signing": {"tries_left": 5, "blocked": False},
    }
    text = str(body)
    assert RESIDENT.name not in text and "12345678901" not in text


def test_the_authentication_certificate_is_read_without_a_pin(
    agent: Agent, card: CertifiedCard, inserted: Inserted
) -> None:
    status, _, body = agent.call("GET", "/v1/certificate?kind=authentication")
    assert status == 200
    assert base64.b64decode(body["certificate"]) == card.auth_cert.public_bytes(Encoding.DER)


def test_the_signing_certificate_needs_the_signing_password(
    agent: Agent, card: CertifiedCard, inserted: Inserted
) -> None:
    """R15: the signing certificate names the holder; JPKI reads it after the password."""
    status, _, body = agent.call("GET", "/v1/certificate?kind=signing")
    assert status == 401 and body["error"] == "pin-required"
    assert "signing password" in body["message"]

    status, _, body = agent.call("POST", "/v1/certificate", {"kind": "signing", "pin": "WRONG123"})
    assert (status, body["error"], body["tries_left"]) == (401, "wrong-pin", 4)
    assert body["message"] == (
        "Wrong signing password (署名用パスワード): 4 tries left before it blocks."
    )

    status, _, body = agent.call("POST", "/v1/certificate", {"kind": "signing", "pin": PASSWORD})
    assert status == 200
    der = base64.b64decode(body["certificate"])
    assert holder_of(x509.load_der_x509_certificate(der)) == RESIDENT
    assert _tries(agent, "signing") == {"tries_left": 5, "blocked": False}


def test_a_sign_in_verifies_at_the_server_and_with_openssl(
    agent: Agent, card: CertifiedCard, inserted: Inserted, tmp_path: Path
) -> None:
    """R15: the card's user-authentication key signs the challenge bound to the origin."""
    challenge = new_challenge()
    status, _, body = _sign_in(agent, challenge)
    assert status == 200, body
    assert body["origin"] == ORIGIN and body["kind"] == "authentication"
    message = base64.b64decode(body["message"])
    assert message == sign_in_message(ORIGIN, challenge)

    signer = verify_sign_in(
        SignInAnswer.from_json(body), origin=ORIGIN, challenge=challenge,
        ca=card.ca.cert, crl=card.crl(),
    )  # fmt: skip
    assert signer.kind is Kind.AUTHENTICATION
    assert signer.serial == card.auth_cert.serial_number
    assert signer.holder is None  # a user-authentication certificate names no one

    signature, cert = base64.b64decode(body["signature"]), base64.b64decode(body["certificate"])
    assert _openssl_verifies(tmp_path, cert, message, signature) == "Verified OK"
    assert _openssl_verifies(tmp_path, cert, message + b" ", signature) == "Verification failure"


def test_a_challenge_signed_for_another_origin_is_refused_by_the_server(
    agent: Agent, card: CertifiedCard, inserted: Inserted
) -> None:
    """A page of another (even allowed) site that got this site's challenge gets a
    signature naming its own origin: replayed here, it proves nothing."""
    challenge = new_challenge()
    status, _, body = _sign_in(agent, challenge, origin=OTHER_ORIGIN)
    assert status == 200 and body["origin"] == OTHER_ORIGIN
    replayed = SignInAnswer.from_json(body)
    evidence = {"ca": card.ca.cert, "crl": card.crl()}

    with pytest.raises(CardSignInRefused) as refused:
        verify_sign_in(replayed, origin=ORIGIN, challenge=challenge, **evidence)
    assert str(refused.value) == (
        f"The card signed in to {OTHER_ORIGIN}, not to this site ({ORIGIN}); "
        "sign in again from this site's own page."
    )
    with pytest.raises(CardSignInRefused, match="does not match this site's sign-in"):
        verify_sign_in(
            replace(replayed, origin=ORIGIN), origin=ORIGIN, challenge=challenge, **evidence
        )
    with pytest.raises(CardSignInRefused, match="another challenge"):
        verify_sign_in(replayed, origin=OTHER_ORIGIN, challenge=new_challenge(), **evidence)


def test_a_revoked_certificate_does_not_sign_in(
    agent: Agent, card: CertifiedCard, inserted: Inserted
) -> None:
    challenge = new_challenge()
    _, _, body = _sign_in(agent, challenge)
    lost = Revoked(card.auth_cert.serial_number, datetime.now(UTC), Reason.CARD_LOST)
    with pytest.raises(CardCertificateRefused, match=r"revoked on .* reported lost"):
        verify_sign_in(
            SignInAnswer.from_json(body), origin=ORIGIN, challenge=challenge,
            ca=card.ca.cert, crl=card.crl(lost),
        )  # fmt: skip


def test_a_document_is_signed_with_the_signing_key(
    agent: Agent, card: CertifiedCard, inserted: Inserted, tmp_path: Path
) -> None:
    """R21: the online move-out is signed with the signing key and its password."""
    document = moving_online.canonical(
        {"type": moving_online.DOCUMENT_TYPE, "holder": "12345678901", "destination": "大阪市北区"}
    )
    status, _, body = agent.call(
        "POST", "/v1/sign", {"kind": "signing", "pin": PASSWORD, "data": _b64(document)}
    )
    assert status == 200, body
    assert "origin" not in body and body["hash"] == "SHA-256"
    signature, cert = base64.b64decode(body["signature"]), base64.b64decode(body["certificate"])
    signer = verify_signature(document, signature, cert, card.ca.cert, card.crl())
    assert signer.kind is Kind.SIGNING and signer.holder == RESIDENT
    assert _openssl_verifies(tmp_path, cert, document, signature) == "Verified OK"


def test_the_authentication_key_signs_no_document(agent: Agent, inserted: Inserted) -> None:
    status, _, body = agent.call(
        "POST", "/v1/sign", {"kind": "authentication", "pin": PIN, "data": _b64(b"anything")}
    )
    assert status == 400 and "never" in body["message"]
    assert _tries(agent) == {"tries_left": 3, "blocked": False}


def test_a_wrong_pin_says_the_tries_left_and_the_right_one_restores_them(
    agent: Agent, inserted: Inserted
) -> None:
    """R19: every wrong PIN costs a try, and the page is told how many are left."""
    status, _, body = _sign_in(agent, new_challenge(), pin="0000")
    assert (status, body["error"], body["tries_left"]) == (401, "wrong-pin", 2)
    assert body["message"] == (
        "Wrong user-authentication PIN (利用者証明用暗証番号): 2 tries left before it blocks."
    )
    assert _tries(agent) == {"tries_left": 2, "blocked": False}
    status, _, body = _sign_in(agent, new_challenge(), pin="0000")
    assert body["message"].endswith(": 1 try left before it blocks.")
    assert _sign_in(agent, new_challenge())[0] == 200
    assert _tries(agent) == {"tries_left": 3, "blocked": False}


def test_a_blocked_pin_is_sent_to_the_municipalitys_window(
    agent: Agent, inserted: Inserted
) -> None:
    """R19: after three wrong PINs the card is blocked; the right PIN no longer opens it."""
    for _ in range(2):
        assert _sign_in(agent, new_challenge(), pin="0000")[0] == 401
    status, _, body = _sign_in(agent, new_challenge(), pin="0000")
    assert (status, body["error"]) == (423, "pin-blocked")
    assert "must be unblocked at the municipality's window" in body["message"]
    status, _, body = _sign_in(agent, new_challenge())
    assert (status, body["error"]) == (423, "pin-blocked")
    assert body["message"] == (
        "The card's user-authentication PIN (利用者証明用暗証番号) is blocked after too many "
        "wrong tries; it must be unblocked at the municipality's window (bring the card)."
    )
    assert _tries(agent) == {"tries_left": 0, "blocked": True}


def test_a_page_of_another_site_is_refused_and_the_card_is_not_touched(
    agent: Agent, inserted: Inserted
) -> None:
    status, headers, body = _sign_in(
        agent, new_challenge(), pin="0000", origin="https://evil.example"
    )
    assert status == 403 and "https://evil.example is not allowed" in body["message"]
    assert "access-control-allow-origin" not in headers
    assert _tries(agent) == {"tries_left": 3, "blocked": False}  # no try was spent
    # An origin is matched exactly: another scheme, port or a trailing slash is another site.
    for near in ("http://portal.jukinet.test", "https://portal.jukinet.test:8443",
                 f"{ORIGIN}/", "null"):  # fmt: skip
        assert agent.call("GET", "/v1/status", origin=near)[0] == 403


def test_a_request_from_no_page_is_refused(agent: Agent, inserted: Inserted) -> None:
    status, headers, body = agent.call("GET", "/v1/status", origin=None)
    assert status == 403 and "has no Origin" in body["message"]
    assert "access-control-allow-origin" not in headers


@pytest.mark.parametrize(
    "host", ["evil.example:{port}", "127.0.0.1:1", "127.0.0.1", "[::1]:{port}", "0.0.0.0:{port}"]
)
def test_a_host_that_is_not_the_agents_is_refused(
    agent: Agent, inserted: Inserted, host: str
) -> None:
    """DNS rebinding: a name made to resolve to 127.0.0.1 arrives with its own Host."""
    status, headers, body = agent.call("GET", "/v1/status", host=host.format(port=agent.port))
    assert status == 421 and "127.0.0.1 or localhost" in body["message"]
    assert "access-control-allow-origin" not in headers
    assert agent.call("GET", "/v1/status", host=f"localhost:{agent.port}")[0] == 200


def test_a_preflight_of_an_allowed_page_allows_post_json_and_the_private_network(
    agent: Agent,
) -> None:
    asked = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
        "Access-Control-Request-Private-Network": "true",
    }
    status, headers, _ = agent.call("OPTIONS", "/v1/sign", headers=asked)
    assert status == 204
    assert headers["access-control-allow-origin"] == ORIGIN
    assert headers["access-control-allow-methods"] == "GET, POST"
    assert headers["access-control-allow-headers"] == "Content-Type"
    assert headers["access-control-allow-private-network"] == "true"
    assert "access-control-allow-credentials" not in headers

    status, headers, _ = agent.call("OPTIONS", "/v1/sign", headers=asked, origin=OTHER_ORIGIN)
    assert status == 204 and headers["access-control-allow-origin"] == OTHER_ORIGIN
    status, headers, _ = agent.call("OPTIONS", "/v1/sign", headers=asked, origin="https://x.test")
    assert status == 403 and "access-control-allow-origin" not in headers
    extra = asked | {"Access-Control-Request-Headers": "content-type, x-steal"}
    assert agent.call("OPTIONS", "/v1/sign", headers=extra)[0] == 403
    assert agent.call("OPTIONS", "/v1/sign", headers=asked | {
        "Access-Control-Request-Method": "DELETE"})[0] == 403  # fmt: skip


def test_malformed_requests_get_one_sentence_and_cost_no_try(
    agent: Agent, inserted: Inserted
) -> None:
    cases = [
        ({"kind": "authentication", "pin": "97", "challenge": _b64(b"x" * 32)}, "4 digits"),
        ({"kind": "signing", "pin": "zyx", "data": _b64(b"doc")}, "6 to 16 upper-case"),
        ({"kind": "authentication", "pin": PIN, "challenge": "%%%"}, "not base64"),
        ({"kind": "authentication", "pin": PIN, "challenge": _b64(b"short")}, "16 to 64"),
        ({"kind": "signing", "pin": PASSWORD, "challenge": _b64(b"x" * 32)}, "user-auth"),
        ({"kind": "master", "pin": PIN}, '"kind" is'),
        ({"kind": "signing", "pin": PASSWORD, "data": _b64(b"d"), "hash": "MD5"}, '"hash"'),
    ]
    for body, expected in cases:
        status, _, answer = agent.call("POST", "/v1/sign", body)
        assert status == 400 and expected in answer["message"], (body, answer)
        assert "97" not in answer["message"] and "zyx" not in answer["message"]
    raw = {"Content-Type": "text/plain"}
    status, _, answer = agent.call("POST", "/v1/sign", headers=raw)
    assert status == 400 and "Content-Type: application/json" in answer["message"]
    big = {"kind": "signing", "pin": PASSWORD, "data": _b64(b"x" * 400_000)}
    status, _, answer = agent.call("POST", "/v1/sign", big)
    assert status == 413 and answer["message"] == "The request body is too large."
    assert _tries(agent) == {"tries_left": 3, "blocked": False}
    assert _tries(agent, "signing") == {"tries_left": 5, "blocked": False}


def test_without_a_card_the_page_is_told_to_insert_it(agent: Agent) -> None:
    status, _, body = _sign_in(agent, new_challenge())
    assert (status, body["error"]) == (409, "card-not-present")
    assert body["message"] == "There is no card in the reader: insert the resident card."


def test_a_childs_card_has_no_signing_certificate(
    tmp_path: Path, card_keys: CardKeys, agent: Agent, insert_card: Callable[[Chip, int], Inserted]
) -> None:
    """R15: no signing certificate under 15; the user-authentication key still signs in."""
    child = certified_card(card_keys, signing=False)
    key = new_chip_key()
    write_image(tmp_path / "child.img", child.content, key)
    insert_card(open_image(tmp_path / "child.img", key), 0)
    status, _, body = agent.call("GET", "/v1/status")
    assert body["card"]["application"] == "JPKI" and body["signing_certificate"] is False
    tries = body["pins"]["signing"]
    document = {"kind": "signing", "pin": "ABCDEF12", "data": _b64(b"doc")}
    asked = {"kind": "signing", "pin": "ABCDEF12"}
    for path, sent in (("/v1/sign", document), ("/v1/certificate", asked)):
        status, _, body = agent.call("POST", path, sent)
        assert (status, body["error"]) == (404, "no-certificate")
        assert body["message"] == (
            "The card holds no signing certificate (none is issued to a person under 15)."
        )
    assert _tries(agent, "signing") == tries  # no try of the password nobody was told
    assert _sign_in(agent, new_challenge())[0] == 200


def test_the_command_refuses_an_origin_that_is_not_one() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "jukinet", "card-agent", "--allow-origin", "https://portal.example.jp/"],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[3] / "src")},
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith("error: 'https://portal.example.jp/' is not an origin")
    assert "Traceback" not in done.stderr


def test_the_pin_is_never_written_out(
    tmp_path: Path, card: CertifiedCard, insert_card: Callable[[Chip, int], Inserted]
) -> None:
    """Nothing the agent prints holds a PIN, right or wrong (R19)."""
    key = new_chip_key()
    write_image(tmp_path / "card.img", card.content, key)
    insert_card(open_image(tmp_path / "card.img", key), 0)
    with running_agent(ORIGIN) as agent:
        assert _sign_in(agent, new_challenge(), pin="9753")[0] == 401
        assert _sign_in(agent, new_challenge())[0] == 200
        agent.call("POST", "/v1/certificate", {"kind": "signing", "pin": PASSWORD})
    assert agent.output.startswith(f"card agent on http://127.0.0.1:{agent.port} for {ORIGIN}")
    for secret in ("9753", PIN, PASSWORD):
        assert secret not in agent.output


def test_the_agent_listens_on_127_0_0_1_only(agent: Agent) -> None:
    """Another address of this machine (127.0.0.2 is the loopback too) finds no agent."""
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.2", agent.port), timeout=10).close()
    socket.create_connection(("127.0.0.1", agent.port), timeout=10).close()
