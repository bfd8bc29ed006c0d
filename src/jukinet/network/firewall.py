"""Firewall rules for the "dedicated lines" (R7): nftables admitting exactly the links.

The ruleset has one table, ``inet jukinet``. Its input chain sends every new
connection to a node port through the ``links`` chain, which accepts exactly the
(caller → callee) links given and drops everything else; traffic to any other
port of the machine is left alone, so loading the rules never locks out SSH. Each web
interface's HTTPS port (console, window, portal: ``WebPort``, docs/ui.md) goes through
the ``web`` chain, which accepts the source networks its node's settings give and drops
everyone else; a web port may not be a node port, so no link admits a peer to it.
Loading the file again replaces the table (``nft -f``). ``standard_links`` derives
the links from the endpoint table (``network/endpoints.py``), the same rows the
peer check admits callers by.

A node isolated by an emergency order (R9) or blocked by the hotlist (R7) has all its
links closed, both ways; the hotlist's blocked addresses are dropped on every node
port, each set element timing out when its block ends. A running node writes (and,
if configured, loads) this ruleset whenever its directory changes (``nodes/firewall_job.py``).

Callers are found by their address: the host of their own URL, or, for agencies
and monitors (clients without a URL), the ``sources`` mapping. On one machine
all nodes share 127.0.0.1, so there the rules tell links apart by port only.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from jukinet.domain.legal import LegalTable
from jukinet.errors import InvalidInput, ProvisionRefused
from jukinet.network.emergency import in_force
from jukinet.network.endpoints import ENDPOINTS, Endpoint, EndpointTable, Member, Scope, Serves
from jukinet.network.messages import Directory, DirectoryEntry

__all__ = ["WebPort", "closed_nodes", "network_ruleset", "nftables_rules", "standard_links"]

_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class WebPort:
    """A web interface's HTTPS port (docs/ui.md) and the networks admitted to it: the
    console and the window from loopback by default, the portal from anywhere."""

    name: str  # "console", "window", "portal"
    port: int
    sources: tuple[str, ...]


def _web_rules(web: Sequence[WebPort], node_ports: set[int]) -> list[str]:
    """One accept rule per (web port, source network); a web port is never a node port,
    so the links chain never admits a peer to it (nor the web chain a peer to a node)."""
    rules: list[str] = []
    seen: dict[int, WebPort] = {}
    for item in web:
        if item.port in node_ports:
            raise InvalidInput(f"the {item.name} port {item.port} is also a node port.")
        if item.port in seen and seen[item.port].sources != item.sources:
            raise InvalidInput(f"port {item.port} has two web interfaces with other sources.")
        seen[item.port] = item
        for text in item.sources:
            try:
                network = ipaddress.ip_network(text)
            except ValueError:
                raise InvalidInput(
                    f"{text!r}, a source of the {item.name}, is not a network (e.g. 10.1.2.0/24)."
                ) from None
            family = "ip" if network.version == 4 else "ip6"
            rule = (f"{family} saddr {network} tcp dport {item.port} "
                    f'accept comment "{item.name}"')  # fmt: skip
            if rule not in rules:
                rules.append(rule)
    return rules


def _address(text: str, what: str) -> _Address:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise InvalidInput(
            f"{what} is {text!r}; firewall rules need an IP address, not a host name."
        ) from None


def _endpoint(entry: DirectoryEntry) -> tuple[_Address, int]:
    parts = urlsplit(entry.url)
    if not parts.hostname or parts.port is None:
        raise InvalidInput(f"{entry.node_id} has no https://host:port URL; nobody can call it.")
    return _address(parts.hostname, f"the host of {entry.node_id}"), parts.port


def _source(entry: DirectoryEntry, sources: Mapping[str, str]) -> _Address:
    if entry.node_id in sources:
        return _address(sources[entry.node_id], f"the source address of {entry.node_id}")
    if not entry.url:
        raise InvalidInput(
            f"{entry.node_id} has no URL; give its source address in the sources mapping."
        )
    return _endpoint(entry)[0]


def closed_nodes(directory: Directory, now: datetime | None = None) -> dict[str, str]:
    """The nodes whose links are closed now, and why: isolated by an emergency order (R9)
    or blocked (their certificate) by the hotlist (R7). The directory's signature, and so
    its orders, was verified when it was taken (``DirectoryView``)."""
    at = now or datetime.now(UTC)
    closed = {node: f"isolated by order {order}" for node, order in
              in_force(directory.orders).isolated.items()}  # fmt: skip
    for entry in directory.hotlist:
        if entry.kind == "node" and entry.in_force(at):
            closed.setdefault(entry.subject, f"blocked by block {entry.id}")
    return closed


def _blocked_sets(directory: Directory, at: datetime) -> list[str]:
    """The hotlist's address blocks as two nftables sets, each element with the time left
    as its timeout: the kernel drops the element at the block's end (R7)."""
    elements: dict[int, list[str]] = {4: [], 6: []}
    for entry in directory.hotlist:
        if entry.kind != "address" or not entry.in_force(at):
            continue
        left = math.ceil((entry.until - at).total_seconds())
        address = _address(entry.subject, f"the subject of block {entry.id}")
        elements[address.version].append(f"{address} timeout {left}s")
    lines = []
    for version, kind in ((4, "ipv4_addr"), (6, "ipv6_addr")):
        lines += [f"\tset blocked{version} {{", f"\t\ttype {kind}", "\t\tflags timeout"]
        if elements[version]:
            lines.append(f"\t\telements = {{ {', '.join(elements[version])} }}")
        lines.append("\t}")
    return lines


