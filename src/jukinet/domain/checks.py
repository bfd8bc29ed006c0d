"""Field-level checks shared by the rules; each raises one clear error."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from jukinet.domain.codes import LocalGovernmentCode, parse_local_government_code
from jukinet.domain.identity import Sex
from jukinet.domain.record import HEAD, RELATIONSHIPS, Address, Name, ResidentRecord
from jukinet.errors import EventRefused, InvalidDate, InvalidInput

# Readings are written in full-width katakana, with the long-vowel mark and spaces.
_KATAKANA = re.compile(r"^[\u30a1-\u30f6\u30fc\u30fb\u3000 ]+$")
MAX_NAME_LENGTH = 40


def not_future(day: date, today: date, what: str) -> None:
    if day > today:
        raise InvalidDate(f"The {what} ({day}) is in the future.")


def notified_after(notified: date, happened: date, today: date) -> None:
    not_future(notified, today, "notification date")
    if notified < happened:
        raise InvalidDate(f"The notification ({notified}) cannot precede the event ({happened}).")


def text(value: str, what: str) -> str:
    cleaned = value.strip()
    if not cleaned:
        raise InvalidInput(f"The {what} is empty.")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise InvalidInput(f"The {what} is longer than {MAX_NAME_LENGTH} characters.")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn") for c in cleaned):
        raise InvalidInput(f"The {what} contains a character that cannot be recorded.")
    return cleaned


def kana(value: str, what: str) -> str:
    if not _KATAKANA.match(value):
        raise InvalidInput(f"The {what} must be written in full-width katakana; got {value!r}.")
    return value


def name(n: Name) -> None:
    text(n.family, "family name")
    text(n.given, "given name")
    kana(n.family_kana, "reading of the family name")
    kana(n.given_kana, "reading of the given name")


def relationship(value: str, *, allow_head: bool) -> None:
    if value not in RELATIONSHIPS:
        raise InvalidInput(f"{value!r} is not a relationship (続柄) the register knows.")
    if value == HEAD and not allow_head:
        raise EventRefused("Only the head of household is recorded as 世帯主.")


def address_in(address: Address, municipality: LocalGovernmentCode) -> None:
    parse_local_government_code(address.municipality_code)
    if address.municipality_code != municipality:
        raise EventRefused(
            f"The address lies in municipality {address.municipality_code}, "
            f"not in this one ({municipality})."
        )
    if address.town:  # a few villages have no towns: 小菅村1234番地
        text(address.town, "town of the address")
    text(address.block, "block number of the address")


def other_municipality(code: str, municipality: LocalGovernmentCode) -> None:
    parsed = parse_local_government_code(code)
    if parsed == municipality:
        raise EventRefused("A move-in certificate comes from another municipality, not this one.")


def correction(person: ResidentRecord, field: str, value: str, today: date) -> dict[str, object]:
    """The record changes that correcting ``field`` to ``value`` means."""
    n = person.name
    match field:
        case "family_name":
            return {"name": Name(text(value, "family name"), n.given, n.family_kana, n.given_kana)}
        case "given_name":
            return {"name": Name(n.family, text(value, "given name"), n.family_kana, n.given_kana)}
        case "family_kana":
            return {"name": Name(n.family, n.given, kana(value, "reading"), n.given_kana)}
        case "given_kana":
            return {"name": Name(n.family, n.given, n.family_kana, kana(value, "reading"))}
        case "date_of_birth":
            born = parse_date(value)
            not_future(born, today, "date of birth")
            return {"date_of_birth": born}
        case "sex":
            return {"sex": parse_sex(value)}
        case "relationship":
            if person.is_head:
                raise EventRefused("The head's relationship changes only by a head change.")
            relationship(value, allow_head=False)
            return {"relationship": value}
        case "domicile" | "domicile_head":
            return {field: text(value, field.replace("_", " "))}
        case _:
            raise InvalidInput(f"{field!r} is not a field a minor correction may change.")


def parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidDate(f"{value!r} is not a date (write it as YYYY-MM-DD).") from None


def parse_sex(value: str) -> Sex:
    v = value.strip().lower()
    if v in ("male", "m", "男"):
        return Sex.MALE
    if v in ("female", "f", "女"):
        return Sex.FEMALE
    raise InvalidInput(f"{value!r} is not a sex the register records (male/female).")
