"""The provision log is inside the audit chain, and `jukinet audit verify` checks it on the
identity nodes (R12, R14, R25): a provision row deleted, added or changed is found."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import delete, insert, select, update

from jukinet.keys import NodeKey
from jukinet.network.messages import LookupRequest, VerifyRequest
from jukinet.nodes.identity import provision as pv
from jukinet.nodes.identity import tables as ids
from jukinet.nodes.identity.provision_seal import verify_provisions
from jukinet.nodes.national import service as national_service
from jukinet.nodes.prefecture import service as prefecture_service
from tests.conftest import UrlFactory
from tests.integration.provision.nodes import MARUNOUCHI, TABLE, Node

EXE = Path(sys.executable).with_name("jukinet")


@dataclass
class Provided:
    home: Path
    node: Node


@pytest.fixture
def provided(database: UrlFactory, tmp_path: Path) -> Iterator[Provided]:
    """A national node that answered a lookup, a verify and a batch of three."""
    home = tmp_path / "national"
    national_service.init_node(home, "national", "全国センター", database("n"), NodeKey.generate())
    node = Node(national_service.open_node(home))
    codes = [node.person() for _ in range(3)]
    pv.lookup(node.store, TABLE, "onkyu",
              LookupRequest(affair="onkyu-entitlement", resident_code=codes[0]))  # fmt: skip
    pv.verify(node.store, TABLE, "mofa-passport", VerifyRequest(
        affair="passport-issuance", resident_code=codes[1], name="山田 太郎",
        date_of_birth=date(1950, 5, 5), sex="male", address=MARUNOUCHI,
    ))  # fmt: skip
    list(pv.batch(node.store, TABLE, "onkyu", "onkyu-entitlement", codes))
    assert len(node.provisions()) == 5
    yield Provided(home, node)
    node.store.close()


def audit_verify(home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(EXE), "--home", str(home), "audit", "verify"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_an_untouched_provision_log_verifies_with_the_chain(provided: Provided) -> None:
    with provided.node.store.engine.connect() as conn:
        assert verify_provisions(conn) == []
    done = audit_verify(provided.home)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Audit log intact" in done.stdout
    # The check itself is audited on the node.
    assert provided.node.audit()[-1].operation == "audit.verify"


def test_a_prefecture_home_is_verified_too(database: UrlFactory, tmp_path: Path) -> None:
    home = tmp_path / "tokyo"
    prefecture_service.init_node(home, "130001", "東京都", database("t"), NodeKey.generate())
    done = audit_verify(home)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Audit log intact: 1 entry, signed head verified." in done.stdout  # node.init


def _tampered(provided: Provided) -> str:
    """What `audit verify` says (exit 3), with the terminal's line wrapping undone."""
    done = audit_verify(provided.home)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return " ".join(done.stdout.split())


def test_a_deleted_provision_row_is_found(provided: Provided) -> None:
    """R14: deleting a row would hide a provision from the resident's disclosure."""
    with provided.node.store.engine.begin() as conn:
        first = conn.execute(select(ids.provisions.c.id).order_by(ids.provisions.c.id)).first()
        assert first is not None
        conn.execute(delete(ids.provisions).where(ids.provisions.c.id == first.id))
    said = _tampered(provided)
    assert "provision rows of request" in said and "(sealed: 1 rows; in the log now: 0" in said


def test_a_changed_provision_row_is_found(provided: Provided) -> None:
    with provided.node.store.engine.begin() as conn:
        conn.execute(update(ids.provisions).where(ids.provisions.c.id == 2).values(agency="x"))
    assert "were changed after this entry sealed them" in _tampered(provided)


def test_an_added_provision_row_is_found(provided: Provided) -> None:
    with provided.node.store.engine.begin() as conn:
        row = conn.execute(select(ids.provisions).limit(1)).one()._asdict()
        row.pop("id")
        row.pop("leaf")  # unique: a forged row cannot take a leaf of the log
        conn.execute(insert(ids.provisions).values({**row, "request_id": "f" * 32}))
    assert "sealed by no audit entry (added to the log)" in _tampered(provided)
