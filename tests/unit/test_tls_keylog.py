"""The TLS key log of a node, a diagnostic (docs/network.md, "Transport"; R3 in e2e)."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

import pytest

from jukinet.network.server import log_tls_secrets


def test_sslkeylogfile_names_where_a_node_writes_its_tls_secrets_and_it_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    keylog = tmp_path / "keys.log"
    monkeypatch.setenv("SSLKEYLOGFILE", str(keylog))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with caplog.at_level(logging.WARNING, logger="jukinet.security"):
        log_tls_secrets(context)
    assert context.keylog_filename == str(keylog)
    assert f"writes its TLS secrets to {keylog}" in caplog.text


def test_without_sslkeylogfile_no_secret_is_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSLKEYLOGFILE", raising=False)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    log_tls_secrets(context)
    assert context.keylog_filename is None
