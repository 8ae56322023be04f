"""Turn an uploaded photo into clean JPEG renditions.

Pure: takes the uploaded bytes, returns bytes. No Flask, no database, no files.

What `process` promises:
- only JPEG, PNG, WebP and HEIC/HEIF are accepted, recognised from their content;
- nothing of the upload but its pixels and its capture time survives: no EXIF, GPS, XMP,
  ICC profile, comment, text chunk or appended payload;
- the pixels are shown upright (EXIF orientation applied) and in sRGB;
- the same bytes always give the same renditions, so a duplicate upload is the same file;
- an image with more pixels than its format's limit is refused from its header, before any
  pixel is decoded; with a `DecodeGate`, only so many large decodes run at once.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import re
import struct
import threading
import warnings
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Literal, get_args

import pillow_heif
from PIL import ExifTags, Image, ImageChops, ImageCms, ImageFile, UnidentifiedImageError

MAX_BYTES = 25 * 1024 * 1024
# The most pixels any photo may have. JPEGs get all of it: they decode at reduced scale (draft).
MAX_PIXELS = 50_000_000
# Other formats decode at full size, costing 7-19 bytes of peak memory per pixel depending on
# the format and mode; these limits keep one decode under about 300 MB (bench/photos.py), the
# costliest modes measured at the limit: WebP RGBA 15 MP +281 MB, PNG LA 20 MP +272 MB,
# HEIF 10-bit RGBA 25 MP +281 MB.
MAX_PIXELS_BY_FORMAT: Mapping[str, int] = MappingProxyType(
    {"PNG": 20_000_000, "WEBP": 15_000_000, "HEIF": 25_000_000}
)
# A decode of more pixels than this is "large" for a DecodeGate: more than the phone's own
# resize (longest side 2048) sends.
LARGE_DECODE_PIXELS = 2048 * 2048

MAIN_SIDE = 2048
PRINT_SIDE = 1000
THUMB_SIDE = 320
MIN_SIDE = 16
MAX_ASPECT_RATIO = 10
JPEG_QUALITY = 86

Reason = Literal[
    "empty",
    "too_large",
    "not_an_image",
    "unsupported_type",
    "corrupt",
    "too_many_pixels",
    "too_small",
    "bad_aspect_ratio",
]
REASONS: tuple[Reason, ...] = get_args(Reason)

# Pillow's format names we open, and how we report them (MPO: the multi-picture JPEG of phones).
_ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF")
_SOURCE_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WEBP", "HEIF": "HEIF"}

# A JPEG is decoded at 1/2, 1/4 or 1/8 scale when that still gives at least this share of
# MAIN_SIDE: a 4032 px photo becomes 2016 px straight from the decoder instead of a full decode
# and a resize, which is most of the pipeline's cost.
_DRAFT_MIN_SHARE = 0.95
# Resizes shrink by an integer box reduction first, leaving LANCZOS at least this factor to go.
# For the main rendition 3.0, which Pillow documents as indistinguishable from a plain LANCZOS.
# The print copy and thumbnail are shrunk from the main rendition with 1.0, the fastest: within
# ~42 dB of a plain LANCZOS, at half its cost.
_MAIN_REDUCING_GAP = 3.0
_DERIVED_REDUCING_GAP = 1.0
_WHITE = (255, 255, 255)

# What Pillow and its plugins raise on malformed input, besides the decompression bomb errors.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, zlib.error)

_TRANSPOSE_FOR_ORIENTATION = {  # the same table as ImageOps.exif_transpose
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_PROFILE_MODES = {"RGB": "RGB", "GRAY": "L", "CMYK": "CMYK"}
# Camera profiles are a few kilobytes; larger ones (an upload may carry megabytes) are used
# but not kept in the transform cache, whose keys hold the profile bytes.
_MAX_CACHED_PROFILE = 64 * 1024

_HEIF_BRANDS = (
    b"heic",
    b"heix",
    b"heim",
    b"heis",
    b"hevc",
    b"hevx",
    b"hevm",
    b"hevs",
    b"mif1",
    b"msf1",
)
_OTHER_IMAGE_BRANDS = (b"avif", b"avis", b"crx ", b"jxl ")
_OTHER_IMAGE_MAGIC = (
    b"GIF87a",
    b"GIF89a",
    b"II*\x00",  # TIFF, and camera raw files built on it
    b"MM\x00*",
    b"II+\x00",  # BigTIFF
    b"MM\x00+",
    b"%PDF-",
    b"%!PS",
    b"8BPS",  # Photoshop
    b"\x00\x00\x01\x00",  # ICO
    b"\x00\x00\x02\x00",  # CUR
    b"\x00\x00\x00\x0cjP  \r\n\x87\n",  # JPEG 2000
    b"\xff\x4f\xff\x51",
    b"\x00\x00\x00\x0cJXL \r\n\x87\n",  # JPEG XL
    b"\xff\x0a",
    b"qoif",
    b"DDS ",
)

# warnings.catch_warnings swaps the process-wide warning filters; this lock keeps our own threads
# from interleaving that swap. It is held while a header is parsed, never while pixels decode.
_OPEN_LOCK = threading.Lock()
_EXIF_DATETIME = re.compile(r"(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_EXIF_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")


class PhotoRejected(ValueError):
    """The upload is not a photo we keep. `reason` is one of REASONS, for the web layer to
    translate; the message is an English detail for logs. For "too_many_pixels", `limit` and
    `source_format` say which limit was passed, when the format is known."""

    def __init__(
        self,
        reason: Reason,
        detail: str = "",
        *,
        limit: int | None = None,
        source_format: str | None = None,
    ) -> None:
        super().__init__(detail or reason)
        self.reason: Reason = reason
        self.limit = limit
        self.source_format = source_format


class DecodesBusy(RuntimeError):
    """Every slot of a DecodeGate stayed taken for its whole timeout: the photo is fine, the
    process is busy; the upload may be tried again shortly."""


class DecodeGate:
    """At most `slots` decodes of more than `threshold` pixels at once in this process.

    A decode's peak memory grows with its pixels, so this bounds the memory that concurrent
    uploads take. Smaller decodes never wait. A large one that cannot get a slot within
    `timeout` seconds raises DecodesBusy. Thread-safe; one gate per process.
    """

    def __init__(self, slots: int, *, threshold: int = LARGE_DECODE_PIXELS, timeout: float) -> None:
        if slots < 1:
            raise ValueError(f"a decode gate needs at least one slot, not {slots}")
        self.slots = slots
        self.threshold = threshold
        self.timeout = timeout
        self._semaphore = threading.BoundedSemaphore(slots)

    @contextlib.contextmanager
    def slot(self, pixels: int) -> Iterator[None]:
        """Hold a slot while decoding `pixels` pixels, if that is a large decode."""
        if pixels <= self.threshold:
            yield
            return
        if not self._semaphore.acquire(timeout=self.timeout):
            raise DecodesBusy(f"no large-decode slot of {self.slots} within {self.timeout} s")
        try:
            yield
        finally:
            self._semaphore.release()


@dataclass(frozen=True)
class Rendition:
    data: bytes = field(repr=False)
    width: int
    height: int


@dataclass(frozen=True)
class ProcessedPhoto:
    sha256: str  # hex SHA-256 of main.data, the photo's content address
    main: Rendition  # longest side <= MAIN_SIDE
    print_copy: Rendition  # longest side <= PRINT_SIDE, for PDF notices
    thumb: Rendition  # longest side <= THUMB_SIDE
    source_format: str  # "JPEG" | "PNG" | "WEBP" | "HEIF"
    # EXIF DateTimeOriginal (else DateTime): aware when the camera recorded its UTC offset,
    # else naive local time.
    captured_at: datetime | None


def process(
    data: bytes,
    *,
    max_bytes: int = MAX_BYTES,
    max_pixels: int = MAX_PIXELS,
    max_pixels_by_format: Mapping[str, int] = MAX_PIXELS_BY_FORMAT,
    gate: DecodeGate | None = None,
) -> ProcessedPhoto:
    """Check an uploaded photo and make its three JPEG renditions.

    The type is read from the content, never from a file name or content type. Pixels are
    decoded only after the header has passed every size check: at most `max_pixels`, and at
    most `max_pixels_by_format[format]` for the formats it names ("PNG", "WEBP", "HEIF").
    With a `gate`, the decode waits for one of its slots when it is large. Deterministic: the
    same bytes give the same renditions and sha256. Thread-safe.

    Raises PhotoRejected (with `reason`) for anything that is not an acceptable photo,
    DecodesBusy when the gate had no slot in time, and RuntimeError if
    `PIL.ImageFile.LOAD_TRUNCATED_IMAGES` has been switched on elsewhere, because truncated
    uploads could then no longer be told apart.
    """
    if not data:
        raise PhotoRejected("empty", "the upload has no bytes")
    if len(data) > max_bytes:
        raise PhotoRejected("too_large", f"{len(data)} bytes, more than {max_bytes}")
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is on; photos cannot be checked")
    _register_heif_opener()

    def limit(source_format: str | None) -> int:
        return min(max_pixels, max_pixels_by_format.get(source_format or "", max_pixels))

    sniffed = _sniff(data)
    if (size := _header_size(data, sniffed)) is not None:
        _check_size(size, sniffed, limit(sniffed))  # before Pillow so much as opens it
    with contextlib.ExitStack() as held:
        if sniffed == "WEBP" and size is not None:
            # libwebp allocates its whole canvas, twice, when the file is opened
            held.enter_context(_slot(gate, size[0] * size[1]))
        with _open(data, sniffed, limit(sniffed)) as image:
            source_format = _SOURCE_FORMATS[image.format or ""]
            _check_size(image.size, source_format, limit(source_format))
            if source_format == "JPEG":
                _draft(image)  # the size is now the decoded size
            if sniffed != "WEBP":
                held.enter_context(_slot(gate, image.width * image.height))
            _decode(image)
            orientation, captured_at = _read_exif(image)
            icc_profile = image.info.get("icc_profile")
            main_image = _normalise(image, icc_profile, orientation)
        del image  # frees the decoder's buffers too, before the slot is given back

    main = _encode(main_image)
    return ProcessedPhoto(
        sha256=hashlib.sha256(main.data).hexdigest(),
        main=main,
        print_copy=_encode(_fit(main_image, PRINT_SIDE, _DERIVED_REDUCING_GAP)),
        thumb=_encode(_fit(main_image, THUMB_SIDE, _DERIVED_REDUCING_GAP)),
        source_format=source_format,
        captured_at=captured_at,
    )


@functools.cache
def _register_heif_opener() -> None:
    pillow_heif.register_heif_opener()


def _slot(gate: DecodeGate | None, pixels: int) -> contextlib.AbstractContextManager[None]:
    return contextlib.nullcontext() if gate is None else gate.slot(pixels)


def _sniff(data: bytes) -> str | None:
    """The allowed format `data` claims to be from its first bytes, or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "HEIF"
    return None


