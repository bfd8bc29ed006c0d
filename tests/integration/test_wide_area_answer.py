"""The home municipality's checks of a wide-area request, one by one (R20, 第12条の4, R12).

The register under test is B (千代田区 here); the caller is municipality 131041. The
card's proofs are made by real cards (in-process readers) under a JPKI CA made for the
test, with real CRLs. Every refusal is one sentence, one audit entry, nothing else.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import func, insert, select, update

from jukinet.errors import WideAreaRefused
from jukinet.jpki import JpkiCA, Reason, Revoked, build_crl, create_ca, issue_authentication
from jukinet.network.messages_wide_area import WideAreaAnswer, WideAreaRequest
from jukinet.nodes.municipality.store import RegisterStore
from jukinet.nodes.municipality.tables import cards, wide_area_requests
from jukinet.nodes.municipality.wide_area import WideAreaCard, WindowAsk, build_request
from jukinet.nodes.municipality.wide_area_answer import CardCheck, answer, card_check
from tests.helpers import TODAY, counts, last_audit, snapshot
from tests.integration.conftest import Family
from tests.unit.test_disclosure_card import PIN, jpki_card

CALLER, CALLER_CODE = "municipality:131041", "131041"
LICENCE = "301234567890"


@dataclass
class Jpki:
    ca: JpkiCA
    keys: dict[str, rsa.RSAPrivateKey]
    serials: dict[str, int]

    def crl(self, *revoked: int) -> CardCheck:
        now = datetime.now(UTC)
        entries = [Revoked(s, now, Reason.CARD_LOST) for s in revoked]
        return CardCheck(self.ca.cert, build_crl(self.ca, entries, 1, now))

    def card(self, store: RegisterStore, code: str) -> WideAreaCard:
        """A card this register issued to ``code`` (its cards row), in a reader."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cert = issue_authentication(self.ca, key.public_key(), date(1980, 1, 1))
        with store.transaction() as tx:
            tx.conn.execute(
                insert(cards).values(
                    card_number=f"{len(self.keys) + 1:012d}", resident_code=code,
                    state="active", issued_on=TODAY, valid_until=TODAY + timedelta(days=3650),
                    auth_serial=f"{cert.serial_number:040x}", sign_serial=None,
                    changed_on=TODAY, reason="issued",
                )
            )  # fmt: skip
        self.keys[code], self.serials[code] = key, cert.serial_number
        der = self.ca.cert.public_bytes(Encoding.DER)
        return WideAreaCard(_reader(jpki_card(cert.public_bytes(Encoding.DER), key, der)), PIN)


def _reader(chip: Any) -> Any:
    from jukinet.card.reader import InProcessReader

    return InProcessReader(chip)


@pytest.fixture(scope="module")
def jpki_ca() -> JpkiCA:
    return create_ca("wide-area-test")


@pytest.fixture
def jpki(jpki_ca: JpkiCA) -> Jpki:
    return Jpki(jpki_ca, {}, {})


def _ask(code: str, **kw: Any) -> WideAreaRequest:
    fields: dict[str, Any] = {"verified_by": "licence", "licence": LICENCE} | kw
    return build_request(WindowAsk("131016", code, **fields), CALLER_CODE, "clerk-7")


def _answer(store: RegisterStore, req: WideAreaRequest, check: CardCheck | None = None) -> Any:
    return answer(store, req, CALLER, CALLER_CODE, check or CardCheck())


def _refused(
    store: RegisterStore, req: WideAreaRequest, phrase: str, check: CardCheck | None = None
) -> None:
    before, rows, kept = snapshot(store), counts(store), _answered(store)
    with pytest.raises(WideAreaRefused) as caught:
        _answer(store, req, check)
    assert phrase in caught.value.message and caught.value.message.endswith("."), caught.value
    assert snapshot(store) == before
    assert counts(store) == {**rows, "audit_log": rows["audit_log"] + 1}
    (entry,) = last_audit(store)
    assert (entry.actor, entry.operation, entry.outcome) == (CALLER, "wide-area.answer", "refused")
    assert entry.detail == f"wide-area-refused: {caught.value.message}"
    assert _answered(store) == kept


def _answered(store: RegisterStore) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(wide_area_requests)).scalar_one())


