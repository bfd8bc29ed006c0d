"""The legal table (別表): what loads, what is refused, and who may receive what."""

from __future__ import annotations

import itertools
import tomllib
from pathlib import Path
from typing import Any

import pytest

import jukinet.legal
from jukinet.domain.legal import (
    R1_FIELDS,
    Function,
    Level,
    ServingNode,
)
from jukinet.domain.legal_parse import (
    load_legal_table,
    load_shipped_legal_table,
    parse_legal_table,
)
from jukinet.errors import AccessDenied, ConfigurationError, LegalTableInvalid, ProvisionRefused

SHIPPED = load_shipped_legal_table()
SHIPPED_PATH = Path(jukinet.legal.__file__).with_name("table.toml")

RECIPIENT = """
[[recipients]]
code = "{code}"
name = "外務大臣"
level = "{level}"
kind = "{kind}"
agency = "{agency}"
{serving}"""

AFFAIR = """
[[recipients.affairs]]
code = "{code}"
description = "旅券の発給に関する事務"
basis = "住民基本台帳法 別表第一"
functions = {functions}
fields = {fields}
"""


def table(*parts: str) -> str:
    return 'version = "2026-04-01"\n' + "".join(parts)


def recipient(
    code: str = "mofa",
    *,
    level: str = "national",
    kind: str = "government",
    agency: str = "",
    served_by: str | None = "national",
    local_government: str | None = None,
) -> str:
    serving = "" if served_by is None else f'served_by = "{served_by}"\n'
    if local_government is not None:
        serving += f'local_government = "{local_government}"\n'
    return RECIPIENT.format(
        code=code, level=level, kind=kind, agency=agency or f"{code}-agency", serving=serving
    )


def affair(
    code: str = "passport-issuance",
    *,
    functions: str = '["verify"]',
    fields: str = '["name", "date_of_birth", "sex", "address"]',
    extra: str = "",
) -> str:
    return AFFAIR.format(code=code, functions=functions, fields=fields) + extra


# --- the shipped table ---------------------------------------------------------------


def test_the_shipped_table_loads_with_the_demo_agencies() -> None:
    agencies = {r.agency for r in SHIPPED.recipients}
    assert {"mofa-passport", "pension-fund", "mutual-aid", "onkyu"} <= agencies
    assert {"tokyo-pref", "osaka-pref"} <= agencies
    assert {r.level for r in SHIPPED.recipients} == set(Level)


def test_the_shipped_table_loads_from_its_file() -> None:
    assert load_legal_table(SHIPPED_PATH) == SHIPPED


def test_every_field_of_every_shipped_affair_is_identity_information_r1() -> None:
    for r in SHIPPED.recipients:
        for a in r.affairs:
            assert a.fields <= R1_FIELDS, (r.code, a.code)
            assert a.functions, (r.code, a.code)


def test_the_shipped_table_names_no_private_party_r4() -> None:
    raw = tomllib.loads(SHIPPED_PATH.read_text(encoding="utf-8"))
    assert {r["kind"] for r in raw["recipients"]} == {"government"}


def test_passport_issuance_only_verifies_r23() -> None:
    _, passport = SHIPPED.authorize("mofa-passport", "passport-issuance", Function.VERIFY)
    assert passport.functions == {Function.VERIFY}
    assert "resident_code" not in passport.fields


def test_the_pension_body_batches_status_under_a_sector_pseudonym_r24() -> None:
    _, affair_ = SHIPPED.authorize(
        "pension-fund",
        "national-pension-status",
        Function.BATCH,
        ["status", "change_reason", "change_date"],
    )
    assert affair_.sector == "pension"
    assert "resident_code" not in affair_.fields


# --- who serves whom (住民基本台帳法 第30条の7 as first enacted) ------------------------

SHIPPED_SERVERS = {
    "mofa": "national:national",
    "jps": "national:national",
    "kkr": "national:national",
    "soumu-onkyu": "national:national",
    "tokyo": "prefecture:130001",
    "osaka": "prefecture:270008",
    "chiyoda": "prefecture:130001",  # a municipal body: the prefecture of its municipality
}


def test_the_shipped_table_names_the_node_serving_each_recipient_r2() -> None:
    assert {r.code: r.served_by.node_id for r in SHIPPED.recipients} == SHIPPED_SERVERS
    chiyoda = SHIPPED.recipient_for_agency("chiyoda-city")
    assert chiyoda.level is Level.MUNICIPAL and chiyoda.local_government == "131016"
    assert chiyoda.served_by == ServingNode("prefecture", "130001")


