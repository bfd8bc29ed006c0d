"""The agency console: the app (``create_agency_app``) and how it is served
(``serve_agency_console``) on the agency's own machine, which holds its certificate
and key (docs/ui.md, "The agency console").

Everything the console keeps is in the agency's folder beside ``agency.toml``:

- ``console.toml``: the host name staff's browsers use and the port (``--port``);
- ``console.pem`` / ``console.key``: its server certificate (P-256, TLS 1.3), from a
  web CA of the agency's own (``console-ca.pem``, the file the agency installs in its
  staff's browsers; ``console-ca.key``) made on the first start: the network's web CA
  key stays with the network's operators, and an agency may replace the two files with
  a certificate of its own organisation's CA;
- ``web-staff.json`` (0600): staff accounts (argon2 password, WebAuthn cards);
- ``console-audit.jsonl``: sign-ins, calls and jobs by staff member (the node audits
  every provision itself, as for the CLI);
- ``jobs/``: the batch jobs (``agency.batch_job``).
"""

from __future__ import annotations

import json
import threading
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import tomli_w
from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI

from jukinet.agency.affairs import AgencyOffer, affairs_of
from jukinet.agency.batch_job import BatchJobs, agency_jobs
from jukinet.agency.client import AgencyClient, AgencySettings
from jukinet.domain.legal import LegalTable
from jukinet.domain.legal_parse import load_shipped_legal_table
from jukinet.errors import ConfigurationError, InvalidInput
from jukinet.keys import save_private_key
from jukinet.network.web_pki import WebCA, create_web_ca, issue_web_certificate
from jukinet.web.agency.messages import AGENCY
from jukinet.web.agency.runner import JobRunner
from jukinet.web.common.accounts import AccountFile
from jukinet.web.common.app import web_app
from jukinet.web.common.i18n import COMMON, Catalogue
from jukinet.web.common.serve import serve_web
from jukinet.web.common.site import Site

SETTINGS_FILE = "console.toml"
ACCOUNTS_FILE = "web-staff.json"
AUDIT_FILE = "console-audit.jsonl"
CERT_FILE, KEY_FILE = "console.pem", "console.key"
CA_CERT_FILE, CA_KEY_FILE = "console-ca.pem", "console-ca.key"
JOBS_DIR = "jobs"
HERE = Path(__file__).parent


@dataclass(frozen=True)
class ConsoleSettings:
    host: str
    port: int

    @property
    def origin(self) -> str:
        return f"https://{self.host}:{self.port}"


def console_settings(
    folder: Path, port: int | None = None, host: str | None = None
) -> ConsoleSettings:
    """The console's host and port: those given (then kept in ``console.toml``), else
    the ones kept; ConfigurationError if neither names a port."""
    AgencySettings.from_folder(folder)  # ConfigurationError: not an agency's folder
    path = folder / SETTINGS_FILE
    kept: dict[str, object] = {}
    if path.exists():
        try:
            kept = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"{path} cannot be read: {exc}.") from None
    chosen_port = port if port is not None else kept.get("port")
    chosen_host = host or kept.get("host") or "localhost"
    if not isinstance(chosen_port, int) or not 0 < chosen_port < 65536:
        raise ConfigurationError(
            f"The agency console of {folder} has no port yet: give it one with --port."
        )
    if not isinstance(chosen_host, str):
        raise ConfigurationError(f"{path}: host must be a host name.")
    settings = ConsoleSettings(chosen_host, chosen_port)
    if (chosen_port, chosen_host) != (kept.get("port"), kept.get("host")):
        path.write_text(tomli_w.dumps({"host": chosen_host, "port": chosen_port}), encoding="utf-8")
    return settings


def ensure_certificate(folder: Path, settings: ConsoleSettings, agency: str) -> None:
    """The console's server certificate for its host name, made (with the agency's own
    console CA) if there is none yet."""
    if (folder / CERT_FILE).exists() and (folder / KEY_FILE).exists():
        return
    name = f"agency {agency}"
    ca: WebCA = create_web_ca(name)
    key, cert = issue_web_certificate(ca, name, [settings.host])
    save_private_key(folder / CA_KEY_FILE, ca.key)
    (folder / CA_CERT_FILE).write_bytes(ca.cert.public_bytes(serialization.Encoding.PEM))
    save_private_key(folder / KEY_FILE, key)
    (folder / CERT_FILE).write_bytes(cert.public_bytes(serialization.Encoding.PEM))