def test_r20_own_record_by_licence_is_answered_once_without_the_domicile(
    store: RegisterStore, family: Family
) -> None:
    req = _ask(family.child.resident_code, with_domicile=True, with_code=True)
    got: WideAreaAnswer = _answer(store, req)
    assert [p.resident_code for p in got.persons] == [family.child.resident_code]
    assert got.home == "131016" and got.address == family.child.address.text
    assert "domicile" not in got.model_dump_json()  # the bytes on the wire: test_wide_area.py
    (entry,) = last_audit(store)
    assert (entry.target, entry.outcome) == (family.child.resident_code, "ok")
    assert f"verified by driving licence {LICENCE}" in entry.detail
    assert "clerk clerk-7" in entry.detail and "本籍・筆頭者 asked, not given" in entry.detail
    _refused(store, req, "was answered before")


def test_r20_household_copies_by_a_member(store: RegisterStore, family: Family) -> None:
    head, spouse, child = family.codes
    whole = _ask(spouse, subject=head, whose="household", household=True, with_relationship=True)
    got = _answer(store, whole)
    assert [p.relationship for p in got.persons] == ["世帯主", "妻", "子"]
    assert got.head_name == family.head.name.full
    some = _ask(spouse, subject=head, whose="household", members=(child,))
    assert len(_answer(store, some).persons) == 2
    assert all(p.relationship is None for p in _answer(store, _ask(head)).persons)


def test_r20_what_b_refuses(store: RegisterStore, family: Family) -> None:
    head, spouse, child = family.codes
    stale = _ask(head).model_copy(update={"asked_at": datetime.now(UTC) - timedelta(minutes=9)})
    _refused(store, stale, "more than 5 minutes from this node's clock")
    bare = _ask(head).model_copy(update={"verified_by": None, "licence": None})
    _refused(store, bare, "records no verification")
    _refused(store, _ask(head, licence="12345"), "licence's number (12 digits)")
    other = _ask(spouse).model_copy(update={"subject": head})
    _refused(store, other, "is of the verified person alone")
    removed = "38461592748"  # a well-formed code nobody here holds
    _refused(store, _ask(removed), "is not a resident of this municipality (131016)")
    _refused(store, _ask(spouse, subject=removed, whose="household"), "subject (38461592748)")
    both = _ask(spouse, subject=head, whose="household", household=True, members=(child,))
    _refused(store, both, "not both")


def test_r20_a_household_request_from_outside_the_household_is_refused(
    store: RegisterStore, family: Family, clerk: Any
) -> None:
    from jukinet.nodes.municipality import service
    from tests.helpers import arrival, person

    neighbour = service.record_event(
        store, clerk, arrival(person("次郎", "ジロウ", family="佐藤", fk="サトウ")), TODAY
    ).records[0]
    req = _ask(neighbour.resident_code, subject=family.head.resident_code, whose="household")
    _refused(store, req, "is not a member of the household")


def test_r20_the_card_s_proof_is_checked_by_b(
    store: RegisterStore, family: Family, jpki: Jpki, home: Path
) -> None:
    head, spouse, _ = family.codes
    card = jpki.card(store, spouse)
    ask = {"verified_by": "card", "subject": head, "whose": "household", "household": True}
    signed = build_request(WindowAsk("131016", spouse, **ask), CALLER_CODE, "clerk-7", card)
    got = _answer(store, signed, jpki.crl())
    assert len(got.persons) == 3
    assert "verified by the card 000000000001 (PIN, JPKI certificate" in last_audit(store)[0].detail

    def again(**kw: Any) -> WideAreaRequest:
        return build_request(WindowAsk("131016", spouse, **(ask | kw)), CALLER_CODE, "c", card)

    # This home holds no JPKI CA nor CRL and has no national node to ask: refused.
    req = again()
    _refused(store, req, "no current JPKI revocation list", asyncio.run(card_check(home, req)))
    _refused(store, again(), "revoked", jpki.crl(jpki.serials[spouse]))
    moved = again().model_copy(update={"request_id": "0" * 32})
    _refused(store, moved, "The card signed another request", jpki.crl())
    old = build_request(
        WindowAsk("131016", spouse, **ask), CALLER_CODE, "c", card,
        now=datetime.now(UTC) - timedelta(minutes=9),
    ).model_copy(update={"asked_at": datetime.now(UTC)})  # fmt: skip
    _refused(store, old, "too long ago", jpki.crl())
    other = jpki.card(store, head)  # the head's card, the spouse named as applicant
    _refused(
        store, build_request(WindowAsk("131016", spouse, **ask), CALLER_CODE, "c", other),
        "not a valid card this municipality issued to the applicant", jpki.crl(),
    )  # fmt: skip
    with store.transaction() as tx:
        tx.conn.execute(
            update(cards).where(cards.c.resident_code == spouse).values(state="suspended")
        )
    _refused(store, again(), "not a valid card this municipality issued", jpki.crl())
    assert _answered(store) == 1
