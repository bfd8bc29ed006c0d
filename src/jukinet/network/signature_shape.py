"""The network's one RFC 9421 signature shape, built and read with string operations (R7, R8).

Every request between nodes is signed the same way (``signatures.py``): label ``jukinet``,
algorithm ``ed25519``, covering ``@method``, ``@authority``, ``@path``, ``@query`` and the
``content-digest`` field (RFC 9530, sha-256), with the parameters ``created``, ``keyid``,
``alg`` and ``nonce`` (and ``expires``, if a signer sets it). For that one shape the
signature base is a few lines of text; building it here instead of through a general
Structured Field parser and component resolver costs a fraction of the time on every
request (docs/network.md has the figures). Anything else — another label, more or fewer
components, other parameters, repeated fields, a URL outside RFC 3986 — is refused, not
interpreted. The ``http_message_signatures`` library stays the reference: the tests sign
with one and verify with the other, both ways, and compare the signature bases byte for
byte (``signatures_reference.py``).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv6Address

__all__ = [
    "COMPONENTS",
    "LABEL",
    "ShapeError",
    "Signed",
    "content_digest",
    "read_signature",
    "signature_base",
    "signature_params",
]

LABEL = "jukinet"
COMPONENTS = ("@method", "@authority", "@path", "@query", "content-digest")
_INNER_LIST = "(" + " ".join(f'"{name}"' for name in COMPONENTS) + ")"
_KNOWN_PARAMS = frozenset({"created", "expires", "keyid", "alg", "nonce"})

# RFC 3986 as the reference's strict URL parser has it (http_message_signatures._url),
# for the only form the network signs: https, a host (or an IPv6 literal), a port, a path
# and a query; no user information and no fragment.
_UNRESERVED = r"A-Za-z0-9._~\-"
_CHARS = _UNRESERVED + r"!$&'()*+,;="
_PCT = r"%[0-9A-Fa-f]{2}"
_URL = re.compile(
    r"https://"
    rf"(?P<host>\[[0-9A-Fa-f:.]+\]|(?:[{_CHARS}]|{_PCT})+)"
    r"(?::(?P<port>[0-9]*))?"
    rf"(?P<path>/(?:[{_CHARS}:@/]|{_PCT})*)?"
    rf"(?:\?(?P<query>(?:[{_CHARS}:@/?]|{_PCT})*))?"
)
# A Structured Field string without escapes (printable ASCII but " and \), or an integer.
_PARAM = re.compile(r';([a-z][a-z0-9_.*-]*)=(?:"([ !#-\[\]-~]*)"|(0|[1-9][0-9]{0,14}))')
_LABELLED = re.compile(r"([a-z*][a-z0-9_.*-]*)=")
_SIGNATURE = re.compile(r"jukinet=:([A-Za-z0-9+/]{86}==):")
_DIGEST = re.compile(r"sha-256=:[A-Za-z0-9+/]{43}=:")
_SF_STRING = re.compile(r"[ !#-\[\]-~]*")


class ShapeError(ValueError):
    """Why a request's signature is not the network's shape (a clerk-readable reason)."""


def _not_ours(what: str) -> ShapeError:
    return ShapeError(
        f"{what} (the network signs with label {LABEL!r} over @method, @authority, @path, "
        "@query and content-digest, with created, keyid, alg ed25519 and nonce)"
    )


def _url_components(url: str) -> tuple[str, str, str]:
    """``@authority``, ``@path`` and ``@query`` of an absolute https URL (RFC 9421 2.2)."""
    match = _URL.fullmatch(url)
    if match is None:
        raise ShapeError("Invalid URL: expected an encoded absolute URL with a host")
    host, port = match["host"], match["port"]
    if host.startswith("["):
        try:
            IPv6Address(host[1:-1])
        except ValueError:
            raise ShapeError("Invalid URL: invalid IPv6 address") from None
    host = host.lower()
    authority = f"{host}:{port}" if port and port.lstrip("0") != "443" else host
    query = match["query"]
    return authority, match["path"] or "/", "?" + (query or "")


def signature_base(method: str, url: str, digest: str, params: str) -> bytes:
    """The RFC 9421 signature base of the network's shape: one line per component and the
    ``@signature-params`` line, ``params`` being the serialized inner list and parameters."""
    authority, path, query = _url_components(url)
    return (
        f'"@method": {method}\n"@authority": {authority}\n"@path": {path}\n'
        f'"@query": {query}\n"content-digest": {digest}\n"@signature-params": {params}'
    ).encode("ascii")


def content_digest(body: bytes) -> str:
    """The RFC 9530 Content-Digest of ``body`` (sha-256), as the field's value."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


