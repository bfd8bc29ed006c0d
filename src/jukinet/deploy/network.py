"""``network init``: a CA, a key and certificate per node, the signed directory, every node,
and the JPKI CA (R15): its key in the national node's home, its certificate in every home;
the card keys (R15–R17): the card-terminal CA at the national node, and in each
municipality's home its card-issuer key and window terminal (``card_keys``); the
document CA and each municipality's document-signing certificate (``deploy.documents``).

Everything is written under one folder (see ``layout``). The national node's
initial code pools for the municipalities are issued through the national
service function itself (the same one ``POST /pools`` calls), since no process
runs yet; later pools travel over the network.

Each agency's ``agency.toml`` names the node that serves its recipient in the legal
table (R2): the national node, or the prefecture node of a prefectural or municipal
body. An agency of the topology that is no recipient of the table, or whose serving
prefecture is not in the network, is refused before anything is written.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from jukinet import config, jpki
from jukinet.agency.client import write_settings as write_agency_settings
from jukinet.card.certs import public_bytes as card_public_bytes
from jukinet.config import NetworkSettings
from jukinet.deploy.documents import init_documents
from jukinet.domain.codes import ResidentCode
from jukinet.domain.legal import LegalTable
from jukinet.domain.legal_parse import load_shipped_legal_table
from jukinet.errors import ConfigurationError
from jukinet.keys import NodeKey, save_private_key
from jukinet.network import pki, web_pki
from jukinet.network.directory import DIRECTORY_LIFETIME, file_lock, sign_directory
from jukinet.network.emergency import OPERATORS_FILE, write_operators
from jukinet.network.layout import MONITOR_ID, NetworkLayout
from jukinet.network.messages import MAX_POOL, Directory, DirectoryEntry, Role, SignedDirectory
from jukinet.network.topology import NodeSpec, Topology, free_port_block
from jukinet.nodes.identity.store import IdentityStore
from jukinet.nodes.municipality import card_keys
from jukinet.nodes.municipality.setup import FirstAdministrator, init_register
from jukinet.nodes.national import pools
from jukinet.nodes.national import service as national
from jukinet.nodes.prefecture import service as prefecture
from jukinet.seed.places import Places

INITIAL_POOL = 5_000
OPERATORS = ("operator-1", "operator-2")  # the national node's operators (R9), made at init
ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Issued:
    key: Ed25519PrivateKey
    cert: x509.Certificate


class PoolFromNational:
    """A ``CodeMaker`` and ``CodeSource`` backed by the national node's own service (init)."""

    name = "national"

    def __init__(self, store: IdentityStore, municipality: str) -> None:
        self.store, self.municipality = store, municipality

    def make(self, count: int) -> list[ResidentCode]:
        codes: list[ResidentCode] = []
        while len(codes) < count:  # at most MAX_POOL per pool, as over the network
            ask = min(MAX_POOL, count - len(codes))
            grant = pools.issue_pool(self.store, self.municipality, ask, actor="network-init")
            codes += [ResidentCode(c) for c in grant.codes]
        return codes

    async def issue(self, count: int) -> list[ResidentCode]:
        return self.make(count)


def directory_for(
    topology: Topology,
    issued: dict[str, Issued],
    version: int = 1,
    lifetime: float = DIRECTORY_LIFETIME,
) -> Directory:
    entries = [
        _entry(spec.node_id, spec.role, spec.code, spec.name, spec.url, issued[spec.node_id])
        for spec in topology.nodes()
    ]
    entries += [
        _entry(a.node_id, "agency", a.code, a.name, "", issued[a.node_id])
        for a in topology.agencies
    ]
    entries.append(_entry(MONITOR_ID, "monitor", "operations", "運用監視", "", issued[MONITOR_ID]))
    at = datetime.now(UTC)
    return Directory(
        network=topology.name,
        version=version,
        issued_at=at,
        expires_at=at + timedelta(seconds=lifetime),
        entries=entries,
    )


def _entry(nid: str, role: Role, code: str, name: str, url: str, i: Issued) -> DirectoryEntry:
    return DirectoryEntry(
        node_id=nid,
        role=role,
        code=code,
        name=name,
        url=url,
        cert_pem=pki.cert_pem(i.cert),
        fingerprint=pki.fingerprint(i.cert),
    )


