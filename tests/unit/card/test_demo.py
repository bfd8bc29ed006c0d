"""``jukinet card demo FILE``: an issued test card, and beside it what it takes to use it."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from jukinet.card import image
from jukinet.card.apps import jpki, resident
from jukinet.card.reader import InProcessReader
from jukinet.card.terminal import Terminal
from jukinet.cli import app


def test_the_demo_card_works_with_what_is_written_beside_it(tmp_path: Path) -> None:
    path = tmp_path / "card.img"
    result = CliRunner().invoke(app, ["card", "demo", str(path), "--pin", "4321"])
    assert result.exit_code == 0, result.output
    assert "PIN              4321" in result.output
    password = result.output.split("signing password ")[1].split()[0]

    chip = image.open_image(path, image.read_chip_key(image.key_path(path)))
    reader = InProcessReader(chip)
    reader.connect()
    terminal = Terminal(reader)

    terminal.select_application(jpki.AID)
    terminal.verify(jpki.SIGN_PIN, password)
    cert = x509.load_der_x509_certificate(terminal.read_file(jpki.SIGN_CERT))
    ca = x509.load_pem_x509_certificate((tmp_path / "card.img.jpki-sign-ca.pem").read_bytes())
    ca_key = ca.public_key()
    assert isinstance(ca_key, rsa.RSAPublicKey) and cert.signature_hash_algorithm is not None
    ca_key.verify(
        cert.signature,
        cert.tbs_certificate_bytes,
        padding.PKCS1v15(),
        cert.signature_hash_algorithm,
    )

    terminals = json.loads((tmp_path / "card.img.terminals.json").read_text())
    window = terminals["resident"]
    terminal.select_application(resident.AID)
    terminal.authenticate_terminal(
        [bytes.fromhex(window["certificate"])],
        Ed25519PrivateKey.from_private_bytes(bytes.fromhex(window["private_key"])),
        resident.AID,
    )
    terminal.verify(resident.PIN_FID, "4321")
    code = terminal.read_file(resident.RESIDENT_CODE).decode()
    assert code in result.output and len(code) == 11
    issuer = bytes.fromhex(terminals["municipality_public_key"])
    assert terminal.authenticate_card(issuer, resident.AID).kind.name == "CARD"


def test_the_demo_card_never_overwrites_and_checks_the_pins(tmp_path: Path) -> None:
    path = tmp_path / "card.img"
    path.write_bytes(b"something else")
    runner = CliRunner()
    taken = runner.invoke(app, ["card", "demo", str(path)])
    assert (taken.exit_code, path.read_bytes()) == (1, b"something else")
    assert "already exists" in taken.output
    short = runner.invoke(app, ["card", "demo", str(tmp_path / "b.img"), "--pin", "12"])
    assert short.exit_code == 1 and "A card PIN is 4 digits." in short.output
    lower = runner.invoke(
        app, ["card", "demo", str(tmp_path / "c.img"), "--signing-password", "lower1"]
    )
    assert lower.exit_code == 1 and "upper-case" in lower.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["card.img"]
