"""A small network PKI with document certificates, a copy, and a real PDF to sign
(written with pyHanko's own writer until the Typst renderer draws copies)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cryptography import x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.writer import PdfFileWriter

from jukinet.documents import certs
from jukinet.documents.signing import DocumentSigner
from jukinet.domain.copies import CopyPerson, ResidentCopy
from jukinet.domain.identity import Sex
from jukinet.domain.record import Name
from jukinet.network import pki


@dataclass(frozen=True)
class Kit:
    ca_dir: Path
    network_ca: x509.Certificate
    signer: DocumentSigner

    def crls(self) -> list[x509.CertificateRevocationList]:
        return certs.load_crls([self.ca_dir / "crl.pem", self.ca_dir / certs.CRL_FILE])


def make_kit(folder: Path, network: str = "test", code: str = "131016") -> Kit:
    """A network CA, its document CA and the document certificate of ``code``."""
    ca_dir = folder / "ca"
    ca = pki.create_ca(network)
    pki.save_ca(ca, ca_dir)
    pki.write_first_crl(ca_dir)
    document_ca = certs.create_document_ca(ca)
    certs.save_document_ca(document_ca, ca_dir)
    key, cert = certs.issue_document_certificate(document_ca, network, code, "東京都千代田区")
    home = folder / "home"
    home.mkdir()
    certs.write_document_identity(home, key, cert, document_ca)
    return Kit(ca_dir, ca.cert, DocumentSigner.load(home))


def a_copy(serial: str = "2026-000001", *, wide_area: bool = False) -> ResidentCopy:
    person = CopyPerson(
        name=Name("髙橋", "太郎", "タカハシ", "タロウ"),
        date_of_birth=date(1980, 4, 1),
        sex=Sex.MALE,
        became_resident_on=date(1980, 4, 1),
        address_fixed_on=date(2010, 5, 6),
        notified_on=date(2010, 5, 6),
        previous_address="大阪府大阪市北区梅田一丁目1番1号",
    )
    return ResidentCopy(
        serial=serial,
        issuer_code="131016",
        issuer_name="東京都千代田区",
        mayor_title="千代田区長",
        mayor_name="千代田 一郎",
        issued_on=date(2026, 12, 2),
        address="東京都千代田区千代田一丁目1番1号",
        head_name=None,
        persons=(person,),
        home_code="131016",
        wide_area=wide_area,
    )


CONTENT_MARKER = b"(Resident record copy"


def render_test_pdf(copy: ResidentCopy, qr_text: str) -> bytes:
    """A one-page PDF naming the copy's serial and token, in Helvetica."""
    w = PdfFileWriter()
    text = f"BT /F1 14 Tf 72 760 Td (Resident record copy {copy.serial}) Tj ET".encode()
    text += f"\nBT /F1 6 Tf 72 700 Td ({qr_text}) Tj ET".encode()
    font = generic.DictionaryObject(
        {
            generic.pdf_name("/Type"): generic.pdf_name("/Font"),
            generic.pdf_name("/Subtype"): generic.pdf_name("/Type1"),
            generic.pdf_name("/BaseFont"): generic.pdf_name("/Helvetica"),
        }
    )
    resources = generic.DictionaryObject(
        {
            generic.pdf_name("/Font"): generic.DictionaryObject(
                {generic.pdf_name("/F1"): w.add_object(font)}
            )
        }
    )
    page = generic.DictionaryObject(
        {
            generic.pdf_name("/Type"): generic.pdf_name("/Page"),
            generic.pdf_name("/MediaBox"): generic.ArrayObject(
                [generic.NumberObject(n) for n in (0, 0, 595, 842)]
            ),
            generic.pdf_name("/Contents"): w.add_object(generic.StreamObject(stream_data=text)),
            generic.pdf_name("/Resources"): resources,
        }
    )
    w.insert_page(page)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def nss_database(folder: Path, anchor: Path) -> Path:
    """An NSS database (certutil) trusting ``anchor`` for e-mail signing, as pdfsig reads."""
    db = folder / "nss"
    shutil.rmtree(db, ignore_errors=True)
    db.mkdir()
    subprocess.run(["certutil", "-N", "-d", f"sql:{db}", "--empty-password"], check=True)
    subprocess.run(
        [
            "certutil",
            "-A",
            "-d",
            f"sql:{db}",
            "-n",
            "jukinet document CA",
            "-t",
            "CT,C,C",
            "-i",
            str(anchor),
        ],
        check=True,
        capture_output=True,
    )
    return db


def pdfsig(db: Path, pdf: Path) -> str:
    result = subprocess.run(
        ["pdfsig", "-nssdir", f"sql:{db}", str(pdf)],
        capture_output=True,
        text=True,
        env={**os.environ, "LANG": "C"},
    )
    return result.stdout + result.stderr