class AuditFile:
    """The console's own record of what staff did (one JSON object a line)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def __call__(self, actor: str, action: str, target: str, outcome: str, detail: str) -> None:
        at = datetime.now(UTC).isoformat(timespec="seconds")
        entry = {"at": at, "actor": actor, "action": action, "target": target,
                 "outcome": outcome, "detail": detail}  # fmt: skip
        with self._lock, self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")


@dataclass
class AgencyConsole:
    """What the pages work with: the agency, what the legal table offers it, how to
    reach its node, and its batch jobs with the thread they run in."""

    folder: Path
    settings: AgencySettings
    agency: str
    table: LegalTable
    offer: AgencyOffer
    jobs: BatchJobs
    runner: JobRunner

    def client(self) -> AgencyClient:
        return AgencyClient(self.settings)


def agency_code(settings: AgencySettings) -> str:
    return settings.identity.node_id.partition(":")[2]


def open_console(folder: Path, table: LegalTable | None = None) -> AgencyConsole:
    settings = AgencySettings.from_folder(folder)
    agency = agency_code(settings)
    legal = table or load_shipped_legal_table()
    offer = affairs_of(legal, agency)  # ProvisionRefused: no recipient of the table
    jobs = agency_jobs(folder / JOBS_DIR, folder, legal)
    jobs.recover()  # the jobs a stopped console left running
    return AgencyConsole(folder, settings, agency, legal, offer, jobs, JobRunner(jobs))


def create_agency_app(folder: Path, port: int | None = None, host: str | None = None,
                      console: AgencyConsole | None = None) -> FastAPI:  # fmt: skip
    settings = console_settings(folder, port, host)
    console = console or open_console(folder)
    site = Site(
        name="agency.title",
        catalogue=Catalogue(COMMON, AGENCY),
        templates=HERE / "templates",
        accounts=AccountFile(folder / ACCOUNTS_FILE),
        origin=settings.origin,
        rp_id=settings.host,
        nav=(("/", "nav.affairs"), ("/jobs", "nav.jobs"), ("/history", "nav.history")),
        audit=AuditFile(folder / AUDIT_FILE),
    )
    from jukinet.web.agency.routes import router

    app = web_app(site, router(console))
    app.state.agency = console
    return app


def serve_agency_console(folder: Path, port: int | None = None, host: str | None = None) -> None:
    settings = console_settings(folder, port, host)
    console = open_console(folder)
    ensure_certificate(folder, settings, console.agency)
    app = create_agency_app(folder, console=console)
    listen = "127.0.0.1" if settings.host == "localhost" else "0.0.0.0"
    try:
        serve_web(app, host=listen, port=settings.port, cert_path=folder / CERT_FILE,
                  key_path=folder / KEY_FILE)  # fmt: skip
    finally:
        console.runner.stop()


def enrol_staff(folder: Path, name: str, password: str | None, port: int | None = None,
                host: str | None = None) -> tuple[str, str]:  # fmt: skip
    """(password, link): the staff account ``name`` (made if new) and a one-time link
    to register their card (24 h); a new link also unlocks a locked account."""
    import secrets

    if not name or len(name) > 64 or not all(c.isalnum() or c in "-_." for c in name):
        raise InvalidInput(
            f"A staff name is 1 to 64 letters, digits, '-', '_' or '.', not {name!r}."
        )
    settings = console_settings(folder, port, host)
    accounts = AccountFile(folder / ACCOUNTS_FILE)
    made = None
    if accounts.get(name) is None:
        made = password or secrets.token_urlsafe(12)
        accounts.create(name, made)
    token = accounts.new_enrolment(name)
    AuditFile(folder / AUDIT_FILE)("cli", "web.enrol", name, "ok", "registration link made")
    return made or "(unchanged)", f"{settings.origin}/enrol/{token}"
