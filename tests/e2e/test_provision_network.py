"""Agencies on a running network: passport verify, pension proof of life, disclosure.

R2, R5 (affairs of the legal table only), R23 (a passport office confirms identity
over the network), R24 (a pension body learns of a death), R14 (disclosure).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

from jukinet.agency.client import AgencyClient
from jukinet.domain import events as ev
from jukinet.nodes.municipality import service
from jukinet.nodes.municipality.setup import open_register
from tests.e2e.conftest import (
    EXE,
    TODAY,
    Network,
    card_in_slot_1,
    clerk_session,
    national_identity,
)
from tests.helpers import MARUNOUCHI, arrival, person

CHIYODA = "municipality:131016"


def agency(network: Network, code: str, *args: str) -> subprocess.CompletedProcess[str]:
    folder = network.layout.client(f"agency:{code}")
    return subprocess.run(
        [str(EXE), "agency", *args, "--as", str(folder)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


def enter(network: Network, *people: ev.NewPerson) -> list[str]:
    """Residents arrive at Chiyoda's window; their codes, once the national node has them."""
    home = network.home(CHIYODA)
    clerk = clerk_session(home)
    store = open_register(home)
    try:
        r = service.record_event(store, clerk, arrival(*people), TODAY)
    finally:
        store.close()
    codes = [rec.resident_code for rec in r.records]
    wait_for(lambda: all(national_identity(network, c) for c in codes))
    return codes


