"""A command group that imports each sub-command's module only when it runs.

``jukinet code check`` needs neither FastAPI nor aiohttp; importing every command's
module up front made it pay for both. The root group knows each command by name,
the module that defines it and its one-line help, so ``jukinet --help`` lists every
command without importing any of them, and ``jukinet <command> ...`` imports one.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import typer
from typer.core import TyperCommand, TyperGroup
from typer.main import get_command_from_info, get_group_from_info
from typer.models import CommandInfo, TyperInfo

from jukinet.cli._errors import error_boundary

if TYPE_CHECKING:
    # Typer vendors Click (typer._click); its groups take that Click's types.
    from typer._click import Command, Context

PRETTY_EXCEPTIONS_SHORT = True
"""Typer's default, which the root app keeps."""


@dataclass(frozen=True)
class LazyCommand:
    """``jukinet <name>``: ``attribute`` of ``jukinet.cli.<module>``, a Typer app or a function."""

    module: str
    attribute: str
    help: str
    setup: Callable[[Any], None] | None = None
    """Run once on the loaded module before its command is built."""

    def load(self, name: str, group: TyperGroup) -> Command:
        """Build the command as ``add_typer`` / ``command`` on the root would have."""
        module = importlib.import_module(f"jukinet.cli.{self.module}")
        if self.setup is not None:
            self.setup(module)
        target = getattr(module, self.attribute)
        if isinstance(target, typer.Typer):
            return get_group_from_info(
                TyperInfo(target, name=name),
                pretty_exceptions_short=PRETTY_EXCEPTIONS_SHORT,
                rich_markup_mode=group.rich_markup_mode,
                suggest_commands=group.suggest_commands,
            )
        return get_command_from_info(
            CommandInfo(name=name, callback=target),
            pretty_exceptions_short=PRETTY_EXCEPTIONS_SHORT,
            rich_markup_mode=group.rich_markup_mode,
        )


class _Commands(MutableMapping[str, "Command"]):
    """The group's commands: those already built, then the lazy ones, built on first use."""

    def __init__(self, group: LazyGroup, built: MutableMapping[str, Command]) -> None:
        self._group = group
        self._built = built

    def __getitem__(self, name: str) -> Command:
        if name in self._built:
            return self._built[name]
        entry = self._group.lazy[name]  # KeyError: no such command
        if self._group.listing:
            return TyperCommand(name=name, help=entry.help)
        command = self._built[name] = entry.load(name, self._group)
        return command

    def __iter__(self) -> Iterator[str]:
        yield from self._built
        yield from (name for name in self._group.lazy if name not in self._built)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __setitem__(self, name: str, command: Command) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self._built[name]


class LazyGroup(TyperGroup):
    """The root group; ``lazy`` (set on the class by :func:`lazy_group`) names the commands."""

    lazy: ClassVar[Mapping[str, LazyCommand]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.listing = False
        """While the help is written: lazy commands are listed by their declared help."""
        self.commands = _Commands(self, self.commands)

    def list_commands(self, ctx: Context) -> list[str]:
        return list(self.commands)  # names only: building them would import them

    def get_help(self, ctx: Context) -> str:
        """List the commands from their declared help, without importing them."""
        self.listing = True
        try:
            return super().get_help(ctx)
        finally:
            self.listing = False

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: Context | None = None,
        **extra: Any,
    ) -> Context:
        """The root's own options are parsed inside the error boundary too (a usage error
        such as ``jukinet --bogus`` is one line)."""
        with error_boundary():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: Context) -> Any:
        """Every command runs inside the one error boundary: one line, never a traceback;
        so are the usage errors of its options and arguments, parsed on the way in."""
        with error_boundary():
            return super().invoke(ctx)

    def load_all(self) -> None:
        """Import every command (for checking that the listed help is each command's own)."""
        for name in list(self.commands):
            self.commands[name]


def lazy_group(commands: Mapping[str, LazyCommand]) -> type[LazyGroup]:
    return type("JukinetGroup", (LazyGroup,), {"lazy": commands})
