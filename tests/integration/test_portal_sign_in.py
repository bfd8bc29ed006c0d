"""Signing in to the resident portal with the card, checked by the municipality (R15;
docs/ui.md, "The resident portal"): the certificate that signed the portal's challenge is
mapped to the resident through the cards this municipality issued, and every sign-in,
accepted or refused, is one entry of the register's audit log."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy import update

from jukinet import config
from jukinet.audit import log as audit
from jukinet.domain import events as ev
from jukinet.domain.access import Session
from jukinet.errors import CardSignInRefused, PortalSignInRefused
from jukinet.jpki import build_crl, create_ca, crl_der, issue_authentication
from jukinet.jpki.sign_in import SignInAnswer, new_challenge, sign_in_message
from jukinet.nodes.municipality import portal, service
from jukinet.nodes.municipality.store import RegisterStore
from jukinet.nodes.municipality.tables import cards
from tests.helpers import TODAY, arrival, person

ORIGIN = "https://localhost:8443"


def _answer(key: rsa.RSAPrivateKey, cert: bytes, origin: str, challenge: bytes) -> SignInAnswer:
    """What the card agent answers: the card's signature over the sign-in message."""
    signature = key.sign(sign_in_message(origin, challenge), padding.PKCS1v15(), hashes.SHA256())
    return SignInAnswer(origin, challenge, signature, cert)


@pytest.fixture
def card(home: Path, store: RegisterStore, clerk: Session) -> tuple[str, rsa.RSAPrivateKey, bytes]:
    """A resident of this municipality with an active card whose user-authentication
    certificate the network's JPKI CA issued (its CA certificate and CRL in the home)."""
    ca = create_ca("portal test")
    (home / config.JPKI_CA_FILE).write_bytes(ca.cert.public_bytes(serialization.Encoding.PEM))
    (home / config.JPKI_CRL_FILE).write_bytes(crl_der(build_crl(ca, [], 1, datetime.now(UTC))))
    code = service.record_event(store, clerk, arrival(person()), TODAY).records[0].resident_code
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = issue_authentication(ca, key.public_key(), person().date_of_birth)
    with store.transaction() as tx:
        tx.conn.execute(cards.insert().values(
            card_number="000000000001", resident_code=code, state="active", issued_on=TODAY,
            valid_until=TODAY.replace(year=TODAY.year + 10),
            auth_serial=f"{cert.serial_number:040x}", sign_serial=None, changed_on=TODAY,
            reason="issued", replaced_by=None,
        ))  # fmt: skip
    return code, key, cert.public_bytes(serialization.Encoding.DER)


def _signins(store: RegisterStore) -> list[audit.Entry]:
    with store.engine.connect() as conn:
        return [e for e in audit.entries(conn) if e.operation == "portal.signin"]


def test_the_card_s_certificate_signs_in_its_holder(
    home: Path, store: RegisterStore, card: tuple[str, rsa.RSAPrivateKey, bytes]
) -> None:
    """R15: the user-authentication certificate names no one; the municipality's record of
    the card it issued says whose it is."""
    code, key, cert = card
    challenge = new_challenge()
    signed = asyncio.run(portal.sign_in(store, home, _answer(key, cert, ORIGIN, challenge),
                                        origin=ORIGIN, challenge=challenge))  # fmt: skip
    assert signed.resident_code == code and signed.name == "山田 太郎"
    [entry] = _signins(store)
    assert (entry.actor, entry.target, entry.outcome) == ("portal:card", code, "ok")
    assert signed.serial in entry.detail


def test_another_site_s_sign_in_opens_nothing_and_is_audited(
    home: Path, store: RegisterStore, card: tuple[str, rsa.RSAPrivateKey, bytes]
) -> None:
    _code, key, cert = card
    challenge = new_challenge()
    forged = _answer(key, cert, "https://evil.example", challenge)
    with pytest.raises(CardSignInRefused, match="not to this site"):
        asyncio.run(portal.sign_in(store, home, forged, origin=ORIGIN, challenge=challenge))
    [entry] = _signins(store)
    assert entry.outcome == "refused" and "evil.example" in entry.detail


def test_a_suspended_card_signs_in_nobody(
    home: Path, store: RegisterStore, card: tuple[str, rsa.RSAPrivateKey, bytes]
) -> None:
    """R16/R17: a card suspended at the window (lost) no longer opens the portal, even
    before the CRL says so."""
    _code, key, cert = card
    with store.transaction() as tx:
        tx.conn.execute(update(cards).values(state="suspended"))
    challenge = new_challenge()
    with pytest.raises(PortalSignInRefused, match="not an active card of a resident"):
        asyncio.run(portal.sign_in(store, home, _answer(key, cert, ORIGIN, challenge),
                                   origin=ORIGIN, challenge=challenge))  # fmt: skip
    [entry] = _signins(store)
    assert entry.outcome == "refused"


def test_after_a_code_change_the_card_signs_in_the_same_person_r6(
    home: Path, store: RegisterStore, clerk: Session,
    card: tuple[str, rsa.RSAPrivateKey, bytes],
) -> None:  # fmt: skip
    """R6: the certificate names no code, so a changed code leaves the card valid for
    the person, who signs in under the new one."""
    old, key, cert = card
    service.record_event(store, clerk, ev.CodeChange(old, TODAY, TODAY), TODAY)
    challenge = new_challenge()
    signed = asyncio.run(portal.sign_in(store, home, _answer(key, cert, ORIGIN, challenge),
                                        origin=ORIGIN, challenge=challenge))  # fmt: skip
    assert signed.resident_code != old and signed.name == "山田 太郎"
