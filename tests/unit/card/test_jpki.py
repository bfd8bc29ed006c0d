"""The JPKI application answers the APDUs that OpenSC's ``jpki`` driver and the ``myna``
tool send (card-jpki.c, pkcs15-jpki.c; myna src/reader.rs, src/jpki.rs), byte for byte,
and its signatures verify with ``cryptography`` and the ``openssl`` command."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from jukinet.card.apps import jpki
from jukinet.card.chip import ATR
from jukinet.card.machine import CardChip
from tests.unit.card.conftest import send, sw

SELECT_JPKI = "00A4040C0A D392F000260100000001"
SHA1_DIGEST_INFO = "3021300906052B0E03021A05000414" + "29B0E7878271645FFFB7EEC7DB4A7473A1C00BC1"
"""The DigestInfo that ``pkcs11-tool --test`` signs with CKM_RSA_PKCS (SHA-1 of its data)."""


def digest_info_sha256(message: bytes) -> bytes:
    return (
        bytes.fromhex("3031300d060960864801650304020105000420") + hashlib.sha256(message).digest()
    )


def select_ef(chip: CardChip, fid: int) -> str:
    return sw(chip, f"00A4020C02{fid:04X}")


def read_like_opensc(chip: CardChip, fid: int) -> bytes:
    """jpki_select_file reads 4 bytes for the length, then sc_read_binary reads the size
    in chunks of at most 256 bytes (Le 00)."""
    assert select_ef(chip, fid) == "9000"
    head = bytes.fromhex(send(chip, "00B0000004"))
    assert head[-2:] == b"\x90\x00" and head[:2] == b"\x30\x82"
    size = int.from_bytes(head[2:4], "big") + 4
    data = b""
    while len(data) < size:
        chunk = min(256, size - len(data))
        answer = bytes.fromhex(send(chip, f"00B0{len(data):04X}{chunk % 256:02X}"))
        assert answer[-2:] == b"\x90\x00"
        data += answer[:-2]
    return data


def public_key(cert_der: bytes) -> rsa.RSAPublicKey:
    key = x509.load_der_x509_certificate(cert_der).public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def test_the_atr_is_the_one_opensc_lists_for_jpki() -> None:
    assert ATR.hex().upper() == "3BE000FF8131FE4514"


def test_opensc_recognises_the_card_by_selecting_the_jpki_application(chip: CardChip) -> None:
    assert send(chip, SELECT_JPKI) == "9000"


def test_opensc_pin_info_reads_tries_left_from_verify_without_data(chip: CardChip) -> None:
    send(chip, SELECT_JPKI)
    assert select_ef(chip, jpki.AUTH_PIN) == "9000"
    assert send(chip, "00200080") == "63C3"
    assert select_ef(chip, jpki.SIGN_PIN) == "9000"
    assert send(chip, "00200080") == "63C5"


def test_pin_info_stays_63cx_after_login(chip: CardChip) -> None:
    send(chip, SELECT_JPKI)
    select_ef(chip, jpki.AUTH_PIN)
    assert send(chip, "00200080 04 31323334") == "9000"
    assert send(chip, "00200080") == "63C3"


def test_public_certificates_read_whole_as_opensc_reads_them(chip: CardChip) -> None:
    send(chip, SELECT_JPKI)
    files = chip.content.applications[0].files
    for fid in (jpki.AUTH_CERT, jpki.AUTH_CA, jpki.SIGN_CA):
        der = read_like_opensc(chip, fid)
        assert der == files[fid].data
        x509.load_der_x509_certificate(der)


def test_the_signing_certificate_needs_the_signing_password(chip: CardChip) -> None:
    send(chip, SELECT_JPKI)
    assert select_ef(chip, jpki.SIGN_CERT) == "9000"
    assert send(chip, "00B0000004") == "6982"
    select_ef(chip, jpki.SIGN_PIN)
    assert send(chip, "00200080 09 " + b"SIGNPASS1".hex()) == "9000"
    der = read_like_opensc(chip, jpki.SIGN_CERT)
    assert x509.load_der_x509_certificate(der).subject.rfc4514_string().startswith("CN=Yamada Taro")


def test_the_auth_pin_does_not_open_the_signing_certificate(chip: CardChip) -> None:
    send(chip, SELECT_JPKI)
    select_ef(chip, jpki.AUTH_PIN)
    send(chip, "00200080 04 31323334")
    select_ef(chip, jpki.SIGN_CERT)
    assert send(chip, "00B0000004") == "6982"


def test_token_info_and_certificate_presence(chip: CardChip) -> None:
    send(chip, SELECT_JPKI)
    select_ef(chip, jpki.TOKEN_INFO)
    token = bytes.fromhex(send(chip, "00B0000020"))
    assert token == b"JPKIAPICCTOKEN2".ljust(32) + b"\x90\x00"
    select_ef(chip, jpki.CERTS_PRESENT)
    assert send(chip, "00B0000004") == "010101019000"


def test_reading_past_the_end(chip: CardChip) -> None:
    send(chip, SELECT_JPKI)
    select_ef(chip, jpki.TOKEN_INFO)
    assert send(chip, "00B0001E10") == "2020" + "6282"  # two bytes left, then end of file
    assert send(chip, "00B0002001") == "6B00"
    assert send(chip, "00B07FFF01") == "6B00"


def sign_apdu(digest_info: bytes) -> str:
    return f"802A0080{len(digest_info):02X}{digest_info.hex()}00"


def test_signing_with_the_auth_key_as_pkcs11_does(chip: CardChip) -> None:
    send(chip, SELECT_JPKI)
    assert select_ef(chip, jpki.AUTH_KEY) == "9000"
    assert send(chip, sign_apdu(bytes.fromhex(SHA1_DIGEST_INFO))) == "6982"  # no PIN yet
    select_ef(chip, jpki.AUTH_PIN)
    send(chip, "00200080 04 31323334")
    select_ef(chip, jpki.AUTH_KEY)  # jpki_set_security_env selects the key, keeps the PIN
    answer = bytes.fromhex(send(chip, sign_apdu(bytes.fromhex(SHA1_DIGEST_INFO))))
    assert answer[-2:] == b"\x90\x00" and len(answer) == 258
    cert = chip.content.applications[0].files[jpki.AUTH_CERT].data
    public_key(cert).verify(answer[:-2], b"0123456789" * 10, padding.PKCS1v15(), hashes.SHA1())


def test_the_signing_key_signs_a_document_that_verifies(chip: CardChip) -> None:
    document = "住民異動届 (転出)".encode()
    send(chip, SELECT_JPKI)
    select_ef(chip, jpki.SIGN_PIN)
    send(chip, "00200080 09 " + b"SIGNPASS1".hex())
    select_ef(chip, jpki.SIGN_KEY)
    answer = bytes.fromhex(send(chip, sign_apdu(digest_info_sha256(document))))
    signature = answer[:-2]
    key = public_key(chip.content.applications[0].files[jpki.SIGN_CERT].data)
    key.verify(signature, document, padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(InvalidSignature):
        key.verify(signature, document + b".", padding.PKCS1v15(), hashes.SHA256())


def test_openssl_verifies_a_card_signature(chip: CardChip, tmp_path: Path) -> None:
    document = b"a document signed at the window\n"
    send(chip, SELECT_JPKI)
    select_ef(chip, jpki.AUTH_PIN)
    send(chip, "00200080 04 31323334")
    select_ef(chip, jpki.AUTH_KEY)
    signature = bytes.fromhex(send(chip, sign_apdu(digest_info_sha256(document))))[:-2]
    cert = chip.content.applications[0].files[jpki.AUTH_CERT].data
    pem = public_key(cert).public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "doc").write_bytes(document)
    (tmp_path / "sig").write_bytes(signature)
    (tmp_path / "pub.pem").write_bytes(pem)
    result = subprocess.run(
        ["openssl", "dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig", "doc"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout.strip()) == (0, "Verified OK")


def test_the_auth_pin_does_not_unlock_the_signing_key(chip: CardChip) -> None:
    send(chip, SELECT_JPKI)
    select_ef(chip, jpki.AUTH_PIN)
    send(chip, "00200080 04 31323334")
    select_ef(chip, jpki.SIGN_KEY)
    assert send(chip, sign_apdu(digest_info_sha256(b"x"))) == "6982"


def test_reselecting_the_application_logs_out_as_opensc_expects(chip: CardChip) -> None:
    send(chip, SELECT_JPKI)
    select_ef(chip, jpki.AUTH_PIN)
    send(chip, "00200080 04 31323334")
    send(chip, SELECT_JPKI)  # jpki_logout
    select_ef(chip, jpki.AUTH_KEY)
    assert send(chip, sign_apdu(digest_info_sha256(b"x"))) == "6982"


def test_sign_refuses_data_longer_than_the_padding_allows(chip: CardChip) -> None:
    send(chip, SELECT_JPKI)
    select_ef(chip, jpki.AUTH_PIN)
    send(chip, "00200080 04 31323334")
    select_ef(chip, jpki.AUTH_KEY)
    assert send(chip, f"802A0080F5{'00' * 245}00")[-4:] == "9000"  # k - 11 bytes
    assert send(chip, f"802A0080F6{'00' * 246}00") == "6A80"
    assert send(chip, "802A0081" + "0401020304" + "00") == "6A86"
    assert send(chip, "802A0080" + "0401020304") == "6700"  # no Le: nowhere to put it
    assert send(chip, "802A0080" + "0401020304" + "10") == "6C00"  # Le 16: exactly 256


def test_sign_needs_a_key_as_the_current_file(chip: CardChip) -> None:
    send(chip, SELECT_JPKI)
    assert send(chip, sign_apdu(b"\x01")) == "6986"
    select_ef(chip, jpki.AUTH_CERT)
    assert send(chip, sign_apdu(b"\x01")) == "6981"


def test_get_challenge_serves_pkcs11_random(chip: CardChip) -> None:
    """C_GenerateRandom goes to GET CHALLENGE with the length asked (iso7816.c)."""
    send(chip, SELECT_JPKI)
    first = bytes.fromhex(send(chip, "0084000064"))
    second = bytes.fromhex(send(chip, "0084000064"))
    assert first[-2:] == second[-2:] == b"\x90\x00"
    assert len(first) == 102 and first != second
    assert len(bytes.fromhex(send(chip, "0084000000"))) == 258


def test_myna_reads_a_certificate_in_two_steps(chip: CardChip) -> None:
    """myna read_binary_all: 7 bytes, then the rest as the BER length says, Le ≤ 255 or 00."""
    send(chip, SELECT_JPKI)
    select_ef(chip, jpki.AUTH_CERT)
    head = bytes.fromhex(send(chip, "00B0000007"))[:-2]
    size = int.from_bytes(head[2:4], "big") + 4
    data, at = head, 7
    while at < size:
        le = min(size - at, 256)
        answer = bytes.fromhex(send(chip, f"00B0{at:04X}{le % 256:02X}"))
        assert answer[-2:] == b"\x90\x00"
        data += answer[:-2]
        at += le
    assert data == chip.content.applications[0].files[jpki.AUTH_CERT].data


def test_myna_changes_the_auth_pin(chip: CardChip) -> None:
    send(chip, SELECT_JPKI)
    select_ef(chip, jpki.AUTH_PIN)
    assert send(chip, "00240180 04 39393939") == "6982"  # not verified yet
    send(chip, "00200080 04 31323334")
    assert send(chip, "00240180 04 39393939") == "9000"
    send(chip, SELECT_JPKI)
    select_ef(chip, jpki.AUTH_PIN)
    assert send(chip, "00200080 04 31323334") == "63C2"
    assert send(chip, "00200080 04 39393939") == "9000"


def test_pin_formats_are_enforced(chip: CardChip) -> None:
    send(chip, SELECT_JPKI)
    select_ef(chip, jpki.AUTH_PIN)
    assert send(chip, "00200080 03 313233") == "6A80"  # three digits: cannot be the PIN
    assert send(chip, "00200080 04 3132334A") == "6A80"
    select_ef(chip, jpki.SIGN_PIN)
    assert send(chip, "00200080 09 " + b"signpass1".hex()) == "6A80"  # lower case
    assert send(chip, "00200080 05 " + b"ABCDE".hex()) == "6A80"
    assert send(chip, "00200080 11 " + (b"A" * 17).hex()) == "6A80"
    assert send(chip, "00200080") == "63C5"  # none of these used a try