def wait_for(condition: object, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the network did not get there in time"
        time.sleep(0.2)


def test_a_passport_office_verifies_an_application_across_variant_kanji(network: Network) -> None:
    """R23: the application is confirmed without a copy of the record and without data."""
    (code,) = enter(network, person("一郎", "イチロウ", family="髙橋", fk="タカハシ"))
    base = ["verify", "--affair", "passport-issuance", "--code", code, "--sex", "male",
            "--address", MARUNOUCHI.text]  # fmt: skip
    ok = agency(network, "mofa-passport", *base, "--name", "高橋 一郎", "--born", "1980-05-05")
    assert ok.returncode == 0, ok.stderr
    answer = json.loads(ok.stdout)
    assert answer["found"] is True
    assert answer["matches"] == {"name": True, "date_of_birth": True, "sex": True, "address": True}
    assert "髙橋" not in ok.stdout and "1980" not in ok.stdout  # no data comes back
    wrong = agency(network, "mofa-passport", *base, "--name", "高橋 一郎", "--born", "1980-05-06")
    assert json.loads(wrong.stdout)["matches"]["date_of_birth"] is False


def test_an_affair_outside_the_table_is_refused(network: Network) -> None:
    """R2, R5: a pension body may not use the passport affair."""
    r = agency(
        network, "pension-fund", "verify", "--affair", "passport-issuance", "--code",
        "12345678903", "--name", "誰 か", "--born", "1990-01-01", "--sex", "male",
        "--address", "どこか",
    )  # fmt: skip
    assert r.returncode == 1
    assert "not listed" in r.stderr or "not a recipient" in r.stderr


def test_a_death_reaches_the_pension_funds_next_batch(network: Network, tmp_path: Path) -> None:
    """R24: proof of life over the network; malformed rows are reported, not fatal."""
    alive, dying = enter(
        network,
        person("年金", "ネンキン", born=date(1940, 1, 1)),
        person("花", "ハナ", born=date(1942, 2, 2), relationship="妻"),
    )
    died_on = TODAY - timedelta(days=1)
    home = network.home(CHIYODA)
    store = open_register(home)
    try:
        service.record_event(store, clerk_session(home), ev.Death(dying, died_on, TODAY), TODAY)
    finally:
        store.close()
    wait_for(lambda: (national_identity(network, dying) or ("", ""))[1] == "removed")
    codes = tmp_path / "codes.csv"
    codes.write_text(f"resident_code\n{alive}\n12345\n{dying}\n")
    out = tmp_path / "answers.jsonl"
    r = agency(
        network, "pension-fund", "batch", str(codes), str(out), "--affair",
        "national-pension-status",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["row"] for row in rows] == [2, 3, 4]
    living, malformed, dead = rows
    assert living["found"] and living["record"]["fields"]["status"] == "resident"
    assert "error" in malformed and not malformed.get("found")
    fields = dead["record"]["fields"]
    assert (fields["status"], fields["change_reason"], fields["change_date"]) == (
        "removed", "death", died_on.isoformat(),
    )  # fmt: skip
    # The pension sector gets a pseudonym instead of the resident code (R5).
    assert "resident_code" not in fields and fields["pseudonym"]


def test_hostile_lines_of_a_batch_are_row_errors_over_mtls(network: Network) -> None:
    """R24: through the agency SDK, a 200,000-character line, a NUL byte and invalid
    UTF-8 between good rows: every good row answered, each bad one a short row error."""
    alive = enter(network, person("長行", "チョウギョウ", born=date(1941, 3, 3)))[0]
    lines: list[str | bytes] = [
        "resident_code", alive, "5" * 200_000, alive, b"12\x0034567890", alive,
        b"\xff\xfe\xfa1234567", alive,
    ]  # fmt: skip

    async def go() -> list[dict[str, object]]:
        folder = network.layout.client("agency:pension-fund")
        async with AgencyClient.from_folder(folder) as client:
            rows = client.batch("national-pension-status", lines, chunk=3)
            return [row.model_dump(exclude_none=True) async for row in rows]

    rows = asyncio.run(go())
    assert [r["row"] for r in rows] == [2, 3, 4, 5, 6, 7, 8]
    assert [r["found"] for r in rows if "error" not in r] == [True] * 4
    errors = {r["row"]: str(r["error"]) for r in rows if "error" in r}
    assert set(errors) == {3, 5, 7}
    for n, error in errors.items():
        assert error.startswith(f"row {n}: ") and len(error) < 200
        assert "5555" not in error and "\x00" not in error and "\ufffd" not in error


def test_disclosure_lists_what_was_provided(network: Network, tmp_path: Path) -> None:
    """R14: the resident learns who received their identity information, newest first."""
    (code,) = enter(network, person("開示", "カイジ", family="佐藤", fk="サトウ"))
    verify = agency(
        network, "mofa-passport", "verify", "--affair", "passport-issuance", "--code", code,
        "--name", "佐藤 開示", "--born", "1980-05-05", "--sex", "male", "--address",
        MARUNOUCHI.text,
    )  # fmt: skip
    assert verify.returncode == 0, verify.stderr
    home = network.home(CHIYODA)
    clerk_session(home)
    answer = tmp_path / "answer.json"
    with card_in_slot_1(network.layout.operator_card(CHIYODA, "clerk")):
        r = subprocess.run(
            [str(EXE), "--home", str(home), "resident", "disclosure", code, "-u", "clerk",
             "--out", str(answer)],
            capture_output=True, text=True, timeout=60,
            env={**os.environ, "JUKINET_PASSWORD": "clerk-password-1", "COLUMNS": "200"},
        )  # fmt: skip
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[1] == f"The answer the resident can check is in {answer}."
    assert "passport-issuance" in lines[0] and "verify" in lines[0]
    # The resident checks the answer: the nodes' keys from Chiyoda's network directory,
    # and the provision logs the two identity nodes publish (R14).
    logs = []
    for node in ("prefecture:130001", "national:national"):
        logs += ["--log", str(tmp_path / f"{node}.jsonl")]
        done = cli("--home", str(network.home(node)), "disclosure", "export-log", "--out", logs[-1])
        assert done.returncode == 0, done.stderr
    done = cli("--home", str(home), "disclosure", "verify", str(answer), *logs)
    assert done.returncode == 0, done.stdout + done.stderr
    said = [line.partition("; witnessed by ") for line in done.stdout.splitlines()]
    assert [proved for proved, _, _ in said] == [
        "OK prefecture:130001: 0 provision(s) proved in its checkpoint of size "
        f"{_size(answer, 0)}; nothing left out up to leaf {_size(answer, 0)}",
        "OK national:national: 1 provision(s) proved in its checkpoint of size "
        f"{_size(answer, 1)}; nothing left out up to leaf {_size(answer, 1)}",
    ]
    # Whether the witnesses have cosigned that checkpoint yet depends on their round;
    # those named are the node's own witnesses.
    witnesses = [
        {"jukinet/national/national/witness"},
        {"jukinet/prefecture/130001/witness", "jukinet/prefecture/270008/witness"},
    ]
    for (_, _, named), allowed in zip(said, witnesses, strict=True):
        assert set(filter(None, named.split(", "))) <= allowed, named
    # The answer without its one provision: the national node's log gives it away.
    data = json.loads(answer.read_text())
    data["answers"][1]["provisions"] = []
    answer.write_text(json.dumps(data))
    done = cli("--home", str(home), "disclosure", "verify", str(answer), *logs)
    assert done.returncode == 1
    assert "the disclosure answer does not verify: national:national: provision " in done.stderr
    assert "left out of the answer" in done.stderr and "Traceback" not in done.stderr


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "300"})  # fmt: skip


