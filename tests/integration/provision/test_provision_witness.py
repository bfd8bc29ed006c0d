"""Identity nodes witness each other's provision logs (R14, R25): the national node
cosigns a prefecture's checkpoints and the prefecture the national node's; a rollback
or fork is refused; a disclosure answer carries the witnessed checkpoint, whose
cosignature and consistency proof the resident's check verifies."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import delete, select

from jukinet.audit import checkpoints
from jukinet.audit import provision_log as fmt
from jukinet.audit.bundle import cosigner_key
from jukinet.audit.disclosure_check import check_answer
from jukinet.audit.note import cosigned_at
from jukinet.errors import CheckpointRefused, PeerUnreachable
from jukinet.network.gate import Peer
from jukinet.network.messages import DisclosureRequest, LookupRequest
from jukinet.network.messages_audit import CosignRequest
from jukinet.network.messages_disclosure import DisclosureAnswer
from jukinet.nodes.identity import provision as pv
from jukinet.nodes.identity import provision_witness as pw
from jukinet.nodes.identity import tables as ids
from tests.integration.provision.nodes import CHIYODA, TABLE, TOKYO, Node

AFFAIR = "tokyo-child-rearing-allowance"
TOKYO_ID, NATIONAL_ID = f"prefecture:{TOKYO}", "national:national"
AS_TOKYO = Peer(TOKYO_ID, "prefecture", TOKYO)
AS_NATIONAL = Peer(NATIONAL_ID, "national", "national")


def _round(node: Node, witness: Node, peer: Peer) -> None:
    """One round of ``node``'s job with ``witness`` (what POST /witness/cosign does)."""
    name = pw.witness_name(witness.store.kind, witness.store.code)
    made, request = pw.prepare(node.store, name)
    assert request is not None
    answer = pw.cosign(witness.store, peer, request, node.store.key.public)
    pw.keep(node.store, made, answer, witness.store.key.public)


def _lookup(tokyo: Node, code: str) -> None:
    pv.lookup(tokyo.store, TABLE, "tokyo-pref", LookupRequest(affair=AFFAIR, resident_code=code))


def test_the_witnessed_checkpoint_is_in_the_answer_and_verifies(
    national: Node, tokyo: Node
) -> None:
    code = tokyo.person()
    _lookup(tokyo, code)
    _round(tokyo, national, AS_TOKYO)  # the national node cosigns Tokyo's log at size 1
    _round(national, tokyo, AS_NATIONAL)  # and Tokyo the national node's (size 0)
    _lookup(tokyo, code)  # a provision after the witnessed checkpoint
    req = DisclosureRequest(resident_code=code, verified_by="clerk", clerk="window-3")
    one = pv.disclosure(tokyo.store, TABLE, req, CHIYODA)
    assert one.witnessed.split("\n")[:2] == [fmt.origin("prefecture", TOKYO), "1"]
    national_witness = pw.witness_name("national", "national")
    answer = DisclosureAnswer(
        resident_code=code, asked_at=datetime.now(UTC), municipality=CHIYODA, answers=[one]
    )
    keys = {TOKYO_ID: [cosigner_key(national_witness, national.store.key.public)]}
    checked, problems = check_answer(answer, cosigners=keys)
    assert problems == []
    assert checked[0].witnessed_by == (national_witness,) and checked[0].size == 2
    # A key that did not cosign is not taken for one that did.
    other = {TOKYO_ID: [cosigner_key(national_witness, tokyo.store.key.public)]}
    assert check_answer(answer, cosigners=other)[1] == [
        f"{TOKYO_ID}: the witnessed checkpoint has no valid cosignature of {national_witness}"
    ]
    # A consistency proof that does not lead from the witnessed tree to the answer's.
    bad = one.model_copy(update={"consistency": [one.provisions[0].proof[0]] * 2})
    _, problems = check_answer(answer.model_copy(update={"answers": [bad]}), cosigners=keys)
    assert problems == [
        f"{TOKYO_ID}: the log of size 2 does not extend the witnessed one of size 1"
    ]


