"""``jukinet report safety`` on the national node's home (R25, R7, R9, R12, R13;
docs/report.md): real stores of the three node kinds (provisions, refusals, an IDS
block, an emergency order, a checkpoint the prefecture never cosigned, an operator
without training), their bundles, the command; the CSV figures, the PDF's text
(poppler's ``pdftotext``), its signature (poppler's ``pdfsig``), the same files again
from the bundles alone, and a tampered bundle refused."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from jukinet.audit import bundle, checkpoints
from jukinet.audit.log import Draft
from jukinet.cli import app as cli
from jukinet.documents import certs
from jukinet.domain.access import Role, Session
from jukinet.errors import ProvisionRefused
from jukinet.keys import NodeKey
from jukinet.network import pki
from jukinet.network.gate import Peer
from jukinet.network.messages import LookupRequest, VerifyRequest
from jukinet.network.messages_audit import CosignRequest
from jukinet.network.messages_emergency import CarriedOrder, EmergencyOrder, OrderSignature
from jukinet.network.messages_ids import IdsAlert
from jukinet.nodes import ids_api
from jukinet.nodes.identity import provision as pv
from jukinet.nodes.municipality import checkpointing, service, staff
from jukinet.nodes.municipality.store import RegisterStore
from jukinet.nodes.national import service as national_service
from jukinet.nodes.prefecture import service as prefecture_service
from jukinet.nodes.prefecture import witness
from jukinet.nodes.runtime import _obeyed
from jukinet.reporting.model import JST
from tests.conftest import PASSWORD, TODAY, UrlFactory
from tests.documents_kit import nss_database, pdfsig
from tests.helpers import arrival, person
from tests.integration.provision.nodes import MARUNOUCHI, TABLE, Node

ORDER = "0123456789abcdef"


@dataclass(frozen=True)
class World:
    national_home: Path
    ca_dir: Path
    bundles: list[Path]  # the prefecture's and the municipality's
    uncosigned: int  # the size of the checkpoint the prefecture never cosigned


def _csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def _national(home: Path, database: UrlFactory, ca_dir: Path) -> None:
    national_service.init_node(home, "national", "全国センター", database("n"), NodeKey.generate())
    ca = pki.create_ca("test")
    pki.save_ca(ca, ca_dir)
    document_ca = certs.create_document_ca(ca)
    certs.save_document_ca(document_ca, ca_dir)
    key, cert = certs.issue_document_certificate(
        document_ca, "test", "national", "全国センター", unit=certs.OU_REPORT
    )
    certs.write_document_identity(home, key, cert, document_ca)
    store = national_service.open_node(home)
    node = Node(store)
    try:
        found, missing = node.person(), "99999999995"
        for code in (found, missing):  # one provided, one not found: two calls, one person
            asked = LookupRequest(affair="national-pension-status", resident_code=code)
            pv.lookup(store, TABLE, "pension-fund", asked)
        said = VerifyRequest(
            affair="passport-issuance", resident_code=found, name="山田 太郎",
            date_of_birth=date(1950, 5, 5), sex="male", address=MARUNOUCHI,
        )  # fmt: skip
        pv.verify(store, TABLE, "mofa-passport", said)
        with pytest.raises(ProvisionRefused):
            pv.lookup(store, TABLE, "acme-corp",
                      LookupRequest(affair="passport-issuance", resident_code=found))  # fmt: skip
        now = datetime.now(UTC)
        alert = IdsAlert(at=now, rule="auth-failures", key="source.ip", value="10.0.0.9",
                         count=5, blocked_until=now + timedelta(minutes=10))  # fmt: skip
        store.audit_alone(ids_api.alert_draft("municipality:131016", alert))
        store.audit_alone(Draft("operator:ops-a", "emergency.isolate", "municipality:131016",
                                detail=f"order {ORDER}: isolate municipality:131016, signed by "
                                       "ops-a, directory version 7"))  # fmt: skip
    finally:
        store.close()


def _obey(store: RegisterStore) -> None:
    now = datetime.now(UTC)
    order = EmergencyOrder(id=ORDER, action="isolate", scope="municipality:131016",
                           not_before=now, expires_at=now + timedelta(hours=1))  # fmt: skip
    signature = OrderSignature(operator="ops-a", key_id="0" * 16, signature="AA==")
    carried = CarriedOrder(order=order, signatures=[signature], accepted_at=now)
    asyncio.run(_obeyed(store.audit_alone, carried, 7))


@pytest.fixture
def world(
    store: RegisterStore, admin: Session, clerk: Session, database: UrlFactory, tmp_path: Path
) -> Iterator[World]:
    _national(tmp_path / "national", database, tmp_path / "ca")
    prefecture_service.init_node(tmp_path / "tokyo", "130001", "東京都", database("p"),
                                 NodeKey.generate())  # fmt: skip
    tokyo = prefecture_service.open_node(tmp_path / "tokyo")

    async def post(url: str, model: BaseModel) -> dict[str, Any]:
        assert isinstance(model, CosignRequest)
        peer = Peer("municipality:131016", "municipality", "131016")
        answer = witness.cosign(tokyo, peer, model, store.key.public)
        return answer.model_dump()

    def publish() -> None:
        asyncio.run(checkpointing.publish(store, post, "https://tokyo", tokyo.key.public))

    try:
        staff.add(store, admin, username="trainee", full_name="研修 未了", role=Role.CLERK,
                  password=PASSWORD, pledge_signed_on=TODAY)  # fmt: skip
        staff.add(store, admin, username="fresh", full_name="研修 済", role=Role.CLERK,
                  password=PASSWORD, trained_on=TODAY, pledge_signed_on=TODAY)  # fmt: skip
        service.record_event(store, clerk, arrival(person(code=None)), TODAY)
        publish()  # cosigned
        service.record_event(store, clerk, arrival(person(code=None)), TODAY)
        with store.engine.begin() as conn:  # the prefecture could not be reached: not cosigned
            uncosigned = checkpoints.make(conn, store.key, "jukinet/municipality/131016/audit")
        _obey(store)
        publish()  # cosigned again, from the last cosigned one: the gap is closed
        out = [tmp_path / "bundles" / "tokyo", tmp_path / "bundles" / "chiyoda"]
        with tokyo.engine.begin() as conn:
            bundle.export(conn, tokyo.key, "jukinet/prefecture/130001/audit", out[0])
        with store.engine.begin() as conn:
            bundle.export(conn, store.key, "jukinet/municipality/131016/audit", out[1])
    finally:
        tokyo.close()
    yield World(tmp_path / "national", tmp_path / "ca", out, uncosigned.size)


def _report(*args: str, home: Path | None = None) -> Any:
    options = ["--home", str(home)] if home else ["--home", "/nonexistent-home"]
    return CliRunner().invoke(cli, [*options, "report", "safety", *args], env={"COLUMNS": "200"})


def test_the_national_node_makes_the_signed_report_from_the_bundles(
    world: World, tmp_path: Path
) -> None:
    month = datetime.now(JST).strftime("%Y-%m")
    out = tmp_path / "report"
    bundles = [x for b in world.bundles for x in ("--bundles", str(b))]
    done = _report("--month", month, *bundles, "--out", str(out), home=world.national_home)
    assert done.exit_code == 0, done.output
    assert "3 bundles verified" in done.output and "1 IDS alerts" in done.output

    provisions = {(r["recipient"], r["affair"], r["function"]): (r["calls"], r["persons"])
                  for r in _csv(out / "provisions.csv")}  # fmt: skip
    assert provisions == {
        ("jps", "national-pension-status", "lookup"): ("2", "1"),
        ("mofa", "passport-issuance", "verify"): ("1", "1"),
    }
    refusals = _csv(out / "refusals.csv")
    assert {(r["node"], r["operation"], r["reason"], r["count"]) for r in refusals} >= {
        ("national:national", "provision.lookup", "provision-refused", "1")
    }
    [alert] = _csv(out / "ids_alerts.csv")
    assert (alert["reported_by"], alert["rule"], alert["value"]) == (
        "municipality:131016", "auth-failures", "10.0.0.9",
    )  # fmt: skip
    assert alert["blocked_until_jst"]
    orders = {(o["node"], o["role"], o["order"]) for o in _csv(out / "emergency_orders.csv")}
    assert orders == {("national:national", "issued", ORDER),
                      ("municipality:131016", "obeyed", ORDER)}  # fmt: skip
    gaps = _csv(out / "cosignature_gaps.csv")
    assert any(g["last_entry"] == str(world.uncosigned) and g["closed_later"] == "yes"
               for g in gaps), gaps  # fmt: skip
    untrained = {(u["operator"], u["why"]) for u in _csv(out / "operators_untrained.csv")}
    # admin and clerk were trained 365 days before today: more than 365 days by month's end
    assert untrained == {("trainee", "no training recorded"),
                         ("admin", "training older than 365 days"),
                         ("clerk", "training older than 365 days")}  # fmt: skip

    text = subprocess.run(["pdftotext", "-layout", str(out / "report.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "安全確保の状況" in text and "national-pension-status" in text
    assert "個人照会（lookup）" in text and "10.0.0.9" in text and "trainee" in text
    assert "研修の記録なし" in text and "切り離し（isolate）" in text
    assert hashlib.sha256((out / "provisions.csv").read_bytes()).hexdigest() in text

    report = pdfsig(nss_database(tmp_path, world.ca_dir / certs.CA_CERT_FILE), out / "report.pdf")
    assert "Signature is Valid." in report and "Certificate is Trusted." in report, report
    assert "全国センター" in report and "Total document signed" in report

    sums = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=out, capture_output=True,
                          text=True)  # fmt: skip
    assert sums.returncode == 0 and sums.stdout.count(": OK") == 10, sums.stdout
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["signed_by"] == "national:national" and manifest["month"] == month

    # An auditor with the same bundles, no node, no key: the same CSV bytes, and the
    # unsigned PDF is the signed one's first bytes.
    [own] = (out / "bundles").iterdir()
    again = tmp_path / "again"
    every = ["--bundles", str(own), *bundles]
    redone = _report("--month", month, *every, "--out", str(again))
    assert redone.exit_code == 0, redone.output
    assert "not signed" in redone.output
    for name in manifest["files"]:
        if name.endswith(".csv"):
            assert (again / name).read_bytes() == (out / name).read_bytes(), name
    unsigned = (again / "report.pdf").read_bytes()
    assert (out / "report.pdf").read_bytes()[: len(unsigned)] == unsigned
    assert manifest["unsigned_pdf"]["sha256"] == hashlib.sha256(unsigned).hexdigest()


def test_a_tampered_bundle_is_refused_with_one_clear_error_and_nothing_written(
    world: World, tmp_path: Path
) -> None:
    month = datetime.now(JST).strftime("%Y-%m")
    national = tmp_path / "n-bundle"
    done = CliRunner().invoke(cli, ["--home", str(world.national_home), "audit", "export",
                                    "--out", str(national)])  # fmt: skip
    assert done.exit_code == 0, done.output
    forged = tmp_path / "forged"
    shutil.copytree(world.bundles[1], forged)
    entries = forged / "entries.jsonl"
    data = entries.read_bytes()
    assert b'"trainee"' in data
    entries.write_bytes(data.replace(b'"trainee"', b'"trainex"', 1))
    out = tmp_path / "report"
    args = [
        "--bundles",
        str(national),
        "--bundles",
        str(world.bundles[0]),
        "--bundles",
        str(forged),
    ]
    refused = _report("--month", month, *args, "--out", str(out))
    assert refused.exit_code != 0
    assert f"The audit bundle {forged} does not hold" in refused.output
    assert "Traceback" not in refused.output
    assert not out.exists() or not any(out.iterdir())
