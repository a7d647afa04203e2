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
one picture of the drawn pixels (grey pages as zlib-compressed 8-bit grey, colour
pages as a JPEG encoded by Pillow); it has no document information
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
import threading
import zlib
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
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
# PDFium may not be entered from two threads at once (pypdfium2 says so), and the API
# server runs exports on a pool of threads: one document is drawn at a time.
_PDFIUM: Final = threading.Lock()


@dataclass(frozen=True)
class _Page:
    """One drawn page: its size in points and pixels, and its encoded picture."""

    width: float
    height: float
    pixels_wide: int
    pixels_high: int
    colour: str
    data: bytes


def rebuild_pdf(data: bytes) -> Rebuilt:
    with _PDFIUM:
        try:
            document = pdfium.PdfDocument(data)
        except (pdfium.PdfiumError, ValueError, OSError):
            raise RebuildError("unreadable", "an unreadable or encrypted PDF") from None
        try:
            pages = _draw(document)
        finally:
            document.close()
    return Rebuilt("application/pdf", ".pdf", [_write(pages)])


def _draw(document: Any) -> list[_Page]:
    count = len(document)
    if count > MAX_PAGES:
        raise RebuildError("over_limits", f"a PDF of more than {MAX_PAGES} pages")
    if count == 0:
        raise RebuildError("unreadable", "a PDF without pages")
    out: list[_Page] = []
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
            try:
                pixels = np.asarray(bitmap.to_pil().convert("RGB"))
            finally:
                bitmap.close()
        finally:
            page.close()
        out.append(_encode(width, height, pixels))
    return out


def _encode(width: float, height: float, pixels: Any) -> _Page:
    """A drawn page's picture: grey pages (most text) losslessly, as 8-bit grey
    compressed with zlib; colour pages as a JPEG from Pillow, which writes no
    metadata. Either way only the drawn pixels are encoded."""
    high, wide = int(pixels.shape[0]), int(pixels.shape[1])
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    if np.array_equal(red, green) and np.array_equal(green, blue):
        data = zlib.compress(np.ascontiguousarray(red).tobytes(), 6)
        return _Page(width, height, wide, high, "gray", data)
    jpeg = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(jpeg, format="JPEG", quality=_JPEG_QUALITY)
    return _Page(width, height, wide, high, "rgb", jpeg.getvalue())


def _write(pages: list[_Page]) -> bytes:
    """A new PDF of one picture per page, and nothing else."""
    pdf = pikepdf.new()
    for page_in in pages:
        image = pikepdf.Stream(pdf, b"")
        if page_in.colour == "gray":
            image.write(page_in.data, filter=pikepdf.Name.FlateDecode)
            image.ColorSpace = pikepdf.Name.DeviceGray
        else:
            image.write(page_in.data, filter=pikepdf.Name.DCTDecode)
            image.ColorSpace = pikepdf.Name.DeviceRGB
        image.Type = pikepdf.Name.XObject
        image.Subtype = pikepdf.Name.Image
        image.Width = page_in.pixels_wide
        image.Height = page_in.pixels_high
        image.BitsPerComponent = 8
        width, height = page_in.width, page_in.height
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
