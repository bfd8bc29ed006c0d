"""Document-signing certificates at ``network init`` and when one is revoked
(``jukinet pki revoke-document``): the document CA in the network's CA folder,
one certificate per municipality in its home (and one for the national node, which
signs the safety report), and in every home the document CA's
certificate and the current CRLs, where a node (and a verifier given ``--home``)
finds them (docs/flows.md, "Where a verifier finds the certificates")."""

from __future__ import annotations

import shutil
from pathlib import Path

from jukinet.documents import certs
from jukinet.errors import ConfigurationError
from jukinet.network import pki
from jukinet.network.layout import NetworkLayout
from jukinet.network.topology import Topology


def init_documents(layout: NetworkLayout, topology: Topology, ca: pki.NetworkCA) -> None:
    """The document CA, each municipality's document certificate, the files in every home."""
    pki.write_first_crl(layout.ca)
    document_ca = certs.create_document_ca(ca)
    certs.save_document_ca(document_ca, layout.ca)
    for m in topology.municipalities:
        key, cert = certs.issue_document_certificate(document_ca, topology.name, m.code, m.name)
        certs.write_document_identity(layout.node(m.node_id), key, cert, document_ca)
    national = topology.national  # signs the safety report (R25, docs/report.md)
    key, cert = certs.issue_document_certificate(
        document_ca, topology.name, national.code, national.name, unit=certs.OU_REPORT
    )
    certs.write_document_identity(layout.node(national.node_id), key, cert, document_ca)
    publish(layout, topology)


def publish(layout: NetworkLayout, topology: Topology) -> None:
    """Copy the document CA's certificate and both CRLs into every node's home."""
    for spec in topology.nodes():
        home = layout.node(spec.node_id)
        for name in (certs.CA_CERT_FILE, certs.CRL_FILE, "crl.pem"):
            shutil.copyfile(layout.ca / name, home / name)


def revoke_document(layout: NetworkLayout, topology: Topology, municipality: str) -> None:
    """Revoke the document certificate of ``municipality`` (its code): copies it signed
    fail verification against the new CRL from now on."""
    spec = next((m for m in topology.municipalities if m.code == municipality), None)
    if spec is None:
        raise ConfigurationError(f"{municipality} is not a municipality of this network.")
    cert = pki.load_certificate(layout.node(spec.node_id) / certs.CERT_FILE)
    certs.revoke_document_certificate(layout.ca, cert)
    publish(layout, topology)


def crl_paths(home: Path) -> list[Path]:
    """The CRLs a home holds (document CA's and network CA's), for a verifier."""
    return [home / certs.CRL_FILE, home / "crl.pem"]
