"""Every error of the installed ``jukinet`` command is one line and a non-zero exit, never a
Python traceback (issue 8, defect 8): invalid input, files that cannot be read or are
not text, a node that does not answer, and a defect of jukinet itself.

The agency folder is one that ``network init`` wrote for a network that is not
running, so its node is unreachable too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from jukinet.network.layout import NetworkLayout
from jukinet.network.topology import free_port_block
from tests.e2e.conftest import EXE, small_topology_text

AFFAIR = "tokyo-welfare"


@pytest.fixture(scope="module")
def network_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-errors")
    topology = root / "topology.toml"
    topology.write_text(small_topology_text(free_port_block(3)))
    made = run("network", "init", "--topology", str(topology), "--dir", str(root / "net"))
    assert made.returncode == 0, made.stderr
    return root / "net"


@pytest.fixture(scope="module")
def agency(network_dir: Path) -> Path:
    return network_dir / "clients" / "agency-tokyo-pref"


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "JUKINET_DEBUG"}
    return subprocess.run(
        [str(EXE), *args], capture_output=True, text=True, timeout=120,
        env={**clean, "COLUMNS": "80", **env},
    )  # fmt: skip


def one_line_error(result: subprocess.CompletedProcess[str], status: int = 1) -> str:
    """The one line on stderr of a refused command (asserted: one line, no traceback)."""
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert result.returncode == status, result.stderr
    return lines[0]


def test_a_malformed_resident_code_is_one_line(agency: Path) -> None:
    r = run("agency", "lookup", "123", "--as", str(agency), "--affair", AFFAIR)
    line = one_line_error(r)
    assert line.startswith("error: ") and "resident_code" in line


def test_an_empty_search_name_is_one_line(agency: Path) -> None:
    r = run("agency", "search", "--name", "", "--as", str(agency), "--affair", AFFAIR)
    line = one_line_error(r)
    assert line.startswith("error: ") and "name" in line


def test_a_binary_batch_file_goes_to_the_node_and_fails_in_one_line(
    agency: Path, tmp_path: Path
) -> None:
    """The file is sent as bytes: the node answers a binary or non-UTF-8 row with its own
    row error (docs/reliability.md, "Batch input"), so the client does not decode it.
    Here the node is down: still one line, no traceback."""
    source = tmp_path / "codes.csv"
    source.write_bytes(b"resident_code\n\xff\xfe\x00\x81binary\x00\n" + os.urandom(2000))
    r = run("agency", "batch", str(source), str(tmp_path / "out.jsonl"), "--as", str(agency),
            "--affair", AFFAIR)  # fmt: skip
    line = one_line_error(r)
    assert "UnicodeDecodeError" not in line and "[peer-unreachable]" in line


@pytest.mark.parametrize("what", ["missing", "folder"])
def test_an_unreadable_batch_file_is_one_line(agency: Path, tmp_path: Path, what: str) -> None:
    source = tmp_path / "codes.csv"
    if what == "folder":
        source.mkdir()
    r = run("agency", "batch", str(source), str(tmp_path / "out.jsonl"), "--as", str(agency),
            "--affair", AFFAIR)  # fmt: skip
    line = one_line_error(r)
    assert str(source) in line


def test_an_unreachable_node_is_one_line(agency: Path) -> None:
    r = run("agency", "lookup", "12345678903", "--as", str(agency), "--affair", AFFAIR)
    line = one_line_error(r)
    assert "peer-unreachable" in line


def test_a_topology_that_is_not_text_is_one_line(tmp_path: Path) -> None:
    topology = tmp_path / "topology.toml"
    topology.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    r = run("network", "init", "--topology", str(topology), "--dir", str(tmp_path / "net"))
    assert "UTF-8" in one_line_error(r)


def test_a_defect_is_one_line_internal_error_with_status_2(
    network_dir: Path, tmp_path: Path
) -> None:
    """A database file that is not a database: no reason jukinet foresaw, so exit 2; the
    traceback only with JUKINET_DEBUG=1."""
    home = tmp_path / "chiyoda"
    shutil.copytree(network_dir / "nodes" / "municipality-131016", home)
    (home / "register.db").write_bytes(os.urandom(4096))
    toml = home / "node.toml"
    toml.write_text(toml.read_text().replace(str(network_dir / "nodes" / "municipality-131016"),
                                             str(home)))  # fmt: skip
    args = ("--home", str(home), "resident", "show", "12345678903", "-u", "clerk")
    line = one_line_error(run(*args, JUKINET_PASSWORD="x"), status=2)
    assert line.startswith("internal error: DatabaseError")
    debug = run(*args, JUKINET_PASSWORD="x", JUKINET_DEBUG="1")
    assert debug.returncode == 2 and "Traceback" in debug.stderr
    assert debug.stderr.splitlines()[-1] == "internal error: DatabaseError"


# --- usage errors: one line, exit status 2 -----------------------------------------------

USAGE = re.compile(r"error: (?P<reason>.+) \(see (?P<command>jukinet[a-z ]*) --help\)")


@pytest.mark.parametrize(
    ("args", "command", "phrase"),
    [
        (["agency", "lookup", "12345678903", "--as", "x"], "jukinet agency lookup",
         "Missing option '--affair'"),
        (["agency", "batch", "codes.csv"], "jukinet agency batch", "Missing argument 'target'"),
        (["network", "topology", "--prefectures", "many"], "jukinet network topology",
         "Invalid value for '--prefectures'"),
        (["agency", "lookup", "12345678903", "--bogus"], "jukinet agency lookup",
         "No such option: --bogus"),
        (["agency", "nosuch"], "jukinet agency", "No such command 'nosuch'"),
        (["nosuch"], "jukinet", "No such command 'nosuch'"),
        (["--bogus", "code", "check", "12345678903"], "jukinet", "No such option: --bogus"),
    ],
    ids=["missing option", "missing argument", "bad value", "unknown option",
         "unknown sub-command", "unknown command", "unknown root option"],
)  # fmt: skip
def test_a_usage_error_is_one_line_naming_the_commands_help(
    args: list[str], command: str, phrase: str
) -> None:
    """Click's usage box (usage line, hint, framed message) is one line, exit status 2."""
    r = run(*args)
    line = one_line_error(r, status=2)
    usage = USAGE.fullmatch(line)
    assert usage is not None, line
    assert usage["command"] == command and phrase in usage["reason"]
    assert "Usage:" not in r.stderr and "╭" not in r.stderr and r.stdout == ""


def test_a_command_group_without_a_command_still_shows_its_help() -> None:
    """Not a usage error: ``jukinet agency`` lists the agency's commands."""
    r = run("agency")
    assert "lookup" in r.stdout and "batch" in r.stdout and "error:" not in r.stderr


@pytest.mark.parametrize("flags", [["--card"], ["--reader", "Virtual PCD 00 00"]])
def test_card_and_reader_of_a_disclosure_go_together_in_one_line(
    network_dir: Path, flags: list[str]
) -> None:
    home = NetworkLayout(network_dir).node("municipality:131016")
    r = run("--home", str(home), "resident", "disclosure", "13101600005", *flags)
    assert one_line_error(r) == (
        "error: --card and --reader go together: --card --reader NAME. [invalid-input]"
    )