def _header_size(data: bytes, sniffed: str | None) -> tuple[int, int] | None:
    """Width and height from a PNG or WebP header (the same fields Pillow reads), else None.

    A WebP whose size cannot be read is refused: opening it would allocate an unchecked canvas.
    """
    if sniffed == "PNG" and data[12:16] == b"IHDR" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if sniffed != "WEBP":
        return None
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        (bits,) = struct.unpack("<I", data[21:25])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    raise PhotoRejected("corrupt", "a WebP header without a readable size")


def _open(data: bytes, sniffed: str | None, limit: int) -> ImageFile.ImageFile:
    try:
        with _OPEN_LOCK, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=_ALLOWED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoRejected(
            "too_many_pixels", str(exc), limit=limit, source_format=sniffed
        ) from None
    except UnidentifiedImageError:
        raise PhotoRejected(*_unidentified(data)) from None
    except _DECODE_ERRORS as exc:
        raise PhotoRejected("corrupt", f"unreadable header: {exc!r}") from None
    if image.format not in _SOURCE_FORMATS:
        image.close()
        raise PhotoRejected("unsupported_type", f"Pillow opened it as {image.format}")
    return image


def _unidentified(data: bytes) -> tuple[Reason, str]:
    """Why no allowed format opened `data`: a broken photo, another image type, or no image."""
    head = data[:4096]
    if _sniff(head) is not None:
        return "corrupt", "looks like an allowed image type but does not open"
    if (
        head.startswith(_OTHER_IMAGE_MAGIC)
        or (head[:2] == b"BM" and head[6:10] == b"\x00\x00\x00\x00")
        or (head[4:8] == b"ftyp" and head[8:12] in _OTHER_IMAGE_BRANDS)
        or b"<svg" in head.lower()
    ):
        return "unsupported_type", f"an image type we do not accept, starting {head[:12]!r}"
    return "not_an_image", f"not an image, starting {head[:12]!r}"


