"""Evidence files are rebuilt from their content alone, or refused with a reason.

Each hostile file of :mod:`hostile` carries markers in every place its format hides
data; its copy is searched for them byte by byte, read back with the libraries, and
shown to exiftool when it is installed. The limits are checked on files that claim
more than they hold, and the detection on files whose brand lies.
"""

from __future__ import annotations

import io
import struct
import wave
import zlib
from pathlib import Path

import numpy as np
import pikepdf
import pytest
import soundfile
from clean import EXIFTOOL, assert_clean, exiftool, marks_in, unexpected_tags
from hostile import HOSTILE, wav_bytes
from PIL import Image

from vault import rebuild
from vault.rebuild import RebuildError, detect

REBUILT = sorted(n for n, c in HOSTILE.items() if not c.outcome.startswith("attachment_"))
REFUSED = sorted(n for n, c in HOSTILE.items() if c.outcome == "attachment_unsupported")


def _rebuilt(data: bytes) -> tuple[str, bytes]:
    copy = rebuild.rebuild(data, detect(data))
    return copy.media_type, b"".join(copy.chunks)


@pytest.fixture(scope="module")
def originals() -> dict[str, bytes]:
    return {name: case.build() for name, case in HOSTILE.items()}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_each_file_is_told_by_its_content(originals: dict[str, bytes], name: str) -> None:
    data = originals[name]
    assert marks_in(data) > 0, "the markers were planted"
    assert detect(data).kind == HOSTILE[name].kind


@pytest.mark.parametrize("name", REBUILT)
def test_the_copy_holds_the_content_and_nothing_else(
    originals: dict[str, bytes], name: str
) -> None:
    media_type, copy = _rebuilt(originals[name])
    assert media_type == HOSTILE[name].outcome
    assert_clean(copy, media_type)


@pytest.mark.parametrize("name", REFUSED)
def test_a_file_without_a_rebuild_is_refused(originals: dict[str, bytes], name: str) -> None:
    with pytest.raises(RebuildError) as caught:
        _rebuilt(originals[name])
    assert caught.value.reason == "unsupported"


@pytest.mark.skipif(EXIFTOOL is None, reason="exiftool is not installed")
def test_exiftool_sees_the_markers_in_the_originals_and_nothing_in_the_copies(
    originals: dict[str, bytes], tmp_path: Path
) -> None:
    sources, copies, types = [], [], []
    for name in REBUILT:
        source = tmp_path / f"{name}.original"
        source.write_bytes(originals[name])
        media_type, copy = _rebuilt(originals[name])
        target = tmp_path / f"{name}.copy"
        target.write_bytes(copy)
        sources.append(source)
        copies.append(target)
        types.append(media_type)
    # The check must see what it looks for: exiftool finds markers in every original.
    for name, report in zip(REBUILT, exiftool(sources), strict=True):
        assert "CANARY" in str(report), name
    for name, media_type, report in zip(REBUILT, types, exiftool(copies), strict=True):
        assert "CANARY" not in str(report), name
        assert unexpected_tags(report, media_type) == [], name


def test_an_image_is_turned_upright_before_it_is_rebuilt(originals: dict[str, bytes]) -> None:
    # The JPEG is 40x20 with a black top-left corner and EXIF orientation 6 (turn
    # 90 degrees clockwise): the copy is 20x40 with the corner at the top right.
    _media_type, copy = _rebuilt(originals["jpeg"])
    with Image.open(io.BytesIO(copy)) as image:
        rgb = image.convert("RGB")
        assert rgb.size == (20, 40)
        assert max(rgb.getpixel((19, 0))) < 40  # type: ignore[arg-type]
        assert rgb.getpixel((0, 0))[0] > 200  # type: ignore[index]


def test_a_recording_keeps_its_samples(originals: dict[str, bytes]) -> None:
    for name in ("wav", "flac", "aiff"):
        _media_type, copy = _rebuilt(originals[name])
        before, rate = soundfile.read(io.BytesIO(originals[name]), dtype="int16")
        after, copy_rate = soundfile.read(io.BytesIO(copy), dtype="int16")
        assert copy_rate == rate
        assert np.array_equal(before, after), name


def test_a_document_keeps_its_pages_and_their_size(originals: dict[str, bytes]) -> None:
    _media_type, copy = _rebuilt(originals["pdf"])
    with pikepdf.open(io.BytesIO(copy)) as doc:
        assert len(doc.pages) == 1
        assert [float(x) for x in doc.pages[0].mediabox] == [0, 0, 300, 200]
    three = pikepdf.new()
    for size in ((300, 200), (200, 300), (100, 100)):
        three.add_blank_page(page_size=size)
    three.pages[1].obj.Rotate = 90
    buffer = io.BytesIO()
    three.save(buffer)
    _media_type, copy = _rebuilt(buffer.getvalue())
    with pikepdf.open(io.BytesIO(copy)) as doc:
        # A rotated page is drawn as it is shown.
        sizes = [[float(x) for x in page.mediabox][2:] for page in doc.pages]
        assert sizes == [[300, 200], [300, 200], [100, 100]]
    assert_clean(copy, "application/pdf")


