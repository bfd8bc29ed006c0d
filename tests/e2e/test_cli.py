"""The ``jukinet`` command as a clerk, an administrator and an auditor use it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from jukinet.card.image import key_path, open_image, read_chip_key
from jukinet.card.reader import InProcessReader
from jukinet.cli import _common, app
from tests.e2e.conftest import card_in_slot_1

ADMIN_PW = "admin-password-1"
CLERK_PW = "clerk-password-1"


def card_of(home: Path, operator: str) -> Path:
    """Where the tests keep an operator's card image: beside the node's folder."""
    return home.parent / f"{operator}-card.img"


def jukinet(
    home: Path, *args: str, password: str = ADMIN_PW, operator: str = "admin", **env: str
) -> Result:
    """The command in process, the operator's card in an in-process reader (see
    ``cards_in_process``; the installed command over PC/SC is in
    tests/integration/card/test_operator_sign_in.py)."""
    return CliRunner().invoke(
        app,
        ["--home", str(home), *args],
        env={
            "JUKINET_PASSWORD": password,
            "JUKINET_OPERATOR": operator,
            "JUKINET_OPERATOR_READER": str(card_of(home, operator)),
            **env,
        },
    )


@pytest.fixture(autouse=True)
def cards_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader the command opens holds the card image its name names (test only: the
    command itself knows PC/SC readers only)."""

    def reader(name: str) -> InProcessReader:
        image = Path(name)
        return InProcessReader(open_image(image, read_chip_key(key_path(image))))

    monkeypatch.setattr(_common, "open_reader", reader)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    node = tmp_path / "chiyoda"
    r = jukinet(
        node, "register", "init", "--municipality", "131016", "--admin", "admin",
        "--admin-name", "Admin One", "--trained-on", "2026-01-05", "--pledge-on", "2026-01-05",
        "--pool-size", "3000", "--admin-card", str(card_of(node, "admin")),
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert f"The operator card of admin is {card_of(node, 'admin')}" in r.output
    r = jukinet(
        node, "operator", "add", "clerk", "--name", "Clerk One", "--role", "clerk",
        "--trained-on", "2026-01-05", "--pledge-on", "2026-01-05",
        JUKINET_NEW_PASSWORD=CLERK_PW,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    r = jukinet(node, "operator", "card", "issue", "clerk", "--out", str(card_of(node, "clerk")))
    assert r.exit_code == 0, r.output
    return node


def clerk(home: Path, *args: str, **env: str) -> Result:
    return jukinet(home, *args, password=CLERK_PW, operator="clerk", **env)


def test_code_check_says_valid_or_why_not(tmp_path: Path) -> None:
    ok = jukinet(tmp_path, "code", "check", "131016")
    assert ok.exit_code == 0
    assert "valid local government code" in ok.output
    bad = jukinet(tmp_path, "code", "check", "12345678901")
    assert bad.exit_code != 0
    assert "wrong check digit" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_init_of_an_unknown_municipality_fails_and_creates_nothing(tmp_path: Path) -> None:
    r = jukinet(
        tmp_path / "x", "register", "init", "--municipality", "139998", "--admin", "admin",
        "--admin-name", "A", "--trained-on", "2026-01-01", "--pledge-on", "2026-01-01",
        "--admin-card", str(tmp_path / "admin-card.img"),
    )  # fmt: skip
    assert r.exit_code != 0
    assert "No municipality has local government code" in r.stderr or "check digit" in r.stderr
    assert not (tmp_path / "x" / "node.toml").exists()


def test_a_clerk_records_a_move_in_and_reads_it_back(home: Path) -> None:
    r = clerk(
        home, "event", "move-in", "--code", "12345678903", "--family-name", "髙橋",
        "--given-name", "一郎", "--family-kana", "タカハシ", "--given-kana", "イチロウ",
        "--sex", "male", "--born", "1975-04-01", "--domicile", "大阪府大阪市北区梅田一丁目1番",
        "--domicile-head", "髙橋 一郎", "--town", "丸の内", "--block", "二丁目7番3号",
        "--previous", "大阪府大阪市北区梅田一丁目1番1号", "--issuer", "271276",
        "--moved", "2026-10-01",
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert "転入" in r.output and "12345678903" in r.output
    shown = clerk(home, "resident", "show", "12345678903")
    assert shown.exit_code == 0
    assert "髙橋 一郎" in shown.output  # the variant kanji is kept exactly (統一文字)
    assert "東京都千代田区丸の内二丁目7番3号" in shown.output


def test_a_refused_event_prints_one_error_line_and_exits_non_zero(home: Path) -> None:
    r = clerk(home, "event", "death", "12345678903", "--died", "2026-10-01")
    assert r.exit_code == 1
    assert r.stderr.strip().splitlines() == [
        "error: No resident of this municipality holds code 12345678903. [resident-not-found]"
    ]


def test_an_unknown_town_is_refused(home: Path) -> None:
    r = clerk(
        home, "event", "move-in-abroad", "--family-name", "山田", "--given-name", "花子",
        "--family-kana", "ヤマダ", "--given-kana", "ハナコ", "--sex", "female",
        "--born", "1990-01-01", "--domicile", "東京都千代田区", "--domicile-head", "山田 太郎",
        "--town", "梅田", "--block", "1番", "--previous", "フランス", "--moved", "2026-10-01",
    )  # fmt: skip
    assert r.exit_code == 1
    assert "'梅田' is not a town (町字) of 東京都千代田区" in r.stderr


def test_a_wrong_password_is_refused(home: Path) -> None:
    r = jukinet(home, "resident", "show", "12345678903", password="wrong-wrong", operator="clerk")
    assert r.exit_code == 1
    assert "Unknown operator or wrong password" in r.stderr


def test_a_clerk_may_not_manage_operators(home: Path) -> None:
    r = clerk(home, "operator", "list")
    assert r.exit_code == 1
    assert "may not manage operator accounts" in r.stderr


def test_seed_then_summary(home: Path) -> None:
    r = jukinet(home, "seed", "--residents", "1500")
    assert r.exit_code == 0, r.stderr
    assert "Seeded 1,500 residents" in r.output
    s = jukinet(home, "register", "summary")
    assert s.exit_code == 0, s.stderr
    assert "1,500" in s.output
    assert "東京都千代田区" in s.output


def test_audit_verify_finds_tampering_and_says_where(home: Path) -> None:
    jukinet(home, "seed", "--residents", "200")
    ok = jukinet(home, "audit", "verify")
    assert ok.exit_code == 0, ok.stderr
    assert "Audit log intact" in ok.output
    with closing(sqlite3.connect(home / "register.db")) as db, db:
        db.execute("UPDATE audit_log SET target = '00000000000' WHERE seq = 42")
    bad = jukinet(home, "audit", "verify")
    assert bad.exit_code == 3
    assert "entry 42" in bad.output and "altered" in bad.output


def test_the_installed_command_runs_the_demo(tmp_path: Path) -> None:
    """A single register with synthetic residents, as a real process."""
    exe = Path(sys.executable).with_name("jukinet")
    result = subprocess.run(
        [str(exe), "register", "demo", "--residents", "2000", "--home", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert result.returncode == 0, result.stderr
    assert "2,000 residents" in result.stdout
    assert "東京都千代田区" in result.stdout
    assert "JUKINET_OPERATOR=clerk" in result.stdout
    # The printed lines work as printed: the clerk's card in slot 1, then the clerk.
    served = next(line.split() for line in result.stdout.splitlines() if " card serve " in line)
    assert served[-2:] == ["--slot", "1"]
    exported = next(line for line in result.stdout.splitlines() if "export " in line)
    env = dict(pair.split("=", 1) for pair in exported.split()[1:])
    with card_in_slot_1(Path(served[-3])):
        shown = subprocess.run(
            [str(exe), "household", "show", "1"], capture_output=True, text=True, timeout=60,
            env={**os.environ, **env, "COLUMNS": "120"},
        )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert "東京都千代田区" in shown.stdout


def test_an_impossible_date_is_refused_and_the_refusal_audited(home: Path) -> None:
    r = clerk(home, "event", "death", "12345678903", "--died", "2026-02-30")
    assert r.exit_code == 1
    assert "'2026-02-30' is not a date" in r.stderr
    log = jukinet(home, "audit", "show", "--last", "2")
    assert "event.death" in log.output and "refused" in log.output


def test_history_shows_every_version_with_its_reason(home: Path) -> None:
    test_a_clerk_records_a_move_in_and_reads_it_back(home)
    changed = clerk(home, "event", "code-change", "12345678903")
    assert changed.exit_code == 0, changed.stderr
    assert "retired code 12345678903" in changed.output
    new_code = changed.output.split()[changed.output.split().index("(code-change).") + 1]
    r = clerk(home, "resident", "history", new_code)
    assert r.exit_code == 0, r.stderr
    assert "v1 2026-10-01  転入 (move-in)" in r.output
    assert "v2 " in r.output and "住民票コードの変更 (code-change)" in r.output
    assert "12345678903" in r.output and new_code in r.output


def test_without_the_operators_card_nothing_but_a_refusal(home: Path) -> None:
    """R11: the clerk's password with the administrator's card, and with no card."""
    r = clerk(
        home, "resident", "show", "12345678903", JUKINET_OPERATOR_READER=str(card_of(home, "admin"))
    )
    assert r.exit_code == 1
    assert r.stderr.strip().splitlines() == [
        "error: Sign-in needs the operator's own card in the reader: The operator card is not "
        "the one issued to this operator. [operator-card-refused]"
    ]
    revoked = jukinet(home, "operator", "card", "revoke", "clerk")
    assert revoked.exit_code == 0, revoked.stderr
    assert "The operator card of clerk is revoked." in revoked.output
    r = clerk(home, "resident", "show", "12345678903")
    assert r.exit_code == 1
    assert "clerk has no operator card" in r.stderr
    log = jukinet(home, "audit", "show", "--last", "4")
    assert log.output.count("login") == 2 and "operator.card.revoke" in log.output


def test_an_operator_card_is_written_to_new_files_only(home: Path) -> None:
    r = jukinet(home, "operator", "card", "issue", "clerk", "--out", str(card_of(home, "clerk")))
    assert r.exit_code == 1
    assert "already exists" in r.stderr


def test_an_auditor_exports_a_bundle_that_go_and_the_command_check(
    home: Path, tmp_path: Path
) -> None:
    """R25: `audit checkpoint`, `audit export`, `audit verify --bundle`, and Go's own
    sumdb note and tlog packages (tests/go/auditcheck) on a municipality's bundle."""
    from tests.integration.audit import gocheck

    jukinet(home, "seed", "--residents", "50")
    made = jukinet(home, "audit", "checkpoint")
    assert made.exit_code == 0, made.stderr
    assert made.output.startswith("jukinet/municipality/131016/audit\n")
    out = tmp_path / "bundle"
    exported = jukinet(home, "audit", "export", "--out", str(out))
    assert exported.exit_code == 0, exported.stderr
    assert "Audit bundle written" in exported.output
    assert jukinet(home, "audit", "export", "--out", str(out)).exit_code == 1  # not empty
    checked = jukinet(home, "audit", "verify", "--bundle", str(out))
    assert checked.exit_code == 0, checked.stderr
    assert "Audit bundle intact" in checked.output
    go = gocheck.check(gocheck.build(tmp_path), out)
    assert go.returncode == 0 and go.stdout.startswith("OK: "), go.stdout
