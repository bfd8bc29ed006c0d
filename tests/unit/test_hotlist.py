"""The hotlist (R7, docs/ids.md): a block one operator signs, as the directory carries it,
what a node's view and the generated firewall make of it, its end and its history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from jukinet.cli import app as cli
from jukinet.cli.ids_block_cmd import duration
from jukinet.errors import BlockRefused
from jukinet.network import pki
from jukinet.network.directory import DirectoryView, renew, sign_directory
from jukinet.network.emergency import cosign, new_order
from jukinet.network.firewall import closed_nodes, nftables_rules
from jukinet.network.hotlist import (
    HISTORY,
    accept_block,
    alert_id,
    changes,
    check_block,
    new_block,
    new_lift,
    sign_block,
    subject_of_alert,
)
from jukinet.network.messages import Directory, DirectoryEntry
from jukinet.network.messages_emergency import CarriedOrder

NOW = datetime.now(UTC)
OP1, STRANGER, NATIONAL = (Ed25519PrivateKey.generate() for _ in range(3))
OPERATORS = {"operator-1": OP1.public_key()}
CA = pki.create_ca("demo")
CHIYODA, TOKYO = "municipality:131016", "prefecture:130001"
LINK = (CHIYODA, TOKYO)


def _entry(role: str, code: str, host: str, port: int) -> DirectoryEntry:
    _, cert = pki.issue_certificate(CA, role, code, [host])
    return DirectoryEntry(
        node_id=f"{role}:{code}", role=role, code=code, name=code,  # type: ignore[arg-type]
        url=f"https://{host}:{port}", cert_pem=pki.cert_pem(cert),
        fingerprint=pki.fingerprint(cert),
    )  # fmt: skip


DIRECTORY = Directory(
    network="demo", version=1, issued_at=NOW, expires_at=NOW + timedelta(hours=1),
    entries=[_entry("national", "national", "10.0.0.1", 7400),
             _entry("prefecture", "130001", "10.0.0.2", 7410),
             _entry("municipality", "131016", "10.0.0.3", 7420)],
)  # fmt: skip


def _block(kind: str, subject: str, seconds: float = 600, reason: str = "scans") -> Directory:
    order = new_block(kind, subject, NOW + timedelta(seconds=seconds), reason, now=NOW)  # type: ignore[arg-type]
    signed = sign_block(order, "operator-1", OP1)
    return accept_block(DIRECTORY, signed, check_block(signed, OPERATORS, NOW), NOW)[0]


def test_a_block_one_operator_signs_is_carried_with_its_end_and_who_confirmed_it() -> None:
    directory = _block("address", "192.0.2.7")
    [entry] = directory.hotlist
    assert (entry.kind, entry.subject, entry.confirmed_by, entry.reason) == (
        "address", "192.0.2.7", "operator-1", "scans")  # fmt: skip
    assert entry.since == NOW and entry.until == NOW + timedelta(seconds=600)
    view = DirectoryView(sign_directory(directory, NATIONAL), NATIONAL.public_key())
    assert view.blocked(address="192.0.2.7", now=NOW) == entry
    assert view.blocked(address="192.0.2.8", now=NOW) is None
    # It lapses at its end by the node's own clock: no new directory needed.
    assert view.blocked(address="192.0.2.7", now=NOW + timedelta(seconds=601)) is None


def test_a_node_block_names_its_certificate() -> None:
    directory = _block("node", CHIYODA)
    view = DirectoryView(sign_directory(directory, NATIONAL), NATIONAL.public_key())
    assert (
        view.blocked(node_id=CHIYODA, now=NOW) is not None
        and view.blocked(node_id=TOKYO, now=NOW) is None
    )
    # A new certificate for the node (re-issued after the incident) is not the one blocked.
    [entry] = directory.hotlist
    reissued = [e.model_copy(update={"fingerprint": "0" * 64}) if e.node_id == CHIYODA else e
                for e in directory.entries]  # fmt: skip
    other = directory.model_copy(update={"entries": reissued, "version": 2})
    again = DirectoryView(sign_directory(other, NATIONAL), NATIONAL.public_key())
    assert entry.fingerprint and again.blocked(node_id=CHIYODA, now=NOW) is None


@pytest.mark.parametrize(
    ("kind", "subject", "seconds", "reason", "says"),
    [
        ("address", "10.0.0.3", 600, "x", "address of municipality:131016"),
        ("node", "national:national", 600, "x", "cannot be"),
        ("node", "municipality:999999", 600, "x", "no active node"),
        ("address", "not-an-ip", 600, "x", "not an IP address"),
        ("address", "192.0.2.7", -5, "x", "which is past"),
        ("address", "192.0.2.7", 91 * 86400, "x", "at most 90 days"),
        ("address", "192.0.2.7", 600, " ", "a reason"),
    ],
)
def test_a_block_that_does_not_fit_is_refused(
    kind: str, subject: str, seconds: float, reason: str, says: str
) -> None:
    with pytest.raises(BlockRefused, match=says):
        _block(kind, subject, seconds, reason)


def test_an_unknown_key_or_an_expired_order_is_refused() -> None:
    order = new_block("address", "192.0.2.7", NOW + timedelta(hours=1), "x", now=NOW)
    with pytest.raises(BlockRefused, match="unknown key"):
        check_block(sign_block(order, "operator-1", STRANGER), OPERATORS, NOW)
    with pytest.raises(BlockRefused, match="expired at"):
        check_block(sign_block(order, "operator-1", OP1), OPERATORS, NOW + timedelta(hours=2))


def test_a_lift_ends_a_block_and_the_history_is_kept_for_its_time() -> None:
    blocked = _block("address", "192.0.2.7")
    [entry] = blocked.hotlist
    with pytest.raises(BlockRefused, match="blocked already"):
        signed = sign_block(new_block("address", "192.0.2.7", NOW + timedelta(hours=1), "again",
                                      now=NOW), "operator-1", OP1)  # fmt: skip
        accept_block(blocked, signed, "operator-1", NOW)
    later = NOW + timedelta(seconds=30)
    lift = sign_block(new_lift(entry.id, now=later), "operator-1", OP1)
    lifted, ended = accept_block(blocked, lift, "operator-1", later)
    assert (ended.lifted_at, ended.lifted_by) == (later, "operator-1")
    assert not ended.in_force(later) and lifted.hotlist == [ended]
    assert changes(blocked.hotlist, lifted.hotlist) == [("lift", ended)]
    assert changes([], blocked.hotlist) == [("block", entry)]
    with pytest.raises(BlockRefused, match="No block"):
        accept_block(lifted, sign_block(new_lift(entry.id, now=later), "operator-1", OP1),
                     "operator-1", later)  # fmt: skip
    # The renewal keeps the ended block as history, then drops it.
    kept = renew(lifted, NATIONAL, 600, later + HISTORY - timedelta(seconds=1)).directory
    assert kept.hotlist == [ended]
    assert renew(lifted, NATIONAL, 600, later + HISTORY).directory.hotlist == []


def test_an_alert_names_what_its_block_blocks() -> None:
    scan = {"node": TOKYO, "at": "2026-12-01T03:00:00Z", "rule": "path-scan",
            "key": "source.ip", "value": "192.0.2.7"}  # fmt: skip
    assert subject_of_alert(scan) == ("address", "192.0.2.7")
    caller = {**scan, "rule": "not-own", "key": "jukinet.caller", "value": CHIYODA}
    assert subject_of_alert(caller) == ("node", CHIYODA)
    assert alert_id(scan) != alert_id(caller) and alert_id(scan) == alert_id(dict(scan))
    with pytest.raises(BlockRefused, match="names no source"):
        subject_of_alert({**scan, "key": "observer.name", "value": TOKYO})


def test_the_firewall_closes_an_isolated_or_blocked_nodes_links() -> None:
    assert "tcp dport 7410 accept" in nftables_rules(DIRECTORY, [LINK], now=NOW)
    isolate = cosign(new_order("isolate", CHIYODA, now=NOW), "operator-1", OP1)
    carried = CarriedOrder(order=isolate.order, signatures=isolate.signatures, accepted_at=NOW)
    isolated = DIRECTORY.model_copy(update={"orders": [carried]})
    assert closed_nodes(isolated) == {CHIYODA: f"isolated by order {isolate.order.id}"}
    ruleset = nftables_rules(isolated, [LINK], now=NOW)
    assert "accept comment" not in ruleset and f"# {CHIYODA}: links closed" in ruleset

    blocked = _block("node", CHIYODA, seconds=60)
    assert "accept comment" not in nftables_rules(blocked, [LINK], now=NOW)
    after = NOW + timedelta(seconds=61)  # the block ended: the link is back
    assert "accept comment" in nftables_rules(blocked, [LINK], now=after)


def test_blocked_addresses_are_dropped_with_their_time_left_as_timeout() -> None:
    ruleset = nftables_rules(_block("address", "192.0.2.7", 600.4), [LINK], now=NOW)
    assert "\t\telements = { 192.0.2.7 timeout 601s }" in ruleset
    assert "\t\tip saddr @blocked4 tcp dport { 7400, 7410, 7420 } drop" in ruleset
    lines = ruleset.splitlines()
    assert lines.index("\t\tip saddr @blocked4 tcp dport { 7400, 7410, 7420 } drop") < lines.index(
        "\t\tct state established,related accept"
    )  # established connections of a blocked address are dropped too


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--source", "192.0.2.7", "--for", "3 weeks"], "write a duration such as"),
        (["--source", "192.0.2.7", "--for", "1h", "--until", "2026-12-03T09:00+09:00"],
         "one of them"),
        (["--source", "192.0.2.7", "--until", "2026-12-03T09:00"], "no UTC offset"),
        (["--for", "1h"], "Name what to block"),
        (["--source", "192.0.2.7", "--node", CHIYODA, "--for", "1h"], "Name what to block"),
    ],
)  # fmt: skip
def test_a_confirmation_the_console_cannot_read_is_one_clear_line(
    args: list[str], says: str, tmp_path: Path
) -> None:
    where = ["--dir", str(tmp_path), "--key", str(tmp_path / "k")]
    result = CliRunner().invoke(cli, ["ids", "block", "confirm", *args, "--reason", "x", *where])
    assert result.exit_code == 1 and says in result.output, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) <= 2


def test_durations() -> None:
    assert duration("90") == timedelta(seconds=90) and duration("30m") == timedelta(minutes=30)
    assert duration("12h") == timedelta(hours=12) and duration("7d") == timedelta(days=7)
