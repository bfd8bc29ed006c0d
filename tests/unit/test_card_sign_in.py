"""Signing in with the card: the message bound to the origin, the server's checks of an
answer, and the origins a card agent may be told to allow (R15; docs/card-agent.md).

The card is stood in for by its key here (the card's own signature is checked through
pcscd in tests/integration/card/test_card_agent.py)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from jukinet.cardagent.guard import check_origin
from jukinet.errors import CardAgentRefused, CardCertificateRefused, CardSignInRefused
from jukinet.jpki import (
    Holder,
    Kind,
    Signer,
    build_crl,
    create_ca,
    issue_authentication,
    issue_signing,
)
from jukinet.jpki.sign_in import SignInAnswer, new_challenge, sign_in_message, verify_sign_in

ORIGIN = "https://portal.jukinet.test"
CA = create_ca("sign-in test")
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
AUTH = issue_authentication(CA, KEY.public_key(), date(1980, 5, 5)).public_bytes(Encoding.DER)


def _crl() -> x509.CertificateRevocationList:
    return build_crl(CA, [], 1, datetime.now(UTC))


def _answer(origin: str, challenge: bytes, cert: bytes = AUTH) -> SignInAnswer:
    signature = KEY.sign(sign_in_message(origin, challenge), padding.PKCS1v15(), hashes.SHA256())
    return SignInAnswer(origin, challenge, signature, cert)


def _verify(answer: SignInAnswer, challenge: bytes, at: datetime | None = None) -> Signer:
    return verify_sign_in(answer, origin=ORIGIN, challenge=challenge, ca=CA.cert, crl=_crl(), at=at)


def test_the_message_is_canonical_json_of_type_origin_and_challenge() -> None:
    message = sign_in_message(ORIGIN, b"\x01" * 32)
    assert message == (
        b'{"challenge":"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",'
        b'"origin":"https://portal.jukinet.test","type":"jukinet-card-sign-in/1"}'
    )
    assert json.loads(message)["origin"] == ORIGIN
    assert len(new_challenge()) == 32 and new_challenge() != new_challenge()


def test_a_good_answer_names_the_certificate() -> None:
    challenge = new_challenge()
    signer = _verify(_answer(ORIGIN, challenge), challenge)
    assert signer.kind is Kind.AUTHENTICATION and signer.holder is None


def test_each_failure_is_its_own_refusal() -> None:
    challenge = new_challenge()
    with pytest.raises(CardSignInRefused, match=r"signed in to https://other\.test, not to"):
        _verify(_answer("https://other.test", challenge), challenge)
    with pytest.raises(CardSignInRefused, match="another challenge"):
        _verify(_answer(ORIGIN, new_challenge()), challenge)
    with pytest.raises(CardSignInRefused, match="16 to 64 random bytes"):
        _verify(_answer(ORIGIN, b"abc"), b"abc")
    holder = Holder("山田 花子", date(1985, 4, 1), "female", "東京都千代田区千代田1-1")
    signing = issue_signing(CA, KEY.public_key(), holder).public_bytes(Encoding.DER)
    with pytest.raises(CardSignInRefused, match="user-authentication certificate"):
        _verify(_answer(ORIGIN, challenge, signing), challenge)
    forged = SignInAnswer(ORIGIN, challenge, bytes(256), AUTH)
    with pytest.raises(CardSignInRefused, match="signature does not match"):
        _verify(forged, challenge)
    other_ca = create_ca("another network")
    foreign = issue_authentication(other_ca, KEY.public_key(), date(1980, 5, 5))
    with pytest.raises(CardCertificateRefused, match="not issued by this network's JPKI CA"):
        _verify(_answer(ORIGIN, challenge, foreign.public_bytes(Encoding.DER)), challenge)
    with pytest.raises(CardCertificateRefused, match="revocation list"):
        _verify(_answer(ORIGIN, challenge), challenge, at=datetime.now(UTC) + timedelta(days=3))


def test_an_answer_is_read_from_its_json_or_refused() -> None:
    challenge = new_challenge()
    good = _answer(ORIGIN, challenge)
    text = {
        "origin": ORIGIN,
        "challenge": base64.b64encode(challenge).decode(),
        "signature": base64.b64encode(good.signature).decode(),
        "certificate": base64.b64encode(AUTH).decode(),
    }
    assert SignInAnswer.from_json(text) == good
    with pytest.raises(CardSignInRefused, match="has no signature"):
        SignInAnswer.from_json(text | {"signature": ""})
    with pytest.raises(CardSignInRefused, match="not base64"):
        SignInAnswer.from_json(text | {"certificate": "%%"})


@pytest.mark.parametrize(
    "origin",
    ["https://portal.example.jp", "https://portal.example.jp:8443", "http://127.0.0.1:8080"],
)
def test_an_origin_as_the_browser_sends_it_is_allowed(origin: str) -> None:
    assert check_origin(origin) == origin


@pytest.mark.parametrize(
    ("origin", "why"),
    [
        ("*", "not an origin"),
        ("https://portal.example.jp/", "not an origin"),
        ("https://Portal.example.jp", "lower case"),
        ("https://portal.example.jp:443", "default port 443"),
        ("http://portal.example.jp", "served over https"),
        ("ftp://portal.example.jp", "not an origin"),
        ("https://portal.example.jp:99999", "not an origin"),
    ],
)
def test_anything_else_is_refused(origin: str, why: str) -> None:
    with pytest.raises(CardAgentRefused, match=why):
        check_origin(origin)
