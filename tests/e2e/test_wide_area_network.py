"""Wide-area copies on the running network (R20, 第12条の4; R3), through the real CLI.

At 千代田区's window (A) a clerk issues copies of the record of residents of 新宿区 (B):
one's own, verified by a driving licence; a household's, asked by a member whose card
(issued by B, served in pcscd's virtual reader) proves them with mutual authentication
and the PIN; and a refused one, for someone outside the household. A asks B directly
over the network; both audit; no copy holds the domicile.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from jukinet.audit import log as audit
from jukinet.documents.verify import stored_items
from jukinet.nodes.municipality.setup import open_register
from jukinet.nodes.municipality.tables import audit_log, persons
from tests.e2e.conftest import (
    EXE,
    Network,
    card_in_slot_1,
    clerk_session,
    jukinet,
    national_identity,
)
from tests.integration.card.conftest import SLOT_READER, pcscd_or_fail
from tests.pdf import pdf_text, read_qr

A, B = "municipality:131016", "municipality:131041"
READER = SLOT_READER[0]
PIN = "2468"
LICENCE = "301234567890"


def _said(r: subprocess.CompletedProcess[str]) -> str:
    return " ".join((r.stdout + r.stderr).split())


def _audit(home: Path) -> list[audit.Entry]:
    store = open_register(home)
    try:
        with store.engine.connect() as conn:
            return [audit.Entry(**r._mapping) for r in conn.execute(select(audit_log)).all()]
    finally:
        store.close()


def _b_residents(home: Path) -> tuple[list[str], str, set[str]]:
    """A household of B with two members or more (head first), a resident outside it,
    and every domicile (本籍) of B's register (the 筆頭者 is often a name the copy prints
    anyway: that it is never sent, the answer's schema and its keys show)."""
    store = open_register(home)
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(
                select(persons.c.resident_code, persons.c.household_id, persons.c.domicile)
                .where(persons.c.removal_reason.is_(None))
            ).all()  # fmt: skip
        sizes: dict[int, int] = {}
        for row in rows:
            sizes[row.household_id] = sizes.get(row.household_id, 0) + 1
        hid = min(h for h, n in sizes.items() if n >= 2)
        with store.transaction() as tx:
            members = [str(m.resident_code) for m in tx.members(hid)]
    finally:
        store.close()
    stranger = next(str(r.resident_code) for r in rows if r.household_id != hid)
    return members, stranger, {r.domicile for r in rows if r.domicile}