def nftables_rules(
    directory: Directory,
    links: Iterable[tuple[str, str]],
    sources: Mapping[str, str] | None = None,
    now: datetime | None = None,
    web: Sequence[WebPort] = (),
) -> str:
    """An nftables ruleset admitting exactly ``links`` (caller node id, callee node id).

    Links from or to a node that is revoked, not in the directory, isolated or blocked
    by the hotlist (``closed_nodes``) get no rule; the hotlist's blocked addresses are
    dropped on every node port and web port, established connections too. Each web
    port (``web``) admits its sources only, by port: the host that loads it serves it.
    """
    at = now or datetime.now(UTC)
    addresses = dict(sources or {})
    by_id = {entry.node_id: entry for entry in directory.entries}
    closed = closed_nodes(directory, at)
    active = {node for node, entry in by_id.items() if entry.status == "active"} - set(closed)
    ports = sorted({_endpoint(entry)[1] for entry in directory.entries if entry.url})
    web_rules = _web_rules(web, set(ports))
    web_ports = sorted({item.port for item in web})
    rules: list[str] = []
    for caller, callee in links:
        if caller not in active or callee not in active:
            continue
        source = _source(by_id[caller], addresses)
        destination, port = _endpoint(by_id[callee])
        if source.version != destination.version:
            raise InvalidInput(f"{caller} and {callee} use different IP versions.")
        family = "ip" if destination.version == 4 else "ip6"
        rule = (
            f"{family} saddr {source} {family} daddr {destination} tcp dport {port} "
            f'accept comment "{caller} -> {callee}"'
        )
        if rule not in rules:
            rules.append(rule)
    lines = [
        "#!/usr/sbin/nft -f",
        f"# jukinet network {directory.network}, directory version {directory.version}: "
        f"{len(rules)} link(s).",
    ]
    lines += [f"# {node}: links closed, {why}." for node, why in sorted(closed.items())]
    lines += [
        "table inet jukinet",
        "delete table inet jukinet",
        "table inet jukinet {",
        *_blocked_sets(directory, at),
        "\tchain input {",
        "\t\ttype filter hook input priority filter; policy accept;",
    ]
    every = sorted({*ports, *web_ports})
    if every:
        shut = f"tcp dport {{ {', '.join(map(str, every))} }}"
        lines += [f"\t\tip saddr @blocked4 {shut} drop", f"\t\tip6 saddr @blocked6 {shut} drop"]
    lines.append("\t\tct state established,related accept")
    if ports:
        lines.append(f"\t\ttcp dport {{ {', '.join(map(str, ports))} }} jump links")
    if web_ports:
        lines.append(f"\t\ttcp dport {{ {', '.join(map(str, web_ports))} }} jump web")
    lines += ["\t}", "\tchain links {"]
    lines += [f"\t\t{rule}" for rule in rules]
    lines += ['\t\tlog prefix "jukinet refused: " drop', "\t}"]
    if web_ports:
        lines += ["\tchain web {", *(f"\t\t{rule}" for rule in web_rules),
                  '\t\tlog prefix "jukinet web refused: " drop', "\t}"]  # fmt: skip
    lines.append("}")
    return "\n".join(lines) + "\n"


def network_ruleset(
    directory: Directory,
    serves: Serves,
    sources: Mapping[str, str] | None = None,
    now: datetime | None = None,
    web: Sequence[WebPort] = (),
) -> tuple[str, list[str]]:
    """The ruleset of the whole network (every host loads the same: each rule names its
    destination) and the callers left out because their address is unknown (agencies,
    monitors: give them in ``sources``)."""
    known = dict(sources or {})
    served = {e.node_id for e in directory.entries if e.url}
    links, unplaced = [], set()
    for caller, callee in standard_links(directory, serves):
        if caller in served or caller in known:
            links.append((caller, callee))
        else:
            unplaced.add(caller)
    return nftables_rules(directory, links, known, now, web), sorted(unplaced)


def standard_links(
    directory: Directory, serves: Serves, table: EndpointTable = ENDPOINTS
) -> list[tuple[str, str]]:
    """The links the endpoint table needs between the directory's active nodes.

    One (caller, node) link for every row of ``table`` and every active caller the row
    admits on an active node of its kind that has a URL; ``serves(agency, node)``
    says which nodes serve an agency (the legal table). Nothing else.
    """
    entries = [entry for entry in directory.entries if entry.status == "active"]
    links: dict[tuple[str, str], None] = {}
    # Rows that differ only in method and path need the same links: decide each once.
    for row in {(r.kind, r.roles, r.scope): r for r in table}.values():
        callers = [entry for entry in entries if entry.role in row.roles]
        for node in entries:
            if node.role != row.kind or not node.url:
                continue
            for caller in _candidates(row, node, callers):
                if row.admits(caller, node, serves):
                    links[(caller.node_id, node.node_id)] = None
    return list(links)


def _candidates(
    row: Endpoint, node: DirectoryEntry, callers: list[DirectoryEntry]
) -> Iterable[DirectoryEntry]:
    """The callers worth asking ``row.admits`` about (all of them but for one scope)."""
    if row.scope is Scope.OWN_PREFECTURE:  # 1,700 municipalities, 47 prefectures
        return (c for c in callers if c.code[:2] == node.code[:2])
    return callers


def legal_table_serves(table: LegalTable) -> Serves:
    """Whether a node serves an agency, as the legal table routes it (``served_by``): the
    same data the node reads when it provides, so the firewall and the node agree."""

    def serves(agency: Member, node: Member) -> bool:
        try:
            recipient = table.recipient_for_agency(agency.code)
        except ProvisionRefused:
            return False
        return recipient.is_served_by(node.role, node.code)

    return serves
