"""Rebuilding evidence files for export, per type, against a plain copy in the same run
(run through ``bench/attachments.py --part rebuild``).

For each type an export may send, a generated file of realistic size is rebuilt from
its content (vault.rebuild: detection, decoding, encoding) and copied as it is (the
same bytes through SHA-256 into memory, which is what sending an original costs
before encryption); prints MiB/s of original for both and the ratio, and pages/s for
the PDF.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable, Iterable

import numpy as np
import pikepdf
import soundfile
from PIL import Image

from vault import rebuild

__all__ = ["bench_rebuild"]

_RNG = np.random.default_rng(12)


def _photo() -> bytes:
    """A 12-megapixel camera photo: smooth light, fine noise (JPEG, quality 90)."""
    y, x = np.mgrid[0:3000, 0:4000]
    base = np.stack([(x / 16) % 256, (y / 12) % 256, ((x + y) / 28) % 256], axis=-1)
    pixels = np.clip(base + _RNG.normal(0, 12, base.shape), 0, 255).astype("uint8")
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


def _screenshot() -> bytes:
    """A 1920x1080 screenshot: flat panels and lines of text-like noise (PNG)."""
    pixels = np.full((1080, 1920, 3), 245, dtype="uint8")
    pixels[:, :320] = (40, 44, 52)
    for row in range(60, 1040, 24):
        width = int(_RNG.integers(400, 1500))
        pixels[row : row + 12, 360 : 360 + width] = _RNG.integers(0, 90, (12, width, 3))
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, "PNG")
    return out.getvalue()


def _document(pages: int = 40) -> bytes:
    """An A4 report of ``pages`` pages of text in Helvetica (PDF)."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
    )
    line = b"Time records for sampled workers show fourteen-hour shifts in peak weeks."
    for _ in range(pages):
        page = pdf.add_blank_page(page_size=(595, 842))
        text = (
            b"BT /F1 10 Tf 56 790 Td 13 TL "
            + b" ".join(b"(" + line + b") '" for _ in range(56))
            + b" ET"
        )
        page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
        page.Contents = pdf.make_stream(text)
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _recording(fmt: str, subtype: str, seconds: int, rate: int) -> bytes:
    """An interview: ``seconds`` of stereo speech-like tone and noise."""
    t = np.arange(seconds * rate) / rate
    voice = 0.2 * np.sin(2 * np.pi * 180 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
    sound = np.stack([voice, voice], axis=1) + _RNG.normal(0, 0.01, (len(t), 2))
    out = io.BytesIO()
    soundfile.write(out, sound.astype("float32"), rate, format=fmt, subtype=subtype)
    return out.getvalue()


def _sink(chunks: Iterable[bytes]) -> int:
    digest = hashlib.sha256()
    out = io.BytesIO()
    for chunk in chunks:
        digest.update(chunk)
        out.write(chunk)
    return len(out.getvalue())


def _timed(action: Callable[[], object], floor: float = 1.0) -> float:
    """Seconds per run of ``action``, repeated until ``floor`` seconds have passed."""
    runs, start = 0, time.perf_counter()
    while True:
        action()
        runs += 1
        spent = time.perf_counter() - start
        if spent >= floor:
            return spent / runs


def bench_rebuild() -> None:
    inputs: list[tuple[str, Callable[[], bytes], str]] = [
        ("image/jpeg  12 MP photo", _photo, ""),
        ("image/png   1080p screenshot", _screenshot, ""),
        ("pdf         40 A4 pages of text", _document, "pages"),
        ("audio/wav   5 min 48 kHz stereo", lambda: _recording("WAV", "PCM_16", 300, 48000), ""),
        ("audio/flac  5 min 48 kHz stereo", lambda: _recording("FLAC", "PCM_16", 300, 48000), ""),
        (
            "audio/mpeg  5 min 44.1 kHz stereo",
            lambda: _recording("MP3", "MPEG_LAYER_III", 300, 44100),
            "",
        ),
    ]
    print("rebuild for export (MiB/s of original; plain copy = same bytes, SHA-256, memory)")
    for label, make, unit in inputs:
        data = make()
        mib = len(data) / 2**20
        copy_s, rebuild_s, out = _measure(data)
        extra = f"   {40 / rebuild_s:6.1f} pages/s" if unit == "pages" else ""
        print(
            f"  {label:<34} {mib:7.2f} MiB -> {out / 2**20:7.2f} MiB   "
            f"rebuild {mib / rebuild_s:8.2f} MiB/s   copy {mib / copy_s:8.1f} MiB/s   "
            f"ratio {copy_s / rebuild_s:8.5f}{extra}"
        )


def _measure(data: bytes) -> tuple[float, float, int]:
    """Seconds to copy and to rebuild ``data`` (detection included), and the copy's size."""
    copy_s = _timed(lambda: _sink([bytes(data)]))
    rebuild_s = _timed(lambda: _sink(rebuild.rebuild(data, rebuild.detect(data)).chunks))
    return copy_s, rebuild_s, _sink(rebuild.rebuild(data, rebuild.detect(data)).chunks)


if __name__ == "__main__":
    bench_rebuild()
