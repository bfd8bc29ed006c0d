"""The prefecture as the witness of its municipalities' audit logs (R25; docs/audit.md).

``POST /audit/cosign``: a municipality of this prefecture sends its newest signed
checkpoint and the consistency proof from the last one cosigned here; the answer is
a cosignature/v1 line, or a refusal (403, ``checkpoint-refused``) if the checkpoint
is not the municipality's or does not extend what this prefecture cosigned before.
Either way the request is in this node's audit log.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from jukinet.audit import checkpoints, cosigning
from jukinet.audit import log as audit
from jukinet.errors import CheckpointRefused
from jukinet.network.gate import Peer
from jukinet.network.messages_audit import Cosignature, CosignRequest
from jukinet.nodes.identity.store import IdentityStore

OPERATION = "audit.cosign"


cosigner_name = checkpoints.witness_name


def cosign(
    store: IdentityStore, peer: Peer, request: CosignRequest, public: Ed25519PublicKey | None
) -> Cosignature:
    """Cosign ``peer``'s checkpoint, or refuse it (audited both ways)."""
    origin = checkpoints.origin("municipality", peer.code)
    name = cosigner_name(store.code)
    try:
        if public is None:
            raise CheckpointRefused(f"{peer.node_id} has no key in the directory.")
        asked = cosigning.Request(request.checkpoint, request.previous_size, request.consistency)
        with store.transaction() as conn:
            line = cosigning.cosign(conn, store.key, name, origin, public, asked)
            size = request.checkpoint.split("\n")[1]
            store.audit(conn, audit.Draft(peer.node_id, OPERATION, origin, detail=f"size {size}"))
    except CheckpointRefused as exc:
        store.refused(peer.node_id, OPERATION, origin, exc)
        raise
    return Cosignature(cosigner=name, line=line)
