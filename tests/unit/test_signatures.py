"""RFC 9421 request signatures: who signed, and that nothing changed, was replayed or is stale."""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from http_message_signatures import HTTPMessageSigner, algorithms
from hypothesis import given
from hypothesis import strategies as st

from jukinet.errors import SignatureRefused
from jukinet.network.signatures import (
    COVERED_COMPONENTS,
    ReplayCache,
    sign_request,
    verify_request,
)
from jukinet.network.signatures_reference import _OwnKey, _Request

KEY = Ed25519PrivateKey.generate()
ME = "municipality:131016"
URL = "https://127.0.0.1:7410/updates"
BODY = b'{"sender":"131016","updates":[]}'


def _keys(keyid: str) -> Ed25519PublicKey | None:
    return KEY.public_key() if keyid == ME else None


def _signed(
    method: str = "POST", url: str = URL, body: bytes = BODY, created: float | None = None
) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    return sign_request(method, url, headers, body, KEY, ME, created=created)


def _refusal(
    headers: dict[str, str],
    *,
    method: str = "POST",
    url: str = URL,
    body: bytes = BODY,
    replay: ReplayCache | None = None,
    now: float | None = None,
) -> SignatureRefused:
    with pytest.raises(SignatureRefused) as refused:
        verify_request(method, url, headers, body, _keys, replay or ReplayCache(), now=now)
    return refused.value


def test_a_signed_request_names_its_signer() -> None:
    headers = _signed()
    assert set(headers) == {"Content-Digest", "Signature-Input", "Signature"}
    assert headers["Signature-Input"].startswith(
        'jukinet=("@method" "@authority" "@path" "@query" "content-digest");created='
    )
    assert 'keyid="municipality:131016"' in headers["Signature-Input"]
    assert 'alg="ed25519"' in headers["Signature-Input"]
    assert "nonce=" in headers["Signature-Input"]
    assert verify_request("POST", URL, headers, BODY, _keys, ReplayCache()) == ME


def test_an_empty_body_has_a_digest_too() -> None:
    headers = _signed("GET", "https://127.0.0.1:7400/directory", b"")
    assert headers["Content-Digest"] == "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"
    verify_request("GET", "https://127.0.0.1:7400/directory", headers, b"", _keys, ReplayCache())


segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.~", min_size=1, max_size=12)


@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
    path=st.lists(segment, max_size=4).map(lambda parts: "/" + "/".join(parts)),
    query=st.one_of(st.just(""), st.builds(lambda k, v: f"?{k}={v}", segment, segment)),
    body=st.binary(max_size=256),
)
def test_any_request_round_trips(method: str, path: str, query: str, body: bytes) -> None:
    url = f"https://127.0.0.1:7420{path}{query}"
    headers = sign_request(method, url, {}, body, KEY, ME)
    assert verify_request(method, url, headers, body, _keys, ReplayCache()) == ME


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", URL),
        ("POST", "https://127.0.0.1:7411/updates"),  # another node
        ("POST", "https://127.0.0.1:7410/pools"),
        ("POST", URL + "?all=1"),
    ],
)
def test_a_signature_does_not_cover_another_request(method: str, url: str) -> None:
    refused = _refusal(_signed(), method=method, url=url)
    assert refused.status == 401
    assert refused.keyid == ME


def test_a_changed_body_does_not_match_its_digest() -> None:
    refused = _refusal(_signed(), body=BODY.replace(b"131016", b"131041"))
    assert refused.status == 401
    assert "Content-Digest" in refused.reason


def test_a_changed_digest_header_breaks_the_signature() -> None:
    headers = _signed(body=b"other")
    headers["Content-Digest"] = _signed()["Content-Digest"]
    assert _refusal(headers).status == 401


def test_an_unsigned_request_is_refused() -> None:
    refused = _refusal({"Content-Type": "application/json"})
    assert (refused.status, refused.keyid) == (401, None)
    assert "no signature" in refused.reason


def test_a_signature_by_a_stranger_is_forbidden() -> None:
    stranger = sign_request("POST", URL, {}, BODY, Ed25519PrivateKey.generate(), "agency:nobody")
    refused = _refusal(stranger)
    assert (refused.status, refused.keyid) == (403, "agency:nobody")


def test_a_signature_with_a_members_name_but_another_key_is_refused() -> None:
    forged = sign_request("POST", URL, {}, BODY, Ed25519PrivateKey.generate(), ME)
    assert _refusal(forged).status == 401


@pytest.mark.parametrize("age", [-31, 31, 3600])
def test_a_signature_outside_the_window_is_stale(age: int) -> None:
    headers = _signed(created=time.time() - age)
    refused = _refusal(headers)
    assert refused.status == 401
    assert "created" in refused.reason


def test_the_window_is_measured_on_the_receivers_clock() -> None:
    headers = _signed(created=1_000_000)
    assert verify_request("POST", URL, headers, BODY, _keys, ReplayCache(), now=1_000_029) == ME
    assert _refusal(_signed(created=1_000_000), now=1_000_031).status == 401


def test_the_same_request_twice_is_a_replay() -> None:
    replay = ReplayCache()
    headers = _signed()
    verify_request("POST", URL, headers, BODY, _keys, replay)
    refused = _refusal(headers, replay=replay)
    assert refused.status == 401
    assert "replay" in refused.reason


def test_a_tampered_request_does_not_use_up_its_nonce() -> None:
    replay = ReplayCache()
    headers = _signed()
    _refusal(headers, body=b"tampered", replay=replay)
    assert verify_request("POST", URL, headers, BODY, _keys, replay) == ME


def test_a_signature_without_nonce_is_refused() -> None:
    message = _Request("POST", URL, {})
    HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=_OwnKey(KEY)).sign(
        message,
        key_id=ME,
        label="jukinet",
        covered_component_ids=COVERED_COMPONENTS,
        body=BODY,
    )
    assert "nonce" in _refusal(message.headers).reason


def test_a_signature_over_fewer_components_is_refused() -> None:
    message = _Request("POST", URL, {})
    HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=_OwnKey(KEY)).sign(
        message, key_id=ME, label="jukinet", nonce="n1", covered_component_ids=("@method",)
    )
    refused = _refusal(message.headers)
    assert refused.status == 401
    assert "not covered" in refused.reason


def test_the_replay_cache_forgets_nonces_once_they_are_stale() -> None:
    cache = ReplayCache()
    cache.remember(ME, "a", until=130.0, now=100.0)
    assert cache.seen(ME, "a", now=120.0)
    assert not cache.seen("prefecture:130001", "a", now=120.0)
    assert not cache.seen(ME, "a", now=131.0)
    assert len(cache) == 0


def test_the_replay_cache_refuses_rather_than_forgets_when_full() -> None:
    cache = ReplayCache(max_entries=3, max_per_peer=2)
    cache.remember(ME, "a", until=200.0, now=100.0)
    cache.remember(ME, "b", until=200.0, now=100.0)
    with pytest.raises(SignatureRefused) as refused:
        cache.remember(ME, "c", until=200.0, now=100.0)
    assert refused.value.status == 503
    cache.remember("prefecture:130001", "a", until=200.0, now=100.0)
    with pytest.raises(SignatureRefused):
        cache.remember("prefecture:270008", "a", until=200.0, now=100.0)
    assert cache.seen(ME, "a", now=150.0)  # nothing was forgotten early
    cache.remember("prefecture:270008", "a", until=300.0, now=201.0)  # the old ones expired
    assert len(cache) == 1