def serving_urls(topology: Topology, table: LegalTable) -> dict[str, str]:
    """The URL of the node serving each agency of ``topology`` (by node id), as the
    legal table names it (R2); ConfigurationError for an agency no node would serve."""
    nodes = {spec.node_id: spec.url for spec in (topology.national, *topology.prefectures)}
    urls: dict[str, str] = {}
    for agency in topology.agencies:
        recipient = next((r for r in table.recipients if r.agency == agency.code), None)
        if recipient is None:
            raise ConfigurationError(
                f"Agency {agency.code} ({agency.name}) of the topology is not a recipient of "
                f"the legal table (version {table.version}), so no node would serve it (R2). "
                "Remove it from [[agencies]], or use the agency code of a recipient."
            )
        node = recipient.served_by.node_id
        if node not in nodes:
            raise ConfigurationError(
                f"Agency {agency.code} acts for {recipient.name}, whom the legal table has "
                f"served by {node}, and the topology has no such node; add that prefecture "
                "to [[prefectures]] or remove the agency."
            )
        urls[agency.node_id] = nodes[node]
    return urls


def init_network(
    topology: Topology,
    places: Places,
    root: Path,
    *,
    database_url_for: Callable[[str], str | None] = lambda _node: None,
    pool_size: int = INITIAL_POOL,
    today: date | None = None,
    report: Callable[[str], None] = lambda _line: None,
    legal_table: LegalTable | None = None,
    directory_lifetime: float = DIRECTORY_LIFETIME,
    console_port: int | None = None,
    windows: bool = True,
) -> NetworkLayout:
    """Create the whole network of ``topology`` under ``root`` (which must not hold one).

    ``directory_lifetime`` (seconds, R9) is how long each directory the national node
    signs stays valid; past it a node stops its traffic until a fresh one arrives.

    ``console_port`` is the national node's network console's HTTPS port (docs/ui.md);
    default: a free one on this machine, drawn as local networks' ports are.

    ``windows``: each municipality gets a window app (docs/ui.md), with a free port of
    its own; ``network up`` runs one more process per municipality for it.

    ``legal_table`` (default: the shipped one, which every new node uses) decides which
    node each agency calls.
    """
    layout = NetworkLayout(root)
    if layout.topology.exists():
        raise ConfigurationError(f"{root} already holds a network; choose another --dir.")
    agency_urls = serving_urls(topology, legal_table or load_shipped_legal_table())
    root.mkdir(parents=True, exist_ok=True)
    ca = pki.create_ca(topology.name)
    pki.save_ca(ca, layout.ca)
    jpki_ca = jpki.create_ca(topology.name)
    jpki_ca_pem = jpki_ca.cert.public_bytes(serialization.Encoding.PEM)
    # The resident card (R15–R17): the network's card-terminal CA, anchor of every
    # card's 住基AP, and each municipality's card-issuer key (nodes/municipality/card_keys).
    terminal_ca = Ed25519PrivateKey.generate()
    card_issuers = {m.code: Ed25519PrivateKey.generate() for m in topology.municipalities}
    issuer_publics = {c: card_public_bytes(k) for c, k in card_issuers.items()}

    issued: dict[str, Issued] = {}
    for spec in topology.nodes():
        key, cert = pki.issue_certificate(ca, spec.role, spec.code, [spec.host])
        issued[spec.node_id] = Issued(key, cert)
    for agency in topology.agencies:
        key, cert = pki.issue_certificate(ca, "agency", agency.code, [])
        issued[agency.node_id] = Issued(key, cert)
    key, cert = pki.issue_certificate(ca, "monitor", "operations", [])
    issued[MONITOR_ID] = Issued(key, cert)

    national_key = issued[topology.national.node_id].key
    signed = sign_directory(
        directory_for(topology, issued, lifetime=directory_lifetime), national_key
    )
    national_pub = national_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    # The national node's operators (R9): two Ed25519 keys, readable by the owner only, in
    # the network folder; every node gets their public keys, to check emergency orders.
    operators = {name: Ed25519PrivateKey.generate() for name in OPERATORS}
    layout.operators.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name, op_key in operators.items():
        NodeKey(op_key).save(layout.operators / f"{name}.key")
    operator_keys = {name: k.public_key() for name, k in operators.items()}

    def settings(spec: NodeSpec, upstream: str) -> NetworkSettings:
        return NetworkSettings(
            node_id=spec.node_id,
            host=spec.host,
            port=spec.port,
            national_url=topology.national.url,
            upstream_url=upstream,
            directory_lifetime=directory_lifetime,
        )

    def finish(home: Path, spec: NodeSpec, cfg: config.NodeConfig, upstream: str) -> None:
        (home / config.CERT_FILE).write_bytes(_pem(issued[spec.node_id].cert))
        (home / config.CA_FILE).write_bytes(_pem(ca.cert))
        (home / config.NATIONAL_KEY_FILE).write_bytes(national_pub)
        (home / config.JPKI_CA_FILE).write_bytes(jpki_ca_pem)
        (home / config.DIRECTORY_FILE).write_text(signed.model_dump_json(indent=1))
        write_operators(home / OPERATORS_FILE, operator_keys)
        config.write(cfg.model_copy(update={"network": settings(spec, upstream)}))

    n = topology.national
    home = layout.node(n.node_id)
    cfg = national.init_node(
        home, n.code, n.name, database_url_for(n.node_id), NodeKey(issued[n.node_id].key)
    )
    jpki.save_ca(jpki_ca, home)  # the national node is the JPKI CA (J-LIS's role)
    card_keys.save_terminal_ca(terminal_ca, home)
    finish(home, n, cfg, "")
    web_ca = web_pki.create_web_ca(topology.name)
    web_pki.save_web_ca(web_ca, layout.ca)
    console_port = console_port or free_port_block(1)
    _console(web_ca, topology.name, home, n, console_port)
    report(f"national node {n.name}")
    national_store = national.open_node(home)
    try:
        for p in topology.prefectures:
            home = layout.node(p.node_id)
            cfg = prefecture.init_node(
                home, p.code, p.name, database_url_for(p.node_id), NodeKey(issued[p.node_id].key)
            )
            finish(home, p, cfg, n.url)
            report(f"prefecture {p.code} {p.name}")
        layout.secrets.mkdir(mode=0o700, exist_ok=True)
        app_ports: set[int] = {console_port, *(s.port for s in topology.nodes())}
        for m in topology.municipalities:
            home = layout.node(m.node_id)
            password = secrets.token_urlsafe(12)
            day = today or date.today()
            cfg = init_register(
                home,
                places.municipality(m.code),
                FirstAdministrator(ADMIN, f"{m.name} 管理者", password, day, day),
                PoolFromNational(national_store, m.code),
                database_url=database_url_for(m.node_id),
                pool_size=pool_size,
                key=NodeKey(issued[m.node_id].key),
                admin_card=layout.operator_card(m.node_id),
            )
            finish(home, m, cfg, topology.prefecture_of(m.code).url)
            card_keys.make_window(home, m.code, card_issuers[m.code], terminal_ca, issuer_publics)
            _web_app("portal", web_ca, topology.name, home, m, _app_port(app_ports))
            if windows:
                _web_app("window", web_ca, topology.name, home, m, _app_port(app_ports))
            write_secret(
                layout.secrets / f"{m.node_id.replace(':', '-')}.txt", f"{ADMIN} {password}\n"
            )
            report(f"municipality {m.code} {m.name} (pool of {pool_size:,} codes)")
    finally:
        national_store.close()
    init_documents(layout, topology, ca)

    for nid, i in issued.items():
        if nid.startswith(("agency:", "monitor:")):
            folder = layout.client(nid)
            pki.write_identity(folder, i.key, i.cert, ca.cert)
            (folder / config.NATIONAL_KEY_FILE).write_bytes(national_pub)
            (folder / config.JPKI_CA_FILE).write_bytes(jpki_ca_pem)
            serving = agency_urls[nid] if nid.startswith("agency:") else topology.national.url
            write_agency_settings(folder, nid, topology.national.url, node_url=serving)
    return layout


