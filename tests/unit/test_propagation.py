"""Which record changes become identity updates for the prefecture (R1, R22): the domain decides."""

from __future__ import annotations

from datetime import date

from jukinet.domain.codes import LocalGovernmentCode, ResidentCode, generate_resident_code
from jukinet.domain.identity import Sex
from jukinet.domain.propagation import IdentityChanged, identity_changes
from jukinet.domain.record import HEAD, Address, Name, ResidentRecord

ON = date(2026, 11, 30)


def record(code: ResidentCode | None = None) -> ResidentRecord:
    born = date(1980, 4, 1)
    return ResidentRecord(
        person_id="p1",
        resident_code=code or generate_resident_code(),
        name=Name("山田", "太郎", "ヤマダ", "タロウ"),
        date_of_birth=born,
        sex=Sex.MALE,
        household_id=1,
        relationship=HEAD,
        address=Address(LocalGovernmentCode("131016"), "東京都千代田区", "神田", "一丁目1番1号"),
        domicile="東京都千代田区神田一丁目1番",
        domicile_head="山田 太郎",
        became_resident_on=born,
        address_fixed_on=born,
        notified_on=born,
        previous_address="",
        entry_reason="birth",
        entry_date=born,
        identity_changed_by="birth",
        identity_changed_on=born,
    )


def test_a_new_record_is_one_identity_change_without_a_previous_code() -> None:
    new = record()
    assert identity_changes([new], {}) == [IdentityChanged(new, None)]


def test_a_change_of_domicile_or_relationship_only_stays_in_the_municipality() -> None:
    old = record()
    new = old.evolve("correction", ON, domicile="大阪府大阪市北区", relationship="子")
    assert identity_changes([new], {old.person_id: old}) == []


def test_a_move_within_the_municipality_is_an_identity_change() -> None:
    old = record()
    moved = Address(LocalGovernmentCode("131016"), "東京都千代田区", "神田神保町", "二丁目3番4号")
    new = old.evolve("move-within", ON, address=moved)
    assert identity_changes([new], {old.person_id: old}) == [IdentityChanged(new, None)]


def test_removal_changes_the_status_and_so_the_identity_information() -> None:
    old = record()
    new = old.evolve("death", ON, removal_reason="death", removal_date=ON)
    assert identity_changes([new], {old.person_id: old}) == [IdentityChanged(new, None)]


def test_a_code_change_carries_the_retired_code_as_the_previous_code() -> None:
    old = record()
    new = old.evolve("code-change", ON, resident_code=generate_resident_code())
    assert identity_changes([new], {old.person_id: old}) == [
        IdentityChanged(new, old.resident_code)
    ]
