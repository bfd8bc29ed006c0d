"""The endpoint table (network/endpoints.py): the firewall's links come from its rows (R7, R3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jukinet.errors import ConfigurationError
from jukinet.network import pki
from jukinet.network.endpoints import ENDPOINTS, Endpoint, EndpointTable, Role, Scope, Serves
from jukinet.network.firewall import legal_table_serves, standard_links
from jukinet.network.messages import Directory, DirectoryEntry
from jukinet.network.topology import load_topology
from jukinet.nodes.identity.provision import load_table
from jukinet.seed.places import Places

DEMO = Path(__file__).parents[2] / "topologies" / "demo.toml"
CA = pki.create_ca("demo")
# Agencies of the legal table acting for prefectural recipients (東京都知事, 大阪府知事).
PREFECTURAL_AGENCIES = ("tokyo-pref", "osaka-pref", "chiyoda-city")  # the last: a municipal body


def _entry(role: str, code: str, url: str = "") -> DirectoryEntry:
    _, cert = pki.issue_certificate(CA, role, code, ["127.0.0.1"])
    return DirectoryEntry(
        node_id=f"{role}:{code}",
        role=role,
        code=code,
        name=code,
        url=url,
        cert_pem=pki.cert_pem(cert),
        fingerprint=pki.fingerprint(cert),
    )


@pytest.fixture(scope="module")
def demo() -> Directory:
    """The directory of topologies/demo.toml, plus the legal table's prefectural agencies."""
    with Places() as places:
        topology = load_topology(DEMO, places)
    entries = [_entry(spec.role, spec.code, spec.url) for spec in topology.nodes()]
    entries += [_entry("agency", a.code) for a in topology.agencies]
    entries += [_entry("agency", code) for code in PREFECTURAL_AGENCIES]
    entries.append(_entry("monitor", "operations"))
    at = datetime.now(UTC)
    return Directory(
        network="demo",
        version=1,
        issued_at=at,
        expires_at=at + timedelta(minutes=10),
        entries=entries,
    )


@pytest.fixture(scope="module")
def serves(tmp_path_factory: pytest.TempPathFactory) -> Serves:
    """What the CLI's ``network firewall`` uses: a node home without its own legal.toml."""
    return legal_table_serves(load_table(tmp_path_factory.mktemp("national")))


NATIONAL = "national:national"
TOKYO, OSAKA = "prefecture:130001", "prefecture:270008"
MUNICIPALITIES = {
    "municipality:131016": TOKYO,
    "municipality:131041": TOKYO,
    "municipality:271276": OSAKA,
    "municipality:271411": OSAKA,
}
AGENCIES = (
    "agency:mofa-passport",
    "agency:pension-fund",
    "agency:tokyo-pref",
    "agency:osaka-pref",
    "agency:chiyoda-city",
)
NODES = (NATIONAL, TOKYO, OSAKA, *MUNICIPALITIES)

EXPECTED = {
    # GET /health and /directory of the national node: any member.
    *((member, NATIONAL) for member in (TOKYO, OSAKA, *MUNICIPALITIES, *AGENCIES)),
    ("monitor:operations", NATIONAL),
    # The monitor reads every node.
    *(("monitor:operations", node) for node in NODES if node != NATIONAL),
    # Updates and disclosure: a municipality to its own prefecture.
    *MUNICIPALITIES.items(),
    # Provision: the prefectural bodies to their prefecture, and the bodies of a
    # municipality to the prefecture of that municipality (第30条の7 第4項).
    ("agency:tokyo-pref", TOKYO),
    ("agency:osaka-pref", OSAKA),
    ("agency:chiyoda-city", TOKYO),
    # Wide-area copies (R20), moving with the card (R21) and asking the issuer of a copy
    # (docs/copies.md), R3: every municipality to every other, directly.
    *((a, b) for a in MUNICIPALITIES for b in MUNICIPALITIES if a != b),
    # Provision logs (R14): the national node has every prefecture cosign its checkpoints
    # (a prefecture reaches the national node already, above).
    (NATIONAL, TOKYO),
    (NATIONAL, OSAKA),
}


def test_the_demo_firewall_has_a_link_for_every_caller_the_table_admits_and_no_other(
    demo: Directory, serves: Serves
) -> None:
    """R7: the links are exactly the (caller, node) pairs some row of the table admits."""
    links = standard_links(demo, serves)

    assert len(links) == len(set(links))
    assert set(links) == EXPECTED
    admitted = {
        (caller.node_id, node.node_id)
        for row in ENDPOINTS
        for caller in demo.entries
        for node in demo.entries
        if node.url and row.admits(caller, node, serves)
    }
    assert set(links) == admitted


