"""The QR code printed in a corner of a copy, as an SVG image (segno).

The caller gives the text (the signed verification token); this module only draws
it. A full QR code (never a Micro QR, which common phone readers do not read), error
correction M at least, with the four-module quiet zone the standard asks for.
"""

from __future__ import annotations

import io

import segno

from jukinet.errors import RenderFailed

__all__ = ["qr_svg"]


def qr_svg(text: str) -> str:
    """The SVG (a string) of a QR code holding ``text`` exactly (UTF-8, byte mode if needed)."""
    try:
        code = segno.make_qr(text, error="m", boost_error=True)
    except segno.DataOverflowError as exc:
        raise RenderFailed(
            f"The text for the copy's QR code is too long ({len(text)} characters) "
            "for a QR code; nothing is issued."
        ) from exc
    out = io.BytesIO()
    code.save(out, kind="svg", border=4, xmldecl=False, nl=False, dark="#000")
    return out.getvalue().decode("ascii")
