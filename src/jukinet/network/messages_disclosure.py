"""The disclosure answer a resident can check (R14; docs/flows.md, "Disclosure").

An identity node answers ``POST /disclosure`` with a ``ProvenDisclosure``: each
provision as before, now with the affair's legal basis, its leaf in the node's
provision log (the exact line), the leaf's index and its inclusion proof against the
node's newest checkpoint (a signed note with its cosignatures), the node's verifier
key, the newest checkpoint its witnesses cosigned with the consistency proof from it,
and ``resident_key`` (k_r, hex), the resident's own key to their leaves. The
municipality gathers the nodes' answers into a ``DisclosureAnswer``, the file
``jukinet resident disclosure --out`` writes and ``jukinet disclosure verify`` checks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from jukinet.network.messages import Message, ProvisionEntry, ResidentCodeText

Hex32 = Annotated[str, Field(pattern="^[0-9a-f]{64}$")]
ProofHash = Annotated[str, Field(min_length=44, max_length=44)]  # base64 of 32 bytes


class ProvenEntry(ProvisionEntry):
    """One provision, with its leaf in the provision log and the leaf's inclusion proof."""

    basis: str
    index: int = Field(ge=0)
    leaf: str = Field(max_length=4096)  # the leaf line (docs/audit.md, "The provision leaf")
    proof: list[ProofHash] = Field(max_length=64)  # RFC 9162 inclusion proof, base64 hashes


class ProvenDisclosure(Message):
    """An identity node's disclosure answer, checkable offline (``disclosure_check``)."""

    resident_code: ResidentCodeText
    provisions: list[ProvenEntry]  # newest first
    node: str = Field(min_length=3, max_length=64)
    resident_key: Hex32
    checkpoint: str = Field(max_length=8192)  # the signed note, cosignature lines included
    verifier_key: str = Field(max_length=512)  # the node's key for ``checkpoint``
    # The newest checkpoint witnesses cosigned (the signed note with their cosignature
    # lines; "" if none yet) and the consistency proof from it to ``checkpoint``.
    witnessed: str = Field(default="", max_length=65536)
    consistency: list[ProofHash] = Field(default_factory=list, max_length=64)
    # The witnesses' cosignature/v1 keys, added by the municipality from its directory.
    cosigner_keys: list[str] = Field(default_factory=list, max_length=64)


class DisclosureAnswer(Message):
    """What a resident takes home: every identity node's answer, as each gave it."""

    resident_code: ResidentCodeText
    asked_at: datetime
    municipality: str
    answers: list[ProvenDisclosure]
