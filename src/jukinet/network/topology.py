"""Which nodes a network has and where they listen: the topology file (TOML).

::

    [network]
    name = "demo"

    [national]
    host = "127.0.0.1"      # optional everywhere, default 127.0.0.1
    port = 7400
    name = "全国センター"     # optional

    [[prefectures]]
    code = "130001"         # local government code of the prefecture: XX000 + check digit
    port = 7410

    [[municipalities]]
    code = "131016"         # a real municipality (Japan Post data), with check digit
    port = 7420
    residents = 2000        # synthetic residents for the demo (optional, default 1000)

    [[agencies]]            # clients only: they call, nobody calls them
    code = "mofa-passport"
    name = "外務省 旅券課"

Names of prefectures and municipalities come from the place catalog, never from
the file. A municipality belongs to the prefecture whose code shares its first
two digits, and that prefecture must be in the file. Codes, and host:port pairs,
are unique; ports lie in 1024–65535. Unknown keys are refused, so a misspelt
``prot = 7420`` does not silently become the default.
"""

from __future__ import annotations

import random
import re
import socket
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jukinet.domain.codes import parse_local_government_code, prefecture_code_of, with_check_digit
from jukinet.errors import ConfigurationError, InvalidInput
from jukinet.network.messages import Role, node_id
from jukinet.seed.places import Places

