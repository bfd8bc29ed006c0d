"""The safety report on a network made by ``jukinet network init`` (R25; docs/report.md):
the national node's home holds the report key that ``network init`` issued under the
document CA, the command exports the node's own bundle, audits the report, and
poppler's ``pdfsig`` trusts the signature with the home's ``document-ca.pem``."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

from jukinet.audit import log as audit
from jukinet.documents import certs
from jukinet.network import pki
from jukinet.nodes.national import service as national_service
from jukinet.reporting.model import JST
from tests import asgi
from tests.documents_kit import nss_database, pdfsig

TOPOLOGY = """
[network]
name = "report"
[national]
port = 7700
[[prefectures]]
code = "130001"
port = 7710
[[municipalities]]
code = "131016"
port = 7720
residents = 0
"""
EXE = Path(sys.executable).with_name("jukinet")


def jukinet(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EXE), "--home", str(home), *args], capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def test_network_init_gives_national_a_report_key_and_the_report_is_signed_and_audited(
    tmp_path: Path,
) -> None:
    layout = asgi.network_init(tmp_path, TOPOLOGY)
    national, tokyo = layout.node("national:national"), layout.node("prefecture:130001")
    cert = pki.load_certificate(national / certs.CERT_FILE)
    assert certs.municipality_of(cert) is None  # it signs reports, never a copy
    exported = jukinet(tokyo, "audit", "export", "--out", str(tmp_path / "tokyo"))
    assert exported.returncode == 0, exported.stderr
    month = datetime.now(JST).strftime("%Y-%m")
    out = tmp_path / "report"
    done = jukinet(national, "report", "safety", "--month", month,
                   "--bundles", str(tmp_path / "tokyo"), "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "2 bundles verified" in done.stdout
    assert (out / "bundles" / "national_national" / "entries.jsonl").exists()
    report = pdfsig(nss_database(tmp_path, national / certs.CA_CERT_FILE), out / "report.pdf")
    assert "Signature is Valid." in report and "Certificate is Trusted." in report, report
    store = national_service.open_node(national)
    try:
        with store.engine.connect() as conn:
            last = list(audit.entries(conn))[-1]
    finally:
        store.close()
    assert (last.operation, last.target) == ("report.safety", month)
    # An auditor, in another process, without the key: the signed PDF begins with the
    # very bytes of the unsigned one, and the CSV files are the same.
    bundles = ["--bundles", str(out / "bundles" / "national_national"), "--bundles",
               str(tmp_path / "tokyo")]  # fmt: skip
    auditor = jukinet(tmp_path / "no-home", "report", "safety", "--month", month, *bundles,
                      "--out", str(tmp_path / "auditor"))  # fmt: skip
    assert auditor.returncode == 0, auditor.stderr
    unsigned = (tmp_path / "auditor" / "report.pdf").read_bytes()
    assert (out / "report.pdf").read_bytes().startswith(unsigned)
    for name in ("provisions.csv", "refusals.csv", "sources.csv", "SHA256SUMS"):
        same = (tmp_path / "auditor" / name).read_bytes() == (out / name).read_bytes()
        assert same == (name != "SHA256SUMS"), name  # SHA256SUMS names the signed PDF
    again = jukinet(national, "report", "safety", "--month", month, "--out", str(out))
    assert again.returncode != 0 and "is not empty" in again.stderr + again.stdout
    # The national bundle given again beside its own export: refused, the folder left empty
    twice = tmp_path / "twice"
    refused = jukinet(national, "report", "safety", "--month", month, "--bundles",
                      str(out / "bundles" / "national_national"), "--out", str(twice))  # fmt: skip
    assert refused.returncode != 0 and "are both bundles of national:national" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not any(twice.iterdir())
