"""``jukinet network``, ``pki``, ``node run`` and ``demo``: a whole network on one machine."""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import sys
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import typer
from rich.table import Table

from jukinet import config
from jukinet.cli._common import console, fail, handle_errors, state
from jukinet.cli.portal_cmd import portal_url
from jukinet.deploy.network import init_network, revoke_node, write_topology
from jukinet.errors import ConfigurationError, JukinetError
from jukinet.network import monitor
from jukinet.network.firewall import WebPort, legal_table_serves, network_ruleset
from jukinet.network.layout import NetworkLayout, folder_name
from jukinet.network.messages import NodeStatus, SignedDirectory
from jukinet.network.server import serve
from jukinet.network.supervisor import Child, Supervisor
from jukinet.network.topology import NodeSpec, Topology, generate_topology, load_topology
from jukinet.seed.places import Places

app = typer.Typer(help="A whole network: init, up, status, reconcile.", no_args_is_help=True)
pki_app = typer.Typer(help="The network's certificates.", no_args_is_help=True)
node_app = typer.Typer(help="Run this node (--home) as a network process.", no_args_is_help=True)

DEMO_DIR = Path("var/network")
DEMO_MARK = ".jukinet-demo"


def demo_topology() -> Path:
    return Path(str(resources.files("jukinet") / "topologies" / "demo.toml"))


def _topology(layout: NetworkLayout, places: Places) -> Topology:
    if not layout.topology.exists():
        raise ConfigurationError(f"{layout.root} holds no network: run `jukinet network init`.")
    return load_topology(layout.topology, places)


@app.command("init")
@handle_errors
def init(
    topology: Path = typer.Option(..., help="The topology TOML file."),
    directory: Path = typer.Option(..., "--dir", help="Folder for the whole network."),
    pg: str | None = typer.Option(
        None, help="PostgreSQL URL for the national and prefecture nodes (default: SQLite)."
    ),
    directory_lifetime: float = typer.Option(
        600.0,
        min=1.0,
        help="Seconds each signed directory stays valid; past it a node stops its traffic (R9).",
    ),
    console_port: int | None = typer.Option(
        None, min=1024, max=65535, help="The network console's HTTPS port (default: a free one)."
    ),
    windows: bool = typer.Option(
        True,
        "--windows/--no-windows",
        help="Give each municipality a window app (its own port; `network up` serves it).",
    ),
) -> None:
    """Create the CA, every node's key, certificate, configuration and database."""
    with Places() as places:
        topo = load_topology(topology, places)
        layout = init_network(
            topo,
            places,
            directory,
            database_url_for=_pg_schemas(pg, topo.name) if pg else lambda _n: None,
            report=lambda line: console.print(f"  {line}"),
            directory_lifetime=directory_lifetime,
            console_port=console_port,
            windows=windows,
        )
    write_topology(layout, topology)
    console.print(f"Network {topo.name!r} created in {directory}: {len(topo.nodes())} nodes.")


def _pg_schemas(url: str, network: str):  # type: ignore[no-untyped-def]
    """One schema per identity node on the given server (municipalities stay on SQLite)."""
    from sqlalchemy import create_engine, text

    base = url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(base)

    def for_node(node: str) -> str | None:
        if node.startswith("municipality:"):
            return None
        schema = f"{network}_{node.replace(':', '_')}".lower().replace("-", "_")
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        sep = "&" if "?" in base else "?"
        return f"{base}{sep}options=-csearch_path%3D{schema}"

    return for_node


@app.command("up")
@handle_errors
def up(directory: Path = typer.Argument(..., help="The network's folder.")) -> None:
    """Start every node as its own process; Ctrl-C stops them all."""
    _up(NetworkLayout(directory))