def test_a_camera_mpo_leaves_as_its_first_picture() -> None:
    frames = [Image.new("RGB", (16, 8), colour) for colour in ("red", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "MPO", save_all=True, append_images=frames[1:])
    media_type, copy = _rebuilt(buffer.getvalue())
    assert media_type == "image/jpeg"
    assert_clean(copy, media_type)
    with Image.open(io.BytesIO(copy)) as image:
        assert image.size == (16, 8)
        assert image.convert("RGB").getpixel((8, 4))[0] > 200  # type: ignore[index]


def test_a_multi_page_tiff_is_refused_not_cut() -> None:
    pages = [Image.new("L", (8, 8), shade) for shade in (0, 255)]
    buffer = io.BytesIO()
    pages[0].save(buffer, "TIFF", save_all=True, append_images=pages[1:])
    with pytest.raises(RebuildError) as caught:
        _rebuilt(buffer.getvalue())
    assert caught.value.reason == "unsupported"


def test_a_cmyk_photo_leaves_in_rgb() -> None:
    buffer = io.BytesIO()
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(buffer, "JPEG")
    media_type, copy = _rebuilt(buffer.getvalue())
    assert_clean(copy, media_type)
    with Image.open(io.BytesIO(copy)) as image:
        assert image.mode == "RGB"


def _png_claiming(width: int, height: int) -> bytes:
    """A 1x1 PNG whose header claims ``width`` x ``height`` (a decompression bomb's
    shape: the decoder would allocate what the header says)."""
    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    struct.pack_into(">II", data, 16, width, height)
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])))
    return bytes(data)


@pytest.mark.parametrize("size", [(100_000, 100_000), (10_000, 10_000), (9_000, 9_000)])
def test_an_image_larger_than_the_limit_is_refused_before_decoding(
    size: tuple[int, int],
) -> None:
    # 10 gigapixels trips Pillow's own bomb check, 100 megapixels its warning (which
    # must not escape), 81 megapixels only ours.
    with pytest.raises(RebuildError) as caught:
        _rebuilt(_png_claiming(*size))
    assert caught.value.reason == "over_limits"


def test_a_document_of_too_many_pages_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    doc = pikepdf.new()
    for _ in range(3):
        doc.add_blank_page()
    buffer = io.BytesIO()
    doc.save(buffer)
    monkeypatch.setattr("vault.rebuild.document.MAX_PAGES", 2)
    with pytest.raises(RebuildError) as caught:
        _rebuilt(buffer.getvalue())
    assert caught.value.reason == "over_limits"
    monkeypatch.setattr("vault.rebuild.document.MAX_PAGES", 3)
    monkeypatch.setattr("vault.rebuild.document.MAX_DOCUMENT_PIXELS", 2 * 1275 * 1650)
    with pytest.raises(RebuildError) as caught:
        _rebuilt(buffer.getvalue())
    assert caught.value.reason == "over_limits"


def test_a_huge_page_is_drawn_within_the_pixel_limit() -> None:
    doc = pikepdf.new()
    doc.add_blank_page(page_size=(14_400, 14_400))  # 200 inches square
    buffer = io.BytesIO()
    doc.save(buffer)
    _media_type, copy = _rebuilt(buffer.getvalue())
    with pikepdf.open(io.BytesIO(copy)) as out:
        picture = out.pages[0].Resources.XObject.Im0
        assert int(picture.Width) * int(picture.Height) <= rebuild.MAX_PAGE_PIXELS
        assert [float(x) for x in out.pages[0].mediabox][2:] == [14_400, 14_400]


def test_a_recording_over_the_limits_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    two_seconds = wav_bytes(16_000, rate=8000)
    monkeypatch.setattr("vault.rebuild.audio.MAX_AUDIO_SECONDS", 1)
    with pytest.raises(RebuildError) as caught:
        _rebuilt(two_seconds)
    assert caught.value.reason == "over_limits"
    monkeypatch.setattr("vault.rebuild.audio.MAX_AUDIO_SECONDS", 10)
    monkeypatch.setattr("vault.rebuild.audio.MAX_AUDIO_SAMPLES", 8_000)
    with pytest.raises(RebuildError) as caught:
        _rebuilt(two_seconds)
    assert caught.value.reason == "over_limits"
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(rebuild.MAX_AUDIO_CHANNELS + 1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(bytes(2 * (rebuild.MAX_AUDIO_CHANNELS + 1) * 10))
    with pytest.raises(RebuildError) as caught:
        _rebuilt(buffer.getvalue())
    assert caught.value.reason == "over_limits"


@pytest.mark.parametrize("name", ["jpeg", "png", "pdf", "flac", "mp3"])
def test_a_damaged_file_is_refused_not_half_copied(originals: dict[str, bytes], name: str) -> None:
    data = originals[name]
    with pytest.raises(RebuildError) as caught:
        _rebuilt(data[: len(data) // 3])
    assert caught.value.reason == "unreadable"


def test_an_original_is_sent_as_it_is_typed_by_its_content(
    originals: dict[str, bytes],
) -> None:
    data = originals["mp4_video_branded_m4a"]
    copy = rebuild.original(data, detect(data))
    assert (copy.media_type, copy.extension) == ("video/mp4", ".mp4")
    assert b"".join(copy.chunks) == data


def test_a_quicktime_movie_without_ftyp_is_a_video(originals: dict[str, bytes]) -> None:
    # Older QuickTime files start with their movie box; the tracks still decide.
    video = originals["mp4_video_branded_m4a"]
    start = video.index(b"moov") - 4
    assert detect(video[start:]).kind == "video"
    sound = originals["m4a"]
    assert detect(sound[sound.index(b"moov") - 4 :]).kind == "audio"
