"""``jukinet jpki``: the JPKI CA's revocation list, and a card signature verified at any node
(R15, docs/jpki.md). Works on the node's home (``--home``)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from jukinet.cli._common import console, handle_errors, state

app = typer.Typer(
    no_args_is_help=True, help="The JPKI CA's CRL; verify a document signed with a card."
)

_HOME = typer.Option(None, "--home", help="The node's folder (as `jukinet --home`).")


def _home(home: Path | None) -> Path:
    return home if home is not None else state.home


@app.command("crl")
@handle_errors
def crl(home: Path | None = _HOME) -> None:
    """Fetch the CA's current CRL from the national node and keep it in the node's home."""
    from cryptography import x509

    from jukinet.jpki.validity import day_in_japan
    from jukinet.nodes.jpki_client import fetch_crl

    revocations = asyncio.run(fetch_crl(_home(home)))
    number = revocations.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    until = revocations.next_update_utc
    console.print(
        f"CRL {number} of the JPKI CA: {len(revocations)} revoked certificate(s); "
        f"next update {day_in_japan(until) if until else 'not given'}.",
        markup=False,
    )


@app.command("verify")
@handle_errors
def verify(
    cert: Path = typer.Option(..., "--cert", help="The signer's certificate (DER or PEM)."),
    sig: Path = typer.Option(..., "--sig", help="The signature (raw bytes, PKCS#1 v1.5)."),
    data: Path = typer.Option(..., "--data", help="The signed document."),
    crl_file: Path | None = typer.Option(
        None, "--crl", help="A CRL file (default: the one `jukinet jpki crl` kept)."
    ),
    home: Path | None = _HOME,
) -> None:
    """Who signed DATA with a card: the certificate must be the JPKI CA's, not revoked, valid."""
    from jukinet.jpki.validity import day_in_japan
    from jukinet.nodes.jpki_client import verify_document

    signer = verify_document(
        _home(home),
        data.read_bytes(),
        sig.read_bytes(),
        cert.read_bytes(),
        crl_file.read_bytes() if crl_file is not None else None,
    )
    until = day_in_japan(signer.valid_until)
    if signer.holder is None:
        console.print(
            f"Verified: signed with the user-authentication certificate {signer.serial:040x} "
            f"(valid until {until}); it names no one.",
            markup=False,
        )
        return
    h = signer.holder
    console.print(
        f"Verified: signed by {h.name} (born {h.date_of_birth.isoformat()}, {h.sex}), "
        f"{h.address}; signing certificate {signer.serial:040x}, valid until {until}.",
        markup=False,
        soft_wrap=True,
    )
