"""A node's home folder: ``node.toml``, the node key and (by default) the SQLite database."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from jukinet.errors import ConfigurationError

CONFIG_FILE = "node.toml"
KEY_FILE = "node.key"


@dataclass(frozen=True, slots=True)
class NodeConfig:
    home: Path
    kind: str
    code: str
    name: str
    database_url: str

    @property
    def key_path(self) -> Path:
        return self.home / KEY_FILE


def load(home: Path) -> NodeConfig:
    path = home / CONFIG_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        section = data["node"]
        return NodeConfig(
            home=home,
            kind=str(section["kind"]),
            code=str(section["code"]),
            name=str(section["name"]),
            database_url=str(section["database"]),
        )
    except FileNotFoundError:
        raise ConfigurationError(
            f"No node is set up in {home} (no {CONFIG_FILE}): "
            "run `jukinet register init` or pass --home."
        ) from None
    except (tomllib.TOMLDecodeError, KeyError) as exc:
        raise ConfigurationError(f"{path} is not a valid node configuration: {exc}") from None


def _quote(value: str) -> str:
    # TOML basic strings: escape backslash and quote; the values here are one line.
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write(config: NodeConfig) -> None:
    config.home.mkdir(parents=True, exist_ok=True)
    text = (
        "[node]\n"
        f"kind = {_quote(config.kind)}\n"
        f"code = {_quote(config.code)}\n"
        f"name = {_quote(config.name)}\n"
        f"database = {_quote(config.database_url)}\n"
    )
    (config.home / CONFIG_FILE).write_text(text, encoding="utf-8")