def test_a_node_serves_exactly_the_recipients_the_table_routes_to_it() -> None:
    nodes = [("national", "national"), ("prefecture", "130001"), ("prefecture", "270008"),
             ("prefecture", "010006"), ("municipality", "131016")]  # fmt: skip
    for (kind, code), r in itertools.product(nodes, SHIPPED.recipients):
        assert r.is_served_by(kind, code) == (SHIPPED_SERVERS[r.code] == f"{kind}:{code}")
    assert [r.code for r in SHIPPED.served_at("prefecture", "130001")] == ["tokyo", "chiyoda"]
    assert [r.code for r in SHIPPED.served_at("municipality", "131016")] == []
    assert len(SHIPPED.served_at("national", "national")) == 4


def test_prefectural_and_municipal_bodies_parse_with_their_serving_prefecture() -> None:
    parsed = parse_legal_table(
        table(
            recipient(
                "tokyo",
                level="prefectural",
                served_by="prefecture:130001",
                local_government="130001",
            ),
            affair("a"),
            recipient(
                "sapporo",
                level="municipal",
                served_by="prefecture:010006",
                local_government="011002",
            ),
            affair("b"),
        )
    )
    tokyo, sapporo = parsed.recipients
    assert tokyo.served_by.node_id == "prefecture:130001" and tokyo.local_government == "130001"
    assert sapporo.is_served_by("prefecture", "010006")
    assert not sapporo.is_served_by("national", "national")


