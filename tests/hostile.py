"""Hostile evidence files: every place the formats hide data, each planted with a marker.

Each builder returns the bytes of one file carrying ``MARK`` (in ASCII, and where the
format writes text in UTF-16, in UTF-16) in every hiding place it knows, and GPS
coordinates where the format has a place for them. The files are made with the
libraries (Pillow, pikepdf, soundfile, mutagen); where no library writes a structure
(an EXIF thumbnail, IPTC, a BWF ``bext`` chunk, iXML, an incremental PDF update,
QuickTime atoms), it is put together here from the format's published layout.

``HOSTILE`` names each file with the kind it is by content and what happens to it
under a policy that rebuilds every kind that has a rebuild: ``rebuilt`` (and to what
media type) or the reason it is left out.
"""

from __future__ import annotations

import io
import re
import struct
import wave
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import mutagen.apev2
import mutagen.flac
import mutagen.id3
import mutagen.mp4
import mutagen.oggvorbis
import mutagen.wave
import numpy as np
import pikepdf
import soundfile
from mutagen.ogg import OggPage
from PIL import ExifTags, Image, ImageCms, PngImagePlugin, TiffImagePlugin

MARK: Final = b"CANARY"
"""Every planted marker contains this."""
MARK_FORMS: Final = (MARK, "CANARY".encode("utf-16-be"), "CANARY".encode("utf-16-le"))
GPS: Final = {1: "N", 2: (10.0, 45.0, 36.5), 3: "E", 4: (106.0, 40.0, 1.25)}
"""Latitude and longitude of a fictional dormitory, as an EXIF GPS IFD."""
XMP: Final = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" '
    b'xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    b'exif:GPSLatitude="10,45.6N" exif:GPSLongitude="106,40.0E">'
    b"<dc:creator><rdf:Seq><rdf:li>CANARY-XMP-CREATOR</rdf:li></rdf:Seq></dc:creator>"
    b"</rdf:Description></rdf:RDF></x:xmpmeta>"
    b'<?xpacket end="w"?>'
)


def _exif(image: Image.Image, tag: str) -> Image.Exif:
    exif = image.getexif()
    exif[ExifTags.Base.Make] = f"CANARY-MAKE-{tag}"
    exif[ExifTags.Base.Model] = "CANARY-MODEL"
    exif[ExifTags.Base.Artist] = "CANARY-ARTIST"
    exif[ExifTags.Base.ImageDescription] = "CANARY-DESCRIPTION"
    exif[ExifTags.Base.Software] = "CANARY-SOFTWARE"
    details = exif.get_ifd(ExifTags.IFD.Exif)
    details[ExifTags.Base.BodySerialNumber] = "CANARY-SERIAL-0042"
    details[ExifTags.Base.MakerNote] = b"CANARY-MAKERNOTE\x00" * 4
    details[ExifTags.Base.UserComment] = b"ASCII\x00\x00\x00CANARY-USERCOMMENT"
    exif[ExifTags.IFD.Exif] = details
    exif[ExifTags.IFD.GPSInfo] = dict(GPS)
    return exif


def _icc_with_description() -> bytes:
    """An sRGB profile whose description (UTF-16 in its ``mluc`` tag) is a marker."""
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    old, new = "sRGB built-in".encode("utf-16-be"), "CANARY-ICC-DE".encode("utf-16-be")
    assert profile.count(old) == 1
    assert len(old) == len(new)
    return profile.replace(old, new)


def _iptc() -> bytes:
    """An APP13 segment: Photoshop resource 0x0404 holding IPTC By-line and GPS-ish
    Sub-location datasets."""
    datasets = b""
    for number, text in ((80, b"CANARY-IPTC-BYLINE"), (92, b"CANARY-IPTC-SUBLOCATION")):
        datasets += b"\x1c\x02" + bytes([number]) + struct.pack(">H", len(text)) + text
    resource = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(datasets)) + datasets
    resource += b"\x00" * (len(datasets) % 2)
    payload = b"Photoshop 3.0\x00" + resource
    return b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload


