"""``jukinet code check``: is this a valid resident code or local government code?"""

from __future__ import annotations

import typer

from jukinet.cli._common import console, handle_errors
from jukinet.domain.codes import parse_local_government_code, parse_resident_code
from jukinet.errors import InvalidInput

app = typer.Typer(help="Check resident codes and local government codes.", no_args_is_help=True)


@app.command("check")
@handle_errors
def check(
    code: str = typer.Argument(..., help="11-digit resident code or 6-digit local code"),
) -> None:
    """Exit 0 if CODE is valid; otherwise print why and exit non-zero."""
    value = code.strip()
    if len(value) == 6:
        console.print(f"{parse_local_government_code(value)}: valid local government code")
    elif len(value) == 11:
        console.print(f"{parse_resident_code(value)}: valid resident code")
    else:
        raise InvalidInput(
            f"{code!r} has {len(value)} characters: a resident code has 11 digits, "
            "a local government code 6."
        )
