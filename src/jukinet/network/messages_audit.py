"""Messages of audit checkpoint cosigning: municipality -> its prefecture (R25; docs/audit.md).

After each checkpoint a municipality asks its prefecture to cosign it (C2SP
tlog-cosignature, cosignature/v1), sending the consistency proof from the newest
checkpoint that prefecture cosigned. The prefecture cosigns only a checkpoint that
extends it: a node cannot show two auditors two histories.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from jukinet.network.messages import Message, Request

# A checkpoint note is three short lines and a signature or two; a proof at most 64 hashes.
MAX_NOTE = 2048
MAX_PROOF = 64
B64_HASH = r"^[A-Za-z0-9+/]{43}=$"
Hash = Annotated[str, StringConstraints(pattern=B64_HASH)]


class CosignRequest(Request):
    """A municipality's signed checkpoint, and its proof from the last one cosigned."""

    checkpoint: str = Field(max_length=MAX_NOTE, description="the signed note, as signed")
    previous_size: int = Field(
        ge=0, description="size of the newest checkpoint this prefecture cosigned (0: none)"
    )
    consistency: list[Hash] = Field(
        max_length=MAX_PROOF,
        description="RFC 9162 consistency proof from previous_size, base64 hashes",
    )


class Cosignature(Message):
    """The prefecture's signature line (cosignature/v1) to append to the checkpoint."""

    cosigner: str = Field(description="the cosigner's key name")
    line: str = Field(description="the note signature line, ending in a newline")