def test_the_prefectural_bodies_of_the_legal_table_reach_their_own_prefecture_only(
    demo: Directory, serves: Serves
) -> None:
    """R2, R7: 東京都知事's agency reaches prefecture 130001 (and not Osaka's), and vice versa."""
    links = set(standard_links(demo, serves))

    assert ("agency:tokyo-pref", TOKYO) in links
    assert ("agency:osaka-pref", OSAKA) in links
    assert ("agency:tokyo-pref", OSAKA) not in links
    assert ("agency:osaka-pref", TOKYO) not in links
    assert ("agency:mofa-passport", TOKYO) not in links
    assert not any(callee.startswith(("agency", "monitor")) for _, callee in links)


def test_a_municipality_to_municipality_endpoint_needs_one_row(
    demo: Directory, serves: Serves
) -> None:
    """R3: services between municipalities are one row each (moving with the card, R21,
    is one); the links follow from the rows, and one more such row opens no other link."""
    between = {(a, b) for a in MUNICIPALITIES for b in MUNICIPALITIES if a != b}
    assert between <= set(standard_links(demo, serves))
    another = Endpoint(Role.MUNICIPALITY, "POST", "/another", frozenset({Role.MUNICIPALITY}))
    assert set(standard_links(demo, serves, ENDPOINTS.plus([another]))) == EXPECTED


def test_the_wide_area_row_adds_exactly_the_links_between_municipalities(
    demo: Directory, serves: Serves
) -> None:
    """R3, R20: ``POST /wide-area/records`` opens municipality -> municipality links and
    nothing else; no prefecture or national node is on the way."""
    rows = [r for r in ENDPOINTS if r.path == "/wide-area/records"]
    assert [(r.kind, r.method, r.roles) for r in rows] == [
        (Role.MUNICIPALITY, "POST", frozenset({Role.MUNICIPALITY}))
    ]
    # Against the table without any municipality -> municipality row (moving adds more).
    base = EndpointTable(
        tuple(
            r
            for r in ENDPOINTS
            if (r.kind, r.roles) != (Role.MUNICIPALITY, frozenset({Role.MUNICIPALITY}))
        )
    )
    added = set(standard_links(demo, serves, base.plus(rows))) - set(
        standard_links(demo, serves, base)
    )

    between = {(a, b) for a in MUNICIPALITIES for b in MUNICIPALITIES if a != b}
    assert added == between
    assert len(added) == 12


def test_a_revoked_member_gets_no_link(demo: Directory, serves: Serves) -> None:
    entries = [
        e.model_copy(update={"status": "revoked"}) if e.node_id == TOKYO else e
        for e in demo.entries
    ]
    links = set(standard_links(demo.model_copy(update={"entries": entries}), serves))

    assert not any(TOKYO in link for link in links)
    assert links == {link for link in EXPECTED if TOKYO not in link}


def test_a_municipality_is_admitted_to_its_own_prefecture_only(demo: Directory) -> None:
    updates = ENDPOINTS.row("prefecture", "POST", "/updates")
    assert updates is not None and updates.scope is Scope.OWN_PREFECTURE
    by_id = {e.node_id: e for e in demo.entries}

    assert updates.admits(by_id["municipality:131016"], by_id[TOKYO])
    assert not updates.admits(by_id["municipality:271276"], by_id[TOKYO])
    assert not updates.admits(by_id["agency:tokyo-pref"], by_id[TOKYO])
    assert updates.callers == "municipality, its own prefecture only"


def test_every_node_kind_has_its_health_and_status_rows() -> None:
    for kind in ("national", "prefecture", "municipality"):
        for method, path in (("GET", "/health"), ("GET", "/status"), ("GET", "/directory")):
            assert ENDPOINTS.row(kind, method, path) is not None, f"{method} {path} on {kind}"


def test_two_rows_for_one_endpoint_are_refused() -> None:
    row = Endpoint(Role.NATIONAL, "GET", "/health", frozenset({Role.MONITOR}))
    with pytest.raises(ConfigurationError, match="GET /health on a national node has two rows"):
        ENDPOINTS.plus([row])


@pytest.mark.parametrize(
    ("kind", "roles", "scope", "message"),
    [
        (Role.AGENCY, {Role.MONITOR}, Scope.ANY_NODE, "does not serve endpoints"),
        (Role.NATIONAL, set(), Scope.ANY_NODE, "names no role"),
        (Role.NATIONAL, {Role.MUNICIPALITY}, Scope.OWN_PREFECTURE, "own prefecture"),
        (Role.PREFECTURE, {Role.MONITOR}, Scope.SERVED_AGENCY, "only agencies"),
    ],
)
def test_a_row_that_cannot_be_meant_is_refused(
    kind: Role, roles: set[Role], scope: Scope, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        EndpointTable((Endpoint(kind, "GET", "/x", frozenset(roles), scope),))
