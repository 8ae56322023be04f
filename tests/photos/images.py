"""Test images made in memory, for the photo pipeline's tests and its benchmark.

Everything here is deterministic: the same arguments give the same pixels and bytes.
"""

from __future__ import annotations

import functools
import io
import struct
import zlib

import numpy as np
from PIL import ExifTags, Image, ImageDraw, ImageFont

RED = (255, 0, 0)
BACKGROUND = (60, 90, 160)
GPS_LATITUDE = (52.0, 31.0, 12.5)
GPS_LONGITUDE = (13.0, 24.0, 36.25)

_STRIP_ROWS = 512


def photo(width: int, height: int, *, seed: int = 0) -> Image.Image:
    """An RGB picture with what makes real photos cost to decode: smooth light, texture,
    sensor noise, hard-edged shapes and text."""
    rng = np.random.default_rng(seed)
    # Light and colour vary smoothly: compute them small, then enlarge.
    small_w, small_h = max(2, width // 32), max(2, height // 32)
    ys, xs = np.mgrid[0 : 1 : small_h * 1j, 0 : 1 : small_w * 1j]
    field = np.stack(
        [
            90 + 100 * xs * (1 - ys) + 30 * np.sin(xs * 11 + ys * 7),
            70 + 120 * ys + 25 * np.sin(xs * 5 - ys * 13),
            120 + 80 * (1 - xs) * ys + 20 * np.cos(xs * 17 + ys * 3),
        ],
        axis=-1,
    )
    base = Image.fromarray(np.clip(field, 0, 255).astype(np.uint8), "RGB")
    pixels = np.array(base.resize((width, height), Image.Resampling.BICUBIC))
    # Texture (fabric, foliage, brickwork) and sensor noise, a strip at a time to bound memory.
    columns = np.arange(width, dtype=np.float32)
    for top in range(0, height, _STRIP_ROWS):
        bottom = min(height, top + _STRIP_ROWS)
        rows = np.arange(top, bottom, dtype=np.float32)[:, None]
        strip = pixels[top:bottom].astype(np.int16)
        texture = 10 * np.sin(columns / 3.1) * np.cos(rows / 2.7)
        strip += texture.astype(np.int16)[..., None]
        strip += rng.integers(-6, 7, strip.shape, dtype=np.int16)
        np.clip(strip, 0, 255, out=strip)
        pixels[top:bottom] = strip.astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(image)
    unit = max(1, width // 100)
    for index in range(12):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        radius = int(rng.integers(2, 10)) * unit
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if index % 2:
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour)
        else:
            box = (x - radius, y - radius // 2, x + radius, y + radius // 2)
            draw.rectangle(box, fill=colour, outline=(20, 20, 20), width=max(1, unit // 4))
    font = ImageFont.load_default(size=max(8, 3 * unit))
    for line in range(6):
        position = (5 * unit, (10 + 14 * line) * unit)
        draw.text(
            position, "BRANCH 0421 - OPENING HOURS 9:00-17:00", fill=(250, 250, 240), font=font
        )
    return image


def marked(width: int = 96, height: int = 64, mode: str = "RGB") -> Image.Image:
    """A flat image whose top-left quarter is red, to tell which way it ended up."""
    image = Image.new("RGB", (width, height), BACKGROUND)
    image.paste(RED, (0, 0, width // 3, height // 3))
    return image.convert(mode)


def red_corner(image: Image.Image) -> str | None:
    """Which corner of `image` is red: "top-left", "top-right", "bottom-left" or "bottom-right"."""
    rgb = image.convert("RGB")
    width, height = rgb.size
    inset_x, inset_y = max(1, width // 10), max(1, height // 10)
    corners = {
        "top-left": (inset_x, inset_y),
        "top-right": (width - 1 - inset_x, inset_y),
        "bottom-left": (inset_x, height - 1 - inset_y),
        "bottom-right": (width - 1 - inset_x, height - 1 - inset_y),
    }
    found = [name for name, xy in corners.items() if _is_red(rgb.getpixel(xy))]
    return found[0] if len(found) == 1 else None


def _is_red(pixel: object) -> bool:
    assert isinstance(pixel, tuple)
    red, green, blue = pixel[:3]
    return red > 200 and green < 60 and blue < 60


def exif(
    *,
    orientation: int | None = None,
    gps: bool = False,
    taken: str | None = None,
    taken_offset: str | None = None,
    modified: str | None = None,
    modified_offset: str | None = None,
) -> Image.Exif:
    """EXIF as a phone writes it: make and model, plus whichever optional tags are asked for."""
    tags = Image.Exif()
    tags[ExifTags.Base.Make] = "TestPhone"
    tags[ExifTags.Base.Model] = "TestPhone 15 Pro"
    if orientation is not None:
        tags[ExifTags.Base.Orientation] = orientation
    if modified is not None:
        tags[ExifTags.Base.DateTime] = modified
    if taken is not None or taken_offset is not None or modified_offset is not None:
        details = tags.get_ifd(ExifTags.IFD.Exif)
        if taken is not None:
            details[ExifTags.Base.DateTimeOriginal] = taken
        if taken_offset is not None:
            details[ExifTags.Base.OffsetTimeOriginal] = taken_offset
        if modified_offset is not None:
            details[ExifTags.Base.OffsetTime] = modified_offset
    if gps:
        position = tags.get_ifd(ExifTags.IFD.GPSInfo)
        position[ExifTags.GPS.GPSLatitudeRef] = "N"
        position[ExifTags.GPS.GPSLatitude] = GPS_LATITUDE
        position[ExifTags.GPS.GPSLongitudeRef] = "E"
        position[ExifTags.GPS.GPSLongitude] = GPS_LONGITUDE
    return tags


def encode(image: Image.Image, format: str, **params: object) -> bytes:
    """`image` saved as `format` with Pillow's save parameters (exif=, icc_profile=, ...)."""
    buffer = io.BytesIO()
    image.save(buffer, format, **params)
    return buffer.getvalue()


def jpeg(image: Image.Image, *, quality: int = 92, **params: object) -> bytes:
    return encode(image, "JPEG", quality=quality, **params)


def xmp_packet(secret: str = "Inspector Jane Doe") -> bytes:
    """A small XMP packet, as cameras and editors embed, naming a person."""
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:xmp="http://ns.adobe.com/xap/1.0/">'
        f"<dc:creator>{secret}</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    ).encode()


@functools.cache
def png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of `width` x `height` black pixels: its header promises a huge
    image while the file stays a few kilobytes."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", data)
        + _png_chunk(b"IEND", b"")
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@functools.cache
def display_p3_profile() -> bytes:
    """An ICC v2 matrix/TRC profile for Display P3 (the profile iPhones embed), built by hand
    because Pillow can only create sRGB, Lab and XYZ profiles."""

    def srgb_decode(value: float) -> float:
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    points = 1024
    curve = b"curv\0\0\0\0" + struct.pack(">I", points)
    curve += b"".join(
        struct.pack(">H", round(srgb_decode(i / (points - 1)) * 65535)) for i in range(points)
    )
    name = b"Display P3 (test)"
    description = b"desc\0\0\0\0" + struct.pack(">I", len(name) + 1) + name + b"\0" + b"\0" * 78
    d50 = (0.9642, 1.0, 0.8249)
    tags = [
        (b"desc", description),
        (b"wtpt", _icc_xyz(*d50)),
        (b"rXYZ", _icc_xyz(0.5151, 0.2412, -0.0011)),
        (b"gXYZ", _icc_xyz(0.2919, 0.6922, 0.0419)),
        (b"bXYZ", _icc_xyz(0.1572, 0.0666, 0.7841)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, blobs = [], b""
    for signature, blob in tags:
        blob += b"\0" * (-len(blob) % 4)
        table.append(signature + struct.pack(">II", offset + len(blobs), len(blob)))
        blobs += blob
    body = struct.pack(">I", len(tags)) + b"".join(table) + blobs
    header = (
        struct.pack(">I", 128 + len(body))
        + b"\0" * 4
        + struct.pack(">I", 0x02100000)  # version 2.1
        + b"mntrRGB XYZ "
        + b"\0" * 12  # creation date
        + b"acsp"
        + b"\0" * 24  # platform, flags, manufacturer, model, attributes
        + b"\0" * 4  # rendering intent: perceptual
        + b"".join(_s15_fixed16(v) for v in d50)
        + b"\0" * 48  # creator, profile id, reserved
    )
    return header + body


def _s15_fixed16(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _icc_xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \0\0\0\0" + _s15_fixed16(x) + _s15_fixed16(y) + _s15_fixed16(z)


def jpeg_segments(data: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """The markers of a JPEG with their payloads, and whatever follows its EOI marker.

    Entropy-coded data after SOS is skipped, not returned.
    """
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    segments: list[tuple[int, bytes]] = [(0xD8, b"")]
    position = 2
    while position < len(data):
        if data[position] != 0xFF:
            raise ValueError(f"expected a marker at {position}")
        while data[position] == 0xFF:  # fill bytes
            position += 1
        marker = data[position]
        position += 1
        if marker == 0xD9:
            segments.append((marker, b""))
            return segments, data[position:]
        (length,) = struct.unpack(">H", data[position : position + 2])
        segments.append((marker, data[position + 2 : position + length]))
        position += length
        if marker == 0xDA:
            position = _end_of_entropy_data(data, position)
    raise ValueError("no EOI marker")


def _end_of_entropy_data(data: bytes, position: int) -> int:
    while True:
        position = data.index(b"\xff", position)
        following = data[position + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            position += 1
            continue
        return position


@functools.cache
def flat_webp(width: int, height: int) -> bytes:
    """A valid lossless WebP of one flat colour: a large canvas in a few dozen bytes."""
    return encode(Image.new("RGB", (width, height), BACKGROUND), "WEBP", lossless=True, method=0)
