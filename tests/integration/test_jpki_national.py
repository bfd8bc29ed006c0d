"""The JPKI CA at the national node (R15), through the whole app of a real ``network init``
with signed requests: a municipality has its own residents' card keys certified and
revokes their certificates, any member reads the CRL, and an identity update of the four
items (or a removal) revokes the signing certificates by itself.

Identities reach the national node as they do on a running network: codes from
``POST /pools``, then identity updates from the prefecture through ``POST /updates``.
The card keys are RSA-2048 keys made here, standing in for a card's.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fastapi import FastAPI
from sqlalchemy import func, select

from jukinet import config
from jukinet.audit import log as audit
from jukinet.errors import CardCertificateRefused
from jukinet.jpki import Holder, Kind, load_ca_certificate, public_key_der, verify_signature
from jukinet.jpki.validity import JST
from jukinet.keys import load_private_key
from jukinet.network.layout import NetworkLayout
from jukinet.network.signatures import sign_request
from jukinet.nodes.identity.store import IdentityStore
from jukinet.nodes.national import api as national
from jukinet.nodes.national import service as national_service
from jukinet.nodes.national.tables import jpki_certificates, jpki_revocations
from tests import asgi

EXE = Path(sys.executable).with_name("jukinet")
TOPOLOGY = """
[network]
name = "jpki"
[national]
port = 7600
[[prefectures]]
code = "130001"
port = 7610
[[municipalities]]
code = "131016"
port = 7620
residents = 0
[[municipalities]]
code = "131024"
port = 7621
residents = 0
"""
CHIYODA, CHUO = "municipality:131016", "municipality:131024"
PREFECTURE, MONITOR = "prefecture:130001", "monitor:operations"
ADDRESS = {CHIYODA: "東京都千代田区丸の内一丁目1番1号", CHUO: "東京都中央区銀座四丁目1番1号"}


def _jst_day(entry: x509.RevokedCertificate) -> str:
    """The day, in Japan, that a CRL entry says the certificate was revoked."""
    return entry.revocation_date_utc.astimezone(JST).date().isoformat()


@dataclass
class Card:
    auth: rsa.RSAPrivateKey = field(default_factory=lambda: _rsa())
    signing: rsa.RSAPrivateKey = field(default_factory=lambda: _rsa())

    def sign(self, data: bytes, *, with_auth: bool = False) -> bytes:
        key = self.auth if with_auth else self.signing
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def keys(self, *, signing: bool = True) -> dict[str, str]:
        body = {"authentication_key": _b64(public_key_der(self.auth.public_key()))}
        if signing:
            body["signing_key"] = _b64(public_key_der(self.signing.public_key()))
        return body


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _b64(der: bytes) -> str:
    return base64.b64encode(der).decode()


@dataclass
class Net:
    """The national node's app, the members' keys, and the prefecture's update sequence."""

    app: FastAPI
    layout: NetworkLayout
    keys: dict[str, Any]
    store: IdentityStore  # the national database, read beside the app
    seq: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def call(self, who: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        raw = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        headers = {"accept": "application/json"}
        if body is not None:
            headers |= {"content-type": "application/json", "content-length": str(len(raw))}
        headers |= sign_request(
            method, f"https://national{path}", headers, raw, self.keys[who], who
        )
        status, answer = asyncio.run(_asgi(self.app, method, path, raw, headers))
        return status, json.loads(answer)

    def resident(
        self, who: str, name: str = "山田 太郎", born: date = date(1980, 5, 5), sex: str = "male"
    ) -> str:
        """A new resident of municipality ``who``, as the national node learns of one."""
        status, grant = self.call(who, "POST", "/pools", {"count": 1})
        assert status == 200, grant
        code = grant["codes"][0]
        self.update(who, code, name=name, date_of_birth=born.isoformat(), sex=sex,
                    change_reason="move-in-abroad")  # fmt: skip
        return code

    def update(self, who: str, code: str, **fields: Any) -> None:
        """An identity update of ``code`` recorded at ``who``, delivered by the prefecture."""
        held = self.identity(code) or {"name": "", "date_of_birth": "", "sex": ""}
        u = {
            "seq": next(self.seq), "origin": who.split(":")[1], "resident_code": code,
            "name": held["name"], "address": ADDRESS[who],
            "date_of_birth": held["date_of_birth"], "sex": held["sex"],
            "status": "resident", "change_reason": "name-change",
            "change_date": date.today().isoformat(), "recorded_at": datetime.now(UTC).isoformat(),
        } | fields  # fmt: skip
        status, ack = self.call(
            PREFECTURE, "POST", "/updates", {"sender": PREFECTURE, "updates": [u]}
        )
        assert status == 200 and ack["quarantined"] == [], ack

    def identity(self, code: str) -> dict[str, str] | None:
        held = self.store.identity(code)
        if held is None:
            return None
        return {"name": held.name, "date_of_birth": held.date_of_birth.isoformat(), "sex": held.sex}

    def certify(self, who: str, code: str, card: Card, **kw: bool) -> tuple[int, Any]:
        return self.call(who, "POST", "/jpki/certify", {"resident_code": code, **card.keys(**kw)})

    def issued(self, who: str, code: str, card: Card) -> tuple[x509.Certificate, x509.Certificate]:
        status, answer = self.certify(who, code, card)
        assert status == 200, answer
        return _cert(answer["authentication"]), _cert(answer["signing"])

    def crl(self, who: str = MONITOR) -> x509.CertificateRevocationList:
        status, answer = self.call(who, "GET", "/jpki/crl")
        assert status == 200, answer
        return x509.load_der_x509_crl(base64.b64decode(answer["crl"]))

    def ca(self, node: str = PREFECTURE) -> x509.Certificate:
        """The JPKI CA certificate as another node's home holds it."""
        return load_ca_certificate(self.layout.node(node))

    def rows(self, table: Any) -> int:
        with self.store.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

    def audit(self) -> list[audit.Entry]:
        with self.store.engine.connect() as conn:
            return list(audit.entries(conn))


def _cert(der_b64: str) -> x509.Certificate:
    return x509.load_der_x509_certificate(base64.b64decode(der_b64))


async def _asgi(
    app: FastAPI, method: str, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, bytes]:
    answer = await asgi.call(app, method, path, body, headers)
    return answer.status, answer.body


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    root = tmp_path_factory.mktemp("jpki")
    layout = asgi.network_init(root, TOPOLOGY)
    app = national.create_app(layout.node("national:national"))
    app.state.authority = "national"  # what the signed URL names (no real socket here)
    keys = {
        node: load_private_key(layout.node(node) / "node.key")
        for node in (CHIYODA, CHUO, PREFECTURE)
    }
    keys[MONITOR] = load_private_key(layout.client(MONITOR) / "node.key")
    store = national_service.open_node(layout.node("national:national"))
    yield Net(app, layout, keys, store)
    store.close()


def test_network_init_gives_the_ca_key_to_the_national_node_and_its_certificate_to_all(
    net: Net,
) -> None:
    national_home = net.layout.node("national:national")
    assert (national_home / config.JPKI_CA_KEY_FILE).stat().st_mode & 0o077 == 0
    ca = net.ca("national:national")
    for node in (CHIYODA, CHUO, PREFECTURE):
        assert net.ca(node) == ca
        assert not (net.layout.node(node) / config.JPKI_CA_KEY_FILE).exists()
    assert load_ca_certificate(net.layout.client(MONITOR)) == ca


def test_a_resident_s_keys_are_certified_with_the_four_items_of_the_national_record(
    net: Net,
) -> None:
    code = net.resident(CHIYODA, "佐藤 花子", date(1985, 7, 7), "female")
    card = Card()
    auth, signing = net.issued(CHIYODA, code, card)
    assert auth.public_key() == card.auth.public_key()
    assert signing.public_key() == card.signing.public_key()
    # A document signed with the card verifies with what any node holds: the CA
    # certificate in its home and the CA's current CRL.
    document = "署名の試験".encode()
    signer = verify_signature(document, card.sign(document), signing, net.ca(), net.crl())
    assert signer.holder == Holder("佐藤 花子", date(1985, 7, 7), "female", ADDRESS[CHIYODA])
    until = signer.valid_until.astimezone(JST)
    assert (until.month, until.day, until.hour, until.minute) == (7, 7, 23, 59)  # a birthday
    assert 4 <= until.year - date.today().year <= 5
    proof = verify_signature(b"challenge", card.sign(b"challenge", with_auth=True), auth,
                             net.ca(CHUO), net.crl(CHUO))  # fmt: skip
    assert (proof.kind, proof.holder) == (Kind.AUTHENTICATION, None)
    entry = next(e for e in reversed(net.audit()) if e.operation == "jpki.certify")
    assert (entry.actor, entry.operation, entry.target, entry.outcome) == (
        CHIYODA,
        "jpki.certify",
        code,
        "ok",
    )
    assert f"{signing.serial_number:040x}" in entry.detail


def test_the_four_items_are_never_taken_from_the_request(net: Net) -> None:
    code = net.resident(CHIYODA)
    body = {"resident_code": code, **Card().keys(), "name": "別人 次郎"}
    status, problem = net.call(CHIYODA, "POST", "/jpki/certify", body)
    assert status == 422 and "name" in problem["detail"], problem


def test_a_municipality_is_refused_for_another_municipality_s_resident(net: Net) -> None:
    code = net.resident(CHIYODA)
    before = net.rows(jpki_certificates)
    status, problem = net.certify(CHUO, code, Card())
    assert status == 403, problem
    assert problem["type"] == "urn:jukinet:problem:certification-refused"
    assert problem["detail"] == (
        "municipality:131024 may have the JPKI certificates of its own residents issued or "
        "revoked only; this resident code is not one of them."
    )
    # A code nobody holds gets the very same answer: the refusal tells nothing.
    unknown = net.call(CHUO, "POST", "/pools", {"count": 1})[1]["codes"][0]
    assert net.certify(CHUO, unknown, Card()) == (403, problem)
    assert net.rows(jpki_certificates) == before
    entry = net.audit()[-1]
    assert (entry.actor, entry.operation, entry.outcome) == (CHUO, "jpki.certify", "refused")
    assert entry.detail.startswith("certification-refused: ")
    # Nor may it revoke the other municipality's resident's certificates.
    net.issued(CHIYODA, code, Card())
    status, problem = net.call(CHUO, "POST", "/jpki/revoke",
                               {"resident_code": code, "reason": "card-lost"})  # fmt: skip
    assert status == 403 and problem["type"].endswith("certification-refused")


def test_no_signing_certificate_is_issued_to_a_child_under_15(net: Net) -> None:
    child = net.resident(CHIYODA, "山田 一郎", date(date.today().year - 10, 1, 1))
    status, problem = net.certify(CHIYODA, child, Card())
    assert status == 403 and "not issued to a person under 15" in problem["detail"], problem
    status, answer = net.certify(CHIYODA, child, Card(), signing=False)
    assert status == 200 and answer["signing"] is None
    assert _cert(answer["authentication"]).not_valid_after_utc > datetime.now(UTC)


def test_only_a_card_s_rsa_2048_keys_are_certified(net: Net) -> None:
    code = net.resident(CHIYODA)
    small = rsa.generate_private_key(65537, 1024).public_key()
    body = {"resident_code": code, "authentication_key": _b64(public_key_der(small))}
    status, problem = net.call(CHIYODA, "POST", "/jpki/certify", body)
    assert status == 403 and "RSA key of 2048 bits" in problem["detail"], problem
    body = {"resident_code": code, "authentication_key": "not base64!"}
    status, problem = net.call(CHIYODA, "POST", "/jpki/certify", body)
    assert status == 422 and "base64" in problem["detail"], problem
    card = Card()
    same = {"resident_code": code, **card.keys()}
    same["signing_key"] = same["authentication_key"]
    status, problem = net.call(CHIYODA, "POST", "/jpki/certify", same)
    assert status == 403 and "the same key" in problem["detail"], problem


def test_a_municipality_revokes_a_lost_card_s_certificates_and_the_crl_says_so(
    net: Net, tmp_path: Path
) -> None:
    code = net.resident(CHIYODA)
    card = Card()
    auth, signing = net.issued(CHIYODA, code, card)
    number = net.crl().extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    status, answer = net.call(CHIYODA, "POST", "/jpki/revoke",
                              {"resident_code": code, "reason": "card-lost"})  # fmt: skip
    assert status == 200, answer
    assert {r["serial"] for r in answer["revoked"]} == {
        f"{auth.serial_number:040x}",
        f"{signing.serial_number:040x}",
    }
    crl = net.crl()
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number > number
    entry = crl.get_revoked_certificate_by_serial_number(signing.serial_number)
    assert entry is not None
    reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    assert reason is x509.ReasonFlags.key_compromise
    with pytest.raises(CardCertificateRefused) as refused:
        verify_signature(b"doc", card.sign(b"doc"), signing, net.ca(), crl)
    assert refused.value.message == (
        f"The signing certificate was revoked on {_jst_day(entry)} (the card was reported lost)."
    )
    # openssl reads the same CRL and refuses the certificate too.
    files = {}
    for name, item in (("ca", net.ca()), ("crl", crl), ("cert", signing)):
        files[name] = tmp_path / f"{name}.pem"
        files[name].write_bytes(item.public_bytes(serialization.Encoding.PEM))
    checked = subprocess.run(
        ["openssl", "verify", "-CAfile", files["ca"], "-crl_check", "-CRLfile", files["crl"],
         files["cert"]], capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert checked.returncode != 0 and "certificate revoked" in checked.stdout + checked.stderr
    # Revoking again finds nothing valid left: an empty answer, not an error.
    again = net.call(
        CHIYODA, "POST", "/jpki/revoke", {"resident_code": code, "reason": "card-lost"}
    )
    assert again == (200, {"revoked": []})
    assert net.rows(jpki_revocations) >= 2


def test_a_name_change_revokes_the_signing_certificate_by_itself(net: Net) -> None:
    code = net.resident(CHIYODA, "鈴木 花子", date(1990, 1, 2), "female")
    card = Card()
    auth, signing = net.issued(CHIYODA, code, card)
    net.update(CHIYODA, code, name="田中 花子", change_reason="name-change")
    crl = net.crl(CHUO)
    entry = crl.get_revoked_certificate_by_serial_number(signing.serial_number)
    assert entry is not None
    reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    assert reason is x509.ReasonFlags.affiliation_changed
    with pytest.raises(CardCertificateRefused) as refused:
        verify_signature(b"doc", card.sign(b"doc"), signing, net.ca(), crl)
    assert refused.value.message == (
        f"The signing certificate was revoked on {_jst_day(entry)} "
        "(the holder's name, date of birth, sex or address changed)."
    )
    # The user-authentication certificate names no one: it stays good.
    proof = card.sign(b"login", with_auth=True)
    assert verify_signature(b"login", proof, auth, net.ca(), crl).kind is Kind.AUTHENTICATION
    revocation = next(e for e in reversed(net.audit()) if e.operation == "jpki.revoke")
    assert (revocation.actor, revocation.target) == ("national:national", code)
    assert "identity-changed" in revocation.detail and "name-change" in revocation.detail
    # A new signing certificate carries the new name.
    renewed_card = Card()
    _, renewed = net.issued(CHIYODA, code, renewed_card)
    signer = verify_signature(b"doc", renewed_card.sign(b"doc"), renewed, net.ca(), net.crl())
    assert signer.holder is not None and signer.holder.name == "田中 花子"


def test_an_update_that_changes_none_of_the_four_items_revokes_nothing(net: Net) -> None:
    code = net.resident(CHIYODA)
    card = Card()
    _, signing = net.issued(CHIYODA, code, card)
    net.update(CHIYODA, code, change_reason="minor-correction")  # the same four items
    assert net.crl().get_revoked_certificate_by_serial_number(signing.serial_number) is None


@pytest.mark.parametrize(
    ("change_reason", "auth_revoked", "reason"),
    [
        ("death", True, x509.ReasonFlags.cessation_of_operation),
        ("move-out", False, x509.ReasonFlags.privilege_withdrawn),
        ("move-out-abroad", True, x509.ReasonFlags.privilege_withdrawn),
    ],
)
def test_a_removal_revokes_by_its_reason(
    net: Net, change_reason: str, auth_revoked: bool, reason: x509.ReasonFlags
) -> None:
    code = net.resident(CHIYODA)
    auth, signing = net.issued(CHIYODA, code, Card())
    net.update(CHIYODA, code, status="removed", change_reason=change_reason)
    crl = net.crl()
    entry = crl.get_revoked_certificate_by_serial_number(signing.serial_number)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason is reason
    auth_entry = crl.get_revoked_certificate_by_serial_number(auth.serial_number)
    assert (auth_entry is not None) is auth_revoked
    # A removed resident is no municipality's to certify.
    status, _ = net.certify(CHIYODA, code, Card())
    assert status == 403


def test_a_new_certificate_replaces_the_one_before(net: Net) -> None:
    code = net.resident(CHIYODA)
    old_auth, old_signing = net.issued(CHIYODA, code, Card())
    new_auth, new_signing = net.issued(CHIYODA, code, Card())
    crl = net.crl()
    for old in (old_auth, old_signing):
        entry = crl.get_revoked_certificate_by_serial_number(old.serial_number)
        assert entry is not None
        flag = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        assert flag is x509.ReasonFlags.superseded
    for new in (new_auth, new_signing):
        assert crl.get_revoked_certificate_by_serial_number(new.serial_number) is None


def test_the_crl_is_the_ca_s_and_is_not_reissued_without_a_change(net: Net) -> None:
    first, second = net.crl(MONITOR), net.crl(CHUO)
    assert first.is_signature_valid(net.ca().public_key())  # type: ignore[arg-type]
    assert first.next_update_utc is not None and first.next_update_utc > datetime.now(UTC)
    number = x509.CRLNumber
    assert (
        first.extensions.get_extension_for_class(number).value.crl_number
        == second.extensions.get_extension_for_class(number).value.crl_number
    )
    # Only members of the directory read it: an unsigned request is refused.
    status, answer = asyncio.run(_asgi(net.app, "GET", "/jpki/crl", b"", {}))
    assert status == 401, answer


def test_the_card_s_certificate_proves_its_holder_under_the_new_code_only_r6(net: Net) -> None:
    """A code change revokes nothing (the certificates carry no code): the binding a
    prefecture asks for follows the person to the new code, and the retired code proves
    nobody (R6, R14)."""
    old = net.resident(CHIYODA, name="改番 太郎")
    auth, _ = net.issued(CHIYODA, old, Card())
    status, grant = net.call(CHIYODA, "POST", "/pools", {"count": 1})
    assert status == 200, grant
    new = grant["codes"][0]
    held = net.identity(old)
    assert held is not None
    net.update(CHIYODA, new, previous_code=old, change_reason="code-change", **held)
    serial = f"{auth.serial_number:040x}"

    def bound(code: str) -> bool:
        status, answer = net.call(PREFECTURE, "POST", "/jpki/binding",
                                  {"serial": serial, "resident_code": code})  # fmt: skip
        assert status == 200, answer
        return bool(answer["bound"])

    assert bound(new) and not bound(old)
    assert serial not in {e.target for e in net.audit() if e.operation == "jpki.revoke"}
