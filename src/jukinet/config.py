"""A node's home folder: ``node.toml``, the node key and (by default) the SQLite database.

``node.toml`` is read into ``NodeConfig`` (pydantic: unknown keys and wrong types are
refused with the key named) and written with ``tomli-w``::

    [node]
    kind = "municipality"
    code = "131016"
    name = "東京都千代田区"
    database = "sqlite:////var/jukinet/chiyoda/register.db"
    mayor_title = "千代田区長"   # optional: printed under a copy's certification; by
    mayor_name = "千代田 太郎"   # default the title from the name, and no name

    [network]                # absent for a stand-alone register
    node_id = "municipality:131016"
    host = "127.0.0.1"
    port = 20001
    national_url = "https://127.0.0.1:20000"
    upstream_url = "https://127.0.0.1:20002"
    directory_refresh = 2.0
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jukinet.errors import ConfigurationError

CONFIG_FILE = "node.toml"
KEY_FILE = "node.key"
CERT_FILE = "node.pem"
CA_FILE = "ca.pem"
DIRECTORY_FILE = "directory.json"
NATIONAL_KEY_FILE = "national.pub"
# The JPKI CA (R15, docs/jpki.md): its certificate in every home, its key in the national
# node's only; the newest CRL a node fetched (``jukinet jpki crl``).
JPKI_CA_FILE = "jpki-ca.pem"
JPKI_CA_KEY_FILE = "jpki-ca.key"
JPKI_CRL_FILE = "jpki-crl.der"


class NetworkSettings(BaseModel):
    """Where a node listens and whom it talks to (absent for a stand-alone register)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    node_id: str
    host: str
    port: int = Field(ge=1, le=65535)
    national_url: str
    upstream_url: str  # where identity updates go: the prefecture, or the national node
    directory_refresh: float = Field(default=2.0, gt=0)
    # Seconds between the delivery worker's looks at its outbox when nobody woke it
    # (docs/reliability.md): a writer wakes it at once, so this only bounds the delay
    # of an update whose wake-up was lost.
    outbox_poll: float = Field(default=1.0, gt=0)
    # How often the running node signs a checkpoint of its audit log (R25, docs/audit.md).
    audit_checkpoint_every: float = Field(default=300.0, gt=0)
    # Seconds a directory the national node signs stays valid (R9, docs/emergency.md);
    # read by the national node only, which signs a fresh one when half of it is left.
    directory_lifetime: float = Field(default=600.0, gt=0)
    # The host's firewall (R7, R9, docs/network.md): on each new directory (and when a
    # block of its hotlist ends) the node writes the network's nftables ruleset to this
    # file (relative to its home) and, if ``firewall_apply`` is set, runs that command
    # with the file as its last argument (e.g. ["nft", "-f"]).
    firewall_file: str | None = None
    firewall_apply: list[str] = []
    firewall_sources: dict[str, str] = {}  # node id -> address, for clients without a URL
    # Server processes sharing the listening socket (docs/network.md, "Worker processes"):
    # the national node only; each has its own event loop, provision writer and database
    # connections, the database's own locks order their writes.
    workers: int = Field(default=1, ge=1, le=32)
    # The national node's network console (docs/ui.md): its own HTTPS port, and the host
    # name browsers use (a name, as WebAuthn wants; in its certificate's SAN).
    console_port: int | None = Field(default=None, ge=1, le=65535)
    console_host: str = "localhost"
    # A municipality's resident portal (docs/ui.md, "The resident portal"): its own HTTPS
    # port, the host name browsers use, and the card agent the residents' pages call
    # (docs/card-agent.md; its origin is the one extra source of the portal's CSP).
    portal_port: int | None = Field(default=None, ge=1, le=65535)
    portal_host: str = "localhost"
    portal_card_agent: str = "http://127.0.0.1:47315"
    # A municipality's window app (docs/ui.md, "The window app"): its own HTTPS port for
    # the municipality's terminals, and the host name their browsers use.
    window_port: int | None = Field(default=None, ge=1, le=65535)
    window_host: str = "localhost"
    # Who the host's firewall admits to each web port (networks, docs/operations.md): by
    # default the console and the window from loopback only, the portal from anywhere;
    # e.g. window_sources = ["10.1.2.0/24"] for the municipality's terminal LAN.
    console_sources: list[str] = ["127.0.0.0/8", "::1/128"]
    window_sources: list[str] = ["127.0.0.0/8", "::1/128"]
    portal_sources: list[str] = ["0.0.0.0/0", "::/0"]


class NodeConfig(BaseModel):
    """A node's configuration; ``home`` is where it was read from, not part of the file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    home: Path
    kind: str
    code: str
    name: str
    database_url: str
    network: NetworkSettings | None = None
    # Who certifies a copy of the resident record (docs/copies.md); the default title
    # comes from the municipality's name (domain.copies.mayor_title_for).
    mayor_title: str | None = None
    mayor_name: str = ""

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


class _NodeSection(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    kind: str
    code: str
    name: str
    database: str
    mayor_title: str | None = None
    mayor_name: str = ""


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    node: _NodeSection
    network: NetworkSettings | None = None


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}"


def load(home: Path) -> NodeConfig:
    path = home / CONFIG_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        parsed = _File.model_validate(data)
    except FileNotFoundError:
        raise ConfigurationError(
            f"No node is set up in {home} (no {CONFIG_FILE}): "
            "run `jukinet register init` or pass --home."
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path} is not a valid node configuration: {exc}") from None
    except ValidationError as exc:
        raise ConfigurationError(
            f"{path} is not a valid node configuration: {_first_error(exc)}"
        ) from None
    node = parsed.node
    return NodeConfig(
        home=home,
        kind=node.kind,
        code=node.code,
        name=node.name,
        database_url=node.database,
        network=parsed.network,
        mayor_title=node.mayor_title,
        mayor_name=node.mayor_name,
    )


def write(config: NodeConfig) -> None:
    config.home.mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = {
        "node": {
            "kind": config.kind,
            "code": config.code,
            "name": config.name,
            "database": config.database_url,
        }
    }
    if config.mayor_title is not None:
        document["node"]["mayor_title"] = config.mayor_title
    if config.mayor_name:
        document["node"]["mayor_name"] = config.mayor_name
    if config.network is not None:
        unset = {
            "firewall_file",
            "firewall_apply",
            "firewall_sources",
            "console_port",
            "portal_port",
            "window_port",
        }  # when set
        document["network"] = {k: v for k, v in config.network.model_dump().items()
                               if v not in (None, [], {}) or k not in unset}  # fmt: skip
    (config.home / CONFIG_FILE).write_text(tomli_w.dumps(document), encoding="utf-8")
