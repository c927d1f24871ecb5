"""A tiny, valid one-page PDF, so seeded certificates have a real document.

Odoo previews attachments; a well-formed PDF (correct xref offsets) keeps
that preview working without shipping a binary file in the repository.
"""

from __future__ import annotations


def _escape(text: str) -> str:
    """Escape a string for a PDF literal; non-Latin-1 characters become '?'."""
    latin = text.encode("latin-1", "replace").decode("latin-1")
    return latin.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def sample_pdf(*lines: str) -> bytes:
    """One US-Letter page with ``lines`` of Helvetica text."""
    text = "\n".join(
        f"BT /F1 14 Tf 72 {720 - 24 * index} Td ({_escape(line)}) Tj ET"
        for index, line in enumerate(lines or ("Exemption certificate (sandbox)",))
    ).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref_at,
    )
    return bytes(out)
