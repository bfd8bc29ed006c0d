"""TLS contexts for the network (R7, R8): TLS 1.3 only, both sides show a certificate
of the network CA, and nothing else completes a handshake.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from jukinet.errors import ConfigurationError

__all__ = ["client_context", "pinned_client_context", "server_context"]


def _load(context: ssl.SSLContext, cert_path: Path, key_path: Path, ca_path: Path) -> None:
    # TLS 1.3 only: no downgrade to cipher suites or renegotiation of older versions.
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    try:
        context.load_cert_chain(cert_path, key_path)
        # Only the network CA: the system's public CAs vouch for nobody here.
        context.load_verify_locations(cafile=ca_path)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(
            f"Cannot load the node's TLS identity ({cert_path}, {key_path}, {ca_path}): {exc}"
        ) from None


def server_context(
    cert_path: Path, key_path: Path, ca_path: Path, *, crl_path: Path | None = None
) -> ssl.SSLContext:
    """A server context that demands a client certificate issued by the network CA.

    With ``crl_path`` the handshake also refuses certificates on the CA's CRL as it
    was when the context was made; the directory refuses revoked nodes at run time.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _load(context, cert_path, key_path, ca_path)
    context.verify_mode = ssl.CERT_REQUIRED
    if crl_path is not None:
        load_crl(context, crl_path)
    return context


def client_context(cert_path: Path, key_path: Path, ca_path: Path) -> ssl.SSLContext:
    """A client context that shows the node's certificate and checks the server's
    certificate against the network CA and the host name in the URL."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    _load(context, cert_path, key_path, ca_path)
    context.verify_mode = ssl.CERT_REQUIRED
    context.check_hostname = True
    return context


def load_crl(context: ssl.SSLContext, crl_path: Path) -> None:
    """Refuse the peers the CA's CRL lists (checked for the leaf certificate)."""
    try:
        context.load_verify_locations(cafile=crl_path)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"Cannot load the CRL {crl_path}: {exc}") from None
    context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF


def pinned_client_context(cert_path: Path, key_path: Path, server_cert_pem: str) -> ssl.SSLContext:
    """A client context that trusts exactly one server certificate: the directory's.

    On one machine every node's certificate names 127.0.0.1, so checking the CA and the
    host name would accept any member that took another node's port. Trusting only
    the certificate the signed directory lists for that address closes this: the
    partial-chain flag lets OpenSSL accept that leaf as the whole chain (its validity
    dates are still checked).
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    try:
        context.load_cert_chain(cert_path, key_path)
        context.load_verify_locations(cadata=server_cert_pem)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"Cannot build a pinned TLS context: {exc}") from None
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return context
