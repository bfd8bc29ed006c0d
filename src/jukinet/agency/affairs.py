"""What an agency may do, as data: its affairs of the legal table and, per affair, the
functions it may call and the items each gives it, with the legal basis in words (R2, R5).

    offer = affairs_of(load_shipped_legal_table(), "tokyo-pref")
    offer.affair("tokyo-public-housing").allows("lookup")  # True
    offer.affair("tokyo-public-housing").allows("search")  # False

A console for the agency offers exactly these, and nothing else; the node decides
again on every call (``LegalTable.authorize``), so an offer is never a permission in
itself. The items are those of the answer as the node builds it
(``jukinet.domain.provision.provided_fields``): an affair with a sector receives the
sector pseudonym instead of the resident code (R4); a verify receives no item, only
whether each of the four items the agency sends agrees with the register (R23).
"""

from __future__ import annotations

from dataclasses import dataclass

from jukinet.domain import provision as policy
from jukinet.domain.legal import Affair, Function, LegalTable
from jukinet.network.messages import MAX_CANDIDATES

__all__ = ["ITEM_NAMES", "AffairOffer", "AgencyOffer", "FunctionOffer", "affairs_of"]

FUNCTION_ORDER = (Function.LOOKUP, Function.VERIFY, Function.SEARCH, Function.BATCH)

FUNCTION_NAMES = {
    Function.LOOKUP: "照会 (lookup by resident code)",
    Function.VERIFY: "照合 (verify: match / no match per item, no data)",
    Function.SEARCH: "検索 (search by the four items)",
    Function.BATCH: "一括照会 (batch: status of many resident codes)",
}

ITEM_NAMES = {
    "resident_code": "住民票コード",
    "pseudonym": "仮名 (sector pseudonym)",
    "name": "氏名",
    "date_of_birth": "生年月日",
    "sex": "性別",
    "address": "住所",
    "status": "状態",
    "change_reason": "異動事由",
    "change_date": "異動年月日",
}


@dataclass(frozen=True, slots=True)
class FunctionOffer:
    """One function of one affair: what the agency sends and what it receives."""

    function: Function
    name: str
    receives: tuple[str, ...]
    """The items of the answer, in the answer's order; empty for a verify."""
    compares: tuple[str, ...] = ()
    """For a verify, the items compared with the register (match / no match each)."""
    max_candidates: int | None = None
    """For a search, at most this many candidates."""


@dataclass(frozen=True, slots=True)
class AffairOffer:
    code: str
    description: str
    basis: str
    functions: tuple[FunctionOffer, ...]
    sector: str | None

    def allows(self, function: str) -> bool:
        return any(f.function == function for f in self.functions)

    def function(self, function: str) -> FunctionOffer | None:
        return next((f for f in self.functions if f.function == function), None)


@dataclass(frozen=True, slots=True)
class AgencyOffer:
    """Everything the legal table lets one agency do, affair by affair (table order)."""

    agency: str
    recipient: str
    recipient_name: str
    level: str
    served_by: str
    """The node that serves it (e.g. ``national:national``, ``prefecture:130001``)."""
    table_version: str
    affairs: tuple[AffairOffer, ...]

    def affair(self, code: str) -> AffairOffer | None:
        return next((a for a in self.affairs if a.code == code), None)

    def allows(self, affair: str, function: str) -> bool:
        offer = self.affair(affair)
        return offer is not None and offer.allows(function)


def _offer(affair: Affair) -> AffairOffer:
    received = policy.provided_fields(affair)
    functions = []
    for function in FUNCTION_ORDER:
        if function not in affair.functions:
            continue
        if function is Function.VERIFY:
            offer = FunctionOffer(function, FUNCTION_NAMES[function], (), policy.VERIFY_ITEMS)
        elif function is Function.SEARCH:
            limit = policy.candidate_limit(affair, MAX_CANDIDATES)
            offer = FunctionOffer(function, FUNCTION_NAMES[function], received, (), limit)
        else:
            offer = FunctionOffer(function, FUNCTION_NAMES[function], received)
        functions.append(offer)
    return AffairOffer(affair.code, affair.description, affair.basis, tuple(functions),
                       affair.sector)  # fmt: skip


def affairs_of(table: LegalTable, agency: str) -> AgencyOffer:
    """What ``agency`` (its code, e.g. ``pension-fund``) may do under ``table``, or
    ``ProvisionRefused`` if it is no recipient of the table (R2)."""
    recipient = table.recipient_for_agency(agency)
    return AgencyOffer(
        agency=agency,
        recipient=recipient.code,
        recipient_name=recipient.name,
        level=str(recipient.level),
        served_by=recipient.served_by.node_id,
        table_version=table.version,
        affairs=tuple(_offer(a) for a in recipient.affairs),
    )