def _issue(home: Path, code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return jukinet(
        "--home", str(home), "copy", "issue", code, "--wide-area", "--home", "131041", *args
    )


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_r20_wide_area_copies_for_self_and_household_and_a_refused_one(
    network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pcscd_or_fail()
    home_a, home_b = network.home(A), network.home(B)
    clerk_session(home_a)  # the clerks' passwords are the tests'
    clerk_session(home_b)
    for key, value in {
        "JUKINET_OPERATOR": "clerk", "JUKINET_PASSWORD": "clerk-password-1",
        "JUKINET_CARD_PIN": PIN, "JUKINET_CARD_SIGNING_PASSWORD": "WIDEAREA2026",
    }.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    members, stranger, domiciles = _b_residents(home_b)
    head, member = members[0], members[1]
    a_before, b_before = len(_audit(home_a)), len(_audit(home_b))

    with card_in_slot_1(network.layout.operator_card(A, "clerk")):
        own = tmp_path / "own.pdf"
        issued = _issue(home_a, head, "--verified-by", "licence", "--licence", LICENCE,
                        "--with-domicile", "--with-code", "--out", str(own))  # fmt: skip
        assert issued.returncode == 0, _said(issued)
        said = _said(issued)
        assert "Wide-area copy 20" in said and "千代田区長" in said, said
        assert "from the register of municipality 131041: 1 person(s)" in said
        assert "本籍・筆頭者 are never printed on a wide-area copy" in said
        items = stored_items(own.read_bytes())
        assert items["広域交付"] is True
        assert items["記載事項"][0]["住民票コード"] == head  # type: ignore[index]
        printed = json.dumps(items, ensure_ascii=False) + pdf_text(own.read_bytes())
        assert "本籍" not in printed and not {d for d in domiciles if d in printed}
        verified = jukinet("--home", str(home_a), "document", "verify", str(own))
        assert verified.returncode == 0 and "GENUINE: copy" in verified.stdout, _said(verified)

        refused = _issue(home_a, head, "--applicant", stranger, "--household",
                         "--verified-by", "licence", "--licence", LICENCE,
                         "--out", str(tmp_path / "refused.pdf"))  # fmt: skip
        assert refused.returncode == 1, _said(refused)
        assert f"The applicant ({stranger}) is not a member of the household" in _said(refused)
        assert "Traceback" not in _said(refused)
        assert not (tmp_path / "refused.pdf").exists()

    a_entries, b_entries = _audit(home_a)[a_before:], _audit(home_b)[b_before:]
    assert [(e.operation, e.target, e.outcome) for e in a_entries if e.operation != "login"] == [
        ("copy.wide-area", head, "ok"), ("copy.verify.file", "own.pdf", "ok"),
        ("copy.wide-area", head, "refused"),
    ]  # fmt: skip
    assert [(e.operation, e.target, e.outcome, e.actor) for e in b_entries] == [
        ("wide-area.answer", head, "ok", A), ("wide-area.answer", head, "refused", A),
    ]  # fmt: skip
    assert f"driving licence {LICENCE}" in b_entries[0].detail

    # The member's card, issued by B (its JPKI certificates by the national CA).
    deadline = time.monotonic() + 60
    while national_identity(network, member) is None:
        assert time.monotonic() < deadline, "the member never reached the national node"
        time.sleep(0.5)
    card = tmp_path / "member-card.img"
    with card_in_slot_1(network.layout.operator_card(B, "clerk")):
        made = jukinet("--home", str(home_b), "card", "issue", member, "--out", str(card))
    assert made.returncode == 0, _said(made)
    serve = subprocess.Popen(
        [str(EXE), "card", "serve", str(card), "--slot", "0"], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        assert serve.stdout is not None
        assert "in reader" in serve.stdout.readline()
        with card_in_slot_1(network.layout.operator_card(A, "clerk")):
            household = tmp_path / "household.pdf"
            issued = _issue(home_a, head, "--applicant", member, "--household",
                            "--with-relationship", "--with-domicile", "--verified-by", "card",
                            "--reader", READER, "--out", str(household))  # fmt: skip
            assert issued.returncode == 0, _said(issued)
            assert f"{len(members)} person(s)" in _said(issued)
            # The PDF as a person reads it: A's mayor certifies B's household, no domicile.
            text = "".join(pdf_text(household.read_bytes()).split())
            assert "千代田区長" in text and "新宿区" in text and "世帯主" in text, text
            assert "この写しは、住民票の原本と相違ないことを証明する。" in text
            assert "本籍" not in text and not {d for d in domiciles if "".join(d.split()) in text}
            assert read_qr(household.read_bytes(), tmp_path)[0].startswith("JK1.131016.")

            monkeypatch.setenv("JUKINET_CARD_PIN", "0000")
            wrong = _issue(home_a, head, "--applicant", member, "--household",
                           "--verified-by", "card", "--reader", READER,
                           "--out", str(tmp_path / "wrong-pin.pdf"))  # fmt: skip
            assert wrong.returncode == 1 and "Wrong PIN" in _said(wrong), _said(wrong)
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        serve.wait(timeout=30)
        assert serve.stdout is not None
        serve.stdout.close()
    answered = [e for e in _audit(home_b) if e.operation == "wide-area.answer"][-1]
    assert (answered.target, answered.outcome) == (head, "ok")
    assert "verified by the card" in answered.detail
    assert f"{len(members)} person(s)" in answered.detail
