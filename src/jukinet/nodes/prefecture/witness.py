"""The prefecture as the witness of its municipalities' audit logs (R25; docs/audit.md).

``POST /audit/cosign``: a municipality of this prefecture sends its newest signed
checkpoint and the consistency proof from the last one cosigned here; the answer is
a cosignature/v1 line, or a refusal (403, ``checkpoint-refused``) if the checkpoint
is not the municipality's or does not extend what this prefecture cosigned before.
Either way the request is in this node's audit log.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from jukinet.audit import checkpoints
from jukinet.network.gate import Peer
from jukinet.network.messages_audit import Cosignature, CosignRequest
from jukinet.nodes.identity.provision_witness import cosign_audited
from jukinet.nodes.identity.store import IdentityStore

OPERATION = "audit.cosign"


cosigner_name = checkpoints.witness_name


def cosign(
    store: IdentityStore, peer: Peer, request: CosignRequest, public: Ed25519PublicKey | None
) -> Cosignature:
    """Cosign ``peer``'s checkpoint, or refuse it (audited both ways)."""
    origin = checkpoints.origin("municipality", peer.code)
    return cosign_audited(
        store, peer, request, public, origin, cosigner_name(store.code), OPERATION
    )
