"""The holder's 基本4情報 in a signing certificate: the subjectAltName otherNames of JPKI.

A JPKI signing certificate carries name, sex, date of birth and address as otherName
entries of its subjectAltName under J-LIS's arc ``1.2.392.200149.8.5.5``, each value a
UTF8String, as independent readers of real certificates decode them (docs/jpki.md,
"Certificate profiles")::

    .1 name                 .2 name in substitute characters
    .3 sex ("1" male, "2" female)
    .4 date of birth, an era digit then YYYYMMDD (e.g. "319800505": 昭和, 1980-05-05)
    .5 address              .6 address in substitute characters

Substitute characters stand in for characters outside the character set of the
receiving system; the register here holds none, so they repeat the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from cryptography import x509
from cryptography.x509.oid import ObjectIdentifier

from jukinet.errors import CardCertificateRefused

__all__ = ["OID", "Holder", "Sex", "holder_of", "san_of"]

Sex = Literal["male", "female"]

_ARC = "1.2.392.200149.8.5.5"
OID = {
    "name": ObjectIdentifier(f"{_ARC}.1"),
    "name_substitute": ObjectIdentifier(f"{_ARC}.2"),
    "sex": ObjectIdentifier(f"{_ARC}.3"),
    "date_of_birth": ObjectIdentifier(f"{_ARC}.4"),
    "address": ObjectIdentifier(f"{_ARC}.5"),
    "address_substitute": ObjectIdentifier(f"{_ARC}.6"),
}
_SEX_CODES: dict[Sex, str] = {"male": "1", "female": "2"}
# The first day of each era (明治 1 … 令和 5); a date belongs to the last era begun.
_ERAS = (
    (date(2019, 5, 1), "5"),
    (date(1989, 1, 8), "4"),
    (date(1926, 12, 25), "3"),
    (date(1912, 7, 30), "2"),
)
_UTF8_STRING = 0x0C


@dataclass(frozen=True, slots=True)
class Holder:
    """Who a signing certificate names: the 基本4情報 of the national identity record."""

    name: str
    date_of_birth: date
    sex: Sex
    address: str


def _era(day: date) -> str:
    return next((code for start, code in _ERAS if day >= start), "1")


def _utf8(text: str) -> bytes:
    """DER of a UTF8String. Written here because cryptography has no public DER encoder
    for a lone string, and an otherName value is the DER of its inner value."""
    content = text.encode("utf-8")
    size = len(content)
    if size < 0x80:
        length = bytes([size])
    else:
        octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(octets)]) + octets
    return bytes([_UTF8_STRING]) + length + content


def _text(der: bytes) -> str:
    """The text of a DER UTF8String (the inverse of ``_utf8``), or a refusal."""
    if len(der) < 2 or der[0] != _UTF8_STRING:
        raise _malformed()
    first, rest = der[1], der[2:]
    if first < 0x80:
        size = first
    else:
        count = first & 0x7F
        if not 1 <= count <= 4 or len(rest) < count:
            raise _malformed()
        size, rest = int.from_bytes(rest[:count], "big"), rest[count:]
    if len(rest) != size:
        raise _malformed()
    try:
        return rest.decode("utf-8")
    except UnicodeDecodeError:
        raise _malformed() from None


def _malformed() -> CardCertificateRefused:
    return CardCertificateRefused(
        "The signing certificate does not carry the holder's name, date of birth, sex and "
        "address as a JPKI certificate does."
    )


def san_of(holder: Holder) -> x509.SubjectAlternativeName:
    """The subjectAltName of a signing certificate for ``holder``."""
    born = holder.date_of_birth
    values = {
        "name": holder.name,
        "name_substitute": holder.name,
        "sex": _SEX_CODES[holder.sex],
        "date_of_birth": _era(born) + born.strftime("%Y%m%d"),
        "address": holder.address,
        "address_substitute": holder.address,
    }
    return x509.SubjectAlternativeName(
        [x509.OtherName(OID[key], _utf8(value)) for key, value in values.items()]
    )


def holder_of(certificate: x509.Certificate) -> Holder:
    """The 基本4情報 a signing certificate names (CardCertificateRefused if it names none)."""
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        raise _malformed() from None
    found: dict[ObjectIdentifier, str] = {}
    for entry in san.value.get_values_for_type(x509.OtherName):
        if entry.type_id in OID.values():
            found[entry.type_id] = _text(entry.value)
    try:
        name, sex_code = found[OID["name"]], found[OID["sex"]]
        born, address = found[OID["date_of_birth"]], found[OID["address"]]
    except KeyError:
        raise _malformed() from None
    sex = next((s for s, code in _SEX_CODES.items() if code == sex_code), None)
    if sex is None or len(born) != 9 or not born.isascii() or not born.isdigit():
        raise _malformed()
    try:
        date_of_birth = date(int(born[1:5]), int(born[5:7]), int(born[7:9]))
    except ValueError:
        raise _malformed() from None
    return Holder(name, date_of_birth, sex, address)
