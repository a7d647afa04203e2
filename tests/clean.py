"""Checks that an exported copy holds its content and nothing else.

:func:`assert_clean` searches the copy for the markers of :mod:`hostile` in every
encoding they were planted in and reads it back with the libraries of its format;
:func:`exiftool` and :func:`unexpected_tags` ask exiftool, when it is installed,
which tags it finds beyond the format's own structure.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import wave
from pathlib import Path
from typing import Final

import mutagen
import pikepdf
import soundfile
from hostile import MARK_FORMS
from PIL import Image, JpegImagePlugin, PngImagePlugin

EXIFTOOL: Final = shutil.which("exiftool")
_PLAIN_TAGS: Final = {
    "image/jpeg": {
        "File": {
            "FileType",
            "FileTypeExtension",
            "MIMEType",
            "ImageWidth",
            "ImageHeight",
            "EncodingProcess",
            "BitsPerSample",
            "ColorComponents",
            "YCbCrSubSampling",
        },
        "JFIF": {"JFIFVersion", "ResolutionUnit", "XResolution", "YResolution"},
        "Composite": {"ImageSize", "Megapixels"},
    },
    "image/png": {
        "File": {"FileType", "FileTypeExtension", "MIMEType"},
        "PNG": {
            "ImageWidth",
            "ImageHeight",
            "BitDepth",
            "ColorType",
            "Compression",
            "Filter",
            "Interlace",
        },
        "Composite": {"ImageSize", "Megapixels"},
    },
    "application/pdf": {
        "File": {"FileType", "FileTypeExtension", "MIMEType"},
        "PDF": {"PDFVersion", "Linearized", "PageCount"},
    },
    "audio/wav": {
        "File": {"FileType", "FileTypeExtension", "MIMEType"},
        "RIFF": {"Encoding", "NumChannels", "SampleRate", "AvgBytesPerSec", "BitsPerSample"},
        "Composite": {"Duration"},
    },
}
"""What exiftool may report of a clean copy, by group: the format's own structure."""


def marks_in(data: bytes) -> int:
    return sum(data.count(form) for form in MARK_FORMS)


def assert_clean(copy: bytes, media_type: str) -> None:
    """The copy holds no marker in any encoding, and the libraries that read its
    format find nothing in it but the picture, the pages or the samples."""
    assert marks_in(copy) == 0
    if media_type == "image/jpeg":
        _clean_jpeg(copy)
    elif media_type == "image/png":
        _clean_png(copy)
    elif media_type == "application/pdf":
        _clean_pdf(copy)
    elif media_type == "audio/wav":
        _clean_wav(copy)
    else:
        raise AssertionError(f"no copy should be {media_type}")


def _clean_jpeg(copy: bytes) -> None:
    with Image.open(io.BytesIO(copy)) as image:
        assert image.format == "JPEG"
        assert set(image.info) <= {"jfif", "jfif_version", "jfif_unit", "jfif_density"}
        assert isinstance(image, JpegImagePlugin.JpegImageFile)
        assert [marker for marker, _data in image.applist] == ["APP0"]  # JFIF alone
        assert dict(image.getexif()) == {}
        image.load()


def _clean_png(copy: bytes) -> None:
    with Image.open(io.BytesIO(copy)) as image:
        assert image.format == "PNG"
        assert image.info == {}
        assert dict(image.getexif()) == {}
        image.load()
    stream = io.BytesIO(copy[8:])
    chunks = PngImagePlugin.ChunkStream(stream)
    kinds: list[bytes] = []
    while not kinds or kinds[-1] != b"IEND":
        kind, _pos, length = chunks.read()
        kinds.append(kind)
        stream.seek(length + 4, io.SEEK_CUR)
    assert set(kinds) <= {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}


def _clean_pdf(copy: bytes) -> None:
    # One revision: no older body below the last one.
    assert copy.count(b"%%EOF") == 1
    assert copy.count(b"startxref") == 1
    with pikepdf.open(io.BytesIO(copy)) as doc:
        assert set(doc.trailer.keys()) <= {"/Root", "/Size", "/ID"}
        assert set(doc.Root.keys()) == {"/Type", "/Pages"}
        pages = list(doc.pages)
        # The catalog, the page tree, and for each page: itself, its content, its picture.
        assert len(list(doc.objects)) == 2 + 3 * len(pages)
        for page in pages:
            assert set(page.obj.keys()) <= {
                "/Type",
                "/Parent",
                "/MediaBox",
                "/Resources",
                "/Contents",
            }
            assert set(page.Resources.keys()) == {"/XObject"}
            assert list(page.Resources.XObject.keys()) == ["/Im0"]
            picture = page.Resources.XObject.Im0
            assert set(picture.keys()) <= {
                "/Type",
                "/Subtype",
                "/Width",
                "/Height",
                "/ColorSpace",
                "/BitsPerComponent",
                "/Filter",
                "/Length",
            }
            if picture.Filter == pikepdf.Name.DCTDecode:
                assert picture.ColorSpace == pikepdf.Name.DeviceRGB
                _clean_jpeg(picture.read_raw_bytes())
            else:
                # A grey page: 8-bit samples and nothing else.
                assert picture.Filter == pikepdf.Name.FlateDecode
                assert picture.ColorSpace == pikepdf.Name.DeviceGray
                samples = picture.read_bytes()
                assert len(samples) == int(picture.Width) * int(picture.Height)
                assert marks_in(samples) == 0
            assert marks_in(page.Contents.read_bytes()) == 0


def _clean_wav(copy: bytes) -> None:
    with wave.open(io.BytesIO(copy)) as reader:
        size = reader.getnframes() * reader.getnchannels() * reader.getsampwidth()
        assert reader.getsampwidth() == 2
    # RIFF, fmt and data, and not one byte more: no chunk of the original can follow.
    assert len(copy) == 44 + size
    assert copy[12:16] == b"fmt "
    assert copy[36:40] == b"data"
    info = soundfile.info(io.BytesIO(copy))
    assert (info.format, info.subtype) == ("WAV", "PCM_16")
    assert mutagen.File(io.BytesIO(copy)).tags is None


def exiftool(paths: list[Path]) -> list[dict[str, object]]:
    """What exiftool reports of each file (every group, unknown tags too)."""
    assert EXIFTOOL is not None
    run = subprocess.run(
        [EXIFTOOL, "-j", "-a", "-u", "-G1", *map(str, paths)],
        capture_output=True,
        check=False,
        timeout=120,
    )
    found: list[dict[str, object]] = json.loads(run.stdout)
    return found


def unexpected_tags(report: dict[str, object], media_type: str) -> list[str]:
    """Tags exiftool reports beyond the format's own structure (file system and
    exiftool's own notes aside)."""
    allowed = _PLAIN_TAGS[media_type]
    out = []
    for key in report:
        group, _, tag = key.partition(":")
        if key == "SourceFile" or group in ("System", "ExifTool"):
            continue
        if tag not in allowed.get(group, set()):
            out.append(key)
    return out
