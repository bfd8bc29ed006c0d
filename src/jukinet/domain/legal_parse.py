"""Reading the legal table (別表) from TOML, and checking it on load (R2, R4, R5).

TOML format::

    version = "2026-04-01"            # the table's version, recorded with each provision

    [[recipients]]
    code = "mofa"                     # recipient code, unique
    name = "外務大臣"
    level = "national"                # national | prefectural | municipal
    kind = "government"               # must be "government" (R4)
    agency = "mofa-passport"          # the network client acting for it ("agency:<agency>"), unique
    served_by = "national"            # the node that provides to it: "national" or
                                      # "prefecture:<the prefecture's local government code>"
    local_government = "130001"       # prefectural and municipal bodies: whose body it is

    [[recipients.affairs]]
    code = "passport-issuance"        # unique across the whole table
    description = "旅券の発給に関する事務"
    basis = "住民基本台帳法 別表第一"
    functions = ["verify"]            # lookup | search | verify | batch, at least one
    fields = ["name", "date_of_birth", "sex", "address"]   # a subset of R1
    max_candidates = 5                # optional: most candidates a search returns
    sector = "passport"               # optional: a sector pseudonym replaces resident_code

Unknown keys are refused, so that a misspelt key never silently widens or narrows
what a body receives.

Who serves whom is checked against the routes of the law (住民基本台帳法 第30条の7
as first enacted): a national body is served by the national node (第3項, 別表第一),
a prefecture's own bodies by that prefecture (別表第五), and the bodies of a
municipality by the prefecture of that municipality (第4項, 別表第二).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

from jukinet.domain.codes import (
    LocalGovernmentCode,
    parse_local_government_code,
    prefecture_code_of,
)
from jukinet.domain.legal import (
    NATIONAL_NODE,
    R1_FIELDS,
    Affair,
    Function,
    LegalTable,
    Level,
    Recipient,
    ServingNode,
)
from jukinet.errors import JukinetError, LegalTableInvalid

__all__ = ["load_legal_table", "load_shipped_legal_table", "parse_legal_table"]


_RECIPIENT_KEYS = frozenset(
    {"code", "name", "level", "kind", "agency", "affairs", "served_by", "local_government"}
)
_AFFAIR_KEYS = frozenset(
    {"code", "description", "basis", "functions", "fields", "max_candidates", "sector"}
)


def _text(item: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = item.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise LegalTableInvalid(f"{where}: {key!r} must be a non-empty string.")
    return value


def _strings(item: Mapping[str, Any], key: str, where: str) -> list[str]:
    value = item.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise LegalTableInvalid(f"{where}: {key!r} must be a list of strings.")
    return value


def _no_unknown_keys(item: Mapping[str, Any], known: frozenset[str], where: str) -> None:
    unknown = sorted(set(item) - known)
    if unknown:
        raise LegalTableInvalid(f"{where}: unknown key(s) {', '.join(unknown)}.")


def _affair(item: Any, where: str) -> Affair:
    if not isinstance(item, dict):
        raise LegalTableInvalid(f"{where}: each affair must be a table.")
    code = _text(item, "code", where)
    where = f"{where}, affair {code!r}"
    _no_unknown_keys(item, _AFFAIR_KEYS, where)
    names = _strings(item, "functions", where)
    if not names:
        raise LegalTableInvalid(f"{where}: no functions are listed.")
    unknown = sorted(set(names) - {f.value for f in Function})
    if unknown:
        raise LegalTableInvalid(f"{where}: unknown function(s) {', '.join(unknown)}.")
    fields = frozenset(_strings(item, "fields", where))
    outside = sorted(fields - R1_FIELDS)
    if outside:
        raise LegalTableInvalid(
            f"{where}: field(s) {', '.join(outside)} are not identity confirmation "
            "information (R1) and may never be provided."
        )
    max_candidates = item.get("max_candidates", 5)
    if type(max_candidates) is not int or max_candidates < 1:
        raise LegalTableInvalid(f"{where}: 'max_candidates' must be a positive integer.")
    sector = _text(item, "sector", where, required=False) or None
    if sector is not None and "resident_code" in fields:
        raise LegalTableInvalid(
            f"{where}: receives the sector pseudonym {sector!r} instead of the resident "
            "code, so 'resident_code' may not be among its fields."
        )
    return Affair(
        code=code,
        description=_text(item, "description", where),
        basis=_text(item, "basis", where),
        functions=frozenset(Function(n) for n in names),
        fields=fields,
        max_candidates=max_candidates,
        sector=sector,
    )


def _recipient(item: Any, index: int) -> Recipient:
    if not isinstance(item, dict):
        raise LegalTableInvalid(f"Legal table: recipient #{index} must be a table.")
    code = _text(item, "code", f"Legal table: recipient #{index}")
    where = f"Legal table: recipient {code!r}"
    _no_unknown_keys(item, _RECIPIENT_KEYS, where)
    kind = item.get("kind")
    if kind != "government":
        raise LegalTableInvalid(
            f"{where}: kind is {kind!r}; only government bodies may receive identity "
            "information (R4: the network serves no private party)."
        )
    level = _text(item, "level", where)
    if level not in {v.value for v in Level}:
        raise LegalTableInvalid(f"{where}: unknown level {level!r}.")
    affairs = item.get("affairs")
    if not isinstance(affairs, list) or not affairs:
        raise LegalTableInvalid(f"{where}: no affairs are listed.")
    served_by, government = _serving(item, Level(level), where)
    return Recipient(
        code=code,
        name=_text(item, "name", where),
        level=Level(level),
        agency=_text(item, "agency", where),
        affairs=tuple(_affair(a, where) for a in affairs),
        served_by=served_by,
        local_government=government,
    )


def _node(text: str, where: str) -> ServingNode:
    """``national`` or ``prefecture:<a prefecture's local government code>``."""
    if text == "national":
        return NATIONAL_NODE
    kind, _, code = text.partition(":")
    if kind != "prefecture" or len(code) != 6 or not code.isascii() or not code.isdigit():
        raise LegalTableInvalid(
            f'{where}: served_by {text!r} names no identity node; write "national" or '
            '"prefecture:" and the prefecture\'s local government code (e.g. "prefecture:130001").'
        )
    try:
        parsed = parse_local_government_code(code)
    except JukinetError as exc:
        raise LegalTableInvalid(f"{where}: served_by {text!r}: {exc.message}") from None
    if parsed != prefecture_code_of(parsed):
        raise LegalTableInvalid(
            f"{where}: served_by {text!r}: {code} is not a prefecture's code "
            f"(its prefecture is {prefecture_code_of(parsed)})."
        )
    return ServingNode("prefecture", parsed)


