"""Messages of moving with the card (R21, docs/network.md "Moving with the card").

They travel municipality to municipality only (R3), never through a prefecture or the
national node: the 転出証明書情報 from the old municipality to the new one, its
cancellation, and the 転入通知 back. Each is one ``MovingMessage`` under the sender's
own sequence number towards that receiver (1, 2, 3 … without gaps); the receiver
takes them in order, once: a copy of one it took is acknowledged again and changes
nothing, a different message under a seq it took is refused.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from jukinet.network.messages import (
    IsoDate,
    LocalGovernmentCodeText,
    Message,
    Request,
    ResidentCodeText,
)

__all__ = [
    "CertificatePersonInfo",
    "MoveCancelled",
    "MoveInNotice",
    "MoveOutCertificate",
    "MovingAck",
    "MovingBody",
    "MovingMessage",
]

_Text = Annotated[str, Field(min_length=1, max_length=100)]
_Long = Annotated[str, Field(min_length=1, max_length=300)]


class CertificatePersonInfo(Request):
    """One person as the paper move-out certificate carries them (第24条, 令第23条)."""

    resident_code: ResidentCodeText
    family_name: _Text
    given_name: _Text
    family_kana: _Text
    given_kana: _Text
    date_of_birth: IsoDate
    sex: Literal["male", "female"]
    relationship: _Text  # 続柄 to the head of household at O
    domicile: _Long  # 本籍
    domicile_head: _Text  # 筆頭者


class MoveOutCertificate(Request):
    """転出証明書情報 for one planned move-out (第24条の2 第1項)."""

    kind: Literal["certificate"]
    move_id: int = Field(ge=1)
    origin_name: _Text
    destination: _Long  # 転出先 as notified
    holder: ResidentCodeText
    card_number: Annotated[str, Field(pattern="^[0-9]{12}$")]
    planned_on: IsoDate
    notified_on: IsoDate
    previous_address: _Long
    head_moves: bool
    persons: list[CertificatePersonInfo] = Field(min_length=1, max_length=20)


class MoveCancelled(Request):
    """The holder withdrew the planned move at O: the certificate can no longer be used."""

    kind: Literal["cancel"]
    move_id: int = Field(ge=1)
    cancelled_on: IsoDate


class MoveInNotice(Request):
    """転入通知 (第9条 第1項): N recorded the move-in of the persons of O's move ``move_id``."""

    kind: Literal["move-in-notice"]
    move_id: int = Field(ge=1)
    moved_on: IsoDate
    notified_on: IsoDate
    address: _Long  # the new address at N (O records it as 転出先)
    persons: list[ResidentCodeText] = Field(min_length=1, max_length=20)


MovingBody = Annotated[
    MoveOutCertificate | MoveCancelled | MoveInNotice, Field(discriminator="kind")
]


class MovingMessage(Request):
    """One message of ``sender`` (the signed caller) to the receiving municipality."""

    seq: int = Field(ge=1)
    origin: LocalGovernmentCodeText  # the sending municipality (must be the caller)
    body: MovingBody


class MovingAck(Message):
    """The receiver took every message of this sender up to ``acked_through``."""

    acked_through: int = Field(ge=0)
    duplicate: bool = False  # a copy of a message taken already: nothing changed
    # A message in order that the receiver refused (recorded and audited there, so the
    # sender goes on with its later messages): why, in a sentence.
    refused: str | None = None