def _check_size(size: tuple[int, int], source_format: str | None, max_pixels: int) -> None:
    width, height = size
    if width * height > max_pixels:
        raise PhotoRejected(
            "too_many_pixels",
            f"{source_format} {width}x{height} is more than {max_pixels} pixels",
            limit=max_pixels,
            source_format=source_format,
        )
    if min(width, height) < MIN_SIDE:
        raise PhotoRejected("too_small", f"{width}x{height} has a side under {MIN_SIDE} px")
    if max(width, height) > MAX_ASPECT_RATIO * min(width, height):
        raise PhotoRejected(
            "bad_aspect_ratio", f"{width}x{height} is longer than {MAX_ASPECT_RATIO}:1"
        )


def _draft(image: ImageFile.ImageFile) -> None:
    """Let the JPEG decoder scale down (1/2, 1/4, 1/8) while the result stays about MAIN_SIDE."""
    longest = max(image.size)
    for scale in (8, 4, 2):
        if -(-longest // scale) >= MAIN_SIDE * _DRAFT_MIN_SHARE:
            image.draft("RGB", (image.width // scale, image.height // scale))
            return


def _decode(image: ImageFile.ImageFile) -> None:
    # A full decode, unlike Image.verify, notices a truncated file.
    try:
        image.load()
    except (*_DECODE_ERRORS, RuntimeError) as exc:  # pillow-heif reports libheif's as RuntimeError
        raise PhotoRejected("corrupt", f"cannot decode: {exc!r}") from None


def _read_exif(image: Image.Image) -> tuple[int, datetime | None]:
    """The EXIF orientation (1 when unknown) and capture time of a decoded image."""
    try:
        tags = image.getexif()
        orientation = tags.get(ExifTags.Base.Orientation, 1)
        details = tags.get_ifd(ExifTags.IFD.Exif)
    except Exception:  # a malformed EXIF block must not cost the inspector the photo
        return 1, None

    def tag(number: int) -> object:
        # These belong in the Exif sub-IFD, but some writers put them in IFD0.
        return details.get(number, tags.get(number))

    captured_at = _exif_datetime(
        tag(ExifTags.Base.DateTimeOriginal), tag(ExifTags.Base.OffsetTimeOriginal)
    ) or _exif_datetime(tags.get(ExifTags.Base.DateTime), tag(ExifTags.Base.OffsetTime))
    return (orientation if isinstance(orientation, int) else 1), captured_at


def _exif_datetime(value: object, offset: object) -> datetime | None:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not isinstance(value, str) or not (match := _EXIF_DATETIME.match(value.strip("\x00 "))):
        return None
    try:
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        moment = datetime(year, month, day, hour, minute, second)
    except ValueError:  # "0000:00:00 00:00:00" and other placeholders
        return None
    if isinstance(offset, str) and (zone := _EXIF_OFFSET.fullmatch(offset.strip("\x00 "))):
        delta = timedelta(hours=int(zone[2]), minutes=int(zone[3]))
        if delta < timedelta(hours=24):
            moment = moment.replace(tzinfo=timezone(-delta if zone[1] == "-" else delta))
    return moment


def _normalise(image: Image.Image, icc_profile: bytes | None, orientation: int) -> Image.Image:
    """Upright, sRGB, at most MAIN_SIDE, in a fresh image that carries no metadata at all."""
    working = _fit(_working_mode(image), MAIN_SIDE, _MAIN_REDUCING_GAP)
    rgb = _to_srgb(working, icc_profile)
    if (method := _TRANSPOSE_FOR_ORIENTATION.get(orientation)) is not None:
        rgb = rgb.transpose(method)
    # Resize, convert and transpose copy `info` along; a new image starts with none of it.
    fresh = Image.new("RGB", rgb.size, None)  # None: no fill, paste covers every pixel
    fresh.paste(rgb)
    return fresh


def _working_mode(image: Image.Image) -> Image.Image:
    """`image` in a mode we can resize and colour-convert: L, RGB, RGBA or CMYK."""
    mode = image.mode
    if mode in ("L", "RGB", "RGBA", "CMYK"):
        return image
    if mode == "1":
        return image.convert("L")
    if mode in ("LA", "La", "PA", "RGBa") or (mode == "P" and "transparency" in image.info):
        return image.convert("RGBA")
    if mode.startswith("I"):  # 16-bit greyscale PNG: scale 0..65535 down to 0..255
        return image.convert("I").point(lambda value: value / 257).convert("L")
    return image.convert("RGB")


def _fit(image: Image.Image, side: int, reducing_gap: float) -> Image.Image:
    """`image` shrunk so its longest side is at most `side`; never enlarged."""
    width, height = image.size
    if max(width, height) <= side:
        return image
    scale = side / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=reducing_gap)


def _to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    if image.mode == "RGBA":
        background = Image.new("RGB", image.size, _WHITE)
        background.paste(image, mask=image.getchannel("A"))
        image = background
    transform = None
    if icc_profile and len(icc_profile) <= _MAX_CACHED_PROFILE:
        transform = _cached_transform_to_srgb(icc_profile, image.mode)
    elif icc_profile:
        transform = _transform_to_srgb(icc_profile, image.mode)
    if transform is not None:
        return transform.apply(image)
    return image if image.mode == "RGB" else image.convert("RGB")


def _transform_to_srgb(icc_profile: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """A colour transform from the embedded profile to sRGB, or None when there is nothing
    to do: the profile is unusable, does not fit the pixels, or already is sRGB."""
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        if _PROFILE_MODES.get(profile.profile.xcolor_space.strip()) != mode:
            return None
        transform = ImageCms.buildTransform(profile, _srgb_profile(), mode, "RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None
    # Android phones often embed sRGB itself; skipping it saves ~80 ms on a 3 MP image.
    if mode == "RGB" and _changes_nothing(transform):
        return None
    return transform


# Phones embed the same few profiles: build each transform once.
_cached_transform_to_srgb = functools.lru_cache(maxsize=32)(_transform_to_srgb)


@functools.cache
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _changes_nothing(transform: ImageCms.ImageCmsTransform) -> bool:
    probe = _colour_probe()
    extrema = ImageChops.difference(transform.apply(probe), probe).getextrema()
    return all(high <= 1 for _, high in extrema)  # type: ignore[misc]


@functools.cache
def _colour_probe() -> Image.Image:
    """An RGB image holding a grid of colours spanning the whole cube."""
    levels = [*range(0, 255, 15), 255]
    colours = bytes(
        channel for r in levels for g in levels for b in levels for channel in (r, g, b)
    )
    return Image.frombytes("RGB", (len(levels) ** 2, len(levels)), colours)


def _encode(image: Image.Image) -> Rendition:
    buffer = io.BytesIO()
    # 4:4:4 keeps coloured text (signs, price tags) legible; no exif or icc_profile is passed.
    image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True, subsampling="4:4:4")
    return Rendition(data=buffer.getvalue(), width=image.width, height=image.height)
