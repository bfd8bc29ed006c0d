"""The legal table (別表): who may receive identity information, for what (R2, R4, R5).

The table is data, versioned and loaded at start-up. A recipient is a government
body (R4: the network serves no private party) acting on the network through one
agency client. Each of its affairs (事務) states its legal basis, the functions it
may use and the fields it may receive; anything else is refused (R2, R5).

The table is written in TOML; its format, and the checks made on load, are in
``legal_parse.py``.

Who serves whom is data too: each recipient names the one identity node that
provides to it, checked on load against the routes of the law.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from jukinet.domain.codes import LocalGovernmentCode
from jukinet.errors import ProvisionRefused

__all__ = [
    "NATIONAL_NODE",
    "R1_FIELDS",
    "Affair",
    "Function",
    "LegalTable",
    "Level",
    "Recipient",
    "ServingNode",
]


class Level(StrEnum):
    NATIONAL = "national"
    PREFECTURAL = "prefectural"
    MUNICIPAL = "municipal"


class Function(StrEnum):
    LOOKUP = "lookup"  # by resident code
    SEARCH = "search"  # by the 4 items, ranked candidates
    VERIFY = "verify"  # match / no match per item, no data returned
    BATCH = "batch"  # status of many resident codes (R24)


# R1: the identity confirmation information, and nothing else, may leave the network.
R1_FIELDS = frozenset(
    {
        "resident_code",
        "name",
        "date_of_birth",
        "sex",
        "address",
        "status",
        "change_reason",
        "change_date",
    }
)


@dataclass(frozen=True, slots=True)
class Affair:
    code: str
    description: str
    basis: str
    functions: frozenset[Function]
    fields: frozenset[str]
    max_candidates: int = 5
    sector: str | None = None  # if set, a sector pseudonym replaces resident_code


@dataclass(frozen=True, slots=True)
class ServingNode:
    """The identity node that provides to a recipient: the national node or a prefecture's."""

    kind: Literal["national", "prefecture"]
    code: str  # "national", or the prefecture's local government code (e.g. 130001)

    @property
    def node_id(self) -> str:
        """The node's name in the directory, e.g. ``prefecture:130001``."""
        return f"{self.kind}:{self.code}"


NATIONAL_NODE = ServingNode("national", "national")


@dataclass(frozen=True, slots=True)
class Recipient:
    code: str
    name: str
    level: Level
    agency: str
    affairs: tuple[Affair, ...]
    served_by: ServingNode  # the one node that provides to it (checked on load)
    local_government: LocalGovernmentCode | None = None  # a prefecture's or municipality's

    def affair(self, affair_code: str) -> Affair | None:
        return next((a for a in self.affairs if a.code == affair_code), None)

    def is_served_by(self, kind: str, code: str) -> bool:
        """Whether the node ``kind:code`` (e.g. ``prefecture``, ``130001``) provides to it."""
        return self.served_by.kind == kind and self.served_by.code == code


@dataclass(frozen=True, slots=True)
class LegalTable:
    version: str
    recipients: tuple[Recipient, ...]

    def served_at(self, kind: str, code: str) -> tuple[Recipient, ...]:
        """The recipients the node ``kind:code`` provides to, in table order."""
        return tuple(r for r in self.recipients if r.is_served_by(kind, code))

    def recipient_for_agency(self, agency_code: str) -> Recipient:
        """The recipient the agency acts for; refused if it is none (R2)."""
        for recipient in self.recipients:
            if recipient.agency == agency_code:
                return recipient
        raise ProvisionRefused(
            f"Agency {agency_code!r} is not a recipient in the legal table (R2); "
            "nothing is provided to it."
        )

    def authorize(
        self,
        agency_code: str,
        affair_code: str,
        function: Function,
        fields: Iterable[str] | None = None,
    ) -> tuple[Recipient, Affair]:
        """The recipient and affair allowing this provision, or ProvisionRefused (R2, R5)."""
        recipient = self.recipient_for_agency(agency_code)
        who = f"{recipient.name} (agency {agency_code!r})"
        affair = recipient.affair(affair_code)
        if affair is None:
            raise ProvisionRefused(
                f"Affair {affair_code!r} is not listed for {who} in the legal table; "
                "provision is refused (R2, R5)."
            )
        if function not in affair.functions:
            allowed = ", ".join(sorted(affair.functions))
            raise ProvisionRefused(
                f"Function {str(function)!r} is not allowed to {who} for affair "
                f"{affair_code!r} (allowed: {allowed}); provision is refused (R2, R5)."
            )
        refused = sorted(set(fields or ()) - affair.fields)
        if refused:
            names = ", ".join(repr(f) for f in refused)
            raise ProvisionRefused(
                f"Field(s) {names} may not be provided to {who} for affair "
                f"{affair_code!r}; provision is refused (R2, R5)."
            )
        return recipient, affair
