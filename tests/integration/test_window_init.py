"""``network init`` and the window apps (docs/ui.md, "The window app"): each
municipality gets a port of its own — none a node's, the console's or another
window's — and a P-256 server certificate of the web CA for the name browsers use;
``--no-windows`` gives none (and ``network up`` then serves none)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from jukinet import config
from jukinet.deploy.network import init_network
from jukinet.network.topology import free_port_block, load_topology
from jukinet.seed.places import Places


def _topology(tmp_path: Path) -> Path:
    base = free_port_block(4)
    path = tmp_path / "topology.toml"
    path.write_text(
        f'[network]\nname = "windows"\n[national]\nport = {base}\n'
        f'[[prefectures]]\ncode = "130001"\nport = {base + 1}\n'
        f'[[municipalities]]\ncode = "131016"\nport = {base + 2}\nresidents = 0\n'
        f'[[municipalities]]\ncode = "131041"\nport = {base + 3}\nresidents = 0\n'
    )
    return path


@pytest.mark.parametrize("windows", [True, False])
def test_each_municipality_gets_a_window_of_its_own_unless_asked_not_to(
    tmp_path: Path, places: Places, windows: bool
) -> None:
    topo = load_topology(_topology(tmp_path), places)
    layout = init_network(topo, places, tmp_path / "net", pool_size=50, windows=windows)
    national = config.load(layout.node(topo.national.node_id)).network
    assert national is not None and national.console_port is not None
    taken = {national.console_port, *(s.port for s in topo.nodes())}
    ports = []
    for m in topo.municipalities:
        home = layout.node(m.node_id)
        net = config.load(home).network
        assert net is not None
        if not windows:
            assert net.window_port is None and not (home / "window.pem").exists()
            continue
        assert net.window_port is not None and net.window_port not in taken
        assert net.window_host == "localhost"
        ports.append(net.window_port)
        cert = x509.load_pem_x509_certificate((home / "window.pem").read_bytes())
        assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.DNSName) == ["localhost"]
        assert (home / "window.key").stat().st_mode & 0o077 == 0
    assert len(set(ports)) == len(ports) == (2 if windows else 0)