def _with_thumbnail(exif_block: bytes, thumbnail: bytes) -> bytes:
    """EXIF whose IFD0 links to an IFD1 holding a JPEG thumbnail (Pillow writes none)."""
    assert exif_block[:6] == b"Exif\x00\x00"
    assert exif_block[6:8] in (b"II", b"MM")
    order = "<" if exif_block[6:8] == b"II" else ">"
    tiff = bytearray(exif_block[6:])
    ifd0 = struct.unpack_from(order + "I", tiff, 4)[0]
    count = struct.unpack_from(order + "H", tiff, ifd0)[0]
    next_at = ifd0 + 2 + 12 * count
    assert struct.unpack_from(order + "I", tiff, next_at)[0] == 0
    tiff += b"\x00" * (len(tiff) % 2)
    ifd1 = len(tiff)
    struct.pack_into(order + "I", tiff, next_at, ifd1)
    data_at = ifd1 + 2 + 12 * 3 + 4
    tiff += struct.pack(order + "H", 3)
    tiff += struct.pack(order + "HHIHH", 0x0103, 3, 1, 6, 0)  # Compression: JPEG
    tiff += struct.pack(order + "HHII", 0x0201, 4, 1, data_at)  # JPEGInterchangeFormat
    tiff += struct.pack(order + "HHII", 0x0202, 4, 1, len(thumbnail))  # ...Length
    tiff += struct.pack(order + "I", 0) + thumbnail
    return b"Exif\x00\x00" + bytes(tiff)


def _picture(width: int, height: int, colour: str) -> Image.Image:
    image = Image.new("RGB", (width, height), colour)
    image.paste((0, 0, 0), (0, 0, width // 4, height // 4))  # a corner to check orientation
    return image


def plain_jpeg_with_gps() -> bytes:
    """A small photo with a full EXIF (GPS, serial): embedded in other files."""
    image = _picture(16, 12, "green")
    out = io.BytesIO()
    image.save(out, "JPEG", exif=_exif(image, "EMBEDDED"), comment=b"CANARY-EMBEDDED-COMMENT")
    return out.getvalue()


def jpeg() -> bytes:
    """40x20 pixels, EXIF orientation 6 (turn 90 degrees clockwise to view)."""
    image = _picture(40, 20, "red")
    exif = _exif(image, "JPEG")
    exif[ExifTags.Base.Orientation] = 6
    out = io.BytesIO()
    image.save(
        out,
        "JPEG",
        exif=_with_thumbnail(exif.tobytes(), plain_jpeg_with_gps()),
        xmp=XMP,
        icc_profile=_icc_with_description(),
        comment=b"CANARY-COMMENT",
        extra=_iptc(),
    )
    return out.getvalue()


def png() -> bytes:
    image = _picture(24, 16, "blue")
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "CANARY-PNG-TEXT")
    info.add_text("Comment", "CANARY-PNG-ZTXT " * 8, zip=True)
    info.add_itxt("Description", "CANARY-PNG-ITXT", lang="en", tkey="Beschreibung")
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    out = io.BytesIO()
    image.save(
        out, "PNG", pnginfo=info, exif=_exif(image, "PNG"), icc_profile=_icc_with_description()
    )
    return out.getvalue()


def tiff() -> bytes:
    image = _picture(24, 16, "yellow")
    tags = TiffImagePlugin.ImageFileDirectory_v2()
    tags[ExifTags.Base.Make] = "CANARY-MAKE-TIFF"
    tags[ExifTags.Base.Artist] = "CANARY-ARTIST"
    tags[ExifTags.Base.ImageDescription] = "CANARY-DESCRIPTION"
    tags[ExifTags.Base.Copyright] = "CANARY-COPYRIGHT"
    tags[ExifTags.Base.XMLPacket] = XMP
    tags[ExifTags.IFD.GPSInfo] = dict(GPS)
    out = io.BytesIO()
    image.save(
        out,
        "TIFF",
        tiffinfo=tags,
        exif=_exif(image, "TIFF").tobytes(),
        icc_profile=_icc_with_description(),
    )
    return out.getvalue()


def webp() -> bytes:
    image = _picture(24, 16, "purple")
    out = io.BytesIO()
    image.save(
        out,
        "WEBP",
        exif=_exif(image, "WEBP").tobytes(),
        xmp=XMP,
        icc_profile=_icc_with_description(),
        lossless=True,
    )
    return out.getvalue()


def gif() -> bytes:
    image = _picture(24, 16, "orange").convert("P")
    out = io.BytesIO()
    image.save(out, "GIF", comment=b"CANARY-GIF-COMMENT")
    return out.getvalue()


def animated_gif() -> bytes:
    frames = [_picture(8, 8, c).convert("P") for c in ("red", "blue")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], comment=b"CANARY-ANIM")
    return out.getvalue()