def _up(layout: NetworkLayout) -> None:
    with Places() as places:
        topo = _topology(layout, places)
    specs = {s.node_id: s for s in topo.nodes()}
    home = layout.node(topo.national.node_id)
    net = config.load(home).network
    services, console_port = [], net.console_port if net else None
    if console_port is not None:
        services.append(Child(CONSOLE, home, ("web", "serve")))
    agency_ports = _agency_consoles(layout, topo)
    for name, (folder, _port) in agency_ports.items():
        services.append(Child(name, folder, ("agency", "console", "--as", str(folder))))
    portals = _portals(layout, topo)
    services.extend(Child(name, layout.node(m.node_id), ("portal", "serve"))
                    for name, (m, _port) in portals.items())  # fmt: skip
    windows = window_urls(layout, topo)
    window_ports = {m: int(url.rstrip("/").rsplit(":", 1)[1]) for m, url in windows.items()}
    services += [Child(window_service(m), layout.node(m), ("window", "serve")) for m in windows]

    def healthy(name: str) -> bool:
        if name == CONSOLE:
            return _listening(topo.national.host, console_port or 0)
        if name in agency_ports:
            return _listening("127.0.0.1", agency_ports[name][1])
        if name in portals:
            spec, port = portals[name]
            return _listening(spec.host, port)
        if name.startswith("window:"):
            m = name.removeprefix("window:")
            return _listening(specs[m].host, window_ports[m])
        return asyncio.run(monitor.healthy(layout, specs[name]))

    supervisor = Supervisor(layout, list(specs), healthy=healthy, services=services)
    supervisor.run(
        report=lambda line: console.print(f"  {line}"),
        on_up=lambda: console.print(
            f"Network {topo.name!r} is up; logs in {layout.logs}. Ctrl-C stops it."
            + (
                f"\nNetwork console: https://{net.console_host}:{console_port}/ (its CA: "
                f"{layout.ca / 'web-ca.pem'})"
                if net and console_port
                else ""
            )
            + "".join(
                f"\nResident portal of {m.name}: {portal_url(layout.node(m.node_id))}"
                for m, _port in portals.values()
            )
            + "".join(f"\nWindow app of {m}: {url}" for m, url in windows.items())
        ),
    )


CONSOLE = "console:national"  # the national node's network console, run beside it


def _agency_consoles(layout: NetworkLayout, topo: Topology) -> dict[str, tuple[Path, int]]:
    """The agency consoles to run beside a loopback network (docs/ui.md, "The agency
    console"): those of the agencies whose folder has a ``console.toml`` (``jukinet
    agency staff``, the demo); {service name: (folder, port)}."""
    import tomllib

    found = {}
    for agency in topo.agencies:
        folder = layout.client(f"agency:{agency.code}")
        settings = folder / "console.toml"
        if settings.exists():
            port = tomllib.loads(settings.read_text(encoding="utf-8")).get("port")
            if isinstance(port, int):
                found[f"console:agency:{agency.code}"] = (folder, port)
    return found


def _portals(layout: NetworkLayout, topo: Topology) -> dict[str, tuple[NodeSpec, int]]:
    """The municipalities' resident portals (docs/ui.md), by service name
    (``portal:<code>``): each node's spec and its portal port."""
    found: dict[str, tuple[NodeSpec, int]] = {}
    for m in topo.municipalities:
        net = config.load(layout.node(m.node_id)).network
        if net is not None and net.portal_port is not None:
            found[f"portal:{m.code}"] = (m, net.portal_port)
    return found


def window_service(municipality: str) -> str:
    """The supervisor's name of a municipality's window app (docs/ui.md)."""
    return f"window:{municipality}"


def window_urls(layout: NetworkLayout, topo: Topology) -> dict[str, str]:
    """Where each municipality's window app is (docs/ui.md, "The window app"), by node id."""
    found: dict[str, str] = {}
    for m in topo.municipalities:
        net = config.load(layout.node(m.node_id)).network
        if net is not None and net.window_port is not None:
            found[m.node_id] = f"https://{net.window_host}:{net.window_port}/"
    return found


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def console_url(layout: NetworkLayout) -> str | None:
    """Where the network's console is (docs/ui.md), if it has one."""
    with Places() as places:
        national = _topology(layout, places).national
    net = config.load(layout.node(national.node_id)).network
    if net is None or net.console_port is None:
        return None
    return f"https://{net.console_host}:{net.console_port}/"