__all__ = [
    "AgencySpec",
    "MunicipalitySpec",
    "NodeSpec",
    "Topology",
    "generate_topology",
    "load_topology",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_RESIDENTS = 1000
NATIONAL_NAME = "全国センター"
_AGENCY_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
DEMO_AGENCIES = (("mofa-passport", "外務省 旅券課"), ("pension-fund", "日本年金機構"))


@dataclass(frozen=True)
class NodeSpec:
    role: Role
    code: str
    name: str
    host: str
    port: int

    @property
    def node_id(self) -> str:
        return node_id(self.role, self.code)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"


@dataclass(frozen=True)
class MunicipalitySpec(NodeSpec):
    residents: int = DEFAULT_RESIDENTS


@dataclass(frozen=True)
class AgencySpec:
    code: str
    name: str

    @property
    def node_id(self) -> str:
        return node_id("agency", self.code)


@dataclass(frozen=True)
class Topology:
    name: str
    national: NodeSpec
    prefectures: tuple[NodeSpec, ...]
    municipalities: tuple[MunicipalitySpec, ...]
    agencies: tuple[AgencySpec, ...]

    def prefecture_of(self, municipality_code: str) -> NodeSpec:
        """The prefecture node a municipality reports to."""
        wanted = prefecture_code_of(parse_local_government_code(municipality_code))
        for prefecture in self.prefectures:
            if prefecture.code == wanted:
                return prefecture
        raise InvalidInput(f"The network {self.name} has no prefecture {wanted}.")

    def nodes(self) -> list[NodeSpec]:
        """Every node that listens: national, prefectures, municipalities."""
        return [self.national, *self.prefectures, *self.municipalities]


# --- reading ----------------------------------------------------------------------


class _Entry:
    """One table of the file, read key by key; complains in terms of the file."""

    def __init__(self, where: str, table: Any, allowed: set[str]) -> None:
        if not isinstance(table, Mapping):
            raise ConfigurationError(f"{where} must be a table.")
        unknown = sorted(set(table) - allowed)
        if unknown:
            raise ConfigurationError(
                f"{where} has unknown key(s) {', '.join(unknown)}; "
                f"allowed: {', '.join(sorted(allowed))}."
            )
        self.where = where
        self.table = table

    def text(self, key: str, default: str | None = None) -> str:
        value = self.table.get(key, default)
        if value is None:
            raise ConfigurationError(f'{self.where} needs {key} = "...".')
        if not isinstance(value, str) or not value.strip():
            raise ConfigurationError(f"{self.where}: {key} must be a non-empty string.")
        return value.strip()

    def integer(self, key: str, default: int | None = None) -> int:
        value = self.table.get(key, default)
        if value is None:
            raise ConfigurationError(f"{self.where} needs {key} = <number>.")
        if type(value) is not int:
            raise ConfigurationError(f"{self.where}: {key} must be a whole number, not {value!r}.")
        return value

    def port(self) -> int:
        port = self.integer("port")
        if not 1024 <= port <= 65535:
            raise ConfigurationError(f"{self.where}: port {port} is outside 1024–65535.")
        return port


def _tables(document: Mapping[str, Any], key: str) -> Iterator[tuple[int, Any]]:
    tables = document.get(key, [])
    if not isinstance(tables, list):
        raise ConfigurationError(f"[[{key}]] must be an array of tables.")
    return enumerate(tables, start=1)


def _prefecture(places: Places, entry: _Entry) -> NodeSpec:
    code = entry.text("code")
    try:
        valid = parse_local_government_code(code)
        if valid[2:5] != "000":
            raise InvalidInput(
                f"{valid} is a municipality's code; a prefecture's code ends in 000 and a check "
                f"digit ({prefecture_code_of(valid)} for this one)."
            )
        name = places.prefecture_name(valid[:2])
    except InvalidInput as exc:
        raise type(exc)(f"{entry.where}: {exc}") from None
    return NodeSpec("prefecture", valid, name, entry.text("host", DEFAULT_HOST), entry.port())


def _municipality(places: Places, entry: _Entry) -> MunicipalitySpec:
    try:
        municipality = places.municipality(entry.text("code"))
    except InvalidInput as exc:
        raise type(exc)(f"{entry.where}: {exc}") from None
    residents = entry.integer("residents", DEFAULT_RESIDENTS)
    if residents < 0:
        raise ConfigurationError(f"{entry.where}: residents cannot be negative.")
    return MunicipalitySpec(
        "municipality",
        municipality.code,
        municipality.prefecture + municipality.name,
        entry.text("host", DEFAULT_HOST),
        entry.port(),
        residents,
    )


def _agency(entry: _Entry) -> AgencySpec:
    code = entry.text("code")
    if not _AGENCY_CODE.fullmatch(code):
        raise ConfigurationError(
            f"{entry.where}: code {code!r} must be lowercase letters, digits and hyphens."
        )
    return AgencySpec(code, entry.text("name"))


def _check_unique(topology: Topology, source: str) -> None:
    seen: dict[object, str] = {}
    for node in topology.nodes():
        for key, what in (((node.host, node.port), "host:port"), (node.node_id, "code")):
            if key in seen:
                value = f"{node.host}:{node.port}" if what == "host:port" else node.code
                raise ConfigurationError(
                    f"{source}: {node.node_id} uses {what} {value}, already used by {seen[key]}."
                )
            seen[key] = node.node_id
    agencies: set[str] = set()
    for agency in topology.agencies:
        if agency.code in agencies:
            raise ConfigurationError(f"{source}: agency {agency.code} is listed twice.")
        agencies.add(agency.code)


def load_topology(path: Path, places: Places) -> Topology:
    """Read and check a topology file; every complaint names the file and the entry."""
    source = str(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"Cannot read the topology {source}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"The topology {source} is not valid TOML: {exc}") from None
    _Entry(source, document, {"network", "national", "prefectures", "municipalities", "agencies"})
    network = _Entry(f"{source} [network]", document.get("network", {}), {"name"})
    national_entry = _Entry(
        f"{source} [national]", document.get("national", {}), {"host", "port", "name"}
    )
    national = NodeSpec(
        "national",
        "national",
        national_entry.text("name", NATIONAL_NAME),
        national_entry.text("host", DEFAULT_HOST),
        national_entry.port(),
    )
    node_keys = {"code", "host", "port"}
    prefectures = tuple(
        _prefecture(places, _Entry(f"{source} [[prefectures]] entry {i}", table, node_keys))
        for i, table in _tables(document, "prefectures")
    )
    municipalities = tuple(
        _municipality(
            places,
            _Entry(f"{source} [[municipalities]] entry {i}", table, node_keys | {"residents"}),
        )
        for i, table in _tables(document, "municipalities")
    )
    agencies = tuple(
        _agency(_Entry(f"{source} [[agencies]] entry {i}", table, {"code", "name"}))
        for i, table in _tables(document, "agencies")
    )
    topology = Topology(network.text("name"), national, prefectures, municipalities, agencies)
    _check_unique(topology, source)
    present = {p.code for p in prefectures}
    for municipality in municipalities:
        wanted = prefecture_code_of(parse_local_government_code(municipality.code))
        if wanted not in present:
            raise ConfigurationError(
                f"{source}: municipality {municipality.code} ({municipality.name}) belongs to "
                f"prefecture {wanted}, which is not in [[prefectures]]."
            )
    return topology


# --- writing ----------------------------------------------------------------------


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def generate_topology(
    places: Places,
    *,
    municipalities_per_prefecture: int,
    prefectures: int = 47,
    base_port: int = 20000,
    residents: int = 200,
) -> str:
    """TOML for a network of real places: the first ``prefectures`` prefectures, each
    with its first ``municipalities_per_prefecture`` municipalities by code (all of
    them where it has fewer), and two agencies.

    Ports: national ``base_port``, prefectures ``base_port + 1 …``, municipalities
    from ``base_port + 100`` on, one each.
    """
    if not 1 <= prefectures <= 47:
        raise InvalidInput(f"Japan has 47 prefectures; cannot make a network of {prefectures}.")
    if municipalities_per_prefecture < 0 or residents < 0:
        raise InvalidInput("Counts of municipalities and residents cannot be negative.")
    by_prefecture: dict[str, list[str]] = {}
    for municipality in places.municipalities():
        by_prefecture.setdefault(municipality.code[:2], []).append(municipality.code)
    chosen = [f"{n:02d}" for n in range(1, prefectures + 1)]
    picked = [
        code
        for two in chosen
        for code in by_prefecture.get(two, [])[:municipalities_per_prefecture]
    ]
    last_port = base_port + 100 + len(picked) - 1
    if base_port < 1024 or last_port > 65535:
        raise InvalidInput(
            f"{len(picked)} municipalities from port {base_port + 100} do not fit below 65536."
        )
    lines = [
        f"# {prefectures} prefecture(s), {len(picked)} municipalities; made by generate_topology.",
        "[network]",
        f'name = "japan-{prefectures}x{municipalities_per_prefecture}"',
        "",
        "[national]",
        f'host = "{DEFAULT_HOST}"',
        f"port = {base_port}",
    ]
    for i, two in enumerate(chosen, start=1):
        lines += ["", f"[[prefectures]]  # {places.prefecture_name(two)}"]
        lines += [f'code = "{with_check_digit(two + "000")}"', f"port = {base_port + i}"]
    for i, municipality_code in enumerate(picked):
        municipality = places.municipality(municipality_code)
        lines += ["", f"[[municipalities]]  # {municipality.prefecture}{municipality.name}"]
        lines += [
            f'code = "{municipality_code}"',
            f"port = {base_port + 100 + i}",
            f"residents = {residents}",
        ]
    for code, name in DEMO_AGENCIES:
        lines += [
            "",
            "[[agencies]]",
            f"code = {_toml_string(code)}",
            f"name = {_toml_string(name)}",
        ]
    return "\n".join(lines) + "\n"


def free_port_block(size: int, *, low: int = 20000, high: int = 32000) -> int:
    """A base port with ``size`` consecutive ports free on 127.0.0.1, for a local network.

    The block is drawn below Linux's ephemeral range (32768 and up by default), where
    the kernel never hands out ports to outgoing connections; a port picked from the
    ephemeral range can be taken as the source port of some connection before the
    node binds it.
    """
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(low, high - size)
        try:
            for port in range(base, base + size):
                with closing(socket.socket()) as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise ConfigurationError(f"No {size} free consecutive ports between {low} and {high}.")
