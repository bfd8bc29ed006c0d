"""Rows <-> domain objects, and JSON snapshots for the history tables."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any

from jukinet.domain.codes import LocalGovernmentCode, ResidentCode
from jukinet.domain.identity import Sex
from jukinet.domain.record import Address, Household, Name, ResidentRecord

_DATE_FIELDS = (
    "date_of_birth",
    "became_resident_on",
    "address_fixed_on",
    "notified_on",
    "entry_date",
    "identity_changed_on",
    "removal_date",
    "dissolved_on",
)


def _address_row(a: Address) -> dict[str, Any]:
    return {
        "lg_code": a.municipality_code,
        "municipality_name": a.municipality_name,
        "town": a.town,
        "block": a.block,
        "building": a.building,
    }


def _address(row: Mapping[Any, Any]) -> Address:
    return Address(
        LocalGovernmentCode(row["lg_code"]),
        row["municipality_name"],
        row["town"],
        row["block"],
        row["building"],
    )


def record_row(r: ResidentRecord) -> dict[str, Any]:
    return {
        "person_id": r.person_id,
        "resident_code": r.resident_code,
        "family_name": r.name.family,
        "given_name": r.name.given,
        "family_kana": r.name.family_kana,
        "given_kana": r.name.given_kana,
        "date_of_birth": r.date_of_birth,
        "sex": r.sex.value,
        "household_id": r.household_id,
        "relationship": r.relationship,
        **_address_row(r.address),
        "domicile": r.domicile,
        "domicile_head": r.domicile_head,
        "became_resident_on": r.became_resident_on,
        "address_fixed_on": r.address_fixed_on,
        "notified_on": r.notified_on,
        "previous_address": r.previous_address,
        "entry_reason": r.entry_reason,
        "entry_date": r.entry_date,
        "identity_changed_by": r.identity_changed_by,
        "identity_changed_on": r.identity_changed_on,
        "removal_reason": r.removal_reason,
        "removal_date": r.removal_date,
        "destination": r.destination,
        "version": r.version,
    }


def record(row: Mapping[Any, Any]) -> ResidentRecord:
    return ResidentRecord(
        person_id=row["person_id"],
        resident_code=ResidentCode(row["resident_code"]),
        name=Name(row["family_name"], row["given_name"], row["family_kana"], row["given_kana"]),
        date_of_birth=row["date_of_birth"],
        sex=Sex(row["sex"]),
        household_id=row["household_id"],
        relationship=row["relationship"],
        address=_address(row),
        domicile=row["domicile"],
        domicile_head=row["domicile_head"],
        became_resident_on=row["became_resident_on"],
        address_fixed_on=row["address_fixed_on"],
        notified_on=row["notified_on"],
        previous_address=row["previous_address"],
        entry_reason=row["entry_reason"],
        entry_date=row["entry_date"],
        identity_changed_by=row["identity_changed_by"],
        identity_changed_on=row["identity_changed_on"],
        removal_reason=row["removal_reason"],
        removal_date=row["removal_date"],
        destination=row["destination"],
        version=row["version"],
    )


def household_row(h: Household) -> dict[str, Any]:
    return {
        "household_id": h.household_id,
        "head_person_id": h.head_person_id,
        **_address_row(h.address),
        "dissolved_on": h.dissolved_on,
        "version": h.version,
    }


def household(row: Mapping[Any, Any]) -> Household:
    return Household(
        household_id=row["household_id"],
        head_person_id=row["head_person_id"],
        address=_address(row),
        dissolved_on=row["dissolved_on"],
        version=row["version"],
    )


def to_json(row: Mapping[Any, Any]) -> str:
    return json.dumps(
        {k: v.isoformat() if isinstance(v, date) else v for k, v in row.items()},
        ensure_ascii=False,
        sort_keys=True,
    )


def from_json(text: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(text)
    for k in _DATE_FIELDS:
        if data.get(k):
            data[k] = date.fromisoformat(data[k])
    return data
