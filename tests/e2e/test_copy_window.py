"""A copy of the resident record at the window of a municipality of a network made by
``network init``, as a clerk issues it and as anyone checks it: ``jukinet copy issue``,
``jukinet document verify``, and poppler's ``pdfsig`` with the network's document CA in
an NSS database made with ``certutil`` (docs/copies.md, R4)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from jukinet.card.image import key_path, open_image, read_chip_key
from jukinet.card.reader import InProcessReader
from jukinet.cli import _common, app
from jukinet.network.layout import NetworkLayout
from tests import asgi
from tests.documents_kit import nss_database, pdfsig

TOPOLOGY = """
[network]
name = "window"
[national]
port = 7800
[[prefectures]]
code = "130001"
port = 7810
[[municipalities]]
code = "131016"
port = 7820
residents = 0
"""
NODE = "municipality:131016"
CLERK_PW = "clerk-password-1"


@pytest.fixture(scope="module", autouse=True)
def cards_in_process() -> Iterator[None]:
    """The reader the command opens holds the card image its name names (test only)."""

    def reader(name: str) -> InProcessReader:
        image = Path(name)
        return InProcessReader(open_image(image, read_chip_key(key_path(image))))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_common, "open_reader", reader)
        yield


def run(home: Path, operator: str, password: str, card: Path, *args: str, **env: str) -> Result:
    return CliRunner().invoke(
        app,
        ["--home", str(home), *args],
        env={"JUKINET_PASSWORD": password, "JUKINET_OPERATOR": operator,
             "JUKINET_OPERATOR_READER": str(card), **env},
    )  # fmt: skip


@pytest.fixture(scope="module")
def window(
    tmp_path_factory: pytest.TempPathFactory, cards_in_process: None
) -> tuple[NetworkLayout, Path, str]:
    """The network, the clerk's card, and the code of a seeded resident with a household."""
    layout = asgi.network_init(tmp_path_factory.mktemp("window"), TOPOLOGY)
    home = layout.node(NODE)
    admin_pw = (layout.secrets / "municipality-131016.txt").read_text().split()[1]
    admin_card = layout.operator_card(NODE)
    clerk_card = layout.operator_card(NODE, "clerk")
    r = run(home, "admin", admin_pw, admin_card, "operator", "add", "clerk", "--name",
            "Clerk One", "--role", "clerk", "--trained-on", "2026-01-05", "--pledge-on",
            "2026-01-05", JUKINET_NEW_PASSWORD=CLERK_PW)  # fmt: skip
    assert r.exit_code == 0, r.output
    r = run(home, "admin", admin_pw, admin_card, "operator", "card", "issue", "clerk", "--out",
            str(clerk_card))  # fmt: skip
    assert r.exit_code == 0, r.output
    r = run(home, "admin", admin_pw, admin_card, "seed", "--residents", "12")
    assert r.exit_code == 0, r.output
    with closing(sqlite3.connect(home / "register.db")) as db:
        (code,) = db.execute(
            "SELECT resident_code FROM persons WHERE household_id IN (SELECT household_id FROM "
            "persons GROUP BY household_id HAVING count(*) > 1) ORDER BY resident_code LIMIT 1"
        ).fetchone()
    return layout, clerk_card, code


def clerk(window: tuple[NetworkLayout, Path, str], *args: str) -> Result:
    layout, card, _ = window
    return run(layout.node(NODE), "clerk", CLERK_PW, card, *args)


def test_a_clerk_issues_a_household_copy_that_pdfsig_and_verify_accept(
    window: tuple[NetworkLayout, Path, str], tmp_path: Path
) -> None:
    layout, _, code = window
    out = tmp_path / "copy.pdf"
    r = clerk(window, "copy", "issue", code, "--household", "--with-relationship", "--out",
              str(out))  # fmt: skip
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("Copy ") and "issued by 東京都千代田区" in r.stdout
    report = pdfsig(nss_database(tmp_path, layout.ca / "document-ca.pem"), out)
    assert "Signature is Valid." in report and "Certificate is Trusted." in report
    verified = clerk(window, "document", "verify", str(out))
    assert verified.exit_code == 0, verified.output
    assert verified.stdout.startswith("GENUINE: copy ")
    with closing(sqlite3.connect(layout.node(NODE) / "register.db")) as db:
        row = db.execute(
            "SELECT actor, operation, target, outcome, detail FROM audit_log "
            "WHERE operation = 'copy.issue' ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    assert row[:4] == ("operator:clerk", "copy.issue", code, "ok")
    assert "household" in row[4] and "with_relationship" in row[4]


def test_pdfsig_and_verify_refuse_the_copy_after_a_byte_changes(
    window: tuple[NetworkLayout, Path, str], tmp_path: Path
) -> None:
    layout, _, code = window
    out = tmp_path / "copy.pdf"
    assert clerk(window, "copy", "issue", code, "--out", str(out)).exit_code == 0
    data = bytearray(out.read_bytes())
    data[len(data) // 3] ^= 0x01  # inside the page's content: the fonts and content streams
    out.write_bytes(bytes(data))
    report = pdfsig(nss_database(tmp_path, layout.ca / "document-ca.pem"), out)
    assert "Signature is Valid." not in report
    verified = clerk(window, "document", "verify", str(out))
    assert verified.exit_code == 1
    assert verified.stdout.startswith("NOT GENUINE: ")


def test_a_copy_for_a_code_not_in_the_register_is_one_error_and_no_file(
    window: tuple[NetworkLayout, Path, str], tmp_path: Path
) -> None:
    out = tmp_path / "none.pdf"
    r = clerk(window, "copy", "issue", "12345678903", "--out", str(out))
    assert r.exit_code == 1
    assert len(r.stderr.strip().splitlines()) == 1 and "No record" in r.stderr
    assert not out.exists()


def test_a_copy_with_both_household_and_members_is_refused(
    window: tuple[NetworkLayout, Path, str], tmp_path: Path
) -> None:
    _, _, code = window
    r = clerk(window, "copy", "issue", code, "--household", "--members", code, "--out",
              str(tmp_path / "x.pdf"))  # fmt: skip
    assert r.exit_code == 1
    assert "not both" in r.stderr