def _size(answer: Path, i: int) -> int:
    note = json.loads(answer.read_text())["answers"][i]["checkpoint"]
    return int(note.split("\n")[1])


def test_a_pension_body_looks_up_one_resident_and_gets_only_its_fields(network: Network) -> None:
    (code,) = enter(network, person("照会", "ショウカイ", family="鈴木", fk="スズキ"))
    r = agency(network, "pension-fund", "lookup", code, "--affair", "national-pension-status")
    assert r.returncode == 0, r.stderr
    answer = json.loads(r.stdout)
    fields = answer["record"]["fields"]
    assert answer["found"] is True
    assert fields["name"] == "鈴木 照会" and fields["status"] == "resident"
    assert set(fields) == {
        "pseudonym", "name", "date_of_birth", "sex", "address", "status", "change_reason",
        "change_date",
    }  # fmt: skip


TOWN_FIELDS = {"resident_code", "name", "address", "status", "change_reason", "change_date"}


def test_a_tokyo_body_is_served_by_the_tokyo_prefecture_with_only_its_folder(
    network: Network,
) -> None:
    """R2, R5: network init names the serving node in agency.toml; the body gets
    exactly its affair's fields there, and nothing at the national node."""
    (code,) = enter(network, person("都営", "トエイ", family="田中", fk="タナカ"))
    folder = network.layout.client("agency:tokyo-pref")
    assert f'node_url = "{network.url(1)}"' in (folder / "agency.toml").read_text()
    r = agency(network, "tokyo-pref", "lookup", code, "--affair", "tokyo-public-housing")
    assert r.returncode == 0, r.stderr
    answer = json.loads(r.stdout)
    assert answer["found"] is True
    assert answer["record"]["fields"]["name"] == "田中 都営"
    assert set(answer["record"]["fields"]) == TOWN_FIELDS
    national = agency(
        network, "tokyo-pref", "lookup", code, "--affair", "tokyo-public-housing",
        "--node", network.url(0),
    )  # fmt: skip
    assert national.returncode == 1
    assert "not served by national:national" in national.stderr
    assert "prefecture:130001" in national.stderr
    assert "田中" not in national.stdout + national.stderr


def test_a_municipal_body_is_served_by_the_prefecture_of_its_municipality(
    network: Network,
) -> None:
    """R2, R5: 千代田区長 verifies and looks up at the Tokyo prefecture node (別表第二)."""
    (code,) = enter(network, person("国保", "コクホ", family="伊藤", fk="イトウ"))
    r = agency(
        network, "chiyoda-city", "lookup", code, "--affair", "chiyoda-national-health-insurance"
    )
    assert r.returncode == 0, r.stderr
    fields = json.loads(r.stdout)["record"]["fields"]
    assert set(fields) == TOWN_FIELDS
    assert fields["address"] == MARUNOUCHI.text
    assert "date_of_birth" not in r.stdout and "1980" not in r.stdout
    national = agency(
        network, "chiyoda-city", "lookup", code, "--affair", "chiyoda-national-health-insurance",
        "--node", network.url(0),
    )  # fmt: skip
    assert national.returncode == 1
    assert "not served by national:national" in national.stderr
