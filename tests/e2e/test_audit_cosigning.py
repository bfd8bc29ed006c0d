"""Over real node processes (R25): every few seconds (node.toml ``audit_checkpoint_every``)
each node signs a checkpoint of its audit log, and a municipality's is cosigned by its
prefecture through ``POST /audit/cosign``; the cosignature verifies with the prefecture's
key from the directory. The identity nodes' provision logs (R14) and audit logs are cosigned
the same way, the prefecture's by the national node and the national node's by the
prefecture (``POST /witness/cosign``)."""

from __future__ import annotations

import time
import tomllib
from pathlib import Path

import tomli_w
from sqlalchemy import create_engine, select

from jukinet import config
from jukinet.audit import checkpoints
from jukinet.audit import log as audit
from jukinet.audit.note import cosigned_at
from jukinet.audit.tables import REFERENCE
from jukinet.network.layout import NetworkLayout
from jukinet.network.topology import free_port_block
from jukinet.nodes.identity import provision_witness
from jukinet.nodes.identity.tables import provision_checkpoints
from jukinet.nodes.runtime import load_runtime
from tests.e2e.conftest import running_network, topology_text

NODES = ("national:national", "prefecture:130001", "municipality:131016")


def every_second(layout: NetworkLayout) -> None:
    for node in NODES:
        path = layout.node(node) / "node.toml"
        cfg = tomllib.loads(path.read_text())
        cfg["network"]["audit_checkpoint_every"] = 1.0
        path.write_text(tomli_w.dumps(cfg))


def _database(home: Path) -> str:
    return config.load(home).database_url


def test_running_nodes_sign_checkpoints_and_the_prefecture_cosigns_its_municipality(
    tmp_path: Path,
) -> None:
    base = free_port_block(6)
    root = tmp_path / "net"
    with running_network(root, topology_text(base), base, seed=False,
                         before_up=every_second) as net:  # fmt: skip
        home = net.layout.node("municipality:131016")
        engine = create_engine(_database(home))
        deadline = time.monotonic() + 60
        cosigned: list[checkpoints.Stored] = []
        while time.monotonic() < deadline and not cosigned:
            time.sleep(1)
            with engine.connect() as conn:
                cosigned = [c for c in checkpoints.every(conn) if c.cosignatures]
        engine.dispose()
        assert cosigned, "no checkpoint of the municipality was cosigned within a minute"
        prefecture = net.layout.node("prefecture:130001")
        witness = load_runtime(config.load(home)).directory.public_key("prefecture:130001")
        assert witness is not None
        assert cosigned_at(cosigned[-1].full, checkpoints.witness_name("130001"), witness)
        engine = create_engine(_database(prefecture))
        with engine.connect() as conn:
            ops = [e.operation for e in audit.entries(conn)]
            own = conn.execute(select(REFERENCE.checkpoints.c.size)).all()
        engine.dispose()
        assert "audit.cosign" in ops and own  # it witnessed, and signed its own
        # The identity nodes' provision (R14) and audit logs: the national node cosigns the
        # prefecture's, and the prefecture the national node's, through POST /witness/cosign.
        directory = load_runtime(config.load(home)).directory
        for node, witness_node in (("prefecture:130001", "national:national"),
                                   ("national:national", "prefecture:130001")):  # fmt: skip
            kind, _, code = witness_node.partition(":")
            name = provision_witness.witness_name(kind, code)
            public = directory.public_key(witness_node)
            assert public is not None
            engine = create_engine(_database(net.layout.node(node)))
            for table in (provision_checkpoints, REFERENCE.checkpoints):  # both of its logs
                found: list[str] = []
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and not found:
                    with engine.connect() as conn:
                        rows = conn.execute(select(table)).all()
                    found = [r.note + r.cosignatures for r in rows
                             if cosigned_at(r.note + r.cosignatures, name, public)]  # fmt: skip
                    time.sleep(0.5)
                assert found, f"{node}'s {table.name} were not cosigned by {witness_node}"
            engine.dispose()
