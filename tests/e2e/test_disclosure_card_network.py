"""Disclosure on the card over the running network (R14, R15): a new resident's card
keys are certified by the national node, the card (in an in-process reader at the
window) signs the request for disclosure, and the prefecture and the national node
each verify the proof over mTLS (the prefecture fetching the CRL and asking the
national node whom the certificate was issued to) and answer.
"""

from __future__ import annotations

import asyncio
import gc
import time
from datetime import date

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding

from jukinet.audit import log as audit
from jukinet.card.reader import InProcessReader
from jukinet.domain.identity import Sex
from jukinet.jpki import load_ca_certificate, public_key_der
from jukinet.nodes.municipality import jpki, service
from jukinet.nodes.municipality.disclosure import CardAtWindow, disclose
from jukinet.nodes.municipality.setup import open_register
from jukinet.nodes.national import service as national_service
from jukinet.nodes.prefecture import service as prefecture_service
from tests.e2e.conftest import Network, clerk_session, national_identity
from tests.helpers import TODAY, arrival, person
from tests.unit.test_disclosure_card import PIN, jpki_card

CHIYODA = "municipality:131016"


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_resident_s_card_proves_a_request_for_disclosure_over_the_network_r14(
    network: Network,
) -> None:
    home = network.home(CHIYODA)
    clerk = clerk_session(home)
    store = open_register(home)
    auth_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    try:
        new = person(
            "蓮", "レン", family="中村", fk="ナカムラ", born=date(1990, 4, 4), sex=Sex.MALE
        )
        code = service.record_event(store, clerk, arrival(new), TODAY).records[0].resident_code
        deadline = time.monotonic() + 30
        while national_identity(network, code) is None:
            assert time.monotonic() < deadline, "the new resident never reached the national node"
            time.sleep(0.2)
        certificates = asyncio.run(
            jpki.certify_card_keys(
                store, clerk, home, code, public_key_der(auth_key.public_key()), None
            )
        )
        ca = load_ca_certificate(home).public_bytes(Encoding.DER)
        chip = jpki_card(certificates.authentication, auth_key, ca)
        entries = asyncio.run(
            disclose(store, clerk, home, code, CardAtWindow(InProcessReader(chip), PIN))
        )
    finally:
        store.close()
    assert entries == []  # nothing was provided of a new resident, and both nodes said so
    for node, open_node in (
        ("national:national", national_service.open_node),
        ("prefecture:130001", prefecture_service.open_node),
    ):
        held = open_node(network.home(node))
        try:
            with held.engine.connect() as conn:
                last = [e for e in audit.entries(conn) if e.operation == "disclosure"][-1]
        finally:
            held.close()
        assert (last.target, last.outcome) == (code, "ok"), node
        assert "verified by the card, certificate" in last.detail, node
    gc.collect()