def write_topology(layout: NetworkLayout, source: Path) -> None:
    shutil.copyfile(source, layout.topology)


def publish_directory(layout: NetworkLayout, signed: SignedDirectory, national_id: str) -> None:
    """Replace the national node's directory file; the running node serves it next refresh."""
    path = layout.node(national_id) / config.DIRECTORY_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(signed.model_dump_json(indent=1))
    os.replace(tmp, path)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def write_secret(path: Path, text: str) -> None:
    """A file only the owner may read (first passwords of a new network)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def revoke_node(layout: NetworkLayout, topology: Topology, node: str) -> int:
    """Revoke ``node``'s certificate at the CA and mark it revoked in a newly signed
    directory; returns the directory's new version. Nodes refuse it after their next
    refresh (docs/network.md). The running national node's renewals wait meanwhile."""
    with file_lock(layout.node(topology.national.node_id) / config.DIRECTORY_FILE):
        return _revoke_node(layout, topology, node)


def _revoke_node(layout: NetworkLayout, topology: Topology, node: str) -> int:
    national_home = layout.node(topology.national.node_id)
    signed = SignedDirectory.model_validate_json(
        (national_home / config.DIRECTORY_FILE).read_bytes()
    )
    current = signed.directory
    entry = next((e for e in current.entries if e.node_id == node), None)
    if entry is None:
        raise ConfigurationError(f"{node} is not in the network's directory.")
    if entry.status == "revoked":
        raise ConfigurationError(f"{node} is already revoked.")
    pki.revoke(layout.ca, x509.load_pem_x509_certificate(entry.cert_pem.encode()))
    entries = [
        e.model_copy(update={"status": "revoked"}) if e is entry else e for e in current.entries
    ]
    at = datetime.now(UTC)
    newer = current.model_copy(
        update={
            "version": current.version + 1,
            "issued_at": at,
            "expires_at": at + (current.expires_at - current.issued_at),  # the same lifetime
            "entries": entries,
        }
    )
    national_key = NodeKey.load(national_home / config.KEY_FILE)
    publish_directory(
        layout, sign_directory(newer, national_key.private), topology.national.node_id
    )
    return newer.version


