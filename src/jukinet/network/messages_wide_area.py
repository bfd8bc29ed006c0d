"""The messages of a wide-area copy (広域交付, 住民基本台帳法 第12条の4; R20, R3, R4).

Municipality A (where the person stands) asks municipality B (their home) with a
``WideAreaRequest``; B answers with a ``WideAreaAnswer``, municipality to municipality
(``POST /wide-area/records``, docs/flows.md "Wide-area copy (R20)").

The answer has no field for the family-register domicile (本籍・筆頭者): a wide-area
copy never prints it (第12条の4 第1項), so it cannot travel, whatever is asked; and
the models refuse extra fields, so nothing more can be added on the way (R1).

When the resident's card proved who stands at A's window, the card's JPKI
user-authentication key signed a ``WideAreaAsk`` (this request's own terms, with its
``request_id`` as the nonce); B verifies the card's proof itself against the JPKI CA,
its CRL and the cards B issued (nodes/municipality/wide_area_answer.py).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from jukinet.network.messages import (
    CardProof,
    IsoDate,
    LocalGovernmentCodeText,
    Message,
    Nonce,
    Request,
    ResidentCodeText,
)

__all__ = [
    "LICENCE_DIGITS",
    "Whose",
    "WideAreaAnswer",
    "WideAreaAsk",
    "WideAreaPerson",
    "WideAreaRequest",
]

Whose = Literal["self", "household"]
LICENCE_DIGITS = re.compile(r"[0-9]{12}")
"""A Japanese driving licence number (運転免許証番号) has 12 digits."""

MAX_MEMBERS = 20


class WideAreaAsk(Request):
    """What the applicant's card signs at A's window: this request's terms (R20)."""

    purpose: Literal["jukinet-wide-area/1"]
    request_id: Nonce
    issuer: LocalGovernmentCodeText  # A, the municipality that will issue the copy
    home: LocalGovernmentCodeText  # B, the municipality asked
    applicant: ResidentCodeText  # the person the card belongs to
    subject: ResidentCodeText  # whose record
    whose: Whose
    signed_at: AwareDatetime


class WideAreaRequest(Request):
    """A asks B for the record of one of B's residents, for a copy A will issue.

    ``applicant`` is the person whose identity the clerk verified at A (``verified_by``:
    the card, whose proof B checks, or a driving licence the clerk saw, its number
    recorded); ``subject`` is whose record is asked: the applicant's own (``whose``
    "self") or a member of the applicant's household ("household": the whole household,
    or ``members``). Verification is optional in the schema so that B refuses a request
    without it with its own sentence, audited, rather than as a malformed message.
    """

    request_id: Nonce  # once only at B: a request id seen before is refused
    # An ISO 8601 time with its offset; JSON has no datetime, so a string is taken here.
    asked_at: Annotated[AwareDatetime, Field(strict=False)]
    clerk: str = Field(min_length=1, max_length=64)  # the clerk at A's window
    applicant: ResidentCodeText
    subject: ResidentCodeText
    whose: Whose
    household: bool = False
    members: list[ResidentCodeText] = Field(default_factory=list, max_length=MAX_MEMBERS)
    with_relationship: bool = False
    with_code: bool = False
    # Asked or not, never answered (第12条の4): kept so that B can say so in its audit.
    with_domicile: bool = False
    verified_by: Literal["card", "licence"] | None = None
    licence: str | None = Field(default=None, max_length=32)
    card: CardProof | None = None


class WideAreaPerson(Message):
    """One person as the copy prints them; an item not asked for is ``None``."""

    family_name: str
    given_name: str
    family_kana: str
    given_kana: str
    date_of_birth: IsoDate
    sex: Literal["male", "female"]
    became_resident_on: IsoDate
    address_fixed_on: IsoDate
    notified_on: IsoDate
    previous_address: str
    relationship: str | None = None
    resident_code: str | None = None


class WideAreaAnswer(Message):
    """B's answer: what A needs to build the copy, and nothing of the domicile."""

    request_id: Nonce
    home: LocalGovernmentCodeText
    home_name: str
    address: str  # the household's address, as the copy prints it
    head_name: str | None = None  # 世帯主, only with the relationships
    persons: list[WideAreaPerson] = Field(min_length=1)
