"""The card of a resident under 15 (R15, docs/card.md "Under 15"): JPKI issues no signing
certificate before 15, so the card holds the user-authentication certificate only — no
signing certificate, key or password — and `card sign` with it is one clear refusal.
Here with the in-process reader; OpenSC reads such a card in test_opensc.py, and the
network's JPKI CA issues one in tests/e2e/test_card_under_15.py.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.hashes import SHA256

from jukinet.card import certs, image
from jukinet.card.apps import jpki
from jukinet.card.builder import Authorities, CardKeys, CardPins, Holder, issue_card
from jukinet.card.jpki_ca import JpkiTestCA
from jukinet.card.reader import InProcessReader
from jukinet.card.terminal import Terminal
from jukinet.errors import CardRefused, NoSigningCertificate
from jukinet.jpki.validity import may_hold_signing_certificate
from jukinet.nodes.municipality import card_window

PIN = "2468"
CHILD = CardPins(jpki_auth=PIN, jpki_sign=None, resident=PIN, municipal=PIN)


def child_card(tmp_path: Path, keys: CardKeys) -> Path:
    holder = Holder("12345678903", "000000000015", "131016", "中村 陽斗", date(2036, 3, 31))
    authorities = Authorities(
        JpkiTestCA.create(), Ed25519PrivateKey.generate(),
        certs.public_bytes(Ed25519PrivateKey.generate()),
    )  # fmt: skip
    path = tmp_path / "child.img"
    image.write_image(path, issue_card(holder, CHILD, authorities, keys), b"k" * 32)
    return path


def terminal(path: Path) -> Terminal:
    reader = InProcessReader(image.open_image(path, b"k" * 32))
    reader.connect()
    return Terminal(reader)


def test_jpki_gives_no_signing_certificate_before_15() -> None:
    assert not may_hold_signing_certificate(date(2012, 12, 3), date(2026, 12, 2))
    assert may_hold_signing_certificate(date(2011, 12, 2), date(2026, 12, 2))


def test_a_card_under_15_holds_the_user_authentication_certificate_only(
    tmp_path: Path, card_keys: CardKeys
) -> None:
    t = terminal(child_card(tmp_path, card_keys))
    assert not card_window.has_signing_certificate(t)
    t.select_application(jpki.AID)
    assert t.read_file(jpki.CERTS_PRESENT) == bytes([1, 1, 0, 1])  # 000A, 000B, 0001, 0002
    auth = x509.load_der_x509_certificate(t.read_file(jpki.AUTH_CERT))
    # The user-authentication key signs with the PIN, as for any holder (R15, R16).
    t.verify(jpki.AUTH_PIN, PIN)
    digest = card_window.SHA256_DIGEST_INFO + hashlib.sha256(b"login").digest()
    signature = t.sign(jpki.AUTH_KEY, digest)
    auth.public_key().verify(signature, b"login", padding.PKCS1v15(), SHA256())  # type: ignore[union-attr]
    # No signing key or certificate is there; the signing password's EF, which OpenSC
    # asks every JPKI card about, has a value nobody was told and guards nothing.
    with pytest.raises(CardRefused, match="no such application or file"):
        t.select(jpki.SIGN_KEY)
    with pytest.raises(CardRefused):
        t.read_file(jpki.SIGN_CERT)
    assert t.tries_left(jpki.SIGN_PIN) == jpki.SIGN_PIN_TRIES


def test_signing_with_a_card_under_15_is_one_clear_refusal(
    tmp_path: Path, card_keys: CardKeys
) -> None:
    t = terminal(child_card(tmp_path, card_keys))
    with pytest.raises(NoSigningCertificate) as refused:
        card_window.sign(t, "ABCDEF12", "転出届".encode())
    assert str(refused.value) == card_window.NO_SIGNING
    assert "under 15" in str(refused.value) and refused.value.code == "no-signing-certificate"
    assert t.tries_left(jpki.AUTH_PIN) == 3  # nothing was tried on the card


def test_a_signing_certificate_comes_with_its_password_or_not_at_all(card_keys: CardKeys) -> None:
    holder = Holder("12345678903", "000000000016", "131016", "中村 陽斗", date(2036, 3, 31))
    network_ca = JpkiTestCA.create()
    auth = network_ca.auth.issue(card_keys.jpki_auth.public_key(), "auth", signing=False)
    from jukinet.card.builder import JpkiCertificates

    only_auth = JpkiCertificates(auth, None, network_ca.auth.der)
    issuer = Ed25519PrivateKey.generate()
    anchor = certs.public_bytes(Ed25519PrivateKey.generate())
    adult = CardPins(jpki_auth=PIN, jpki_sign="ABCDEF12", resident=PIN, municipal=PIN)
    with pytest.raises(ValueError, match="needs a signing password"):
        issue_card(holder, adult, Authorities(only_auth, issuer, anchor), card_keys)
    issue_card(holder, CHILD, Authorities(only_auth, issuer, anchor), card_keys)
