"""Images rebuilt from their pixels with Pillow.

Invariants: the copy is a new image made from the decoded pixels alone, so nothing
of the original file but what it shows can reach it: no EXIF (GPS, camera serial,
maker notes, thumbnails), XMP, IPTC, ICC profile or its description, comments, text
or ``eXIf`` chunks, and no structure of the original container. The orientation the
EXIF asks for is applied to the pixels first, and colours are converted to sRGB
from the embedded profile when there is one, so the copy looks as the original did.
A JPEG leaves as a new JPEG; every other image as a PNG. The header's width and
height are checked against :data:`MAX_IMAGE_PIXELS` before any pixel is decoded. An
image of several frames (animation, multi-page TIFF) is refused rather than cut to
its first, except an MPO photograph, whose first frame is the picture itself.
"""

from __future__ import annotations

import io
import warnings
from typing import Final

from PIL import Image, ImageCms, ImageOps

from vault.rebuild.base import MAX_IMAGE_PIXELS, RebuildError, Rebuilt

__all__ = ["FORMATS", "rebuild_image"]

FORMATS: Final = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "TIFF": "image/tiff",
    "WEBP": "image/webp",
    "GIF": "image/gif",
}
"""The formats taken, with their media types. MPO (a JPEG followed by more pictures,
as some cameras write) is what Pillow's JPEG reader returns for such a file."""
_OPENERS: Final = [fmt for fmt in FORMATS if fmt != "MPO"]
_JPEG_QUALITY: Final = 92
_PLAIN: Final = frozenset({"1", "L", "LA", "RGB", "RGBA", "I;16"})
_TO_RGB: Final = frozenset({"CMYK", "YCbCr", "LAB", "HSV"})


def open_image(data: bytes) -> Image.Image:
    """The image Pillow recognises in ``data`` among :data:`FORMATS`, header only."""
    with warnings.catch_warnings():
        # Pillow warns past its own limit (and fails past twice it) on a header that
        # claims that many pixels; ours is lower and refuses the image right after.
        # Two threads racing here can at worst leave this one filter in place.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(io.BytesIO(data), formats=_OPENERS)


def rebuild_image(data: bytes) -> Rebuilt:
    try:
        with open_image(data) as image:
            return _rebuild(image)
    except RebuildError:
        raise
    except Image.DecompressionBombError:
        raise RebuildError("over_limits", "an image with too many pixels") from None
    except Exception as exc:  # Pillow raises many kinds of error on a broken file
        raise RebuildError("unreadable", f"an unreadable image ({type(exc).__name__})") from None


def _rebuild(image: Image.Image) -> Rebuilt:
    fmt = str(image.format)
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        raise RebuildError("over_limits", f"an image of more than {MAX_IMAGE_PIXELS:,} pixels")
    if fmt != "MPO" and getattr(image, "n_frames", 1) != 1:
        raise RebuildError("unsupported", f"a {fmt} image of several frames")
    image.seek(0)
    image.load()
    profile = image.info.get("icc_profile")
    upright = ImageOps.exif_transpose(image)
    pixels = _plain(upright, profile if isinstance(profile, bytes) else None)
    # A new image from the bytes of its pixels: no ``info``, no EXIF, nothing the
    # encoder could copy from the original.
    clean = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())
    out = io.BytesIO()
    if fmt in ("JPEG", "MPO"):
        if clean.mode not in ("L", "RGB"):
            clean = clean.convert("RGB")
        clean.save(out, format="JPEG", quality=_JPEG_QUALITY)
        return Rebuilt("image/jpeg", ".jpg", [out.getvalue()])
    clean.save(out, format="PNG")
    return Rebuilt("image/png", ".png", [out.getvalue()])


def _plain(image: Image.Image, profile: bytes | None) -> Image.Image:
    """The image in sRGB (when it carries a profile) and in a mode PNG or JPEG holds."""
    if profile and image.mode in ("RGB", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            converted = ImageCms.profileToProfile(
                image, source, ImageCms.createProfile("sRGB"), outputMode="RGB"
            )
        except (ImageCms.PyCMSError, OSError, ValueError):
            # A profile lcms cannot use: the pixels are taken as they are.
            converted = None
        if converted is not None:
            return converted
    mode = image.mode
    if mode in _PLAIN:
        return image
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in image.info
        return image.convert("RGBA" if has_alpha else "RGB")
    if mode in _TO_RGB:
        return image.convert("RGB")
    if mode.startswith("I;16"):
        return image.convert("I;16")
    raise RebuildError("unsupported", f"an image in {mode} mode")