def _directory_cell(s: NodeStatus) -> str:
    """The directory version a node holds and the time left before it expires (R9)."""
    if s.directory_expires_at is None:
        return str(s.directory_version)
    left = int((s.directory_expires_at - datetime.now(UTC)).total_seconds())
    if left <= 0:
        return f"{s.directory_version} [red]expired[/]"
    return f"{s.directory_version} ({left // 60}m{left % 60:02d}s)"


@app.command("status")
@handle_errors
def status(directory: Path = typer.Argument(..., help="The network's folder.")) -> None:
    """Each node: up or down, its peers, outbox backlog and last delivery; an alert line
    for each failing link and each update held in quarantine."""
    layout = NetworkLayout(directory)
    with Places() as places:
        topo = _topology(layout, places)
    readings = asyncio.run(monitor.statuses(layout, topo.nodes()))
    t = Table(title=f"network {topo.name}")
    columns = ("node", "state", "dir", "held", "link", "backlog", "quarantined", "last delivery",
               "error")  # fmt: skip
    for col in columns:
        t.add_column(col)
    down, alerts = 0, []
    for r in readings:
        if r.status is None and r.error and "stopped" in r.error and "(R9)" in r.error:
            # Up, but its traffic is stopped (R9): an expired directory, a halt or isolation.
            t.add_row(r.spec.node_id, "[yellow]stopped[/]", "", "", "", "", "", "", r.error)
            alerts.append(f"{r.spec.node_id}: {r.error}")
            continue
        if r.status is None:
            down += 1
            t.add_row(r.spec.node_id, "[red]down[/]", "", "", "", "", "", r.error or "")
            continue
        s = r.status
        links = s.links or []
        first = links[0] if links else None
        # Quarantined: refused updates held here, and (after "/") updates of this node the
        # receiver of its link holds; either is an alert for an operator.
        held = s.quarantined + sum(link.quarantined for link in links)
        if s.quarantined:
            alerts.append(f"{s.node_id} holds {s.quarantined} refused update(s) in quarantine "
                          "(jukinet --home <its home> quarantine list)")  # fmt: skip
        alerts += [f"{s.node_id}: {link.node_id} holds {link.quarantined} of its updates in "
                   "quarantine" for link in links if link.quarantined]  # fmt: skip
        # A failing link, whole (the table's error column is cut to its width).
        alerts += [f"{s.node_id} → {link.node_id}: delivery failing, {link.outbox_backlog} "
                   f"update(s) waiting: {link.last_error}" for link in links
                   if link.last_error]  # fmt: skip
        t.add_row(
            s.node_id, "[green]up[/]", _directory_cell(s), f"{s.identities:,}",
            first.node_id if first else "—", str(first.outbox_backlog) if first else "—",
            (f"[red]{s.quarantined}/{first.quarantined if first else 0}[/]" if held
             else f"0/{0 if first else '—'}"),
            str(first.last_delivery_at or "—") if first else "—",
            (first.last_error or "") if first else "",
        )  # fmt: skip
    console.print(t)
    alerts += _blocks_in_force(layout)
    for line in alerts:
        console.print(f"[red]alert:[/] {line}", soft_wrap=True)
    if down:
        raise fail(f"{down} node(s) do not answer.")


