"""The national node takes a resident code only as the registry issued it (R6, R1).

A code that appears at the national node for the first time (a birth, any first
report, or the new code of a code change) must have been issued to the update's
origin municipality (``issued_codes``); a code the node already holds keeps moving
with its person (a move between municipalities keeps the code). The prefecture has
no registry: it checks the check digit (the message) and that the origin is the
sender and in its prefecture (docs/network.md, "Identity updates", step 5).
Real databases: SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest

from jukinet.domain.codes import generate_resident_code
from jukinet.network.messages import IdentityUpdate
from jukinet.nodes.identity import quarantine
from jukinet.nodes.identity.store import IdentityStore
from jukinet.nodes.national import pools
from jukinet.nodes.national import service as national_service
from jukinet.nodes.national import store as national_store
from tests.integration.test_identity_nodes import (
    CHIYODA,
    CHUO,
    batch,
    expect_quarantine,
    municipality,
    national,
    prefecture,
    prefecture_peer,
    send,
    update,
)

__all__ = ["national", "prefecture"]  # the fixtures

TOKYO = prefecture_peer()


def issued(store: IdentityStore, municipality: str, count: int = 1) -> list[str]:
    """Codes the national registry issues to ``municipality`` (as ``POST /pools`` does)."""
    return pools.issue_pool(store, municipality, count).codes


def deliver(store: IdentityStore, *updates: IdentityUpdate) -> int:
    return national_service.receive(store, TOKYO, batch(TOKYO, *updates)).acked_through


def held(store: IdentityStore, code: str) -> tuple[str, str] | None:
    identity = store.identity(code)
    return (identity.origin, identity.status) if identity else None


def test_a_code_never_issued_is_refused_by_the_national_node_r6(national: IdentityStore) -> None:
    code = generate_resident_code()  # a valid check digit, but never issued
    expect_quarantine(national, lambda: deliver(national, update(1, code)), "never issued")
    assert held(national, code) is None


def test_a_code_issued_to_another_municipality_is_refused_r6(national: IdentityStore) -> None:
    [code] = issued(national, CHUO)
    expect_quarantine(
        national, lambda: deliver(national, update(1, code)), "issued to municipality 131024"
    )
    assert held(national, code) is None


def test_a_code_issued_to_the_origin_is_taken_and_keeps_moving_with_its_person(
    national: IdentityStore,
) -> None:
    [code] = issued(national, CHUO)
    assert deliver(national, update(1, code, origin=CHUO)) == 1
    # A move keeps the code: Chiyoda enters a person whose code Chuo was issued.
    assert deliver(national, update(2, code, origin=CHUO, reason="move-out", status="removed"))
    assert deliver(national, update(3, code, reason="move-in")) == 3
    assert held(national, code) == (CHIYODA, "resident")


def test_the_new_code_of_a_code_change_must_be_issued_to_the_origin_r6(
    national: IdentityStore,
) -> None:
    old, new = issued(national, CHIYODA, 2)
    assert deliver(national, update(1, old)) == 1
    stranger = generate_resident_code()
    expect_quarantine(
        national,
        lambda: deliver(national, update(2, stranger, previous=old, reason="code-change")),
        "never issued",
    )
    assert held(national, old) == (CHIYODA, "resident")
    [item] = quarantine.items(national)  # the person's next update waits behind it, so:
    quarantine.drop(national, item.id, operator="ops", note="a code from no pool")
    assert deliver(national, update(3, new, previous=old, reason="code-change")) == 3
    assert held(national, new) == (CHIYODA, "resident") and held(national, old) is None


def test_the_prefecture_has_no_registry_and_takes_a_valid_code_of_its_municipality(
    prefecture: IdentityStore,
) -> None:
    code = generate_resident_code()
    assert send(prefecture, municipality(CHIYODA), update(1, code)) == 1
    assert held(prefecture, code) == (CHIYODA, "resident")


def test_a_retired_code_is_never_reissued_in_a_pool_r6(
    national: IdentityStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool's random draw that hits a retired code drops it and draws again."""
    old, new = issued(national, CHIYODA, 2)
    assert deliver(national, update(1, old)) == 1
    assert deliver(national, update(2, new, previous=old, reason="code-change")) == 2
    draws = iter([old, new, *(generate_resident_code() for _ in range(10))])
    monkeypatch.setattr(national_store, "generate_resident_code", lambda: next(draws))
    [fresh] = issued(national, CHUO)
    assert fresh not in (old, new)  # the draw offered both first; neither came back


def test_a_retired_code_is_refused_as_a_new_code_everywhere_r6(national: IdentityStore) -> None:
    """Neither a birth nor a second code change may bring a retired code back."""
    old, new = issued(national, CHIYODA, 2)
    assert deliver(national, update(1, old)) == 1
    assert deliver(national, update(2, new, previous=old, reason="code-change")) == 2
    back = update(3, old, previous=new, reason="code-change")
    expect_quarantine(national, lambda: deliver(national, back), "retired")
    [item] = quarantine.items(national)
    quarantine.drop(national, item.id, operator="ops", note="a retired code brought back")
    expect_quarantine(national, lambda: deliver(national, update(4, old)), "retired")
    assert held(national, new) == (CHIYODA, "resident") and held(national, old) is None


def test_the_prefecture_retires_the_old_code_too_r6(prefecture: IdentityStore) -> None:
    old, new = generate_resident_code(), generate_resident_code()
    chiyoda = municipality(CHIYODA)
    assert send(prefecture, chiyoda, update(1, old)) == 1
    assert send(prefecture, chiyoda, update(2, new, previous=old, reason="code-change")) == 2
    assert held(prefecture, new) == (CHIYODA, "resident") and held(prefecture, old) is None
    expect_quarantine(prefecture, lambda: send(prefecture, chiyoda, update(3, old)), "retired")
