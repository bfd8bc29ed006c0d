"""The purpose-built signer and verifier of the network's signature shape against the
``http_message_signatures`` library, the reference (R7, R8).

Both ways: what one signs the other verifies; the signature bases are equal byte for byte
(and, Ed25519 being deterministic, so are the three headers); a change to any covered
component is refused by both with the same reason; and what is not the network's shape is
refused by the purpose-built verifier even where the general library would accept it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from http_message_signatures import HTTPMessageSigner, algorithms
from hypothesis import given
from hypothesis import strategies as st

from jukinet.errors import SignatureRefused
from jukinet.network.signature_shape import signature_base
from jukinet.network.signatures import (
    COVERED_COMPONENTS,
    ReplayCache,
    sign_request,
    verify_request,
)
from jukinet.network.signatures_reference import (
    _OwnKey,
    _Request,
    reference_base,
    reference_sign,
    reference_verify,
)

KEY = Ed25519PrivateKey.generate()
ME = "municipality:131016"
URL = "https://127.0.0.1:7410/updates?since=12"
BODY = b'{"sender":"131016","updates":[]}'
Verify = Callable[..., str]
BOTH = pytest.mark.parametrize(
    "verify", [verify_request, reference_verify], ids=["shape", "library"]
)


def _keys(keyid: str) -> Ed25519PublicKey | None:
    return KEY.public_key() if keyid == ME else None


def _refusal(verify: Verify, headers: dict[str, str], **changed: object) -> SignatureRefused:
    request: dict[str, object] = {"method": "POST", "url": URL, "body": BODY}
    request |= changed
    with pytest.raises(SignatureRefused) as refused:
        verify(
            request["method"], request["url"], headers, request["body"], _keys, ReplayCache(),
            now=request.get("now"),
        )  # fmt: skip
    return refused.value


segment = st.one_of(
    st.text(
        alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789-_.~:@!$&'()*+,;=", min_size=1, max_size=12
    ),
    st.sampled_from(["%20", "%C3%A4", "%e3%81%82"]),
)
sf_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=24
).filter(lambda text: '"' not in text and "\\" not in text)


@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
    host=st.sampled_from(["127.0.0.1", "Prefecture-13.example", "[::1]", "national"]),
    port=st.sampled_from(["", ":443", ":7410", ":0443"]),
    path=st.lists(segment, max_size=4).map(lambda parts: "/" + "/".join(parts)),
    query=st.one_of(
        st.just(""), st.just("?"), st.builds(lambda k, v: f"?{k}={v}", segment, segment)
    ),
    body=st.binary(max_size=256),
    keyid=sf_text.filter(bool),
    nonce=sf_text.filter(bool),
    created=st.integers(min_value=0, max_value=253_402_000_000),  # datetime ends at 9999
)
def test_the_shape_and_the_library_build_the_same_base_and_headers(
    method: str,
    host: str,
    port: str,
    path: str,
    query: str,
    body: bytes,
    keyid: str,
    nonce: str,
    created: int,
) -> None:
    url = f"https://{host}{port}{path}{query}"
    ours = sign_request(method, url, {}, body, KEY, keyid, created=created, nonce=nonce)
    theirs = reference_sign(method, url, {}, body, KEY, keyid, created=created, nonce=nonce)
    assert ours == theirs
    params = ours["Signature-Input"].removeprefix("jukinet=")
    assert signature_base(method, url, ours["Content-Digest"], params) == reference_base(
        method, url, body, keyid, created=created, nonce=nonce
    )


@given(
    path=st.lists(segment, max_size=3).map(lambda parts: "/" + "/".join(parts)),
    body=st.binary(max_size=128),
)
def test_each_verifies_what_the_other_signed(path: str, body: bytes) -> None:
    url = f"https://127.0.0.1:7410{path}"
    by_library = reference_sign("POST", url, {}, body, KEY, ME)
    assert verify_request("POST", url, by_library, body, _keys, ReplayCache()) == ME
    by_shape = sign_request("POST", url, {}, body, KEY, ME)
    assert reference_verify("POST", url, by_shape, body, _keys, ReplayCache()) == ME


def _tamper_input(old: str, new: str) -> Callable[[dict[str, str]], dict[str, str]]:
    def change(headers: dict[str, str]) -> dict[str, str]:
        assert old in headers["Signature-Input"]
        return headers | {"Signature-Input": headers["Signature-Input"].replace(old, new)}

    return change


def _same(headers: dict[str, str]) -> dict[str, str]:
    return headers


TAMPERED = {
    "method": (_same, {"method": "PUT"}),
    "authority": (_same, {"url": URL.replace("7410", "7411")}),
    "host": (_same, {"url": URL.replace("127.0.0.1", "127.0.0.2")}),
    "path": (_same, {"url": URL.replace("/updates", "/pools")}),
    "query": (_same, {"url": URL.replace("since=12", "since=13")}),
    "no query": (_same, {"url": URL.split("?")[0]}),
    "body": (_same, {"body": BODY.replace(b"131016", b"131041")}),
    "digest field": (
        lambda h: (
            h | {"Content-Digest": sign_request("POST", URL, {}, b"x", KEY, ME)["Content-Digest"]}
        ),
        {},
    ),
    "created": (_tamper_input(";created=", ";created=1"), {}),
    "nonce": (_tamper_input(';nonce="', ';nonce="x'), {}),
    "signature": (lambda h: h | {"Signature": h["Signature"][:10] + "A" + h["Signature"][11:]}, {}),
    "signer": (_tamper_input(f'keyid="{ME}"', 'keyid="agency:nobody"'), {}),
    "algorithm": (_tamper_input('alg="ed25519"', 'alg="ecdsa-p256-sha256"'), {}),
    "no keyid": (_tamper_input(f';keyid="{ME}"', ""), {}),
    "no digest": (lambda h: {k: v for k, v in h.items() if k != "Content-Digest"}, {}),
    "label": (
        lambda h: {k: v.replace("jukinet=", "other=") for k, v in h.items()},
        {},
    ),
}


@pytest.mark.parametrize("case", TAMPERED, ids=list(TAMPERED))
def test_a_tampered_request_is_refused_by_both_for_the_same_reason(case: str) -> None:
    """R7: each covered component, the digest, the parameters and the signature itself."""
    change, request = TAMPERED[case]
    headers = change(sign_request("POST", URL, {}, BODY, KEY, ME, created=time.time()))
    ours = _refusal(verify_request, headers, **request)
    theirs = _refusal(reference_verify, headers, **request)
    assert (ours.status, ours.reason, ours.keyid) == (theirs.status, theirs.reason, theirs.keyid)
    assert ours.status in (401, 403)


def _library(**options: object) -> dict[str, str]:
    message = _Request("POST", URL, {"Content-Type": "application/json"})
    options.setdefault("nonce", "n1")
    options.setdefault("covered_component_ids", COVERED_COMPONENTS)
    HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=_OwnKey(KEY)).sign(
        message, key_id=ME, label="jukinet", body=BODY, **options
    )
    return message.headers


@BOTH
@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"nonce": None}, "The signature has no nonce."),
        (
            {"expires": datetime.fromtimestamp(time.time() - 1, UTC)},
            "The signature has expired.",
        ),
        (
            {"created": datetime.fromtimestamp(1_000_000, UTC), "now": 1_000_060},
            "The signature's created time is 60 s before this node's clock (allowed: 30 s).",
        ),
        (
            {"covered_component_ids": ("@method", "@path", "content-digest")},
            'The signature does not verify: Required component "@authority" was not covered '
            "by the signature.",
        ),
    ],
)
def test_freshness_nonce_and_coverage_are_refused_alike(
    verify: Verify, options: dict[str, object], reason: str
) -> None:
    options = dict(options)
    now = options.pop("now", None)
    assert _refusal(verify, _library(**options), now=now).reason == reason


@BOTH
def test_a_replay_and_a_future_expiry_are_treated_alike(verify: Verify) -> None:
    headers = _library(expires=datetime.fromtimestamp(time.time() + 100, UTC))
    replay = ReplayCache()
    assert verify("POST", URL, headers, BODY, _keys, replay) == ME
    with pytest.raises(SignatureRefused, match=r"already received \(replay\)"):
        verify("POST", URL, headers, BODY, _keys, replay)


def _repeated(headers: dict[str, str]) -> list[tuple[str, str]]:
    return [*headers.items(), ("Signature", headers["Signature"])]


class _Lines(dict[str, str]):
    """Header lines with a repeated field (as a server's headers may have)."""

    def __init__(self, lines: list[tuple[str, str]]) -> None:
        super().__init__(lines)
        self.lines = lines

    def items(self) -> list[tuple[str, str]]:  # type: ignore[override]
        return self.lines


WRONG_SHAPE = {
    "another component": lambda: _library(
        covered_component_ids=(*COVERED_COMPONENTS, "content-type")
    ),
    "a tag": lambda: _library(tag="x"),
    "sha-512": lambda: _library() | {"Content-Digest": "sha-512=:" + "A" * 86 + "==:"},
    "a repeated Signature": lambda: _Lines(_repeated(_library())),
    "two signatures": lambda: (
        _library() | {"Signature-Input": _library()["Signature-Input"] + ", other=()"}
    ),
    "an escaped keyid": lambda: (
        _library() | {"Signature-Input": _library()["Signature-Input"].replace(ME, 'a\\"b')}
    ),
}


@pytest.mark.parametrize("case", WRONG_SHAPE, ids=list(WRONG_SHAPE))
def test_anything_but_the_networks_shape_is_refused(case: str) -> None:
    """R7: the purpose-built verifier reads one shape and interprets nothing else."""
    refused = _refusal(verify_request, WRONG_SHAPE[case]())
    assert refused.status == 401
    assert refused.reason.startswith("The signature does not verify: ")


def test_the_library_accepts_some_shapes_the_network_does_not_use() -> None:
    """Why the shape refuses them: a general verifier would let a signer add parts."""
    for case in ("another component", "a tag"):
        assert reference_verify("POST", URL, WRONG_SHAPE[case](), BODY, _keys, ReplayCache()) == ME


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:7410/upd\u00e4tes",
        "https://user@127.0.0.1/updates",
        "http://127.0.0.1/x",
        "https://[zz]/x",
    ],
)
def test_a_url_outside_the_networks_form_is_refused_before_any_key_is_used(url: str) -> None:
    headers = sign_request("POST", URL, {}, BODY, KEY, ME)
    refused = _refusal(verify_request, headers, url=url)
    assert refused.status == 401
    assert "Invalid URL" in refused.reason
    with pytest.raises(ValueError, match="Invalid URL"):
        sign_request("POST", url, {}, BODY, KEY, ME)
