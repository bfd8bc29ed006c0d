"""An audit bundle from a real node of every kind holds, by Go's own tlog and note
packages and by `jukinet audit verify --bundle`; a changed byte, a dropped entry, a
forged signature or a forked earlier checkpoint does not (R12, R25; docs/audit.md)."""

from __future__ import annotations

import base64
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from jukinet.audit import bundle, checkpoints, merkle
from jukinet.audit.note import Checkpoint, signed_note, verifier_key
from jukinet.domain.access import Session
from jukinet.keys import NodeKey
from jukinet.nodes.municipality import service
from jukinet.nodes.municipality.store import RegisterStore
from jukinet.nodes.national import service as national_service
from jukinet.nodes.prefecture import service as prefecture_service
from tests.conftest import UrlFactory
from tests.helpers import TODAY, arrival, person
from tests.integration.audit import gocheck

EXE = Path(sys.executable).with_name("jukinet")


def jukinet(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(EXE), "--home", str(home), *args], capture_output=True, text=True, timeout=120
    )


def work(store: RegisterStore, clerk: Session, n: int) -> None:
    for _ in range(n):
        r = service.record_event(store, clerk, arrival(person(code=None)), TODAY).records[0]
        service.show_resident(store, clerk, r.resident_code)


@pytest.fixture
def municipality_bundle(store: RegisterStore, clerk: Session, tmp_path: Path) -> Path:
    """A municipality's bundle: three checkpoints as the log grew, then the export."""
    name = checkpoints.origin("municipality", str(store.code))
    for n in (3, 1, 4):
        work(store, clerk, n)
        with store.engine.begin() as conn:
            checkpoints.make(conn, store.key, name)
    work(store, clerk, 2)
    out = tmp_path / "bundle"
    with store.engine.begin() as conn:
        bundle.export(conn, store.key, name, out)
    return out


def identity_bundle(kind: str, database: UrlFactory, tmp_path: Path) -> Path:
    """A prefecture's or the national node's bundle, made with the command itself."""
    home = tmp_path / kind
    if kind == "prefecture":
        prefecture_service.init_node(home, "130001", "東京都", database("p"), NodeKey.generate())
    else:
        national_service.init_node(
            home, "national", "全国センター", database("n"), NodeKey.generate()
        )
    for _ in range(3):  # each command is audited: the log grows between the checkpoints
        done = jukinet(home, "audit", "checkpoint")
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"jukinet/{kind}/")
    out = tmp_path / "bundle"
    done = jukinet(home, "audit", "export", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "Audit bundle written" in done.stdout
    return out


def holds(exe: Path, out: Path) -> None:
    go = gocheck.check(exe, out)
    assert go.returncode == 0, go.stdout + go.stderr
    assert go.stdout.startswith("OK: ")
    entries, problems = bundle.verify(out)
    assert problems == []
    assert entries == int((out / "checkpoint").read_text().split("\n")[1])


def test_a_municipality_bundle_holds_by_go_and_by_jukinet(
    store: RegisterStore, municipality_bundle: Path, auditcheck: Path
) -> None:
    holds(auditcheck, municipality_bundle)
    earlier = sorted(int(p.name) for p in (municipality_bundle / "checkpoints").glob("*[0-9]"))
    assert len(earlier) == 3 and all(
        (municipality_bundle / "checkpoints" / f"{n}.proof").exists() for n in earlier
    )
    vkey = (municipality_bundle / "verifier.key").read_text().strip()
    assert vkey.startswith(f"jukinet/municipality/{store.code}/audit+")


@pytest.mark.parametrize("kind", ["prefecture", "national"])
def test_identity_node_bundles_hold_by_go_and_by_the_command(
    kind: str, database: UrlFactory, tmp_path: Path, auditcheck: Path
) -> None:
    out = identity_bundle(kind, database, tmp_path)
    holds(auditcheck, out)
    assert len(list((out / "checkpoints").glob("*.proof"))) == 3
    done = jukinet(tmp_path, "audit", "verify", "--bundle", str(out))
    assert done.returncode == 0, done.stderr
    assert "Audit bundle intact" in done.stdout


def _change_a_byte(out: Path) -> None:
    lines = (out / "entries.jsonl").read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b'"ok"', b'"oK"', 1)
    (out / "entries.jsonl").write_bytes(b"\n".join(lines))


def _drop_an_entry(out: Path) -> None:
    lines = (out / "entries.jsonl").read_bytes().split(b"\n")
    (out / "entries.jsonl").write_bytes(b"\n".join(lines[:1] + lines[2:]))


def _forge_the_signature(out: Path) -> None:
    text, sig_line = (out / "checkpoint").read_text().rsplit("\n\n", 1)
    name, encoded = sig_line.removeprefix("\u2014 ").split(" ", 1)
    sig = bytearray(base64.b64decode(encoded))
    sig[-1] ^= 1  # same key id, another signature
    forged = base64.b64encode(bytes(sig)).decode()
    (out / "checkpoint").write_text(f"{text}\n\n\u2014 {name} {forged}\n")


