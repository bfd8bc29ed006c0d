"""The policy of provision to administrative bodies (R2, R5, R23, R24), without I/O.

What an identity node decides before and after it reads its database: whether it
serves the recipient at all (the legal table names the serving node of each
recipient, ``jukinet.domain.legal``), which fields an affair's answer holds and in
which order, how search candidates rank, how a verify compares, and how the lines of
a batch file parse. The use cases are ``jukinet.nodes.identity.provision``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from jukinet.domain.codes import ResidentCode, parse_resident_code
from jukinet.domain.identity import IdentityInfo
from jukinet.domain.legal import Affair, Function, Recipient
from jukinet.domain.names import fold
from jukinet.errors import InvalidInput, InvalidResidentCode, JukinetError, ProvisionRefused

__all__ = [
    "FIELD_ORDER",
    "MAX_BATCH_LINE",
    "VERIFY_ITEMS",
    "BatchItem",
    "HeldIdentity",
    "VerifyItem",
    "batch_text",
    "candidate_limit",
    "check_served",
    "logged_fields",
    "parse_batch",
    "parse_batch_line",
    "provided_fields",
    "rank",
    "score",
    "search_key",
    "values",
    "verify_matches",
]

# The order in which a provided record lists its fields.
FIELD_ORDER: tuple[str, ...] = (
    "resident_code", "pseudonym", "name", "date_of_birth", "sex", "address", "status",
    "change_reason", "change_date",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class HeldIdentity:
    """One person's identity information as an identity node holds it now.

    ``identity`` carries the current resident code and the R1 items; ``person_key``
    is the node's own link between the codes the person has held (never provided);
    the folded name and address are what search and verify compare.
    """

    identity: IdentityInfo
    status: str
    person_key: str
    name_folded: str
    address_folded: str

    @property
    def resident_code(self) -> ResidentCode:
        return self.identity.resident_code


# --- who serves whom ---------------------------------------------------------------


def check_served(recipient: Recipient, kind: str, code: str) -> None:
    """ProvisionRefused unless the node ``kind:code`` serves ``recipient`` (R2).

    The legal table names the one node that serves each recipient (``served_by``).
    """
    if not recipient.is_served_by(kind, code):
        raise ProvisionRefused(
            f"{recipient.name} ({recipient.level} level) is not served by {kind}:{code}; "
            f"the legal table names {recipient.served_by.node_id} as the node that serves it."
        )


# --- what an answer holds -------------------------------------------------------------


def provided_fields(affair: Affair) -> tuple[str, ...]:
    """The fields of ``affair``'s answer, in ``FIELD_ORDER``; with a sector, the sector
    pseudonym comes first and replaces the resident code (R4, R5)."""
    fields = [f for f in FIELD_ORDER if f in affair.fields and f != "pseudonym"]
    if affair.sector is not None:
        fields = ["pseudonym", *(f for f in fields if f != "resident_code")]
    return tuple(fields)


def logged_fields(function: Function, fields: Sequence[str]) -> str:
    """What a provision row records as given: nothing for a verify (R23)."""
    return "" if function is Function.VERIFY else ",".join(fields)


def values(person: HeldIdentity, fields: Sequence[str], pseudonym: str | None) -> dict[str, str]:
    """The person's ``fields`` as text (dates in ISO form); ``pseudonym`` if listed."""
    info = person.identity
    out: dict[str, str] = {}
    for f in fields:
        if f == "pseudonym":
            assert pseudonym is not None, "an affair with a sector needs the pseudonym"
            out[f] = pseudonym
        elif f == "status":
            out[f] = person.status
        else:
            value = getattr(info, f)
            out[f] = value.isoformat() if isinstance(value, date) else str(value)
    return out


# --- search by the 4 items --------------------------------------------------------------


def search_key(name: str) -> str:
    """The folded name candidates must have, or InvalidInput if nothing is left."""
    folded = fold(name)
    if not folded:
        raise InvalidInput("The name to search for is empty once spaces are removed.")
    return folded


def candidate_limit(affair: Affair, cap: int) -> int:
    """The most candidates a search returns: the affair's limit, never above ``cap``."""
    return min(affair.max_candidates, cap)


def score(
    person: HeldIdentity, *, date_of_birth: date | None, sex: str | None, address: str
) -> float:
    """Share of the 4 items that match; the name always does (it is how candidates are
    found). ``address`` is folded and matches as a prefix or a part."""
    points = 1.0
    if date_of_birth is not None and person.identity.date_of_birth == date_of_birth:
        points += 1
    if sex is not None and person.identity.sex == sex:
        points += 1
    if address and (person.address_folded.startswith(address) or address in person.address_folded):
        points += 1
    return points / 4


def rank(
    people: Iterable[HeldIdentity],
    *,
    date_of_birth: date | None,
    sex: str | None,
    address: str | None,
    limit: int,
) -> list[tuple[float, HeldIdentity]]:
    """The best ``limit`` candidates with their scores: highest score first, residents
    before removed identities at equal score, then by resident code."""
    folded = fold(address) if address else ""
    scored = ((score(p, date_of_birth=date_of_birth, sex=sex, address=folded), p) for p in people)
    return sorted(scored, key=lambda sp: (-sp[0], sp[1].status != "resident", sp[1].resident_code))[
        :limit
    ]


# --- verify: match without disclosure (R23) ---------------------------------------------

VerifyItem = Literal["name", "date_of_birth", "sex", "address"]
VERIFY_ITEMS: tuple[VerifyItem, ...] = ("name", "date_of_birth", "sex", "address")


