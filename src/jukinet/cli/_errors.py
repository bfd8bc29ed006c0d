"""The one error boundary of the ``jukinet`` command: one line on stderr, never a traceback.

Every command runs inside :func:`error_boundary` (the root group wraps each command
it invokes, see ``_lazy.LazyGroup.invoke``). What a user can cause or fix — a refusal
(``JukinetError``), an invalid value (pydantic ``ValidationError``), a file that
cannot be read (``OSError``) or is not UTF-8 text (``UnicodeDecodeError``), a node
that cannot be reached (aiohttp's client errors) — is one line ``error: <reason>``
and exit status 1. A usage error (a missing option, a value Click cannot convert, an
unknown option or command) is one line ``error: <reason> (see jukinet <command>
--help)`` and exit status 2, as Click's own. Anything else is a defect of jukinet: one
line ``internal error: <type>`` and exit status 2; ``JUKINET_DEBUG=1`` adds the
traceback.

The modules of pydantic and aiohttp are looked up in ``sys.modules``, not imported:
an exception of theirs can only come from a command that loaded them, and commands
such as ``jukinet code check`` load neither.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.text import Text
from typer._click.exceptions import NoArgsIsHelpError, UsageError
from typer.exceptions import TyperException

from jukinet.errors import JukinetError

__all__ = [
    "DEBUG_ENV", "INTERNAL_ERROR", "USAGE_ERROR", "USER_ERROR", "error_boundary", "reason_of",
]  # fmt: skip

DEBUG_ENV = "JUKINET_DEBUG"
USER_ERROR = 1
INTERNAL_ERROR = 2
USAGE_ERROR = 2  # Click's status for a usage error, kept
MAX_LINE = 500  # characters of one error line: a reason, never the input it was about
_SHOWN_ERRORS = 3  # validation errors named in the line

_stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…"


def _instance_of(exc: BaseException, module: str, name: str) -> bool:
    loaded = sys.modules.get(module)
    kind: Any = getattr(loaded, name, None) if loaded is not None else None
    return isinstance(kind, type) and isinstance(exc, kind)


def _validation(exc: Any) -> str:
    """``field: message`` of the first few errors (the input itself is not repeated)."""
    parts = []
    errors = exc.errors(include_url=False, include_input=False)
    for error in errors[:_SHOWN_ERRORS]:
        where = ".".join(str(part) for part in error.get("loc", ()))
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    more = len(errors) - _SHOWN_ERRORS
    tail = f" (and {more} more)" if more > 0 else ""
    return f"invalid {exc.title}: {'; '.join(parts)}{tail} [invalid-input]"


def _os_error(exc: OSError) -> str:
    what = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is not None:
        return f"{exc.filename}: {what}"
    return what


def reason_of(exc: BaseException) -> str | None:
    """The one-line reason of an error a user can act on, or None for a defect."""
    if isinstance(exc, JukinetError):
        return f"{exc.message} [{exc.code}]"
    if _instance_of(exc, "pydantic_core", "ValidationError"):
        return _validation(exc)
    if _instance_of(exc, "aiohttp", "ClientError"):
        return f"{type(exc).__name__}: {exc} [peer-unreachable]"
    if isinstance(exc, UnicodeDecodeError):
        return f"a file is not UTF-8 text ({exc.reason}): save it as UTF-8 [invalid-input]"
    if isinstance(exc, OSError):
        return _os_error(exc)
    return None


def _print(prefix: str, message: str) -> None:
    _stderr.print(Text.assemble((prefix, "bold red"), _one_line(message)))


def usage_line(exc: UsageError) -> str:
    """Click's reason for a usage error and the help to read, as one line."""
    command = exc.ctx.command_path if exc.ctx is not None else "jukinet"
    hint = f" (see {command} --help)"
    reason = _one_line(exc.format_message()).rstrip(".")
    return reason[: MAX_LINE - len(hint)] + hint


@contextmanager
def error_boundary() -> Iterator[None]:
    """Turn any exception of the command into one line on stderr and a non-zero exit.

    A usage error is one line too (``usage_line``), exit status 2. Click's other
    exceptions (``typer.Exit``, ``--help``, a group called without a command, Ctrl-C's
    ``Abort``) go on to Click, which handles them.
    """
    try:
        yield
    except NoArgsIsHelpError:  # a group without its command: Click shows its help
        raise
    except UsageError as exc:
        _stderr.print(Text.assemble(("error: ", "bold red"), usage_line(exc)))
        raise typer.Exit(USAGE_ERROR) from None
    except (typer.Exit, typer.Abort, TyperException):  # Click's: exits and aborts
        raise
    except Exception as exc:
        reason = reason_of(exc)
        if reason is not None:
            _print("error: ", reason)
            raise typer.Exit(USER_ERROR) from None
        if os.environ.get(DEBUG_ENV) == "1":
            traceback.print_exc()
            _print("internal error: ", type(exc).__name__)
        else:
            _print(
                "internal error: ",
                f"{type(exc).__name__} (set {DEBUG_ENV}=1 to see where it happened)",
            )
        raise typer.Exit(INTERNAL_ERROR) from None
