"""The signed directory: canonical bytes, the national signature, newest version only."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from jukinet.domain.legal_parse import load_shipped_legal_table
from jukinet.errors import DirectoryRefused, DirectoryRolledBack, InvalidInput
from jukinet.network import pki
from jukinet.network.directory import DirectoryView, canonical, sign_directory, verify_directory
from jukinet.network.firewall import WebPort, legal_table_serves, nftables_rules, standard_links
from jukinet.network.messages import Directory, DirectoryEntry, SignedDirectory
from jukinet.nodes.runtime import refresh_directory

NATIONAL = Ed25519PrivateKey.generate()
CA = pki.create_ca("demo")


def _entry(role: str, code: str, url: str = "", status: str = "active") -> DirectoryEntry:
    _, cert = pki.issue_certificate(CA, role, code, ["127.0.0.1"])
    return DirectoryEntry(
        node_id=f"{role}:{code}",
        role=role,  # type: ignore[arg-type]
        code=code,
        name=f"名前 {code}",
        url=url,
        cert_pem=pki.cert_pem(cert),
        fingerprint=pki.fingerprint(cert),
        status=status,  # type: ignore[arg-type]
    )


FAR = datetime(2100, 1, 1, tzinfo=UTC)  # these tests are not about expiry (test_heartbeat)
CHIYODA = _entry("municipality", "131016", "https://127.0.0.1:7420")
TOKYO = _entry("prefecture", "130001", "https://127.0.0.1:7410")
PASSPORT = _entry("agency", "mofa-passport")


def _signed(version: int, *entries: DirectoryEntry, network: str = "demo") -> SignedDirectory:
    directory = Directory(
        network=network,
        version=version,
        issued_at=datetime(2026, 4, 1, 9, 30, tzinfo=UTC),
        expires_at=FAR,
        entries=list(entries),
    )
    return sign_directory(directory, NATIONAL)


def test_canonical_json_has_sorted_keys_no_spaces_and_utf8() -> None:
    entry = DirectoryEntry(
        node_id="agency:x",
        role="agency",
        code="x",
        name="外務省 旅券課",
        url="",
        cert_pem="",
        fingerprint="",
    )
    text = canonical(entry).decode("utf-8")
    assert text.startswith('{"cert_pem":"","code":"x","fingerprint":"","name":"外務省 旅券課"')
    assert ", " not in text and '": ' not in text
    assert canonical(
        Directory(
            network="n",
            version=1,
            issued_at=datetime(2026, 1, 2, tzinfo=UTC),
            expires_at=datetime(2026, 1, 2, 0, 10, tzinfo=UTC),
            entries=[],
        )
    ) == (
        b'{"entries":[],"expires_at":"2026-01-02T00:10:00Z","hotlist":[],'
        b'"issued_at":"2026-01-02T00:00:00Z","network":"n","orders":[],"version":1}'
    )


names = st.text(min_size=1, max_size=20)


@given(
    network=names,
    version=st.integers(min_value=1, max_value=2**40),
    issued_at=st.datetimes(timezones=st.just(UTC)),
    entry_names=st.lists(names, max_size=4),
)
def test_a_directory_verifies_after_any_trip_over_the_wire(
    network: str, version: int, issued_at: datetime, entry_names: list[str]
) -> None:
    entries = [CHIYODA.model_copy(update={"name": name}) for name in entry_names]
    signed = sign_directory(
        Directory(
            network=network,
            version=version,
            issued_at=issued_at,
            expires_at=issued_at,
            entries=entries,
        ),
        NATIONAL,
    )
    received = SignedDirectory.model_validate_json(signed.model_dump_json())
    assert verify_directory(received, NATIONAL.public_key()) == signed.directory
    assert canonical(received.directory) == canonical(signed.directory)
    assert json.loads(canonical(received.directory)) == json.loads(
        received.directory.model_dump_json()
    )


def test_a_changed_directory_does_not_verify() -> None:
    signed = _signed(1, CHIYODA)
    forged = signed.model_copy(
        update={"directory": signed.directory.model_copy(update={"version": 2})}
    )
    with pytest.raises(DirectoryRefused):
        verify_directory(forged, NATIONAL.public_key())


def test_a_directory_signed_by_another_key_does_not_verify() -> None:
    signed = sign_directory(_signed(1, CHIYODA).directory, Ed25519PrivateKey.generate())
    with pytest.raises(DirectoryRefused):
        DirectoryView(signed, NATIONAL.public_key())


def test_a_signature_that_is_not_base64_is_refused() -> None:
    signed = _signed(1, CHIYODA).model_copy(update={"signature": "not base64!"})
    with pytest.raises(DirectoryRefused):
        verify_directory(signed, NATIONAL.public_key())


def test_the_view_finds_active_members_and_their_keys() -> None:
    view = DirectoryView(_signed(1, CHIYODA, TOKYO, PASSPORT), NATIONAL.public_key())

    assert view.version == 1
    assert view.lookup("municipality:131016") == CHIYODA
    assert view.lookup("municipality:999999") is None
    key = view.public_key("agency:mofa-passport")
    assert key is not None
    assert view.public_key("agency:mofa-passport") is key  # cached
    assert [e.node_id for e in view.entries("prefecture")] == ["prefecture:130001"]
    assert len(view.entries()) == 3


def test_a_revoked_member_is_not_found_and_has_no_key() -> None:
    revoked = CHIYODA.model_copy(update={"status": "revoked"})
    view = DirectoryView(_signed(1, revoked, TOKYO), NATIONAL.public_key())

    assert view.lookup("municipality:131016") is None
    assert view.public_key("municipality:131016") is None
    assert [e.node_id for e in view.entries()] == ["prefecture:130001"]
    assert len(view.entries(include_revoked=True)) == 2


def test_an_entry_whose_certificate_does_not_match_has_no_key() -> None:
    wrong = CHIYODA.model_copy(update={"cert_pem": TOKYO.cert_pem})
    view = DirectoryView(_signed(1, wrong), NATIONAL.public_key())
    assert view.lookup("municipality:131016") is not None
    assert view.public_key("municipality:131016") is None


def test_only_a_strictly_newer_directory_is_taken() -> None:
    view = DirectoryView(_signed(2, CHIYODA), NATIONAL.public_key())

    with pytest.raises(DirectoryRolledBack, match="older than version 2"):  # R9
        view.update(_signed(1, CHIYODA, TOKYO))  # older: a revoked node could return
    assert view.update(_signed(2, CHIYODA, TOKYO)) is False
    assert view.lookup("prefecture:130001") is None
    assert view.update(_signed(3, TOKYO, CHIYODA.model_copy(update={"status": "revoked"})))
    assert view.version == 3
    assert view.lookup("municipality:131016") is None
    assert view.public_key("municipality:131016") is None
    assert view.signed.directory.version == 3


def test_a_directory_of_another_network_or_signer_is_refused_on_update() -> None:
    view = DirectoryView(_signed(1, CHIYODA), NATIONAL.public_key())
    with pytest.raises(DirectoryRefused, match="network"):
        view.update(_signed(2, CHIYODA, network="other"))
    with pytest.raises(DirectoryRefused):
        view.update(sign_directory(_signed(2, TOKYO).directory, Ed25519PrivateKey.generate()))
    assert view.version == 1


# --- keeping a node's view fresh ---------------------------------------------------


def test_the_refresh_task_takes_newer_versions_and_survives_failures(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The loop every node's lifespan runs (``nodes.runtime.keep_directory_fresh``)."""
    view = DirectoryView(_signed(1, CHIYODA), NATIONAL.public_key())
    answers: list[SignedDirectory | Exception] = [
        OSError("national node down"),
        sign_directory(_signed(5, TOKYO).directory, Ed25519PrivateKey.generate()),
        _signed(2, CHIYODA, TOKYO),
    ]

    async def fetch() -> SignedDirectory:
        answer = answers.pop(0) if answers else _signed(2, CHIYODA, TOKYO)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def main() -> None:
        task = asyncio.create_task(refresh_directory(view, fetch, 0.001))

        async def taken() -> None:
            while answers or view.version < 2:
                await asyncio.sleep(0.001)

        await asyncio.wait_for(taken(), timeout=5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with caplog.at_level(logging.INFO):
        asyncio.run(main())
    assert view.version == 2
    messages = [r.getMessage() for r in caplog.records]
    assert "directory refresh failed: OSError: national node down" in messages
    assert any(m.startswith("directory refused:") for m in messages)


# --- the directory's links as firewall rules ---------------------------------------

NATIONAL_ENTRY = _entry("national", "national", "https://127.0.0.1:7400")
MONITOR = _entry("monitor", "operations")


def _accepts(ruleset: str) -> set[tuple[str, str, int, str]]:
    """(source, destination, port, comment) of every accept line."""
    found = set()
    for line in ruleset.splitlines():
        words = line.split()
        if "accept" in words and "daddr" in words:
            comment = line.split('comment "', 1)[1].rstrip('"')
            found.add((words[2], words[5], int(words[8]), comment))
    return found


def test_the_firewall_admits_exactly_the_links() -> None:
    directory = _signed(1, NATIONAL_ENTRY, TOKYO, CHIYODA, PASSPORT).directory
    links = [
        ("municipality:131016", "prefecture:130001"),
        ("agency:mofa-passport", "national:national"),
    ]
    ruleset = nftables_rules(directory, links, {"agency:mofa-passport": "10.0.0.7"})

    assert "table inet jukinet {" in ruleset
    assert "\t\ttcp dport { 7400, 7410, 7420 } jump links" in ruleset
    assert ruleset.rstrip().splitlines()[-3].strip().endswith("drop")
    assert _accepts(ruleset) == {
        ("127.0.0.1", "127.0.0.1", 7410, "municipality:131016 -> prefecture:130001"),
        ("10.0.0.7", "127.0.0.1", 7400, "agency:mofa-passport -> national:national"),
    }


def test_a_revoked_node_gets_no_firewall_rule() -> None:
    revoked = CHIYODA.model_copy(update={"status": "revoked"})
    directory = _signed(1, TOKYO, revoked).directory
    ruleset = nftables_rules(directory, [("municipality:131016", "prefecture:130001")])
    assert _accepts(ruleset) == set()


def test_a_client_without_url_needs_a_source_address() -> None:
    directory = _signed(1, NATIONAL_ENTRY, PASSPORT).directory
    with pytest.raises(InvalidInput, match="sources"):
        nftables_rules(directory, [("agency:mofa-passport", "national:national")])


def _web_accepts(ruleset: str) -> set[tuple[str, int, str]]:
    """(source network, port, comment) of every accept line of the web chain."""
    chain = ruleset.split("\tchain web {", 1)[1].split("\t}", 1)[0]
    return {(w[2], int(w[5]), line.split('comment "', 1)[1].rstrip('"'))
            for line in chain.splitlines() if "accept" in (w := line.split())}  # fmt: skip


def test_each_web_port_admits_its_sources_and_no_peer_by_the_links() -> None:
    """The console, window and portal ports are stated, each with its sources (R7)."""
    directory = _signed(1, NATIONAL_ENTRY, TOKYO, CHIYODA).directory
    web = [WebPort("console", 8443, ("127.0.0.0/8",)),
           WebPort("window", 8444, ("10.1.2.0/24", "::1/128")),
           WebPort("portal", 8445, ("0.0.0.0/0",))]  # fmt: skip
    ruleset = nftables_rules(directory, [("municipality:131016", "prefecture:130001")], web=web)

    assert "\t\ttcp dport { 8443, 8444, 8445 } jump web" in ruleset
    assert "\t\ttcp dport { 7400, 7410, 7420 } jump links" in ruleset
    assert "ip saddr @blocked4 tcp dport { 7400, 7410, 7420, 8443, 8444, 8445 } drop" in ruleset
    assert _web_accepts(ruleset) == {
        ("127.0.0.0/8", 8443, "console"), ("10.1.2.0/24", 8444, "window"),
        ("::1/128", 8444, "window"), ("0.0.0.0/0", 8445, "portal"),
    }  # fmt: skip
    assert 'log prefix "jukinet web refused: " drop' in ruleset
    assert {port for _, _, port, _ in _accepts(ruleset) if port >= 8443} == set()


def test_a_node_without_web_ports_gets_no_web_rule() -> None:
    directory = _signed(1, NATIONAL_ENTRY, TOKYO, CHIYODA).directory
    ruleset = nftables_rules(directory, [("municipality:131016", "prefecture:130001")])
    assert "web" not in ruleset and "tcp dport { 7400, 7410, 7420 } drop" in ruleset


def test_a_web_port_that_is_a_node_port_or_a_bad_source_is_refused() -> None:
    directory = _signed(1, NATIONAL_ENTRY, TOKYO).directory
    with pytest.raises(InvalidInput, match="also a node port"):
        nftables_rules(directory, [], web=[WebPort("window", 7410, ("10.1.2.0/24",))])
    with pytest.raises(InvalidInput, match="not a network"):
        nftables_rules(directory, [], web=[WebPort("window", 8444, ("terminals",))])


def test_the_web_sources_default_to_loopback_and_the_portal_to_anywhere() -> None:
    from jukinet.config import NetworkSettings
    from jukinet.nodes.firewall_job import web_ports

    settings = NetworkSettings(node_id="municipality:131016", host="127.0.0.1", port=7420,
                               national_url="https://127.0.0.1:7400",
                               upstream_url="https://127.0.0.1:7410",
                               window_port=8444, portal_port=8445)  # fmt: skip
    assert web_ports(settings) == [
        WebPort("window", 8444, ("127.0.0.0/8", "::1/128")),
        WebPort("portal", 8445, ("0.0.0.0/0", "::/0")),
    ]


def test_the_standard_links_follow_the_endpoint_table(tmp_path: Path) -> None:
    osaka_ward = _entry("municipality", "271276", "https://127.0.0.1:7422")
    osaka = _entry("prefecture", "270008", "https://127.0.0.1:7411")
    directory = _signed(
        1, NATIONAL_ENTRY, TOKYO, osaka, CHIYODA, osaka_ward, PASSPORT, MONITOR
    ).directory
    links = set(standard_links(directory, legal_table_serves(load_shipped_legal_table())))

    assert ("municipality:131016", "prefecture:130001") in links
    assert ("municipality:131016", "prefecture:270008") not in links
    assert ("municipality:271276", "prefecture:270008") in links
    assert ("municipality:131016", "national:national") in links
    assert ("prefecture:130001", "national:national") in links
    assert ("agency:mofa-passport", "national:national") in links
    assert ("agency:mofa-passport", "prefecture:130001") not in links
    assert ("monitor:operations", "municipality:271276") in links
    assert not any(callee.startswith(("agency", "monitor")) for _, callee in links)