def _blocks_in_force(layout: NetworkLayout) -> list[str]:
    """An alert line for each block of the hotlist in force (R7), as the national node's
    directory says."""
    from jukinet.cli.ids_block_cmd import hotlist_of

    try:
        _, hotlist = hotlist_of(layout)
    except (JukinetError, OSError, ValueError) as exc:  # the table above still stands
        return [f"the hotlist of the national node's directory cannot be read: {exc}"]
    now = datetime.now(UTC)
    return [f"{e.kind} {e.subject} is blocked by the hotlist until "
            f"{e.until.isoformat(timespec='seconds')} (block {e.id}: {e.reason}, "
            f"confirmed by {e.confirmed_by})" for e in hotlist if e.in_force(now)]  # fmt: skip


@app.command("reconcile")
@handle_errors
def reconcile(directory: Path = typer.Argument(..., help="The network's folder.")) -> None:
    """Compare every municipality's identity information with the prefecture and national
    copies; an empty report means the network is consistent."""
    layout = NetworkLayout(directory)
    with Places() as places:
        topo = _topology(layout, places)
    compared, differences = asyncio.run(monitor.reconcile(layout, topo))
    for d in differences:
        console.print(f"{d.municipality} {d.resident_code} at {d.holder}: {d.what}", soft_wrap=True)
    if differences:
        raise fail(f"{len(differences)} differences in {compared:,} identities.")
    console.print(f"Consistent: {compared:,} identities agree at every level.")


@app.command("firewall")
@handle_errors
def firewall(
    directory: Path = typer.Argument(..., help="The network's folder."),
    source: list[str] = typer.Option(
        [], help="NODE=ADDRESS for a client (agency, monitor) that has no URL; repeatable."
    ),
) -> None:
    """nftables rules that admit exactly the directory's links (R7)."""
    layout = NetworkLayout(directory)
    with Places() as places:
        topo = _topology(layout, places)
    signed = SignedDirectory.model_validate_json(
        (layout.node(topo.national.node_id) / config.DIRECTORY_FILE).read_bytes()
    )
    sources = dict(item.split("=", 1) for item in source if "=" in item)
    from jukinet.nodes.firewall_job import web_ports
    from jukinet.nodes.identity.provision import load_table

    serves = legal_table_serves(load_table(layout.node(topo.national.node_id)))
    web: list[
        WebPort
    ] = []  # every node's web ports with their sources (each host loads the same rules)
    for spec in topo.nodes():
        net = config.load(layout.node(spec.node_id)).network
        web += web_ports(net) if net is not None else []
    ruleset, unplaced = network_ruleset(signed.directory, serves, sources, web=web)
    for node in unplaced:
        sys.stdout.write(f"# {node} has no known address: add --source {node}=ADDRESS\n")
    sys.stdout.write(ruleset)


@app.command("topology")
@handle_errors
def topology(
    prefectures: int = typer.Option(47, help="How many prefectures (1–47)."),
    per_prefecture: int = typer.Option(3, help="Real municipalities per prefecture."),
    base_port: int = typer.Option(20000, help="First port."),
    residents: int = typer.Option(200, help="Synthetic residents per municipality."),
) -> None:
    """Print a topology of real prefectures and municipalities (TOML)."""
    with Places() as places:
        sys.stdout.write(
            generate_topology(
                places,
                municipalities_per_prefecture=per_prefecture,
                prefectures=prefectures,
                base_port=base_port,
                residents=residents,
            )
        )


@pki_app.command("revoke")
@handle_errors
def revoke(
    node: str = typer.Argument(..., help="Node id, e.g. municipality:131016."),
    directory: Path = typer.Option(..., "--dir", help="The network's folder."),
) -> None:
    """Revoke a node's certificate; every node refuses it after its next directory refresh."""
    layout = NetworkLayout(directory)
    with Places() as places:
        topo = _topology(layout, places)
    version = revoke_node(layout, topo, node)
    console.print(f"Revoked {node}; directory version {version} published.")