def _government(item: Mapping[str, Any], level: Level, where: str) -> LocalGovernmentCode:
    """The local government whose body a prefectural or municipal recipient is."""
    text = _text(item, "local_government", where)
    try:
        code = parse_local_government_code(text)
    except JukinetError as exc:
        raise LegalTableInvalid(f"{where}: local_government {text!r}: {exc.message}") from None
    kinds = ("a prefecture", "a municipality")
    if (code == prefecture_code_of(code)) != (level is Level.PREFECTURAL):
        belongs, actual = kinds if level is Level.PREFECTURAL else kinds[::-1]
        raise LegalTableInvalid(
            f"{where}: a {level} body belongs to {belongs}, but local_government "
            f"{code!r} is {actual}."
        )
    return code


def _serving(
    item: Mapping[str, Any], level: Level, where: str
) -> tuple[ServingNode, LocalGovernmentCode | None]:
    """The node serving the recipient, checked against the route the law gives it."""
    node = _node(_text(item, "served_by", where), where)
    given = repr(item["served_by"])
    if level is Level.NATIONAL:
        if "local_government" in item:
            raise LegalTableInvalid(
                f"{where}: a national body belongs to no local government; "
                "remove 'local_government'."
            )
        if node != NATIONAL_NODE:
            raise LegalTableInvalid(
                f"{where}: a national body is served by the national node only "
                f"(住民基本台帳法 別表第一), not {given}."
            )
        return node, None
    government = _government(item, level, where)
    prefecture = ServingNode("prefecture", prefecture_code_of(government))
    if node != prefecture:
        rule = (
            "a prefectural body is served by its own prefecture"
            if level is Level.PREFECTURAL
            else "a municipal body is served by the prefecture of its municipality"
        )
        basis = "別表第五" if level is Level.PREFECTURAL else "別表第二"
        raise LegalTableInvalid(
            f"{where}: {rule} ({prefecture.node_id}), not {given} (住民基本台帳法 {basis})."
        )
    return node, government


def parse_legal_table(text: str) -> LegalTable:
    """Parse and check a legal table; LegalTableInvalid names what is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LegalTableInvalid(f"Legal table: not valid TOML ({exc}).") from None
    _no_unknown_keys(data, frozenset({"version", "recipients"}), "Legal table")
    version = _text(data, "version", "Legal table")
    items = data.get("recipients", [])
    if not isinstance(items, list):
        raise LegalTableInvalid("Legal table: 'recipients' must be an array of tables.")
    recipients = tuple(_recipient(item, i + 1) for i, item in enumerate(items))
    seen: dict[str, set[str]] = {"recipient code": set(), "agency": set(), "affair code": set()}
    for r in recipients:
        keys = [("recipient code", r.code), ("agency", r.agency)]
        keys += [("affair code", a.code) for a in r.affairs]
        for kind, value in keys:
            if value in seen[kind]:
                raise LegalTableInvalid(
                    f"Legal table: recipient {r.code!r}: duplicate {kind} {value!r}."
                )
            seen[kind].add(value)
    return LegalTable(version=version, recipients=recipients)


def load_legal_table(path: Path) -> LegalTable:
    """Read and check the legal table at path."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LegalTableInvalid(f"Legal table {path} cannot be read ({exc}).") from None
    return parse_legal_table(text)


def load_shipped_legal_table() -> LegalTable:
    """The legal table shipped with jukinet (``jukinet/legal/table.toml``)."""
    return parse_legal_table(
        files("jukinet.legal").joinpath("table.toml").read_text(encoding="utf-8")
    )
