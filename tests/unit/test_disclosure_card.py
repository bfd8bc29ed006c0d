"""The request for disclosure signed with the resident's card (R14, R15): what the
terminal builds at the window, and what a node checks of it (``card_proof``), with a
card in an in-process reader and a JPKI CA of this test's own. Nodes, apps and the
national records are in tests/integration/test_disclosure_card.py.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy import Connection, create_engine

from jukinet.card.apps import jpki as jpki_app
from jukinet.card.content import CardContent
from jukinet.card.jpki_ca import JpkiTestCA
from jukinet.card.machine import CardChip
from jukinet.card.reader import InProcessReader
from jukinet.errors import AccessDenied, CardRefused
from jukinet.jpki import JpkiCA, Reason, Revoked, build_crl, create_ca, issue_authentication
from jukinet.network.messages import DisclosureAsk, DisclosureRequest
from jukinet.nodes.identity.card_proof import MAX_SKEW, CardEvidence, check_card_proof
from jukinet.nodes.identity.tables import card_nonces
from jukinet.nodes.municipality.disclosure_card import card_request, signed_ask

CODE, OTHER = "12345678903", "98765432103"
CHIYODA, PIN = "131016", "1234"
NODES = ["prefecture:130001", "national:national"]
NATIONAL = "national:national"


def _pkcs8(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())


def jpki_card(auth_cert: bytes, auth_key: rsa.RSAPrivateKey, ca_der: bytes) -> CardChip:
    """A card holding only its JPKI application, with ``auth_cert`` in EF 000A."""
    app = jpki_app.build(
        auth_cert=auth_cert, auth_ca=ca_der, sign_cert=b"", sign_ca=b"",
        auth_key=_pkcs8(auth_key), sign_key=_pkcs8(auth_key), auth_pin=PIN.encode(),
        sign_pin=b"SIGNPASS1", unblock_anchor=bytes(32),
    )  # fmt: skip
    return CardChip(CardContent([app]))


@dataclass
class World:
    ca: JpkiCA
    key: rsa.RSAPrivateKey
    cert: x509.Certificate
    chip: CardChip

    def crl(self, *revoked: int) -> x509.CertificateRevocationList:
        now = datetime.now(UTC)
        return build_crl(self.ca, [Revoked(s, now, Reason.CARD_LOST) for s in revoked], 1, now)

    def evidence(self, *revoked: int, bound: bool = True) -> CardEvidence:
        return CardEvidence(self.ca.cert, self.crl(*revoked), lambda c, s, r: bound)


@pytest.fixture(scope="module")
def world() -> World:
    ca = create_ca("unit")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = issue_authentication(ca, key.public_key(), date(1980, 5, 5))
    der = cert.public_bytes(Encoding.DER)
    return World(ca, key, cert, jpki_card(der, key, ca.cert.public_bytes(Encoding.DER)))


@pytest.fixture
def conn() -> Iterator[Connection]:
    engine = create_engine("sqlite://")
    card_nonces.create(engine)
    with engine.begin() as connection:
        yield connection
    engine.dispose()


def _request(world: World, code: str = CODE, **ask: object) -> DisclosureRequest:
    payload = signed_ask(code, CHIYODA, NODES, **ask)  # type: ignore[arg-type]
    return card_request(InProcessReader(world.chip), PIN, payload, code, "window-3")


def test_the_card_signs_exactly_the_request_it_is_shown_r14(world: World) -> None:
    req = _request(world)
    assert (req.verified_by, req.resident_code, req.clerk) == ("card", CODE, "window-3")
    assert req.card is not None
    payload = base64.b64decode(req.card.payload)
    ask = DisclosureAsk.model_validate_json(payload)
    assert (ask.resident_code, ask.municipality, ask.nodes) == (CODE, CHIYODA, NODES)
    assert abs(datetime.now(UTC) - ask.signed_at) < MAX_SKEW
    assert base64.b64decode(req.card.certificate) == world.cert.public_bytes(Encoding.DER)
    signature = base64.b64decode(req.card.signature)
    world.key.public_key().verify(signature, payload, padding.PKCS1v15(), hashes.SHA256())
    assert _request(world).card.payload != req.card.payload  # type: ignore[union-attr]


def test_a_wrong_pin_is_the_card_s_refusal_and_nothing_is_signed_r14(world: World) -> None:
    payload = signed_ask(CODE, CHIYODA, NODES)
    with pytest.raises(CardRefused, match="Wrong PIN: 2 tries left"):
        card_request(InProcessReader(world.chip), "9999", payload, CODE, "w")
    assert _request(world).card is not None  # the right PIN still works (and resets)


def test_a_valid_proof_is_accepted_once_r14(world: World, conn: Connection) -> None:
    req = _request(world)
    now = datetime.now(UTC)
    assert check_card_proof(conn, req, CHIYODA, NATIONAL, world.evidence(), now) == (
        world.cert.serial_number
    )
    with pytest.raises(AccessDenied, match="used before"):
        check_card_proof(conn, req, CHIYODA, NATIONAL, world.evidence(), now)


def _refusal(world: World, conn: Connection, req: DisclosureRequest, **kw: object) -> str:
    municipality = str(kw.pop("municipality", CHIYODA))
    node = str(kw.pop("node", NATIONAL))
    evidence = kw.pop("evidence", world.evidence())
    with pytest.raises(AccessDenied) as refused:
        check_card_proof(conn, req, municipality, node, evidence, datetime.now(UTC))  # type: ignore[arg-type]
    return str(refused.value)


def _with_payload(req: DisclosureRequest, payload: bytes) -> DisclosureRequest:
    assert req.card is not None
    card = req.card.model_copy(update={"payload": base64.b64encode(payload).decode()})
    return req.model_copy(update={"card": card})


def test_each_broken_proof_gets_its_one_refusal_r14(world: World, conn: Connection) -> None:
    req = _request(world)
    assert req.card is not None
    signed = json.loads(base64.b64decode(req.card.payload))
    tampered = json.dumps({**signed, "resident_code": OTHER}).encode()  # someone else's
    moved = _with_payload(req.model_copy(update={"resident_code": OTHER}), tampered)
    assert "signature does not match" in _refusal(world, conn, moved)
    assert "another request" in _refusal(world, conn, req, municipality="131024")
    assert "another request" in _refusal(world, conn, req, node="prefecture:270008")
    other = req.model_copy(update={"resident_code": OTHER})
    assert "another request" in _refusal(world, conn, other)
    assert "does not carry a request" in _refusal(world, conn, _with_payload(req, b"{}"))
    naive = json.dumps({**signed, "signed_at": "2026-12-02T09:00:00"}).encode()  # no offset
    assert "does not carry a request" in _refusal(world, conn, _with_payload(req, naive))
    assert "revoked" in _refusal(
        world, conn, req, evidence=world.evidence(world.cert.serial_number)
    )
    assert "not one issued to this resident" in _refusal(
        world, conn, req, evidence=world.evidence(bound=False)
    )
    stale = _request(world, now=datetime.now(UTC) - MAX_SKEW - timedelta(minutes=1))
    assert "more than 5 minutes" in _refusal(world, conn, stale)
    foreign = JpkiTestCA.create()
    alien = foreign.auth.issue(world.key.public_key(), "JPKI user X", signing=False)
    stranger = jpki_card(alien, world.key, foreign.auth.der)
    foreign_req = card_request(
        InProcessReader(stranger), PIN, signed_ask(CODE, CHIYODA, NODES), CODE, "w"
    )
    assert "not issued by this network's JPKI CA" in _refusal(world, conn, foreign_req)
    old = issue_authentication(
        world.ca,
        world.key.public_key(),
        date(1980, 5, 5),
        datetime.now(UTC) - timedelta(days=7 * 365),
    )
    expired = jpki_card(old.public_bytes(Encoding.DER), world.key, b"")
    expired_req = card_request(
        InProcessReader(expired), PIN, signed_ask(CODE, CHIYODA, NODES), CODE, "w"
    )
    assert "user-authentication certificate expired on" in _refusal(world, conn, expired_req)
    # none of them was taken as used: the proof is still good once
    assert check_card_proof(conn, req, CHIYODA, NATIONAL, world.evidence(), datetime.now(UTC))
