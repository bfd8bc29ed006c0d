"""JPKI on the running network (R15): a municipality has a new resident's card keys
certified by the national node over mTLS, a document signed with the card verifies at
other nodes (``jukinet jpki crl`` / ``jukinet jpki verify``), and after a name change
recorded at the window the signing certificate is refused there as revoked; a lost
card's user-authentication certificate is revoked by the municipality.

The card keys are RSA-2048 keys made here, standing in for a card's.
"""

from __future__ import annotations

import asyncio
import gc
import time
from datetime import date, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from jukinet.domain import events as ev
from jukinet.domain.identity import Sex
from jukinet.jpki import public_key_der
from jukinet.jpki.validity import JST
from jukinet.nodes.municipality import jpki, service
from jukinet.nodes.municipality.setup import open_register
from tests.e2e.conftest import Network, clerk_session, jukinet, national_identity
from tests.helpers import TODAY, arrival, name, person

CHIYODA = "municipality:131016"
DOCUMENT = "転出届: 2026-12-01 大阪市北区へ".encode()


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _wait_for(check: object, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


# The municipality's calls go through aiohttp over TLS in this test process; closing its
# session leaves closed sockets to the garbage collector, which warns (the client's late
# socket warnings, as in test_network.py). The test collects them before it ends, so the
# warning is this test's and not a later one's.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_card_signature_verifies_elsewhere_until_a_name_change_revokes_it(
    network: Network, tmp_path: Path
) -> None:
    home = network.home(CHIYODA)
    clerk = clerk_session(home)
    store = open_register(home)
    auth_key, signing_key = _rsa(), _rsa()
    try:
        new = person(
            "結衣", "ユイ", family="高橋", fk="タカハシ", born=date(1992, 8, 8), sex=Sex.FEMALE
        )
        code = service.record_event(store, clerk, arrival(new), TODAY).records[0].resident_code
        _wait_for(lambda: national_identity(network, code) is not None,
                  "the new resident never reached the national node")  # fmt: skip
        certificates = asyncio.run(
            jpki.certify_card_keys(
                store, clerk, home, code,
                public_key_der(auth_key.public_key()), public_key_der(signing_key.public_key()),
            )
        )  # fmt: skip
    finally:
        store.close()
    assert certificates.signing is not None
    files = {
        "cert": certificates.signing,
        "sig": signing_key.sign(DOCUMENT, padding.PKCS1v15(), hashes.SHA256()),
        "data": DOCUMENT,
        "auth": certificates.authentication,
        "auth-sig": auth_key.sign(DOCUMENT, padding.PKCS1v15(), hashes.SHA256()),
    }
    for key, content in files.items():
        (tmp_path / key).write_bytes(content)

    def verify(node: str, cert: str = "cert", sig: str = "sig") -> tuple[int, str]:
        fetched = jukinet("--home", str(network.home(node)), "jpki", "crl")
        assert fetched.returncode == 0, fetched.stderr
        assert "CRL" in fetched.stdout
        r = jukinet("jpki", "verify", "--home", str(network.home(node)), "--cert",
                    str(tmp_path / cert), "--sig", str(tmp_path / sig), "--data",
                    str(tmp_path / "data"))  # fmt: skip
        return r.returncode, " ".join((r.stdout + r.stderr).split())

    status, said = verify("prefecture:270008")
    assert status == 0, said
    assert "Verified: signed by 高橋 結衣 (born 1992-08-08, female)" in said
    assert "東京都千代田区丸の内" in said

    # A name change at the window travels to the national node, which revokes the
    # signing certificate; another node learns it from the next CRL.
    days = {datetime.now(JST).date().isoformat()}  # the revocation's day, as Japan counts
    store = open_register(home)
    try:
        renamed = ev.NameChange(code, name("佐藤", "結衣", "サトウ", "ユイ"), TODAY, TODAY)
        service.record_event(store, clerk, renamed, TODAY)
    finally:
        store.close()
    _wait_for(lambda: (national_identity(network, code) or ("",))[0] == "佐藤 結衣",
              "the name change never reached the national node")  # fmt: skip
    status, said = verify("municipality:131041")
    days.add(datetime.now(JST).date().isoformat())
    assert status == 1, said
    assert any(
        f"error: The signing certificate was revoked on {day} (the holder's name, date of "
        "birth, sex or address changed). [card-certificate-refused]" in said
        for day in days
    ), said
    # The user-authentication certificate names no one and stays good ...
    status, said = verify("municipality:131041", "auth", "auth-sig")
    assert status == 0 and "user-authentication certificate" in said, said
    # ... until the municipality revokes it for a lost card.
    store = open_register(home)
    try:
        revoked = asyncio.run(
            jpki.revoke_card_certificates(store, clerk, home, code, "card-lost", ["authentication"])
        )
    finally:
        store.close()
    assert [r.kind for r in revoked] == ["authentication"]
    status, said = verify("prefecture:130001", "auth", "auth-sig")
    assert status == 1 and "(the card was reported lost)" in said, said
    gc.collect()
