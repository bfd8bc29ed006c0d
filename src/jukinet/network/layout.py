"""Where everything of a network lives under its folder (``network init --dir DIR``).

DIR/topology.toml          the topology the network was made from
DIR/ca/                    the network CA: ca.key (0600), ca.pem, revoked.json, crl.pem;
                           the document CA: document-ca.key (0600), document-ca.pem,
                           document-revoked.json, document-crl.pem (documents/certs.py)
DIR/nodes/<id>/            one home per node: node.toml, node.key, node.pem, ca.pem,
                           national.pub, directory.json, jpki-ca.pem (the national
                           node also jpki-ca.key), document-ca.pem, document-crl.pem,
                           crl.pem (a municipality also document.key, document.pem),
                           its database
DIR/clients/<id>/          agencies and the operations monitor: node.key, node.pem, ca.pem
DIR/operators/             the national node's operators' emergency keys (0600, R9) and
                           pending/<order>.json, resumes waiting for a second operator
DIR/secrets/               first administrators' passwords (0600), one file per node, and
                           their operator cards (``<node>-card.img`` + ``.key``, R11)
DIR/logs/<id>.log          each node's log while ``network up`` runs
DIR/run/<id>.pid           each running node's process id
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MONITOR_ID = "monitor:operations"


def folder_name(node_id: str) -> str:
    """``municipality:131016`` -> ``municipality-131016`` (a portable folder name)."""
    return node_id.replace(":", "-")


@dataclass(frozen=True, slots=True)
class NetworkLayout:
    root: Path

    @property
    def topology(self) -> Path:
        return self.root / "topology.toml"

    @property
    def ca(self) -> Path:
        return self.root / "ca"

    @property
    def operators(self) -> Path:
        """The national node's operators' emergency keys (R9), 0600 each, in a 0700 folder."""
        return self.root / "operators"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    def operator_card(self, node_id: str, username: str = "admin") -> Path:
        """The operator card image of ``username`` at ``node_id`` (its chip key beside it)."""
        who = "" if username == "admin" else f"-{username}"
        return self.secrets / f"{folder_name(node_id)}{who}-card.img"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        return self.root / "run"

    def node(self, node_id: str) -> Path:
        return self.root / "nodes" / folder_name(node_id)

    def client(self, node_id: str) -> Path:
        return self.root / "clients" / folder_name(node_id)

    def log(self, node_id: str) -> Path:
        return self.logs / f"{folder_name(node_id)}.log"

    def pid(self, node_id: str) -> Path:
        return self.run / f"{folder_name(node_id)}.pid"