def test_a_witness_refuses_a_rewritten_provision_log(national: Node, tokyo: Node) -> None:
    code = tokyo.person()
    _lookup(tokyo, code)
    _lookup(tokyo, code)
    _round(tokyo, national, AS_TOKYO)  # cosigned at size 2
    # Tokyo's log rewritten: its tree emptied and one different leaf appended.
    with tokyo.store.engine.begin() as conn:
        for table in (ids.provision_tree, ids.provision_head, ids.provision_checkpoints,
                      ids.provisions):  # fmt: skip
            conn.execute(delete(table))
    _lookup(tokyo, code)
    name = pw.witness_name("national", "national")
    _, request = pw.prepare(tokyo.store, name)
    assert request is not None and request.previous_size == 0
    before = national.counts()
    with pytest.raises(CheckpointRefused, match="older than the one of size 2"):
        pw.cosign(national.store, AS_TOKYO, request, tokyo.store.key.public)
    assert national.audit()[-1].outcome == "refused"
    assert national.counts()[0] == before[0]
    # Someone else's checkpoint under Tokyo's name: not Tokyo's key.
    forged = CosignRequest(checkpoint=request.checkpoint, previous_size=2, consistency=[])
    with pytest.raises(CheckpointRefused, match="not its to sign"):
        pw.cosign(national.store, AS_TOKYO, forged, national.store.key.public)


def test_a_round_goes_on_past_a_witness_that_cannot_be_reached(
    national: Node, tokyo: Node, osaka: Node
) -> None:
    """The national node's round: Osaka is down, Tokyo still cosigns."""
    tokyo_name = pw.witness_name("prefecture", TOKYO)
    osaka_name = pw.witness_name("prefecture", osaka.store.code)

    async def post(url: str, message: BaseModel) -> dict[str, Any]:
        if url.startswith("https://osaka"):
            raise PeerUnreachable("Osaka does not answer.")
        assert isinstance(message, CosignRequest)
        got = pw.cosign(tokyo.store, AS_NATIONAL, message, national.store.key.public)
        return got.model_dump()

    witnesses = [("https://osaka", osaka_name, osaka.store.key.public),
                 ("https://tokyo", tokyo_name, tokyo.store.key.public)]  # fmt: skip
    asyncio.run(pw.publish(national.store, post, lambda: witnesses))
    with national.store.engine.connect() as conn:
        (lines,) = conn.execute(select(ids.provision_checkpoints.c.cosignatures)).one()
    assert lines.startswith(f"— {tokyo_name} ") and osaka_name not in lines


def test_the_audit_logs_of_identity_nodes_are_witnessed_the_same_way(
    national: Node, tokyo: Node
) -> None:
    """R25: Tokyo's audit checkpoint cosigned by the national node through the same
    endpoint; a checkpoint of another node's log under Tokyo's call is refused."""
    _lookup(tokyo, tokyo.person())
    name = pw.witness_name("national", "national")
    made, request = pw.prepare(tokyo.store, name, "audit")
    assert request is not None
    assert request.checkpoint.startswith(checkpoints.origin("prefecture", TOKYO) + "\n")
    answer = pw.cosign(national.store, AS_TOKYO, request, tokyo.store.key.public)
    pw.keep(tokyo.store, made, answer, national.store.key.public, "audit")
    with tokyo.store.engine.connect() as conn:
        newest = checkpoints.latest(conn)
    assert newest is not None and newest.size == made.size
    assert cosigned_at(newest.full, name, national.store.key.public) is not None
    assert pw.prepare(tokyo.store, name, "audit")[1] is None  # nothing new to cosign
    assert national.audit()[-1].operation == "witness.cosign"
    # The national node's own audit checkpoint, sent as if it were Tokyo's.
    _, theirs = pw.prepare(national.store, pw.witness_name("prefecture", TOKYO), "audit")
    assert theirs is not None
    with pytest.raises(CheckpointRefused, match="not a log of prefecture:130001"):
        pw.cosign(national.store, AS_TOKYO, theirs, tokyo.store.key.public)