def pdf() -> bytes:
    """A one-page PDF with every hiding place of the issue, then an incremental
    update that replaces its document information (the old one stays in the file)."""
    doc = pikepdf.new()
    page = doc.add_blank_page(page_size=(300, 200))
    photo = Image.open(io.BytesIO(plain_jpeg_with_gps()))
    image = pikepdf.Stream(doc, b"")
    image.write(plain_jpeg_with_gps(), filter=pikepdf.Name.DCTDecode)
    image.Type = pikepdf.Name.XObject
    image.Subtype = pikepdf.Name.Image
    image.Width, image.Height = photo.size
    image.ColorSpace = pikepdf.Name.DeviceRGB
    image.BitsPerComponent = 8
    image.Metadata = doc.make_stream(XMP.replace(b"CANARY-XMP", b"CANARY-IMAGE-XMP"))
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    page.Contents = doc.make_stream(b"q 160 0 0 120 20 40 cm /Im0 Do Q")
    page.obj.PieceInfo = pikepdf.Dictionary(
        CanaryApp=pikepdf.Dictionary(
            LastModified=pikepdf.String("D:20260101000000Z"),
            Private=pikepdf.String("CANARY-PIECEINFO"),
        )
    )
    note = doc.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Annot,
            Subtype=pikepdf.Name.Text,
            Rect=[200, 150, 220, 170],
            T=pikepdf.String("CANARY-ANNOT-AUTHOR"),
            Contents=pikepdf.String("CANARY-ANNOT-CONTENTS"),
        )
    )
    field = doc.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Annot,
            Subtype=pikepdf.Name.Widget,
            FT=pikepdf.Name.Tx,
            T=pikepdf.String("worker_name"),
            V=pikepdf.String("CANARY-FORM-VALUE"),
            Rect=[20, 10, 280, 30],
            P=page.obj,
        )
    )
    page.Annots = doc.make_indirect(pikepdf.Array([note, field]))
    doc.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array([field]))
    doc.Root.OpenAction = pikepdf.Dictionary(
        S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert('CANARY-JS');")
    )
    with doc.open_outline() as outline:
        outline.root.append(pikepdf.OutlineItem("CANARY-OUTLINE", 0))
    doc.attachments["notes.txt"] = pikepdf.AttachedFileSpec(doc, b"CANARY-EMBEDDED-FILE")
    doc.docinfo["/Author"] = "CANARY-INFO-AUTHOR"
    doc.docinfo["/Title"] = "CANARY-OLD-REVISION"
    with doc.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["dc:creator"] = ["CANARY-XMP-CREATOR"]
    out = io.BytesIO()
    doc.save(
        out,
        compress_streams=False,
        object_stream_mode=pikepdf.ObjectStreamMode.disable,
        fix_metadata_version=False,
    )
    return _incremental_info_update(out.getvalue())


