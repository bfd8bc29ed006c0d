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


MOVE_OUT_FIELDS = ("persons", "destination", "abroad", "moved", "new_head", "notified")

_MOVE_OUT_NAMED = (
    ("destination", "destination"),
    ("14 days", "moved"),
    ("cannot move out before", "moved"),
    ("notification", "notified"),
    ("head", "new_head"),
    ("household", "persons"),
    ("twice", "persons"),
    ("no person", "persons"),
    ("code", "persons"),
)


DEATH_FIELDS = ("died", "new_head", "notified")

_DEATH_NAMED = (
    ("date of death", "died"),
    ("became a resident on", "died"),
    ("notification", "notified"),
    ("head", "new_head"),
)

MOVE_IN_FIELDS = ("code", "family_name", "given_name", "family_kana", "given_kana", "sex",
                  "born", "relationship", "domicile", "domicile_head", "town", "block",
                  "building", "previous", "issuer", "abroad", "moved", "notified")  # fmt: skip

_MOVE_IN_NAMED = (
    ("reading of the family name", "family_kana"),
    ("reading of the given name", "given_kana"),
    ("family name", "family_name"),
    ("given name", "given_name"),
    ("date of birth", "born"),
    ("is not a town", "town"),
    ("issuer", "issuer"),
    ("certificate", "code"),
    ("notification", "notified"),
    ("moved", "moved"),
    ("relationship", "relationship"),
    ("世帯主", "relationship"),
    ("is not a sex", "sex"),
    ("domicile", "domicile"),
    ("resident code", "code"),
    ("code", "code"),
)

_FORMS = {"birth": _NAMED, "move-out": _MOVE_OUT_NAMED, "death": _DEATH_NAMED,
          "move-in": _MOVE_IN_NAMED}  # fmt: skip
_PERSON_FIELD = {"birth": "parent", "move-out": "persons", "death": "form", "move-in": "code"}


def field_of(exc: JukinetError, form: str = "birth") -> str | None:
    """The field of the form (``birth``, ``move-out``, ``death``, ``move-in``) ``exc`` is about, or
    None (then: the whole form)."""
    if isinstance(exc, (ResidentNotFound, InvalidResidentCode)):
        return _PERSON_FIELD[form]
    text = exc.message
    for words, field in _FORMS[form]:
        if words in text:
            return field
    return None
