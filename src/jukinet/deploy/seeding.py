"""Seeding every municipality of a new network (``jukinet demo``): a use case above the
node kinds, like ``deploy.network``.

Each register is filled by its own first administrator (password and operator card
from the network's secrets folder, the card in process), exactly as ``jukinet seed``
would; the identity
updates wait in each outbox until the network is up. The codes come from the
national node's own store, asked before each register's transaction begins.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date

from jukinet.card.image import key_path, open_image, read_chip_key
from jukinet.card.operator_card import write_operator_card
from jukinet.card.reader import InProcessReader
from jukinet.deploy.network import PoolFromNational, write_secret
from jukinet.domain.access import Role
from jukinet.network.layout import NetworkLayout, folder_name
from jukinet.network.topology import MunicipalitySpec, Topology
from jukinet.nodes.municipality import service, staff
from jukinet.nodes.municipality.pool import CodeSource
from jukinet.nodes.municipality.seeding import seed
from jukinet.nodes.municipality.setup import open_register
from jukinet.nodes.national import service as national
from jukinet.seed.places import Places


async def seed_all(
    layout: NetworkLayout,
    topology: Topology,
    places: Places,
    *,
    report: Callable[[str], None] = lambda _line: None,
) -> int:
    total = 0
    national_store = national.open_node(layout.node(topology.national.node_id))
    try:
        for i, m in enumerate(topology.municipalities):
            total += await _seed_one(
                layout, m, i, places, PoolFromNational(national_store, m.code), report
            )
    finally:
        national_store.close()
    return total


async def _seed_one(
    layout: NetworkLayout,
    m: MunicipalitySpec,
    i: int,
    places: Places,
    source: CodeSource,
    report: Callable[[str], None],
) -> int:
    username, password = (layout.secrets / f"{folder_name(m.node_id)}.txt").read_text().split()
    store = open_register(layout.node(m.node_id))
    card = layout.operator_card(m.node_id)
    reader = InProcessReader(open_image(card, read_chip_key(key_path(card))))
    try:
        session = service.login(store, username, password, reader)
        # Codes come from the national registry, as on a running network.
        result = await seed(
            store, session, places, source, m.residents, today=date.today(), rng_seed=i
        )
        # A window clerk for trying the demo (the administrator may not read records).
        clerk_password = secrets.token_urlsafe(12)
        staff.add(
            store, session, username="clerk", full_name=f"{m.name} 窓口", role=Role.CLERK,
            password=clerk_password, trained_on=date.today(), pledge_signed_on=date.today(),
        )  # fmt: skip
        write_operator_card(
            layout.operator_card(m.node_id, "clerk"), staff.issue_card(store, session, "clerk")
        )
        write_secret(
            layout.secrets / f"{folder_name(m.node_id)}-clerk.txt", f"clerk {clerk_password}\n"
        )
    finally:
        store.close()
    report(f"{m.name}: {result.residents:,} residents in {result.seconds:.1f} s")
    return result.residents
