"""Serving a web interface on its own port (not the inter-node API's): HTTPS with the
app's server certificate from the network CA (the host name in its SAN), TLS 1.3 only
as everywhere in the project; browsers show no client certificate."""

from __future__ import annotations

import ssl
from pathlib import Path

import uvicorn
from fastapi import FastAPI


def serve_web(app: FastAPI, *, host: str, port: int, cert_path: Path, key_path: Path) -> None:
    config = uvicorn.Config(
        app, host=host, port=port, ssl_certfile=str(cert_path), ssl_keyfile=str(key_path),
        log_level="warning", access_log=False, server_header=False,
    )  # fmt: skip
    config.load()
    assert config.ssl is not None
    config.ssl.minimum_version = ssl.TLSVersion.TLSv1_3
    uvicorn.Server(config).run()