def verify_matches(
    person: HeldIdentity, *, name: str, date_of_birth: date, sex: str, address: str
) -> dict[VerifyItem, bool]:
    """Per item, whether what the applicant wrote agrees (name and address folded)."""
    return {
        "name": person.name_folded == fold(name),
        "date_of_birth": person.identity.date_of_birth == date_of_birth,
        "sex": person.identity.sex == sex,
        "address": person.address_folded == fold(address),
    }


# --- batch lines (R24) ------------------------------------------------------------------

BatchItem = tuple[int, ResidentCode | None, str | None]  # row, code, error

# The longest batch line read, in bytes (without its line break). A row holds one
# resident code (11 digits) or a JSON object with a "resident_code" string: under 100
# bytes even with quotes, spaces and a few extra keys, so 1,024 is ten times generous.
# A longer line is refused by its length before it is decoded or parsed, so a hostile
# line costs at most this much memory and its row error never echoes it.
MAX_BATCH_LINE = 1024
_PREVIEW = 10  # characters of a wrong value shown in its row error


def _preview(value: str) -> str:
    """The first few characters of a wrong value, printable, for a row error."""
    shown = "".join(c if c.isprintable() else "?" for c in value[:_PREVIEW])
    return repr(shown + ("…" if len(value) > _PREVIEW else ""))


def batch_text(line: bytes | str) -> str:
    """One batch line as text, without line break, surrounding spaces or BOM.

    InvalidInput if it is longer than ``MAX_BATCH_LINE`` bytes, holds a NUL byte (a
    binary file) or is not UTF-8. A ``str`` line is measured by its UTF-8 form.
    """
    if isinstance(line, str):
        if len(line) > MAX_BATCH_LINE + 2:  # a character is at least one byte
            raise _too_long()
        try:
            line = line.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput("the line is not UTF-8 text (it holds a lone surrogate)") from None
    raw = line.rstrip(b"\r\n")
    if len(raw) > MAX_BATCH_LINE:
        raise _too_long()
    if b"\x00" in raw:
        raise InvalidInput("the line holds binary data (a NUL byte), not text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"the line is not UTF-8 text (byte {exc.start + 1})") from None
    return text.strip().lstrip("\ufeff").strip()


def _too_long() -> InvalidInput:
    return InvalidInput(
        f"the line is longer than {MAX_BATCH_LINE:,} bytes; a row holds one resident code"
    )


def _code(value: str) -> ResidentCode:
    """``value`` as a resident code; a wrong value is shown by its first characters."""
    digits = value.strip()
    if len(digits) != 11 or not digits.isascii() or not digits.isdigit():
        raise InvalidResidentCode(
            f"a resident code has exactly 11 digits; {_preview(digits)} is not one"
        )
    return parse_resident_code(digits)  # now only the check digit can be wrong


def _parse_text(text: str) -> ResidentCode:
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"not valid JSON ({exc.msg})") from None
        except (ValueError, RecursionError):
            raise InvalidInput("not valid JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("resident_code"), str):
            raise InvalidInput('a JSON line must be an object with a "resident_code" string')
        return _code(data["resident_code"])
    try:
        cells = next(csv.reader([text]), [])
    except csv.Error:
        raise InvalidInput("not a CSV line (a stray quote or line break)") from None
    if len(cells) != 1:
        raise InvalidInput(f"expected one column (resident_code), got {len(cells)}")
    return _code(cells[0])


def parse_batch_line(line: bytes | str) -> ResidentCode:
    """The resident code on one CSV or JSON line, or InvalidInput (with a short reason
    that shows at most a few characters of the line, whatever it holds)."""
    return _parse_text(batch_text(line))


def _plain_code(line: bytes | str) -> ResidentCode | None:
    """``line`` as a code if it is exactly 11 ASCII digits with the right check digit
    and a line break, else None (the full parser then decides). Written out by hand:
    a batch parses millions of lines, and the general path (decoding, stripping, CSV
    or JSON, ``parse_resident_code``) cost it about 5 µs a line."""
    if line.__class__ is not bytes or len(line) > 13:
        return None
    raw = line.rstrip(b"\r\n")
    if len(raw) != 11 or not raw.isdigit():  # bytes.isdigit: ASCII digits only
        return None
    # The modulus-11 check digit (codes.resident_code_check_digit): weights 2..7, 2..5
    # from the rightmost body digit leftwards; each byte is its digit plus 48.
    total = (raw[9] * 2 + raw[8] * 3 + raw[7] * 4 + raw[6] * 5 + raw[5] * 6 + raw[4] * 7
             + raw[3] * 2 + raw[2] * 3 + raw[1] * 4 + raw[0] * 5 - 48 * 41) % 11  # fmt: skip
    if raw[10] - 48 != (0 if total <= 1 else 11 - total):
        return None
    return ResidentCode(raw.decode("ascii"))


def parse_batch(lines: Iterable[bytes | str], first_row: int = 1) -> Iterator[BatchItem]:
    """(row, code, error) per non-blank line; row is the 1-based line number in the file.

    Never raises: a line too long, binary, not UTF-8 or not a code is one error item,
    and the lines after it are parsed as usual. A client sends a large file in chunks;
    ``first_row`` is the line number of the chunk's first line. A first line
    ``resident_code`` of the file is a CSV header.
    """
    first = first_row == 1
    for row, line in enumerate(lines, first_row):
        code = _plain_code(line)
        if code is not None:  # the common line, without decoding or parsing it
            first = False
            yield row, code, None
            continue
        try:
            text = batch_text(line)
            if not text:
                continue
            if first:
                first = False
                if text.strip('"').lower() == "resident_code":
                    continue
            yield row, _parse_text(text), None
        except JukinetError as exc:
            first = False
            yield row, None, f"row {row}: {exc.message}"
