"""Fixtures shared by the suite: a real register on SQLite and on PostgreSQL.

PostgreSQL tests run when JUKINET_TEST_PG_URL names a server. In CI (CI=true)
a missing server is an error, never a silent skip, and so is any other skip: a test
skipped in CI fails the run (``pytest_sessionfinish``), so nothing skipped is ever
counted as passed.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, text

from jukinet import config
from jukinet.domain.access import Role, Session
from jukinet.nodes.municipality import operators, staff
from jukinet.nodes.municipality.pool import LocalCodeSource
from jukinet.nodes.municipality.setup import FirstAdministrator, init_register, open_register
from jukinet.nodes.municipality.store import RegisterStore
from jukinet.seed.places import Places
from tests.helpers import card_session

PG_ENV = "JUKINET_TEST_PG_URL"
CHIYODA = "131016"
PASSWORD = "a-long-password-1"
TODAY = date.today()
LAST_YEAR = TODAY - timedelta(days=365)


@pytest.fixture(autouse=True)
def fast_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters (a real hasher): no rule under test depends on the cost.

    The production parameters are checked in ``test_password_hashing_is_costly`` and
    used by the tests that run the installed command as a process.
    """
    monkeypatch.setattr(
        operators, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


@pytest.fixture(scope="session")
def places() -> Iterator[Places]:
    with Places() as p:
        yield p


def _pg_base_url() -> str | None:
    url = os.environ.get(PG_ENV)
    if not url and os.environ.get("CI") == "true":
        pytest.fail(f"{PG_ENV} is not set in CI: PostgreSQL tests must run there.")
    return url


UrlFactory = Callable[[str], str]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[UrlFactory]:
    """A factory of fresh, empty databases: SQLite files, or PostgreSQL schemas dropped after."""
    if request.param == "sqlite":
        yield lambda name: f"sqlite:///{tmp_path / f'{name}.db'}"
        return
    base = _pg_base_url()
    if not base:
        pytest.skip(f"no PostgreSQL server configured ({PG_ENV} is not set)")
    base = base.replace("postgresql://", "postgresql+psycopg://", 1)
    admin = create_engine(base)
    schemas: list[str] = []

    def fresh(name: str) -> str:
        schema = f"t_{name}_{uuid.uuid4().hex[:10]}"
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        schemas.append(schema)
        sep = "&" if "?" in base else "?"
        return f"{base}{sep}options=-csearch_path%3D{schema}"

    try:
        yield fresh
    finally:
        with admin.begin() as conn:
            for schema in schemas:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def database_url(database: UrlFactory) -> str:
    return database("register")


def _init_home(node_home: Path, places: Places, database_url: str) -> None:
    init_register(
        node_home,
        places.municipality(CHIYODA),
        FirstAdministrator("admin", "Admin One", PASSWORD, LAST_YEAR, LAST_YEAR),
        LocalCodeSource(),
        database_url=database_url,
        pool_size=500,
        low_water=50,
    )


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory, places: Places) -> Path:
    """A register made once per session on SQLite; each test gets a copy of its folder."""
    folder = tmp_path_factory.mktemp("template") / "node"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            operators, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
        )
        _init_home(folder, places, f"sqlite:///{folder / 'register.db'}")
    return folder


@pytest.fixture
def home(request: pytest.FixtureRequest, tmp_path: Path, places: Places, database_url: str) -> Path:
    """A new register of Chiyoda (pool of 500 codes, one administrator) in its own folder."""
    node_home = tmp_path / "node"
    if database_url.startswith("sqlite"):
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copytree(template, node_home)
        cfg = config.load(node_home)
        config.write(
            cfg.model_copy(update={"database_url": f"sqlite:///{node_home / 'register.db'}"})
        )
        return node_home
    _init_home(node_home, places, database_url)
    return node_home


@pytest.fixture
def store(home: Path) -> Iterator[RegisterStore]:
    s = open_register(home)
    yield s
    s.close()


def session_of(store: RegisterStore, username: str) -> Session:
    """A session with a real operator card in process, without the password check
    (argon2 costs ~80 ms); sign-in has its own tests (``helpers.card_session``)."""
    return card_session(store, username)


@pytest.fixture
def admin(store: RegisterStore) -> Session:
    return session_of(store, "admin")


def _operator(store: RegisterStore, admin: Session, username: str, role: Role) -> Session:
    staff.add(
        store, admin, username=username, full_name=username.title(), role=role,
        password=PASSWORD, trained_on=LAST_YEAR, pledge_signed_on=LAST_YEAR,
    )  # fmt: skip
    return session_of(store, username)


@pytest.fixture
def clerk(store: RegisterStore, admin: Session) -> Session:
    return _operator(store, admin, "clerk", Role.CLERK)


@pytest.fixture
def supervisor(store: RegisterStore, admin: Session) -> Session:
    return _operator(store, admin, "supervisor", Role.SUPERVISOR)


@pytest.fixture
def auditor(store: RegisterStore, admin: Session) -> Session:
    return _operator(store, admin, "auditor", Role.AUDITOR)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests under tests/e2e and tests/browser run real node processes: marked ``e2e``
    (scripts/check --quick)."""
    here = Path(__file__).parent
    for item in items:
        parents = Path(str(item.fspath)).parents
        if here / "e2e" in parents or here / "browser" in parents:
            item.add_marker(pytest.mark.e2e)


_SKIPPED: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _SKIPPED.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a skipped test is a failure: what it checks was not checked."""
    if os.environ.get("CI") == "true" and _SKIPPED and exitstatus == 0:
        lines = "\n".join(f"  {n}" for n in _SKIPPED[:50])
        print(f"\n{len(_SKIPPED)} test(s) skipped in CI, which counts as a failure:\n{lines}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