def signature_params(created: int, key_id: str, nonce: str) -> str:
    """The ``@signature-params`` value the network's signer writes."""
    for name, value in (("keyid", key_id), ("nonce", nonce)):
        if _SF_STRING.fullmatch(value) is None:
            raise ValueError(
                f"The signature's {name} {value!r} is not printable ASCII without quotes."
            )
    return f'{_INNER_LIST};created={created};keyid="{key_id}";alg="ed25519";nonce="{nonce}"'


@dataclass(frozen=True)
class Signed:
    """What a request's signature fields say, read for the network's shape."""

    label: str
    params: str  # the serialized inner list and parameters, as signed
    keyid: str | None
    alg: str | None
    created: int | None
    expires: int | None
    nonce: str | None
    signature: bytes | None  # None: the Signature field is not the network's
    digest: str | None  # the Content-Digest field, if there is one


def _fields(headers: Mapping[str, str]) -> dict[str, str]:
    """Signature-Input, Signature and Content-Digest, each trimmed; a repeated one is refused."""
    found: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        if key in ("signature-input", "signature", "content-digest"):
            if key in found:
                raise _not_ours(f"the request has more than one {name} field")
            found[key] = value.strip(" \t")
    return found


def read_signature(headers: Mapping[str, str]) -> Signed:
    """The request's signature fields, or ShapeError for anything but the network's shape."""
    fields = _fields(headers)
    given = fields.get("signature-input", "")
    labelled = _LABELLED.match(given)
    if labelled is None:
        raise _not_ours("the Signature-Input field is not one labelled signature")
    params = given[labelled.end() :]
    if not params.startswith(_INNER_LIST):
        if params.startswith("(") and params.find(")") > 0:
            listed = params[1 : params.index(")")].split(" ")
            for name in COMPONENTS:
                if f'"{name}"' not in listed:
                    raise ShapeError(
                        f'Required component "{name}" was not covered by the signature'
                    )
        raise _not_ours("it covers other components")
    values: dict[str, str | int] = {}
    position = len(_INNER_LIST)
    while position < len(params):
        param = _PARAM.match(params, position)
        if param is None:
            raise _not_ours("its parameters are not the network's")
        name, text, number = param.groups()
        if name not in _KNOWN_PARAMS or name in values:
            raise _not_ours(f"it has a parameter {name!r}")
        values[name] = text if text is not None else int(number)
        position = param.end()
    signature = _SIGNATURE.fullmatch(fields.get("signature", ""))

    def text_of(name: str) -> str | None:
        value = values.get(name)
        return value if isinstance(value, str) else None

    def number_of(name: str) -> int | None:
        value = values.get(name)
        return value if isinstance(value, int) else None

    digest = fields.get("content-digest")
    if digest is not None and _DIGEST.fullmatch(digest) is None:
        raise _not_ours("the Content-Digest field is not one sha-256 digest")
    return Signed(
        label=labelled[1],
        params=params,
        keyid=text_of("keyid"),
        alg=text_of("alg"),
        created=number_of("created"),
        expires=number_of("expires"),
        nonce=text_of("nonce"),
        signature=base64.b64decode(signature[1]) if signature is not None else None,
        digest=digest,
    )
