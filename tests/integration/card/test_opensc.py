"""Independent JPKI software drives the card over the real PC/SC stack (R15, issue 9).

The card image is put in vsmartcard's virtual reader; OpenSC (its ``jpki`` driver and
PKCS#11 module, which no one on this project wrote) reads it and signs with it, and
``openssl`` checks the signature against the certificate read from the card.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from jukinet.card.builder import CardKeys
from jukinet.card.chip import Chip
from jukinet.card.image import open_image
from jukinet.card.pcsc import wait_for_card

from .conftest import Inserted, IssuedCard

PKCS11 = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.fixture
def card_in_reader(
    issued_card: IssuedCard, insert_card: Callable[[Chip, int], Inserted]
) -> IssuedCard:
    insert_card(open_image(issued_card.image, issued_card.chip_key), 0)
    return issued_card


def test_opensc_names_the_card_jpki(card_in_reader: IssuedCard) -> None:
    named = run("opensc-tool", "--reader", "0", "--name")
    assert named.returncode == 0, named.stderr
    assert named.stdout.strip() == "jpki"


def test_pkcs15_lists_the_four_certificates_and_both_pins(card_in_reader: IssuedCard) -> None:
    listed = run("pkcs15-tool", "--reader", "0", "--list-certificates")
    assert listed.returncode == 0, listed.stderr
    paths = re.findall(r"\[(.+?)\]\n.*?Path\s+: (\w+)", listed.stdout, re.S)
    assert paths == [
        ("User Authentication Certificate", "000a"),
        ("Digital Signature Certificate", "0001"),
        ("User Authentication Certificate CA", "000b"),
        ("Digital Signature Certificate CA", "0002"),
    ]
    pins = run("pkcs15-tool", "--reader", "0", "--list-pins")
    assert pins.returncode == 0, pins.stderr
    assert re.findall(r"Tries left\s+: (\d+)", pins.stdout) == ["3", "5"]


def test_the_signing_certificate_is_not_read_without_the_signing_password(
    card_in_reader: IssuedCard, tmp_path: Path
) -> None:
    public = run("pkcs15-tool", "--reader", "0", "--read-certificate", "01")
    assert public.returncode == 0 and "BEGIN CERTIFICATE" in public.stdout, public.stderr
    private = run("pkcs15-tool", "--reader", "0", "--read-certificate", "02")
    assert "BEGIN CERTIFICATE" not in private.stdout


def test_pkcs11_signs_with_the_pin_and_openssl_verifies_it(
    card_in_reader: IssuedCard, tmp_path: Path
) -> None:
    document = tmp_path / "document.txt"
    document.write_text("転出届 2026-12-01\n")
    signature = tmp_path / "document.sig"
    signed = run(
        "pkcs11-tool", "--module", PKCS11, "--slot-index", "0", "--login",
        "--pin", card_in_reader.pins.jpki_auth, "--sign", "--id", "01",
        "--mechanism", "SHA256-RSA-PKCS", "--input-file", str(document),
        "--output-file", str(signature),
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    assert len(signature.read_bytes()) == 256

    certificate = tmp_path / "auth.pem"
    read = run("pkcs15-tool", "--reader", "0", "--read-certificate", "01")
    certificate.write_text(read.stdout)
    public_key = tmp_path / "auth.pub"
    extracted = run("openssl", "x509", "-in", str(certificate), "-pubkey", "-noout")
    public_key.write_text(extracted.stdout)
    verified = run(
        "openssl", "dgst", "-sha256", "-verify", str(public_key),
        "-signature", str(signature), str(document),
    )  # fmt: skip
    assert verified.stdout.strip() == "Verified OK", verified.stderr
    document.write_text("転出届 2026-12-02\n")
    tampered = run(
        "openssl", "dgst", "-sha256", "-verify", str(public_key),
        "-signature", str(signature), str(document),
    )  # fmt: skip
    assert tampered.returncode != 0


def test_pkcs11_signs_with_the_signing_key_after_the_signing_password(
    card_in_reader: IssuedCard, tmp_path: Path
) -> None:
    document = tmp_path / "move-out.txt"
    document.write_text("付記転出届\n")
    signature = tmp_path / "move-out.sig"
    signed = run(
        "pkcs11-tool", "--module", PKCS11, "--slot-index", "1", "--login",
        "--pin", card_in_reader.pins.jpki_sign, "--sign", "--id", "02",
        "--mechanism", "SHA256-RSA-PKCS", "--input-file", str(document),
        "--output-file", str(signature),
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    assert len(signature.read_bytes()) == 256


def test_pkcs11_self_test_ends_without_errors(card_in_reader: IssuedCard) -> None:
    tested = run(
        "pkcs11-tool", "--module", PKCS11, "--slot-index", "0", "--login",
        "--pin", card_in_reader.pins.jpki_auth, "--test",
    )  # fmt: skip
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "No errors" in tested.stdout
    assert "RSA-PKCS: OK" in tested.stdout


def test_a_wrong_pin_costs_one_try_and_the_count_survives_a_restart_of_the_card(
    issued_card: IssuedCard, insert_card: Callable[[Chip, int], Inserted]
) -> None:
    inserted = insert_card(open_image(issued_card.image, issued_card.chip_key), 0)
    wrong = run(
        "pkcs11-tool", "--module", PKCS11, "--slot-index", "0", "--login", "--pin", "0000",
        "--list-objects",
    )  # fmt: skip
    assert wrong.returncode != 0
    assert "CKR_PIN_INCORRECT" in wrong.stderr + wrong.stdout
    pins = run("pkcs15-tool", "--reader", "0", "--list-pins")
    assert re.findall(r"Tries left\s+: (\d+)", pins.stdout) == ["2", "5"]

    # The card is pulled, its image opened again from the file: the count is kept.
    inserted.card.stop()
    assert wait_for_card(inserted.reader, present=False)
    insert_card(open_image(issued_card.image, issued_card.chip_key), 0)
    pins = run("pkcs15-tool", "--reader", "0", "--list-pins")
    assert re.findall(r"Tries left\s+: (\d+)", pins.stdout) == ["2", "5"]


def test_opensc_reads_a_card_under_15_without_a_signing_certificate(
    card_keys: CardKeys, insert_card: Callable[[Chip, int], Inserted], tmp_path: Path
) -> None:
    """R15: OpenSC binds the card of a resident under 15, reads its user-authentication
    certificate and signs with its key; no signing certificate comes out of it."""
    from .test_card_under_15 import PIN, child_card

    insert_card(open_image(child_card(tmp_path, card_keys), b"k" * 32), 0)
    auth = run("pkcs15-tool", "--reader", "0", "--read-certificate", "01")
    assert auth.returncode == 0 and "BEGIN CERTIFICATE" in auth.stdout, auth.stderr
    signing = run("pkcs15-tool", "--reader", "0", "--read-certificate", "02")
    assert "BEGIN CERTIFICATE" not in signing.stdout
    document, signature = tmp_path / "login.txt", tmp_path / "login.sig"
    document.write_text("ログイン 2026-12-02\n")
    signed = run(
        "pkcs11-tool", "--module", PKCS11, "--slot-index", "0", "--login", "--pin", PIN,
        "--sign", "--id", "01", "--mechanism", "SHA256-RSA-PKCS",
        "--input-file", str(document), "--output-file", str(signature),
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    assert len(signature.read_bytes()) == 256
