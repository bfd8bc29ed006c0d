"""The address of a move-in: one of this municipality's real towns (町字)."""

from __future__ import annotations

from jukinet.domain.record import Address
from jukinet.errors import InvalidInput
from jukinet.nodes.municipality.store import RegisterStore
from jukinet.seed.places import Places


def town_address(store: RegisterStore, town: str, block: str, building: str) -> Address:
    """An address of this municipality; the town must be one of its real towns."""
    with Places() as places:
        known = {t.name for t in places.towns(store.code)}
    if known and town not in known:
        raise InvalidInput(f"{town!r} is not a town (町字) of {store.name}.")
    return Address(store.code, store.name, town, block, building)