Tamper = Callable[[Path], None]
TAMPERING: dict[str, tuple[Tamper, str, str]] = {
    "changed byte": (_change_a_byte, "root of entries.jsonl", "do not make the tree"),
    "dropped entry": (_drop_an_entry, "entries.jsonl holds", "the bundle holds"),
    "forged signature": (_forge_the_signature, "invalid signature", "does not verify"),
}


@pytest.mark.parametrize("tampering", list(TAMPERING))
def test_a_tampered_municipality_bundle_fails_both_checks(
    tampering: str, municipality_bundle: Path, auditcheck: Path
) -> None:
    tamper, by_go, by_us = TAMPERING[tampering]
    tamper(municipality_bundle)
    go = gocheck.check(auditcheck, municipality_bundle)
    assert go.returncode == 1 and by_go in go.stdout, go.stdout + go.stderr
    _, problems = bundle.verify(municipality_bundle)
    assert len(problems) == 1 and by_us in problems[0], problems


@pytest.mark.parametrize("kind", ["prefecture", "national"])
def test_tampered_identity_node_bundles_fail_by_go_and_by_jukinet(
    kind: str, database: UrlFactory, tmp_path: Path, auditcheck: Path
) -> None:
    out = identity_bundle(kind, database, tmp_path)
    for name, (tamper, by_go, by_us) in TAMPERING.items():
        copy = tmp_path / name.replace(" ", "-")
        shutil.copytree(out, copy)
        tamper(copy)
        go = gocheck.check(auditcheck, copy)
        assert go.returncode == 1 and by_go in go.stdout, (name, go.stdout + go.stderr)
        _, problems = bundle.verify(copy)
        assert len(problems) == 1 and by_us in problems[0], (name, problems)
    done = jukinet(tmp_path, "audit", "verify", "--bundle", str(copy))  # the command says so
    assert done.returncode == 3, done.stdout + done.stderr
    assert "The audit bundle does not hold (1 problems found)" in done.stderr


def test_a_forked_earlier_checkpoint_fails_its_consistency_proof(
    store: RegisterStore, municipality_bundle: Path, auditcheck: Path
) -> None:
    """The node signed two histories: an earlier checkpoint names another tree of its size."""
    name = checkpoints.origin("municipality", str(store.code))
    n = min(int(p.name) for p in (municipality_bundle / "checkpoints").glob("*[0-9]"))
    other = merkle.root_of_leaves(merkle.leaf_hash(b"another history %d" % i) for i in range(n))
    fork = signed_note(Checkpoint(name, n, other[1]), name, store.key)
    (municipality_bundle / "checkpoints" / str(n)).write_text(fork)
    go = gocheck.check(auditcheck, municipality_bundle)
    assert go.returncode == 1 and f"checkpoint {n} is not consistent" in go.stdout, go.stdout
    _, problems = bundle.verify(municipality_bundle)
    assert [p.split(":")[0] for p in problems] == [
        f"checkpoint {n} is not consistent with the newest"
    ]


def test_go_tlog_and_ours_agree_on_proofs_of_every_size(auditcheck: Path, tmp_path: Path) -> None:
    """Consistency proofs between every pair of sizes up to 33 check with Go's CheckTree
    (a bundle per size pair, as the auditor would get it)."""
    key = NodeKey.generate()
    name = "jukinet/test/000000/audit"
    leaves = [b'{"seq":%d}' % i for i in range(1, 34)]
    stored: list[bytes] = []
    a = merkle.Appender(0, {})
    roots = {}
    for i, leaf in enumerate(leaves, 1):
        stored.extend(a.add(merkle.leaf_hash(leaf)))
        roots[i] = a.root()
        assert merkle.tree_hash(i, lambda idx: [stored[x] for x in idx]) == roots[i]
    for t in (1, 2, 7, 8, 9, 16, 33):
        out = tmp_path / f"t{t}"
        (out / "checkpoints").mkdir(parents=True)
        (out / "entries.jsonl").write_bytes(b"".join(x + b"\n" for x in leaves[:t]))
        (out / "checkpoint").write_text(signed_note(Checkpoint(name, t, roots[t]), name, key))
        (out / "verifier.key").write_text(verifier_key(name, key.public) + "\n")
        for n in range(1, t):
            proof = merkle.prove_tree(t, n, lambda idx: [stored[x] for x in idx])
            merkle.check_tree(proof, t, roots[t], n, roots[n])
            (out / "checkpoints" / str(n)).write_text(
                signed_note(Checkpoint(name, n, roots[n]), name, key)
            )
            (out / "checkpoints" / f"{n}.proof").write_text(
                "".join(base64.b64encode(h).decode() + "\n" for h in proof)
            )
        go = gocheck.check(auditcheck, out)
        assert go.returncode == 0, (t, go.stdout)
