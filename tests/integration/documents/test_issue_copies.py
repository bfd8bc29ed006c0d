"""A copy of the resident record at the window, for this municipality's own resident:
built from the register, signed, recorded in ``issued_copies``, audited; and the issuing
municipality's check of a copy's token (docs/copies.md, 第12条, R4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from jukinet.documents.token import parse_token
from jukinet.documents.verify import verify_pdf
from jukinet.domain.access import Session
from jukinet.domain.copies import CopyOptions, Issuer
from jukinet.errors import ResidentNotFound
from jukinet.nodes.municipality.copies import IssuedCopy, issue_copy
from jukinet.nodes.municipality.copy_check import check_token
from jukinet.nodes.municipality.store import RegisterStore
from jukinet.nodes.municipality.tables import issued_copies
from tests.documents_kit import Kit, make_kit, render_test_pdf
from tests.helpers import TODAY, counts, last_audit
from tests.integration.conftest import UNKNOWN, Family

CHIYODA = Issuer("131016", "東京都千代田区", "千代田区長", "千代田 一郎")


@pytest.fixture
def kit(tmp_path: Path) -> Kit:
    return make_kit(tmp_path / "pki")


def _issue(
    store: RegisterStore, clerk: Session, kit: Kit, code: str, **asked: object
) -> IssuedCopy:
    options = CopyOptions(**asked)  # type: ignore[arg-type]
    return issue_copy(store, clerk, kit.signer, CHIYODA, code, options, TODAY, render_test_pdf)


def test_a_copy_of_a_resident_is_signed_recorded_and_audited(
    store: RegisterStore, clerk: Session, family: Family, kit: Kit
) -> None:
    issued = _issue(store, clerk, kit, family.head.resident_code)
    verdict = verify_pdf(issued.pdf, kit.network_ca, kit.crls())
    assert verdict.genuine, verdict.reason
    assert verdict.names == ("山田 太郎",)
    assert verdict.serial == f"{TODAY.year}-000001"
    with store.engine.connect() as c:
        row = c.execute(select(issued_copies)).one()
    assert (row.serial, row.subject_code, row.clerk, row.wide_area, row.home_code) == (
        verdict.serial, family.head.resident_code, clerk.actor, False, "131016",
    )  # fmt: skip
    assert row.digest == parse_token(issued.token).digest
    assert json.loads(row.options)["with_code"] is False
    (entry,) = last_audit(store)
    assert (entry.actor, entry.operation, entry.target, entry.outcome) == (
        clerk.actor, "copy.issue", family.head.resident_code, "ok",
    )  # fmt: skip
    assert verdict.serial in entry.detail and "no optional item" in entry.detail


def test_a_household_copy_prints_every_member_and_the_options_asked(
    store: RegisterStore, clerk: Session, family: Family, kit: Kit
) -> None:
    issued = _issue(
        store, clerk, kit, family.child.resident_code, household=True, with_relationship=True,
        with_code=True,
    )  # fmt: skip
    assert [p.name.given for p in issued.copy.persons] == ["太郎", "花子", "一郎"]
    assert issued.copy.head_name == "山田 太郎"
    assert [p.resident_code for p in issued.copy.persons] == list(family.codes)
    assert all(p.domicile is None for p in issued.copy.persons)  # not asked (第12条 第5項)
    (entry,) = last_audit(store)
    assert "household" in entry.detail and "with_code" in entry.detail


def test_serials_follow_each_other_within_the_year(
    store: RegisterStore, clerk: Session, family: Family, kit: Kit
) -> None:
    first = _issue(store, clerk, kit, family.head.resident_code)
    second = _issue(store, clerk, kit, family.spouse.resident_code)
    assert (first.copy.serial, second.copy.serial) == (
        f"{TODAY.year}-000001", f"{TODAY.year}-000002",
    )  # fmt: skip


def test_a_copy_for_an_unknown_code_is_refused_audited_and_records_nothing(
    store: RegisterStore, clerk: Session, family: Family, kit: Kit
) -> None:
    before = counts(store)
    with pytest.raises(ResidentNotFound, match="No record"):
        _issue(store, clerk, kit, UNKNOWN)
    (entry,) = last_audit(store)
    assert (entry.operation, entry.outcome) == ("copy.issue", "refused")
    with store.engine.connect() as c:
        assert c.execute(select(issued_copies)).all() == []
    assert counts(store)["audit_log"] == before["audit_log"] + 1


def test_the_issuer_confirms_a_token_it_issued(
    store: RegisterStore, clerk: Session, family: Family, kit: Kit
) -> None:
    issued = _issue(store, clerk, kit, family.head.resident_code)
    verdict = check_token(store, kit.signer, "municipality:131041", issued.token)
    assert verdict.genuine, verdict.reason
    assert (verdict.serial, verdict.issued_on, verdict.wide_area) == (
        issued.copy.serial, TODAY, False,
    )  # fmt: skip
    (entry,) = last_audit(store)
    assert (entry.actor, entry.operation, entry.outcome) == (
        "municipality:131041", "copy.verify", "ok",
    )  # fmt: skip


def _forge(token: str, field: int, value: str) -> str:
    parts = token.split(".")
    parts[field] = value
    return ".".join(parts)


def test_a_forged_or_unknown_token_is_not_confirmed_and_each_check_is_audited(
    store: RegisterStore, clerk: Session, family: Family, kit: Kit, tmp_path: Path
) -> None:
    token = _issue(store, clerk, kit, family.head.resident_code).token
    other = make_kit(tmp_path / "other")
    foreign = _issue(store, clerk, other, family.spouse.resident_code).token  # another key
    forged = {
        "a changed serial": _forge(token, 2, f"{TODAY.year}-000099"),
        "a changed digest": _forge(token, 4, "A" * 43),
        "a token signed with another key": foreign,
        "another municipality's token": _forge(token, 1, "131041"),
        "no token at all": "hello",
    }
    for what, text in forged.items():
        verdict = check_token(store, kit.signer, "municipality:131041", text)
        assert not verdict.genuine, what
        (entry,) = last_audit(store)
        assert (entry.operation, entry.outcome, entry.detail) == (
            "copy.verify", "refused", verdict.reason,
        ), what  # fmt: skip


def test_after_its_certificate_is_revoked_the_issuer_confirms_no_token(
    store: RegisterStore, clerk: Session, family: Family, kit: Kit
) -> None:
    from jukinet.documents import certs

    token = _issue(store, clerk, kit, family.head.resident_code).token
    certs.revoke_document_certificate(kit.ca_dir, kit.signer.cert)
    verdict = check_token(
        store, kit.signer, "municipality:131041", token, kit.ca_dir / certs.CRL_FILE
    )
    assert not verdict.genuine
    assert verdict.reason == "This municipality's document certificate has been revoked."