@pki_app.command("revoke-document")
@handle_errors
def revoke_document_cmd(
    municipality: str = typer.Argument(..., help="Municipality code, e.g. 131016."),
    directory: Path = typer.Option(..., "--dir", help="The network's folder."),
) -> None:
    """Revoke a municipality's document-signing certificate (its copies stop verifying)."""
    from jukinet.deploy.documents import revoke_document

    layout = NetworkLayout(directory)
    with Places() as places:
        topo = _topology(layout, places)
    revoke_document(layout, topo, municipality)
    console.print(
        f"Revoked the document certificate of {municipality}; {layout.ca}/document-crl.pem "
        "and every node's copy of it list it."
    )


@node_app.command("run")
@handle_errors
def run() -> None:
    """Serve this node (--home) over mTLS until SIGTERM or Ctrl-C."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Every request is a directory refresh or a delivery; refusals have their own log lines.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    cfg = config.load(state.home)
    if cfg.network is None:
        raise ConfigurationError(f"The node in {state.home} is not part of a network.")
    if cfg.kind == "municipality":
        from jukinet.nodes.municipality.api import create_app
    elif cfg.kind == "prefecture":
        from jukinet.nodes.prefecture.api import create_app
    elif cfg.kind == "national":
        from jukinet.nodes.national.api import create_app
    else:
        raise ConfigurationError(f"Unknown node kind {cfg.kind!r} in {state.home}.")
    workers = cfg.network.workers
    if workers > 1 and cfg.kind != "national":
        raise ConfigurationError(
            f"workers = {workers} in {state.home}/node.toml: only the national node runs "
            "more than one server process (its update and delivery workers are its first "
            "process's)."
        )
    try:
        if workers > 1:
            from jukinet.network.server import serve_workers

            home = cfg.home
            status = serve_workers(
                lambda: create_app(home), workers, host=cfg.network.host,
                port=cfg.network.port, cert_path=cfg.cert_path, key_path=cfg.key_path,
                ca_path=cfg.ca_path,
            )  # fmt: skip
            if status:
                raise typer.Exit(status)
            return
        serve(
            create_app(cfg.home),
            host=cfg.network.host,
            port=cfg.network.port,
            cert_path=cfg.cert_path,
            key_path=cfg.key_path,
            ca_path=cfg.ca_path,
        )
    except Exception:
        # The node's log is read by its operators: there a crash keeps its traceback,
        # whatever one line the command then prints.
        logging.getLogger("jukinet.node").exception("the node stopped on an error")
        raise


@handle_errors
def demo(
    directory: Path = typer.Option(DEMO_DIR, "--dir", help="Folder of the demo network."),
    topology: Path | None = typer.Option(None, help="Topology (default: the demo network)."),
) -> None:
    """Create the demo network, fill every municipality with residents, and run it."""
    from jukinet.deploy.seeding import seed_all

    layout = NetworkLayout(directory)
    if directory.exists():
        if not (directory / DEMO_MARK).exists():
            raise fail(f"{directory} exists and is not a demo folder; choose another --dir.")
        shutil.rmtree(directory)
    source = topology or demo_topology()
    with Places() as places:
        topo = load_topology(source, places)
        init_network(topo, places, directory, report=lambda line: console.print(f"  {line}"))
        write_topology(layout, source)
        (directory / DEMO_MARK).write_text("demo network: removed by the next `jukinet demo`\n")
        asyncio.run(seed_all(layout, topo, places, report=lambda line: console.print(f"  {line}")))
    me = sys.argv[0]
    _demo_console(layout, topo)
    _demo_agency_console(layout, topo)
    _demo_portal(layout, topo)
    _demo_window(layout, topo)
    first = topo.municipalities[0]
    clerk = (layout.secrets / f"{folder_name(first.node_id)}-clerk.txt").read_text().split()
    pension = layout.client("agency:pension-fund")
    console.print("In another terminal, try:", soft_wrap=True)
    for hint in (
        f"{me} network status {directory}",
        f"{me} network reconcile {directory}",
        f"{me} card serve {layout.operator_card(first.node_id, 'clerk')} --slot 1 &"
        "   # the clerk's operator card in the reader",
        f"export JUKINET_HOME={layout.node(first.node_id)} JUKINET_OPERATOR={clerk[0]} "
        f"JUKINET_PASSWORD={clerk[1]}",
        f"{me} household show 1      # a clerk of {first.name}",
        f"{me} agency lookup --as {pension} --affair national-pension-status <resident code>",
    ):
        console.print(f"  {hint}", soft_wrap=True)
    _up(layout)


def _demo_console(layout: NetworkLayout, topo: Topology) -> None:
    """The demo's console operators: each gets a password and a one-time link to register
    their operator card (a security key, or the browser's own authenticator)."""
    from jukinet.cli.web_cmd import enrol_operator
    from jukinet.deploy.network import OPERATORS

    home = layout.node(topo.national.node_id)
    console.print(f"Network console: {console_url(layout)}  (trust {layout.ca / 'web-ca.pem'} "
                  "in the browser; docs/ui.md)", soft_wrap=True)  # fmt: skip
    for name in OPERATORS:
        password, link = enrol_operator(home, name, None)
        console.print(f"  {name}: password {password}; register the operator card once at {link}",
                      soft_wrap=True)  # fmt: skip


DEMO_AGENCY, DEMO_STAFF = "pension-fund", "staff-1"


def _demo_agency_console(layout: NetworkLayout, topo: Topology) -> None:
    """The demo's agency console: the pension fund's, on a free port, with one member of
    staff, their password and a one-time link to register their card (docs/ui.md)."""
    from jukinet.web.agency.app import CA_CERT_FILE, enrol_staff, ensure_certificate, open_console
    from jukinet.web.agency.app import console_settings as agency_settings

    if not any(a.code == DEMO_AGENCY for a in topo.agencies):
        return
    folder = layout.client(f"agency:{DEMO_AGENCY}")
    with socket.socket() as probe:  # a free port now; the console takes it at `up`
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    settings = agency_settings(folder, port)
    agency = open_console(folder)
    agency.runner.stop()
    ensure_certificate(folder, settings, agency.agency)
    password, link = enrol_staff(folder, DEMO_STAFF, None)
    trust = folder / CA_CERT_FILE
    console.print(f"Agency console ({agency.offer.recipient_name}): {settings.origin}/  (trust "
                  f"{trust} in the browser; docs/ui.md)", soft_wrap=True)  # fmt: skip
    console.print(f"  {DEMO_STAFF}: password {password}; register the card once at {link}",
                  soft_wrap=True)  # fmt: skip


def _demo_portal(layout: NetworkLayout, topo: Topology) -> None:
    """Where the first municipality's resident portal is, and how a resident signs in
    there with a card (docs/ui.md, "The resident portal")."""
    first = topo.municipalities[0]
    url = portal_url(layout.node(first.node_id))
    if url is None:
        return
    console.print(
        f"Resident portal of {first.name}: {url}  (a resident signs in with a card issued at "
        f"the window: `card issue <code> --out card.img`, `card serve card.img`, then "
        f"`card-agent --allow-origin {url.rstrip('/')}`; docs/ui.md)",
        soft_wrap=True,
    )


def _demo_window(layout: NetworkLayout, topo: Topology) -> None:
    """The first municipality's window app (docs/ui.md): where it is, its demo clerk's
    password, and a one-time link to register the clerk's operator card."""
    from jukinet.cli.window_cmd import enrol_operator

    first = topo.municipalities[0]
    url = window_urls(layout, topo).get(first.node_id)
    if url is None:
        return
    secret = layout.secrets / f"{folder_name(first.node_id)}-clerk.txt"
    clerk, password = secret.read_text().split()
    link = enrol_operator(layout.node(first.node_id), clerk)
    console.print(f"Window app of {first.name}: {url}  (the same web CA)", soft_wrap=True)
    console.print(f"  {clerk}: password {password}; register the operator card once at {link}",
                  soft_wrap=True)  # fmt: skip
