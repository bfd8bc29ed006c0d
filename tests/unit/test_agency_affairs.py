"""What an agency may do, as the legal table says (R2, R5, R23): the affairs, functions
and items its console offers, and nothing else."""

from __future__ import annotations

import pytest

from jukinet.agency.affairs import affairs_of
from jukinet.domain.legal_parse import load_shipped_legal_table
from jukinet.errors import ProvisionRefused

TABLE = load_shipped_legal_table()


def test_a_body_with_one_affair_is_offered_its_verify_and_no_item() -> None:
    """R23: the passport office only confirms what the applicant wrote."""
    offer = affairs_of(TABLE, "mofa-passport")
    assert offer.recipient_name == "外務大臣" and offer.served_by == "national:national"
    assert [a.code for a in offer.affairs] == ["passport-issuance"]
    (affair,) = offer.affairs
    assert "第30条の9" in affair.basis and "旅券法" in affair.basis
    assert [f.function for f in affair.functions] == ["verify"]
    verify = affair.functions[0]
    assert verify.receives == () and verify.compares == ("name", "date_of_birth", "sex", "address")
    for function in ("lookup", "search", "batch"):
        assert not offer.allows("passport-issuance", function)


def test_a_body_with_many_affairs_gets_each_affair_s_own_functions_and_items() -> None:
    """R2, R5: Tokyo's three affairs each allow different functions and items."""
    offer = affairs_of(TABLE, "tokyo-pref")
    assert offer.served_by == "prefecture:130001" and offer.level == "prefectural"
    by_code = {a.code: a for a in offer.affairs}
    assert list(by_code) == [
        "tokyo-passport-issuance", "tokyo-child-rearing-allowance", "tokyo-public-housing",
    ]  # fmt: skip
    allowance = by_code["tokyo-child-rearing-allowance"]
    assert [f.function for f in allowance.functions] == ["lookup", "search"]
    search = allowance.function("search")
    assert search is not None and search.max_candidates == 5
    assert search.receives[0] == "resident_code" and "date_of_birth" in search.receives
    housing = by_code["tokyo-public-housing"]
    assert [f.function for f in housing.functions] == ["lookup"]
    lookup = housing.function("lookup")
    assert lookup is not None and "date_of_birth" not in lookup.receives
    assert "sex" not in lookup.receives and "公営住宅法" in housing.basis
    assert not offer.allows("tokyo-public-housing", "batch")
    assert not offer.allows("passport-issuance", "verify")  # the national body's, not Tokyo's


def test_an_affair_with_a_sector_receives_the_pseudonym_not_the_resident_code() -> None:
    """R4: the pension fund's answers carry the sector pseudonym."""
    offer = affairs_of(TABLE, "pension-fund")
    batch = offer.affairs[0].function("batch")
    assert batch is not None and batch.receives[0] == "pseudonym"
    assert "resident_code" not in batch.receives


def test_an_agency_not_in_the_table_is_offered_nothing() -> None:
    with pytest.raises(ProvisionRefused, match="not a recipient"):
        affairs_of(TABLE, "a-private-company")