def _incremental_info_update(data: bytes) -> bytes:
    """Append a revision whose new document information replaces the old one."""
    with pikepdf.open(io.BytesIO(data)) as doc:
        size = int(doc.trailer.Size)
        root = doc.Root.objgen[0]
    found = re.findall(rb"startxref\s+(\d+)", data)
    previous = int(found[-1])
    body = data if data.endswith(b"\n") else data + b"\n"
    obj_at = len(body)
    body += f"{size} 0 obj\n<< /Title (Revised) >>\nendobj\n".encode()
    xref_at = len(body)
    body += (
        f"xref\n0 1\n0000000000 65535 f \n{size} 1\n{obj_at:010d} 00000 n \n"
        f"trailer\n<< /Size {size + 1} /Root {root} 0 R /Info {size} 0 R /Prev {previous} >>\n"
        f"startxref\n{xref_at}\n%%EOF\n"
    ).encode()
    with pikepdf.open(io.BytesIO(body)) as doc:
        assert str(doc.docinfo["/Title"]) == "Revised"
    return body


def _tone(rate: int = 16000, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.25 * np.sin(2 * np.pi * 440 * t)).astype("float32")


def _sound(fmt: str, subtype: str, rate: int = 16000) -> bytes:
    out = io.BytesIO()
    with soundfile.SoundFile(
        out, "w", samplerate=rate, channels=1, format=fmt, subtype=subtype
    ) as sound:
        # libsndfile writes these as the format's own text (LIST/INFO in WAV, a
        # Vorbis comment in Ogg and FLAC, ID3 in MP3, NAME/AUTH/ANNO in AIFF).
        sound.title = "CANARY-TITLE"
        sound.artist = "CANARY-ARTIST"
        sound.comment = "CANARY-COMMENT"
        sound.write(_tone(rate))
    return out.getvalue()


