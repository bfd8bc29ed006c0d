"""A node's home folder: ``node.toml``, the node key and (by default) the SQLite database."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from jukinet.errors import ConfigurationError

CONFIG_FILE = "node.toml"
KEY_FILE = "node.key"


CERT_FILE = "node.pem"
CA_FILE = "ca.pem"
DIRECTORY_FILE = "directory.json"
NATIONAL_KEY_FILE = "national.pub"


@dataclass(frozen=True, slots=True)
class NetworkSettings:
    """Where a node listens and whom it talks to (absent for a stand-alone register)."""

    node_id: str
    host: str
    port: int
    national_url: str
    upstream_url: str  # where identity updates go: the prefecture, or the national node
    directory_refresh: float = 2.0


@dataclass(frozen=True, slots=True)
class NodeConfig:
    home: Path
    kind: str
    code: str
    name: str
    database_url: str
    network: NetworkSettings | None = None

    @property
    def key_path(self) -> Path:
        return self.home / KEY_FILE

    @property
    def cert_path(self) -> Path:
        return self.home / CERT_FILE

    @property
    def ca_path(self) -> Path:
        return self.home / CA_FILE

    @property
    def directory_path(self) -> Path:
        return self.home / DIRECTORY_FILE

    @property
    def national_key_path(self) -> Path:
        return self.home / NATIONAL_KEY_FILE


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
            network=_network(data.get("network")),
        )
    except FileNotFoundError:
        raise ConfigurationError(
            f"No node is set up in {home} (no {CONFIG_FILE}): "
            "run `jukinet register init` or pass --home."
        ) from None
    except (tomllib.TOMLDecodeError, KeyError) as exc:
        raise ConfigurationError(f"{path} is not a valid node configuration: {exc}") from None


def _network(section: object) -> NetworkSettings | None:
    if section is None:
        return None
    if not isinstance(section, dict):
        raise KeyError("network")
    return NetworkSettings(
        node_id=str(section["node_id"]),
        host=str(section["host"]),
        port=int(section["port"]),
        national_url=str(section["national_url"]),
        upstream_url=str(section["upstream_url"]),
        directory_refresh=float(section.get("directory_refresh", 2.0)),
    )


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
    n = config.network
    if n is not None:
        text += (
            "\n[network]\n"
            f"node_id = {_quote(n.node_id)}\n"
            f"host = {_quote(n.host)}\n"
            f"port = {n.port}\n"
            f"national_url = {_quote(n.national_url)}\n"
            f"upstream_url = {_quote(n.upstream_url)}\n"
            f"directory_refresh = {n.directory_refresh}\n"
        )
    (config.home / CONFIG_FILE).write_text(text, encoding="utf-8")
