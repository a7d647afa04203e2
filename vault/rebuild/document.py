"""PDF documents rebuilt as the images of their pages (pypdfium2, then pikepdf).

A PDF has more places to carry data than any list of them: document information,
XMP streams on the document, pages and images, annotations with their authors and
contents, form fields and their values, attached files, JavaScript and other actions,
outlines, page-piece data, optional content, older revisions kept after an
incremental update, and whatever an embedded image carries. No rebuild from the
page content can be shown to leave all of them behind, so each page is drawn
(without its annotations and form fields) and the copy is a new PDF holding nothing
but those pictures.

Invariants: the copy has one page per page, of the same size in points, each showing
one JPEG re-encoded by Pillow from the drawn pixels; it has no document information
dictionary, no XMP, no annotations, forms, actions, outlines or names, and the
document id is derived from its content. Text in the copy is pixels: it can be read,
not searched or copied. The page count is checked against :data:`MAX_PAGES` before
a page is drawn, and each page's pixels against :data:`MAX_PAGE_PIXELS` (a larger
page is drawn at a lower resolution) and the document's against
:data:`MAX_DOCUMENT_PIXELS`.
"""

from __future__ import annotations

import io
import math
from typing import Any, Final

import pikepdf
import pypdfium2 as pdfium
from PIL import Image

from vault.rebuild.base import (
    MAX_DOCUMENT_PIXELS,
    MAX_PAGE_PIXELS,
    MAX_PAGES,
    PAGE_DPI,
    RebuildError,
    Rebuilt,
)

__all__ = ["rebuild_pdf"]

_JPEG_QUALITY: Final = 85
_WHITE: Final = (255, 255, 255, 255)


def rebuild_pdf(data: bytes) -> Rebuilt:
    try:
        document = pdfium.PdfDocument(data)
    except (pdfium.PdfiumError, ValueError, OSError):
        raise RebuildError("unreadable", "an unreadable or encrypted PDF") from None
    try:
        pages = _draw(document)
    finally:
        document.close()
    return Rebuilt("application/pdf", ".pdf", [_write(pages)])


def _draw(document: Any) -> list[tuple[float, float, int, int, bytes]]:
    """Each page as (width and height in points, width and height in pixels, JPEG)."""
    count = len(document)
    if count > MAX_PAGES:
        raise RebuildError("over_limits", f"a PDF of more than {MAX_PAGES} pages")
    if count == 0:
        raise RebuildError("unreadable", "a PDF without pages")
    out: list[tuple[float, float, int, int, bytes]] = []
    drawn = 0
    for index in range(count):
        page = document[index]
        try:
            width, height = page.get_size()
            if not (width > 0 and height > 0 and math.isfinite(width * height)):
                raise RebuildError("unreadable", "a PDF page without a size")
            scale = min(PAGE_DPI / 72, math.sqrt(MAX_PAGE_PIXELS / (width * height)))
            drawn += math.ceil(width * scale) * math.ceil(height * scale)
            if drawn > MAX_DOCUMENT_PIXELS:
                raise RebuildError(
                    "over_limits", f"a PDF of more than {MAX_DOCUMENT_PIXELS:,} pixels drawn"
                )
            try:
                # Annotations (comments, stamps, links) and form fields are not drawn:
                # what they show is theirs, not the page's.
                bitmap = page.render(
                    scale=scale, may_draw_forms=False, draw_annots=False, fill_color=_WHITE
                )
            except pdfium.PdfiumError:
                raise RebuildError("unreadable", "a PDF page that cannot be drawn") from None
            pixels = bitmap.to_pil()
            bitmap.close()
        finally:
            page.close()
        # A new image from the drawn pixels, encoded with no metadata at all.
        clean = Image.frombytes("RGB", pixels.size, pixels.convert("RGB").tobytes())
        jpeg = io.BytesIO()
        clean.save(jpeg, format="JPEG", quality=_JPEG_QUALITY)
        out.append((width, height, clean.width, clean.height, jpeg.getvalue()))
    return out


def _write(pages: list[tuple[float, float, int, int, bytes]]) -> bytes:
    """A new PDF of one picture per page, and nothing else."""
    pdf = pikepdf.new()
    for width, height, pixels_wide, pixels_high, jpeg in pages:
        image = pikepdf.Stream(pdf, b"")
        image.write(jpeg, filter=pikepdf.Name.DCTDecode)
        image.Type = pikepdf.Name.XObject
        image.Subtype = pikepdf.Name.Image
        image.Width = pixels_wide
        image.Height = pixels_high
        image.ColorSpace = pikepdf.Name.DeviceRGB
        image.BitsPerComponent = 8
        content = f"q {width:.4f} 0 0 {height:.4f} 0 0 cm /Im0 Do Q".encode("ascii")
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page,
            MediaBox=pikepdf.Array([0, 0, width, height]),
            Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image)),
            Contents=pikepdf.Stream(pdf, content),
        )
        pdf.pages.append(pikepdf.Page(page))
    out = io.BytesIO()
    # No metadata is opened or written; the id is derived from the content, so it
    # says nothing of when or where the copy was made.
    pdf.save(out, deterministic_id=True, fix_metadata_version=False)
    return out.getvalue()