def _riff_chunk(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("<I", len(payload)) + payload + b"\x00" * (len(payload) % 2)


def wav() -> bytes:
    """LIST/INFO from libsndfile, a BWF ``bext`` originator, iXML with a GPS note,
    then an ID3 chunk from mutagen."""
    data = bytearray(_sound("WAV", "PCM_16"))
    bext = (
        b"CANARY-BEXT-DESCRIPTION".ljust(256, b"\x00")
        + b"CANARY-ORIGINATOR".ljust(32, b"\x00")
        + b"CANARY-REF".ljust(32, b"\x00")
        + b"2026-01-0112:00:00"
        + bytes(8 + 2 + 64 + 190)
    )
    ixml = (
        b'<?xml version="1.0"?><BWFXML><NOTE>CANARY-IXML GPS 10.7626 106.6683</NOTE>'
        b"<LOCATION><LOCATION_GPS>10.7626,106.6683</LOCATION_GPS></LOCATION></BWFXML>"
    )
    data += _riff_chunk(b"bext", bext) + _riff_chunk(b"iXML", ixml)
    struct.pack_into("<I", data, 4, len(data) - 8)
    stream = io.BytesIO(bytes(data))
    tagged = mutagen.wave.WAVE(stream)
    tagged.add_tags()
    tags: object = tagged.tags
    assert isinstance(tags, mutagen.id3.ID3)
    tags.add(mutagen.id3.TPE1(encoding=3, text=["CANARY-ID3-ARTIST"]))
    tagged.save(stream)
    return stream.getvalue()


def flac() -> bytes:
    """Vorbis comments, a PICTURE block (a JPEG with EXIF GPS) and an APPLICATION block."""
    stream = io.BytesIO(_sound("FLAC", "PCM_16"))
    tagged = mutagen.flac.FLAC(stream)
    tagged["LOCATION"] = "CANARY-VORBIS-GPS 10.7626 106.6683"
    picture = mutagen.flac.Picture()
    picture.type = 3
    picture.mime = "image/jpeg"
    picture.desc = "CANARY-PICTURE"
    picture.data = plain_jpeg_with_gps()
    tagged.add_picture(picture)
    application: Any = mutagen.flac.MetadataBlock(b"CNRY" + b"CANARY-APPLICATION-BLOCK")
    application.code = 2  # APPLICATION, which mutagen keeps as raw bytes
    tagged.metadata_blocks.append(application)
    stream.seek(0)
    tagged.save(stream)
    return stream.getvalue()


def ogg_vorbis() -> bytes:
    stream = io.BytesIO(_sound("OGG", "VORBIS"))
    tagged = mutagen.oggvorbis.OggVorbis(stream)
    tagged["LOCATION"] = "CANARY-OGG-GPS 10.7626 106.6683"
    tagged.save(stream)
    return stream.getvalue()


def ogg_with_video() -> bytes:
    """An Ogg file holding a Theora video stream beside its Vorbis audio."""
    sound = io.BytesIO(_sound("OGG", "VORBIS"))
    pages = []
    while sound.tell() < len(sound.getvalue()):
        pages.append(OggPage(sound))
    theora = OggPage()
    theora.serial = pages[0].serial + 1
    theora.first = True
    theora.packets = [b"\x80theora" + bytes(34) + b"CANARY-THEORA"]
    out = io.BytesIO()
    out.write(pages[0].write() + theora.write())
    for page in pages[1:]:
        out.write(page.write())
    return out.getvalue()


def aiff() -> bytes:
    return _sound("AIFF", "PCM_16")


def mp3() -> bytes:
    """ID3v2 from libsndfile and mutagen (with a picture), then an APEv2 tag."""
    stream = io.BytesIO(_sound("MP3", "MPEG_LAYER_III"))
    tags = mutagen.id3.ID3()
    tags.add(mutagen.id3.TPE1(encoding=3, text=["CANARY-ID3-ARTIST"]))
    tags.add(mutagen.id3.COMM(encoding=3, lang="eng", desc="", text=["CANARY-ID3-COMMENT"]))
    tags.add(mutagen.id3.TXXX(encoding=3, desc="GPS", text=["CANARY-ID3-GPS 10.76 106.66"]))
    tags.add(mutagen.id3.APIC(encoding=3, mime="image/jpeg", type=3, data=plain_jpeg_with_gps()))
    tags.save(stream)
    ape = mutagen.apev2.APEv2()
    ape["Artist"] = "CANARY-APE-ARTIST"
    ape["Comment"] = "CANARY-APE-COMMENT"
    ape.save(stream)
    return stream.getvalue()


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _full(kind: bytes, payload: bytes) -> bytes:
    return _box(kind, b"\x00\x00\x00\x00" + payload)


def _track(track_id: int, handler: bytes, entry: bytes) -> bytes:
    tkhd = struct.pack(">IIII", 0, 0, track_id, 0) + struct.pack(">I", 1000) + bytes(60)
    mdhd = struct.pack(">IIII", 0, 0, 1000, 1000) + b"\x55\xc4\x00\x00"
    hdlr = b"\x00\x00\x00\x00" + handler + bytes(12) + b"CANARY-HANDLER\x00"
    stbl = _box(
        b"stbl",
        _full(b"stsd", struct.pack(">I", 1) + entry)
        + _full(b"stts", struct.pack(">I", 0))
        + _full(b"stsc", struct.pack(">I", 0))
        + _full(b"stsz", struct.pack(">II", 0, 0))
        + _full(b"stco", struct.pack(">I", 0)),
    )
    minf = _box(b"minf", stbl)
    mdia = _box(b"mdia", _full(b"mdhd", mdhd) + _full(b"hdlr", hdlr) + minf)
    return _box(b"trak", _full(b"tkhd", tkhd) + mdia)


_SOUND_ENTRY: Final = _box(
    b"mp4a",
    bytes(6)
    + struct.pack(">H", 1)
    + bytes(8)
    + struct.pack(">HHHHI", 1, 16, 0, 0, 44100 << 16)
    + _box(b"btrt", bytes(12)),
)
_VIDEO_ENTRY: Final = _box(
    b"avc1", bytes(6) + struct.pack(">H", 1) + bytes(16) + struct.pack(">HH", 64, 48) + bytes(50)
)
_XMP_UUID: Final = bytes.fromhex("BE7ACFCB97A942E89C71999491E3AFAC")


def _iso_media(brand: bytes, tracks: list[tuple[bytes, bytes]]) -> bytes:
    """An MP4 file branded ``brand``: QuickTime location (``udta/©xyz``) and XMP in
    the file, then an ``ilst`` with GPS and the camera's make from mutagen."""
    mvhd = struct.pack(">IIII", 0, 0, 1000, 1000) + bytes(80)
    location = b"+10.7626+106.6683CANARY-XYZ/"
    udta = _box(b"udta", _box(b"\xa9xyz", struct.pack(">HH", len(location), 0x15C7) + location))
    traks = b"".join(_track(n, h, e) for n, (h, e) in enumerate(tracks, start=1))
    data = (
        _box(b"ftyp", brand + b"\x00\x00\x00\x00" + brand + b"isom")
        + _box(b"moov", _full(b"mvhd", mvhd) + traks + udta)
        + _box(b"uuid", _XMP_UUID + XMP)
        + _box(b"mdat", bytes(64))
    )
    stream = io.BytesIO(data)
    tagged = mutagen.mp4.MP4(stream)
    if tagged.tags is None:
        tagged.add_tags()
    assert tagged.tags is not None
    tagged.tags["\xa9xyz"] = ["+10.7626+106.6683CANARY-ILST-XYZ/"]
    tagged.tags["\xa9mak"] = ["CANARY-MAKE-MP4"]
    tagged.tags["\xa9ART"] = ["CANARY-ARTIST"]
    tagged.save(stream)
    return stream.getvalue()


def m4a() -> bytes:
    """Sound only; AAC, which no shipped library decodes."""
    return _iso_media(b"M4A ", [(b"soun", _SOUND_ENTRY)])


def mp4_video_branded_m4a() -> bytes:
    """A video track beside its sound, under the audio brand ``M4A ``."""
    return _iso_media(b"M4A ", [(b"vide", _VIDEO_ENTRY), (b"soun", _SOUND_ENTRY)])


def opaque() -> bytes:
    return b"\x00\x01 opaque notes CANARY-OPAQUE"


def wav_bytes(frames: int, rate: int = 8000) -> bytes:
    """A plain 16-bit mono WAV written by the standard library."""
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(b"\x10\x00" * frames)
    return out.getvalue()


@dataclass(frozen=True)
class Case:
    """One hostile file, what it is by content, and what becomes of it under a policy
    that rebuilds every kind with a rebuild: the copy's media type, or the reason it
    stays out."""

    build: Callable[[], bytes]
    kind: str
    outcome: str


HOSTILE: Final = {
    "jpeg": Case(jpeg, "image", "image/jpeg"),
    "png": Case(png, "image", "image/png"),
    "tiff": Case(tiff, "image", "image/png"),
    "webp": Case(webp, "image", "image/png"),
    "gif": Case(gif, "image", "image/png"),
    "animated_gif": Case(animated_gif, "image", "attachment_unsupported"),
    "pdf": Case(pdf, "document", "application/pdf"),
    "wav": Case(wav, "audio", "audio/wav"),
    "flac": Case(flac, "audio", "audio/wav"),
    "ogg_vorbis": Case(ogg_vorbis, "audio", "audio/wav"),
    "aiff": Case(aiff, "audio", "audio/wav"),
    "mp3": Case(mp3, "audio", "audio/wav"),
    "m4a": Case(m4a, "audio", "attachment_unsupported"),
    "mp4_video_branded_m4a": Case(mp4_video_branded_m4a, "video", "attachment_not_allowed"),
    "ogg_with_video": Case(ogg_with_video, "video", "attachment_not_allowed"),
    "opaque": Case(opaque, "other", "attachment_not_allowed"),
}