PREF = {"level": "prefectural", "local_government": "130001"}
CITY = {"level": "municipal", "local_government": "131016"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"served_by": None}, r"recipient 'mofa': 'served_by' must be a non-empty string"),
        (
            {"served_by": "prefecture:130001"},
            r"recipient 'mofa': a national body is served by "
            r"the national node only.*'prefecture:130001'",
        ),
        ({"local_government": "130001"}, r"recipient 'mofa': a national body.*local_government"),
        ({"served_by": "tokyo"}, r"recipient 'mofa': served_by 'tokyo' names no identity node"),
        ({"served_by": "prefecture:13"}, r"recipient 'mofa': served_by 'prefecture:13' names no"),
        ({"served_by": "prefecture:130002"}, r"served_by 'prefecture:130002'.*check digit"),
        ({"served_by": "prefecture:131016"}, r"served_by 'prefecture:131016'.*not a prefecture"),
        ({"served_by": "municipality:131016"}, r"served_by 'municipality:131016' names no"),
        (
            {**PREF, "served_by": "national"},
            r"recipient 'mofa': a prefectural body is served "
            r"by its own prefecture \(prefecture:130001\), not 'national'",
        ),
        (
            {**PREF, "served_by": "prefecture:270008"},
            r"own prefecture \(prefecture:130001\), "
            r"not 'prefecture:270008'",
        ),
        (
            {**PREF, "served_by": "prefecture:130001", "local_government": None},
            r"recipient 'mofa': 'local_government' must be a non-empty string",
        ),
        (
            {**PREF, "served_by": "prefecture:130001", "local_government": "131016"},
            r"recipient 'mofa': a prefectural body.*'131016' is a municipality",
        ),
        (
            {**PREF, "served_by": "prefecture:130001", "local_government": "13000"},
            r"recipient 'mofa': local_government '13000'.*6 digits",
        ),
        (
            {**CITY, "served_by": "national"},
            r"recipient 'mofa': a municipal body is served by "
            r"the prefecture of its municipality \(prefecture:130001\), not 'national'",
        ),
        (
            {**CITY, "served_by": "prefecture:270008"},
            r"prefecture of its municipality "
            r"\(prefecture:130001\), not 'prefecture:270008'",
        ),
        (
            {**CITY, "served_by": "prefecture:130001", "local_government": "130001"},
            r"recipient 'mofa': a municipal body.*'130001' is a prefecture",
        ),
    ],
    ids=[
        "no-served-by",
        "national-served-by-prefecture",
        "national-with-local-government",
        "romaji-name",
        "short-code",
        "bad-check-digit",
        "municipality-as-prefecture",
        "unknown-node-kind",
        "prefectural-served-by-national",
        "prefectural-served-by-another-prefecture",
        "prefectural-without-local-government",
        "prefectural-body-of-a-municipality",
        "malformed-local-government",
        "municipal-served-by-national",
        "municipal-served-by-another-prefecture",
        "municipal-body-of-a-prefecture",
    ],
)
def test_a_recipient_served_by_the_wrong_node_is_refused_on_load(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(LegalTableInvalid, match=message):
        parse_legal_table(table(recipient(**kwargs), affair()))


# --- authorize -----------------------------------------------------------------------


def test_an_allowed_provision_returns_the_recipient_and_affair() -> None:
    recipient_, affair_ = SHIPPED.authorize(
        "tokyo-pref", "tokyo-child-rearing-allowance", Function.SEARCH, ["name", "address"]
    )
    assert recipient_.code == "tokyo"
    assert affair_.code == "tokyo-child-rearing-allowance"


def test_an_agency_outside_the_table_is_refused() -> None:
    with pytest.raises(ProvisionRefused, match=r"'acme-bank' is not a recipient.*\(R2\)"):
        SHIPPED.authorize("acme-bank", "passport-issuance", Function.VERIFY)
    with pytest.raises(ProvisionRefused, match="not a recipient"):
        SHIPPED.recipient_for_agency("acme-bank")


def test_an_affair_not_listed_for_the_agency_is_refused() -> None:
    # the affair exists, but for another recipient
    with pytest.raises(
        ProvisionRefused, match=r"Affair 'national-pension-status' is not listed for 外務大臣"
    ):
        SHIPPED.authorize("mofa-passport", "national-pension-status", Function.LOOKUP)


def test_a_function_the_affair_does_not_allow_is_refused() -> None:
    with pytest.raises(
        ProvisionRefused, match=r"Function 'lookup' is not allowed .* 'passport-issuance'"
    ) as caught:
        SHIPPED.authorize("mofa-passport", "passport-issuance", Function.LOOKUP)
    assert "R5" in str(caught.value)


def test_a_field_the_affair_may_not_receive_is_refused() -> None:
    with pytest.raises(ProvisionRefused, match=r"'resident_code' may not be provided") as caught:
        SHIPPED.authorize(
            "mofa-passport", "passport-issuance", Function.VERIFY, ["name", "resident_code"]
        )
    assert "'name'" not in str(caught.value)


def test_a_refusal_is_an_access_denial_and_a_bad_table_a_configuration_error() -> None:
    assert issubclass(ProvisionRefused, AccessDenied)
    assert issubclass(LegalTableInvalid, ConfigurationError)
    assert ProvisionRefused.code == "provision-refused"
    assert LegalTableInvalid.code == "legal-table-invalid"


# --- parse_legal_table ---------------------------------------------------------------


def test_a_minimal_table_parses() -> None:
    parsed = parse_legal_table(
        table(recipient(), affair(extra='max_candidates = 3\nsector = "passport"\n'))
    )
    (r,) = parsed.recipients
    assert r.level is Level.NATIONAL and r.agency == "mofa-agency"
    (a,) = r.affairs
    assert (a.max_candidates, a.sector) == (3, "passport")
    assert a.functions == frozenset({Function.VERIFY})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (table(recipient(kind="private"), affair()), r"recipient 'mofa'.*R4"),
        (
            table(recipient(), affair(fields='["name", "religion"]')),
            r"'passport-issuance'.*religion.*R1",
        ),
        (
            table(recipient(), affair(functions='["verify", "browse"]')),
            r"'passport-issuance'.*browse",
        ),
        (table(recipient(), affair(functions="[]")), r"'passport-issuance': no functions"),
        (
            table(recipient(level="galactic"), affair()),
            r"recipient 'mofa': unknown level 'galactic'",
        ),
        (
            table(recipient(), affair(), recipient(agency="other"), affair("other")),
            r"recipient 'mofa': duplicate recipient code 'mofa'",
        ),
        (
            table(recipient(), affair(), recipient("mhlw"), affair()),
            r"recipient 'mhlw': duplicate affair code 'passport-issuance'",
        ),
        (
            table(recipient(), affair(), affair()),
            r"recipient 'mofa': duplicate affair code 'passport-issuance'",
        ),
        (
            table(recipient(agency="x"), affair(), recipient("mhlw", agency="x"), affair("b")),
            r"recipient 'mhlw': duplicate agency 'x'",
        ),
        (table(recipient()), r"recipient 'mofa': no affairs"),
        (table(recipient(), affair(extra="fuctions = []\n")), r"unknown key\(s\) fuctions"),
        (table(recipient(), affair(extra="max_candidates = 0\n")), r"max_candidates"),
        (
            table(recipient(), affair(fields='["resident_code"]', extra='sector = "s"\n')),
            r"'passport-issuance'.*pseudonym",
        ),
        ("version = ", r"not valid TOML"),
        ("[[recipients]]\n", r"'version'"),
    ],
    ids=[
        "private-recipient-r4",
        "field-outside-r1",
        "unknown-function",
        "empty-functions",
        "unknown-level",
        "duplicate-recipient",
        "duplicate-affair-across-recipients",
        "duplicate-affair-within-recipient",
        "duplicate-agency",
        "no-affairs",
        "unknown-key",
        "bad-max-candidates",
        "sector-with-resident-code",
        "not-toml",
        "no-version",
    ],
)
def test_a_bad_table_is_refused_naming_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(LegalTableInvalid, match=message):
        parse_legal_table(text)


def test_a_missing_kind_is_refused_r4() -> None:
    text = table(recipient(), affair()).replace('kind = "government"\n', "")
    with pytest.raises(LegalTableInvalid, match="only government bodies"):
        parse_legal_table(text)


def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LegalTableInvalid, match="cannot be read"):
        load_legal_table(tmp_path / "missing.toml")
