"""The lookup floor: a no-op endpoint under the node's own server settings, in its own process.

    python -m bench.floor_server --home NODE_FOLDER [--verify PEER_CERT]

A bare FastAPI app with ``POST /noop`` (reads the body, answers a small JSON
object) and ``GET /health``, served by ``jukinet.network.server.build_server``
(the uvicorn settings, TLS 1.3 and required client certificate every node runs
with) with the node's certificate, key and network CA. It binds a free port,
prints ``port N`` on one line and serves until SIGTERM.

With ``--verify``, ``/noop`` first verifies the request's RFC 9421 signature as a
node does (``jukinet.network.signatures.verify_request`` with a replay cache, the
URL as ``gate.addressed_url`` rebuilds it), against the public key in PEM_CERT: the
verifier's cost made visible beside the bare floor.
"""

from __future__ import annotations

import argparse
import socket
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import FastAPI, HTTPException, Request

from jukinet.errors import SignatureRefused
from jukinet.network.gate import addressed_url
from jukinet.network.server import build_server
from jukinet.network.signatures import ReplayCache, verify_request


def build_app(peer_cert: Path | None) -> FastAPI:
    app = FastAPI()
    key: Ed25519PublicKey | None = None
    if peer_cert is not None:
        public = x509.load_pem_x509_certificate(peer_cert.read_bytes()).public_key()
        assert isinstance(public, Ed25519PublicKey)
        key = public
    replay = ReplayCache()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/noop")
    async def noop(request: Request) -> dict[str, str]:
        body = await request.body()
        if key is not None:
            url, why = addressed_url(request)
            if url is None:
                raise HTTPException(401, why)
            try:
                verify_request("POST", url, request.headers, body, lambda _id: key, replay)
            except SignatureRefused as exc:
                raise HTTPException(exc.status, exc.reason) from None
        return {"status": "ok"}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--verify", type=Path, default=None, metavar="PEER_CERT")
    args = parser.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    print(f"port {sock.getsockname()[1]}", flush=True)  # connections wait in the backlog
    home: Path = args.home
    # Server.run, as ``jukinet node run`` serves: uvicorn's own event loop choice too.
    build_server(
        build_app(args.verify), host="127.0.0.1", port=0, cert_path=home / "node.pem",
        key_path=home / "node.key", ca_path=home / "ca.pem",
    ).run(sockets=[sock])  # fmt: skip


if __name__ == "__main__":
    main()