def _console(ca: web_pki.WebCA, network: str, home: Path, spec: NodeSpec, port: int) -> None:
    """The national node's network console (docs/ui.md): its own port and its own server
    certificate from the web CA (``network/web_pki.py``), for the host name browsers use
    (``localhost`` for a loopback network: WebAuthn needs a name, not an address)."""
    cfg = config.load(home)
    assert cfg.network is not None
    host = "localhost" if spec.host in ("127.0.0.1", "::1", "localhost") else spec.host
    key, cert = web_pki.issue_web_certificate(ca, network, [host])
    save_private_key(home / "console.key", key)
    (home / "console.pem").write_bytes(_pem(cert))
    network_settings = cfg.network.model_copy(update={"console_port": port, "console_host": host})
    config.write(cfg.model_copy(update={"network": network_settings}))


def _web_app(
    app: Literal["portal", "window"],
    ca: web_pki.WebCA,
    network: str,
    home: Path,
    spec: NodeSpec,
    port: int,
) -> None:
    """One of a municipality's web interfaces (docs/ui.md): its resident portal
    (``portal``) or its window app for the municipality's terminals (``window``), each
    with its own port and server certificate from the web CA, as the network console has
    (``_console``): ``<app>.pem``/``<app>.key`` in the node's home, ``<app>_port`` and
    ``<app>_host`` in its settings."""
    cfg = config.load(home)
    assert cfg.network is not None
    host = "localhost" if spec.host in ("127.0.0.1", "::1", "localhost") else spec.host
    key, cert = web_pki.issue_web_certificate(ca, network, [host])
    save_private_key(home / f"{app}.key", key)
    (home / f"{app}.pem").write_bytes(_pem(cert))
    update = {f"{app}_port": port, f"{app}_host": host}
    network_settings = cfg.network.model_copy(update=update)
    config.write(cfg.model_copy(update={"network": network_settings}))


def _app_port(taken: set[int]) -> int:
    """A free port for a web interface that no node nor other app of the network has."""
    port = free_port_block(1)
    while port in taken:
        port = free_port_block(1)
    taken.add(port)
    return port
