"""CPU per request signature: the network's purpose-built shape beside the library and raw Ed25519.

::

    .venv/bin/python -m bench.signatures [--rounds 2000]

Prints µs per sign and per verify for the purpose-built shape (``signature_shape.py``,
what the nodes use), the ``http_message_signatures`` library (the reference, what they
used before) and the floor: one raw Ed25519 sign or verify of a signature base of the
same size. Verify includes the replay check and the body's digest, as a node runs it.
"""

from __future__ import annotations

import argparse
import os
import time
import timeit
from collections.abc import Callable, Iterator

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from jukinet.network.signatures import ReplayCache, sign_request, verify_request
from jukinet.network.signatures_reference import reference_sign, reference_verify

URL = "https://127.0.0.1:7410/persons/lookup?code=12345678901"
BODY = b'{"code":"12345678901","purpose":"pension"}'
ME = "agency:onkyu"


def _per_call(run: Callable[[], object], rounds: int) -> float:
    """The best of five runs, in µs per call."""
    return min(timeit.repeat(run, number=rounds, repeat=5)) / rounds * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    rounds = parser.parse_args().rounds
    key = Ed25519PrivateKey.generate()
    public = key.public_key()
    base = b"x" * 330  # about the size of the network's signature base
    raw = key.sign(base)
    figures = {
        "sign, raw Ed25519 (floor)": _per_call(lambda: key.sign(base), rounds),
        "sign, purpose-built": _per_call(
            lambda: sign_request("POST", URL, {}, BODY, key, ME), rounds
        ),
        "sign, library": _per_call(lambda: reference_sign("POST", URL, {}, BODY, key, ME), rounds),
        "verify, raw Ed25519 (floor)": _per_call(lambda: public.verify(raw, base), rounds),
    }
    for name, verify, signer in (
        ("verify, purpose-built", verify_request, reference_sign),
        ("verify, library", reference_verify, sign_request),
    ):
        # Each verifier checks requests the other signed (a fresh nonce each, as on a node).
        # All signed at one instant and verified as of that instant (no stale ones).
        at = time.time()
        requests = iter(
            [signer("POST", URL, {}, BODY, key, ME, created=at) for _ in range(5 * rounds)]
        )
        cache = ReplayCache(max_entries=10 * rounds, max_per_peer=10 * rounds)

        def one(
            verify: Callable[..., str] = verify,
            requests: Iterator[dict[str, str]] = requests,
            cache: ReplayCache = cache,
            at: float = at,
        ) -> str:
            return verify("POST", URL, next(requests), BODY, lambda _: public, cache, now=at)

        figures[name] = _per_call(one, rounds)
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"load average {load} (machine shared with other work)")
    for name, micros in figures.items():
        floor = figures[
            "sign, raw Ed25519 (floor)"
            if name.startswith("sign")
            else "verify, raw Ed25519 (floor)"
        ]
        print(f"{name:30} {micros:8.1f} µs   floor {floor:6.1f} µs   ratio {floor / micros:.2f}")


if __name__ == "__main__":
    main()
