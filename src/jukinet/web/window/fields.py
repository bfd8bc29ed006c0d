"""Which field of a window form a domain refusal concerns, read from the domain's own
sentence (``domain/checks.py``, ``rules_entry.py`` name the item they refuse: "The
reading of the family name must be…", "The date of birth (…) is in the future."). A
sentence that names no field is shown at the top of the form."""

from __future__ import annotations

from jukinet.errors import InvalidResidentCode, JukinetError, ResidentNotFound

BIRTH_FIELDS = ("parent", "family_name", "given_name", "family_kana", "given_kana", "sex",
                "born", "relationship", "notified")  # fmt: skip

# (words of the sentence, field), the longer words first: "reading of the family name"
# before "family name".
_NAMED = (
    ("reading of the family name", "family_kana"),
    ("reading of the given name", "given_kana"),
    ("family name", "family_name"),
    ("given name", "given_name"),
    ("date of birth", "born"),
    ("born before the parent", "born"),
    ("notification", "notified"),
    ("relationship", "relationship"),
    ("世帯主", "relationship"),
    ("is not a sex", "sex"),
    ("resident code", "parent"),
    ("holds code", "parent"),
    ("with code", "parent"),
)


def field_of(exc: JukinetError) -> str | None:
    """The field of the birth form ``exc`` is about, or None (then: the whole form)."""
    if isinstance(exc, (ResidentNotFound, InvalidResidentCode)):
        return "parent"
    text = exc.message
    for words, field in _NAMED:
        if words in text:
            return field
    return None
