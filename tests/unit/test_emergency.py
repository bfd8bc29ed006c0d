"""Emergency orders (R9, docs/emergency.md): signatures, the two-operator threshold of a
resume, validity windows, what the carried orders leave in force, and how a node obeys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from jukinet.errors import DirectoryRefused, EmergencyOrderRefused
from jukinet.network.directory import DirectoryView, sign_directory
from jukinet.network.emergency import check_order, cosign, new_order, state_of
from jukinet.network.messages import Directory
from jukinet.network.messages_emergency import CarriedOrder, SignedOrder

NOW = datetime.now(UTC)
OP1, OP2, STRANGER = (Ed25519PrivateKey.generate() for _ in range(3))
OPERATORS = {"operator-1": OP1.public_key(), "operator-2": OP2.public_key()}
NATIONAL = Ed25519PrivateKey.generate()
CHIYODA, TOKYO = "municipality:131016", "prefecture:130001"


def _check(signed: SignedOrder, at: datetime = NOW) -> list[str]:
    return check_order(signed.order, signed.signatures, OPERATORS, at)


def _carried(signed: SignedOrder, after: float) -> CarriedOrder:
    at = NOW + timedelta(seconds=after)
    return CarriedOrder(order=signed.order, signatures=signed.signatures, accepted_at=at)


def test_a_halt_or_an_isolation_needs_one_operator() -> None:
    assert _check(cosign(new_order("halt", "network", now=NOW), "operator-1", OP1)) == [
        "operator-1"
    ]
    isolate = cosign(new_order("isolate", CHIYODA, now=NOW), "operator-2", OP2)
    assert _check(isolate) == ["operator-2"]


def test_a_resume_needs_two_different_operators() -> None:
    once = cosign(new_order("resume", "network", now=NOW), "operator-1", OP1)
    with pytest.raises(EmergencyOrderRefused, match=r"needs 2 different operators.*has 1"):
        _check(once)
    with pytest.raises(EmergencyOrderRefused, match="signed twice by operator-1"):
        _check(cosign(once, "operator-1", OP1))
    assert _check(cosign(once, "operator-2", OP2)) == ["operator-1", "operator-2"]


def test_an_unknown_key_or_a_forged_line_is_refused() -> None:
    order = new_order("halt", "network", now=NOW)
    with pytest.raises(EmergencyOrderRefused, match="unknown key"):
        _check(cosign(order, "mallory", STRANGER))
    with pytest.raises(EmergencyOrderRefused, match="unknown key"):
        _check(cosign(order, "operator-1", STRANGER))  # a known name, another key
    signed = cosign(order, "operator-1", OP1)
    other = order.model_copy(update={"scope": CHIYODA, "action": "isolate"})
    with pytest.raises(EmergencyOrderRefused, match="does not verify"):
        _check(SignedOrder(order=other, signatures=signed.signatures))


def test_an_expired_or_not_yet_valid_order_is_refused() -> None:
    signed = cosign(new_order("halt", "network", now=NOW, valid_for=600), "operator-1", OP1)
    with pytest.raises(EmergencyOrderRefused, match="expired at"):
        _check(signed, NOW + timedelta(seconds=601))
    with pytest.raises(EmergencyOrderRefused, match="not valid before"):
        _check(signed, NOW - timedelta(minutes=5))


def test_scopes_fit_the_action() -> None:
    with pytest.raises(EmergencyOrderRefused, match="whole network"):
        _check(cosign(new_order("halt", CHIYODA, now=NOW), "operator-1", OP1))
    with pytest.raises(EmergencyOrderRefused, match="names one node"):
        _check(cosign(new_order("isolate", "network", now=NOW), "operator-1", OP1))


def test_orders_stay_in_force_until_resumed_in_the_order_accepted() -> None:
    halt = cosign(new_order("halt", "network", now=NOW), "operator-1", OP1)
    isolate = cosign(new_order("isolate", CHIYODA, now=NOW), "operator-1", OP1)
    resume = cosign(cosign(new_order("resume", "network", now=NOW), "operator-1", OP1),
                    "operator-2", OP2)  # fmt: skip
    state = state_of([_carried(isolate, 2), _carried(halt, 1)], OPERATORS)
    assert state.halted == halt.order.id and state.isolated == {CHIYODA: isolate.order.id}
    state = state_of([_carried(halt, 1), _carried(isolate, 2), _carried(resume, 3)], OPERATORS)
    assert state.halted is None and state.isolated == {CHIYODA: isolate.order.id}


def _view(*orders: CarriedOrder) -> DirectoryView:
    # Issued now, not at import: a suite that reaches this test late must not find the
    # directory expired (it would stop all traffic for that reason instead).
    issued = datetime.now(UTC)
    directory = Directory(network="demo", version=2, issued_at=issued,
                          expires_at=issued + timedelta(minutes=10), entries=[],
                          orders=list(orders))  # fmt: skip
    return DirectoryView(sign_directory(directory, NATIONAL), NATIONAL.public_key(), OPERATORS)


def test_a_node_obeys_the_orders_its_directory_carries() -> None:
    isolate = cosign(new_order("isolate", CHIYODA, now=NOW), "operator-1", OP1)
    view = _view(_carried(isolate, 0))
    assert "municipality:131016 is isolated" in (view.stop_reason(TOKYO, CHIYODA) or "")
    assert "isolated" in (view.stop_reason(CHIYODA) or "")  # its own traffic holds
    assert view.stop_reason(TOKYO, "national:national") is None
    halt = cosign(new_order("halt", "network", now=NOW), "operator-2", OP2)
    assert "halted" in (_view(_carried(halt, 0)).stop_reason(TOKYO) or "")


def test_a_directory_carrying_an_order_that_does_not_verify_is_refused() -> None:
    forged = cosign(new_order("resume", "network", now=NOW), "operator-1", OP1)  # one of two
    with pytest.raises(DirectoryRefused, match="carries an emergency order"):
        _view(_carried(forged, 0))
