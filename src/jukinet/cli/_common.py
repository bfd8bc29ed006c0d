"""What every command shares: the node's home, authentication, errors, dates."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from jukinet.cli._errors import error_boundary
from jukinet.domain.access import Session
from jukinet.domain.checks import parse_date

if TYPE_CHECKING:
    from jukinet.card.reader import Reader

    # Imported where used: they bring SQLAlchemy and the network client, which
    # commands such as ``jukinet code check`` do not need.
    from jukinet.nodes.identity.store import IdentityStore
    from jukinet.nodes.municipality.store import RegisterStore

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

P = ParamSpec("P")
R = TypeVar("R")

HOME_ENV = "JUKINET_HOME"
DEFAULT_HOME = Path("var/municipality")
READER_ENV = "JUKINET_OPERATOR_READER"
DEFAULT_READER = "Virtual PCD 00 01"
"""vsmartcard's second slot (``jukinet card serve OPERATOR_CARD --slot 1``)."""


class State:
    home: Path = DEFAULT_HOME
    reader: str = DEFAULT_READER


state = State()


def fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(Text.assemble(("error: ", "bold red"), message), soft_wrap=True)
    return typer.Exit(code)


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """The command runs inside the one error boundary (``_errors.error_boundary``).

    The root group already runs every command inside it; this keeps a command's
    errors one line when its Typer app is invoked on its own (tests, sub-apps).
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with error_boundary():
            return fn(*args, **kwargs)

    return wrapper


@contextmanager
def register() -> Iterator[RegisterStore]:
    from jukinet.nodes.municipality.setup import open_register

    store = open_register(state.home)
    try:
        yield store
    finally:
        store.close()


def password_from_env_or_prompt(env: str, prompt: str, confirm: bool = False) -> str:
    value = os.environ.get(env)
    if value is not None:
        return value
    return str(typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm))


def open_reader(name: str) -> Reader:
    """The operator's card reader: PC/SC, named by --reader or JUKINET_OPERATOR_READER."""
    from jukinet.card.pcsc import PcscReader

    return PcscReader(name)


def login(store: RegisterStore, operator: str | None) -> Session:
    """Sign in the operator named by --operator or JUKINET_OPERATOR (R11): the password
    (JUKINET_PASSWORD or prompt) and the operator's card in the reader. The card is
    asked again before the command's transaction commits: pulled out, nothing is kept."""
    from jukinet.nodes.municipality import service

    name = operator or os.environ.get("JUKINET_OPERATOR")
    if not name:
        raise fail("Name the operator with --operator or JUKINET_OPERATOR.")
    password = password_from_env_or_prompt("JUKINET_PASSWORD", f"Password for {name}")
    return service.login(store, name, password, open_reader(state.reader))


def day(value: str | None, default: date | None = None) -> date:
    if value is None:
        if default is None:
            raise fail("A date is missing.")
        return default
    return parse_date(value)


OperatorOption: Any = typer.Option(
    None, "--operator", "-u", help="Operator user name (or JUKINET_OPERATOR)."
)


@contextmanager
def identity_node(holding: str) -> Iterator[IdentityStore]:
    """The store of the prefecture or national node at the home, closed afterwards; on
    any other kind a ConfigurationError that says the node does not hold ``holding``."""
    from jukinet import config

    kind = config.load(state.home).kind
    if kind == "prefecture":
        from jukinet.nodes.prefecture import service as prefecture

        store: IdentityStore = prefecture.open_node(state.home)
    elif kind == "national":
        from jukinet.nodes.national import service as national

        store = national.open_node(state.home)
    else:
        from jukinet.errors import ConfigurationError

        raise ConfigurationError(
            f"{state.home} is a {kind} node; only prefecture and national nodes hold {holding}."
        )
    try:
        yield store
    finally:
        store.close()
