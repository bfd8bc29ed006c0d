"""The card's content as a JSON document (inside the encrypted image).

Bytes are hex, FIDs four hex digits. Reading is strict: anything not shaped as
written raises ``ValueError``, which the image reports as a broken card.
"""

from __future__ import annotations

from typing import Any

from jukinet.card.content import (
    Access,
    Application,
    CardContent,
    ElementaryFile,
    Key,
    KeyKind,
    KeyUsage,
    Pin,
    PinFormat,
)

VERSION = 1


def _access(access: Access | None) -> dict[str, Any] | None:
    if access is None:
        return None
    return {"pin": None if access.pin is None else f"{access.pin:04X}", "rights": access.rights}


def to_document(content: CardContent) -> dict[str, Any]:
    return {
        "version": VERSION,
        "applications": [
            {
                "aid": app.aid.hex(),
                "label": app.label,
                "terminal_ca": app.terminal_ca.hex() if app.terminal_ca else None,
                "files": [
                    {
                        "fid": f"{f.fid:04X}",
                        "data": f.data.hex(),
                        "read": _access(f.read),
                        "update": _access(f.update),
                    }
                    for f in app.files.values()
                ],
                "pins": [
                    {
                        "fid": f"{p.fid:04X}",
                        "value": p.value.hex(),
                        "format": p.format.name,
                        "max_tries": p.max_tries,
                        "tries_left": p.tries_left,
                        "waived": p.waived,
                    }
                    for p in app.pins.values()
                ],
                "keys": [
                    {
                        "fid": f"{k.fid:04X}",
                        "kind": k.kind.value,
                        "private": k.private.hex(),
                        "usage": k.usage.value,
                        "use": _access(k.use),
                    }
                    for k in app.keys.values()
                ],
            }
            for app in content.applications
        ],
    }


def _fid(value: Any) -> int:
    if not isinstance(value, str) or len(value) != 4:
        raise ValueError("a FID is four hex digits")
    return int(value, 16)


def _bytes(value: Any) -> bytes:
    if not isinstance(value, str):
        raise ValueError("bytes are written as hex")
    return bytes.fromhex(value)


def _int(value: Any, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise ValueError("integer out of range")
    return value


def _read_access(value: Any) -> Access:
    if not isinstance(value, dict) or set(value) != {"pin", "rights"}:
        raise ValueError("an access condition has a pin and rights")
    pin = None if value["pin"] is None else _fid(value["pin"])
    return Access(pin=pin, rights=_int(value["rights"], 0, 0xFF))


def _pin(doc: dict[str, Any]) -> Pin:
    max_tries = _int(doc["max_tries"], 1, 15)
    waived = doc["waived"]
    if not isinstance(waived, bool):
        raise ValueError("waived is true or false")
    return Pin(
        _fid(doc["fid"]),
        _bytes(doc["value"]),
        PinFormat[doc["format"]],
        max_tries,
        _int(doc["tries_left"], 0, max_tries),
        waived,
    )


def _application(doc: dict[str, Any]) -> Application:
    files = [
        ElementaryFile(
            _fid(f["fid"]),
            _bytes(f["data"]),
            _read_access(f["read"]),
            None if f["update"] is None else _read_access(f["update"]),
        )
        for f in doc["files"]
    ]
    pins = [_pin(p) for p in doc["pins"]]
    keys = [
        Key(
            _fid(k["fid"]),
            KeyKind(k["kind"]),
            _bytes(k["private"]),
            KeyUsage(k["usage"]),
            _read_access(k["use"]),
        )
        for k in doc["keys"]
    ]
    label = doc["label"]
    if not isinstance(label, str):
        raise ValueError("a label is text")
    for group in (files, pins, keys):
        if len({item.fid for item in group}) != len(group):
            raise ValueError("a FID is used twice")
    ca = doc["terminal_ca"]
    return Application(
        aid=_bytes(doc["aid"]),
        label=label,
        files={f.fid: f for f in files},
        pins={p.fid: p for p in pins},
        keys={k.fid: k for k in keys},
        terminal_ca=None if ca is None else _bytes(ca),
    )


def from_document(doc: Any) -> CardContent:
    """The content written by :func:`to_document`; ``ValueError`` for anything else."""
    try:
        if doc["version"] != VERSION:
            raise ValueError("unknown card content version")
        return CardContent([_application(app) for app in doc["applications"]])
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"card content malformed: {exc!r}") from exc
