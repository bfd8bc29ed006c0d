"""The online 付記転出届 (R21, R15): a JSON document signed with the card's JPKI signing
key, taken at the old municipality only when the signature verifies against the
network's JPKI CA and its CRL and the certificate names the holder. A forged, revoked
or borrowed signature is one sentence, audited, and nothing changes. The national
node is not running here: the municipality verifies with the CRL it fetched last."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import func, select

from jukinet import config
from jukinet.audit import log as audit
from jukinet.errors import CardCertificateRefused, InvalidInput
from jukinet.jpki import Holder, Reason, Revoked, build_crl, crl_der, issue_signing, load_ca
from jukinet.nodes.municipality import moving_online
from jukinet.nodes.municipality.tables import moving_outbox, planned_moves
from jukinet.seed.places import Places
from tests.conftest import UrlFactory
from tests.helpers import last_audit
from tests.integration.moving_net import TODAY, Moving, make_network


@pytest.fixture
def net(tmp_path: Path, database: UrlFactory, places: Places) -> Iterator[Moving]:
    yield from make_network(tmp_path, database, places)


KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _signed(net: Moving, *, who: int = 0, revoked: bool = False, **doc_changes: object) -> str:
    """The online notification of the family's move, signed with a card of family member
    ``who``; the CRL saved at Chiyoda lists the certificate if ``revoked``."""
    ca = load_ca(net.layout.node("national:national"))
    r = net.family[who]
    holder = Holder(r.name.full, r.date_of_birth, r.sex, r.address.text)
    cert = issue_signing(ca, KEY.public_key(), holder)
    now = datetime.now(UTC)
    listed = [Revoked(cert.serial_number, now - timedelta(minutes=1), Reason.CARD_LOST)]
    crl = build_crl(ca, listed if revoked else [], 1, now - timedelta(minutes=1))
    (net.old.home / config.JPKI_CRL_FILE).write_bytes(crl_der(crl))
    doc = moving_online.document(replace(net.notification(), channel="online"), "131016")
    signature = KEY.sign(moving_online.canonical(doc), padding.PKCS1v15(), hashes.SHA256())
    return moving_online.signed_file(doc | doc_changes, signature, cert.public_bytes(Encoding.DER))


def _receive(net: Moving, text: str) -> object:
    import asyncio

    return asyncio.run(
        moving_online.receive(net.old.store, net.old.clerk, net.old.home, text, TODAY)
    )


def _nothing_planned(net: Moving) -> None:
    with net.old.store.engine.connect() as conn:
        for table in (planned_moves, moving_outbox):
            assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 0
    [entry] = last_audit(net.old.store)
    assert entry.outcome == audit.Outcome.REFUSED and entry.operation == "move-out.notify"


def test_a_notification_signed_with_the_holders_card_is_taken(net: Moving) -> None:
    planned = _receive(net, _signed(net))
    assert planned.channel == "online" and planned.state == "planned"
    with net.old.store.engine.connect() as conn:
        kept = conn.execute(select(planned_moves.c.signed)).scalar_one()
    assert json.loads(kept)["document"]["holder"] == net.codes[0]


@pytest.mark.parametrize(
    ("make", "error", "sentence"),
    [
        (lambda n: _signed(n, planned_on=(TODAY + timedelta(days=1)).isoformat()),
         CardCertificateRefused, "signature does not match the document"),
        (lambda n: _signed(n, revoked=True), CardCertificateRefused, "revoked on"),
        (lambda n: _signed(n, who=1), CardCertificateRefused, "does not name the holder"),
        (lambda n: _signed(n, origin="131041"), InvalidInput, "addressed to municipality 131041"),
        (lambda n: "{not json", InvalidInput, "not an online move-out notification"),
    ],
    ids=["forged", "revoked", "someone-elses-card", "other-municipality", "not-json"],
)  # fmt: skip
def test_a_forged_revoked_or_borrowed_signature_is_refused_and_changes_nothing(
    net: Moving, make: object, error: type[Exception], sentence: str
) -> None:
    text = make(net)  # type: ignore[operator]
    with pytest.raises(error, match=sentence):
        _receive(net, text)
    _nothing_planned(net)
