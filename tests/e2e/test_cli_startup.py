"""The ``jukinet`` command imports only what the command it runs needs.

``jukinet code check`` and ``jukinet --help`` reach neither the network nor the
register: they must not load the web server, the HTTP client or the crypto stack
(issue 7: 1.2 s of start-up, almost all of it those imports).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import typer

from jukinet.cli import COMMANDS, app
from jukinet.cli._lazy import LazyGroup

NOT_NEEDED = ("fastapi", "starlette", "uvicorn", "aiohttp", "cryptography", "sqlalchemy")

PROBE = f"""
import sys
from jukinet.cli import main
sys.argv = ["jukinet", *sys.argv[1:]]
try:
    main()
except SystemExit as stop:
    status = stop.code
loaded = [name for name in {NOT_NEEDED!r} if name in sys.modules]
print("loaded:", ",".join(loaded) or "none")
sys.exit(status)
"""


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``jukinet ARGS`` in a fresh interpreter, then the heavy modules it loaded."""
    return subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "120"},
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("code", "check", "131016"), "131016: valid local government code"),
        (("code", "check", "12345678903"), "12345678903: valid resident code"),
        (("--help",), "Record events at the window"),
    ],
    ids=["local-code", "resident-code", "help"],
)
def test_offline_commands_load_no_web_http_or_crypto_modules(
    args: tuple[str, ...], expected: str
) -> None:
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "loaded: none"


def test_a_refused_code_check_loads_none_of_them_either() -> None:
    result = run_cli("code", "check", "12345678901")
    assert result.returncode != 0
    assert "wrong check digit" in result.stderr
    assert result.stdout.strip().splitlines()[-1] == "loaded: none"


def test_a_networked_command_still_runs_its_own_imports() -> None:
    """The probe can see a heavy import: ``network --help`` loads the network code."""
    result = run_cli("network", "--help")
    assert result.returncode == 0, result.stderr
    assert "init" in result.stdout
    assert "fastapi" in result.stdout.strip().splitlines()[-1]


def help_text(group: LazyGroup) -> str:
    with typer.Context(group, info_name="jukinet") as ctx:
        return group.get_help(ctx)


def test_help_lists_every_command_with_its_own_help(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``jukinet --help`` lists each command by the help declared in ``COMMANDS``;
    that text is the command's own (what the listing shows once it is imported)."""
    monkeypatch.setenv("COLUMNS", "200")
    group = typer.main.get_command(app)
    assert isinstance(group, LazyGroup)
    listed = help_text(group) + capsys.readouterr().out
    group.load_all()
    built = help_text(group) + capsys.readouterr().out
    assert listed == built
    for name, entry in COMMANDS.items():
        assert f" {name} " in listed and entry.help in listed
    assert list(group.list_commands(typer.Context(group))) == list(COMMANDS)
