from __future__ import annotations

import functools
import hashlib
import io
import warnings
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import numpy as np
import pillow_heif
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image, ImageCms, ImageFile, ImageOps, JpegImagePlugin, PngImagePlugin

from shopper.photos.pipeline import (
    MAIN_SIDE,
    PRINT_SIDE,
    REASONS,
    THUMB_SIDE,
    PhotoRejected,
    ProcessedPhoto,
    process,
)
from tests.photos import images

pillow_heif.register_heif_opener()  # so the tests can write HEIF

# What a clean baseline JPEG of ours may contain: SOI, APP0 (JFIF), DQT, SOF0-2, DHT, DRI, SOS, EOI.
CLEAN_JPEG_MARKERS = {0xD8, 0xE0, 0xDB, 0xC0, 0xC1, 0xC2, 0xC4, 0xDD, 0xDA, 0xD9}
SECRETS = (
    b"Exif",
    b"GPS",
    b"http://ns.adobe.com/xap",
    b"ICC_PROFILE",
    b"Display P3",
    b"TestPhone",
    b"Inspector Jane Doe",
    b"secret comment",
)
METADATA_KEYS = {"exif", "icc_profile", "xmp", "XML:com.adobe.xmp", "comment"}
TAKEN = "2024:05:17 10:30:00"


def renditions(photo: ProcessedPhoto) -> dict[str, bytes]:
    return {"main": photo.main.data, "print": photo.print_copy.data, "thumb": photo.thumb.data}


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def rejection(data: bytes, **limits: int) -> str:
    with pytest.raises(PhotoRejected) as caught:
        process(data, **limits)
    assert caught.value.reason in REASONS
    return caught.value.reason


def psnr(a: Image.Image, b: Image.Image) -> float:
    x = np.asarray(a.convert("RGB"), dtype=np.float64)
    y = np.asarray(b.convert("RGB"), dtype=np.float64)
    return float(10 * np.log10(255**2 / np.mean((x - y) ** 2)))


@pytest.fixture(scope="module")
def phone_photo() -> bytes:
    """A 12 MP landscape photo stored with EXIF orientation 6, as phones write them."""
    tags = images.exif(orientation=6, gps=True, taken=TAKEN)
    return images.jpeg(images.photo(4032, 3024), exif=tags)


# --- what is accepted, and what comes out ---------------------------------------------------


def test_large_jpeg_gives_three_jpeg_renditions_within_their_limits():
    photo = process(images.jpeg(images.photo(2600, 1950)))

    assert (photo.main.width, photo.main.height) == (MAIN_SIDE, 1536)
    assert (photo.print_copy.width, photo.print_copy.height) == (PRINT_SIDE, 750)
    assert (photo.thumb.width, photo.thumb.height) == (THUMB_SIDE, 240)
    for rendition in (photo.main, photo.print_copy, photo.thumb):
        image = decoded(rendition.data)
        assert image.format == "JPEG"
        assert image.mode == "RGB"
        assert image.size == (rendition.width, rendition.height)
    assert photo.sha256 == hashlib.sha256(photo.main.data).hexdigest()
    assert photo.source_format == "JPEG"


def test_small_photo_is_never_enlarged():
    photo = process(images.jpeg(images.marked(100, 80)))

    for rendition in (photo.main, photo.print_copy, photo.thumb):
        assert (rendition.width, rendition.height) == (100, 80)


def test_heic_is_accepted_and_shown_upright():
    tags = images.exif(orientation=6, gps=True, taken=TAKEN)
    # pillow-heif turns EXIF orientation into HEIF's own rotation only when given bytes
    data = images.encode(images.marked(96, 64), "HEIF", exif=tags.tobytes())

    photo = process(data)

    assert photo.source_format == "HEIF"
    assert (photo.main.width, photo.main.height) == (64, 96)
    assert images.red_corner(decoded(photo.main.data)) == "top-right"
    assert photo.captured_at == datetime(2024, 5, 17, 10, 30)


def test_png_alpha_is_flattened_on_white_and_its_text_chunks_dropped():
    image = Image.new("RGBA", (96, 64), (0, 0, 255, 255))
    image.paste((255, 0, 0, 0), (0, 0, 48, 64))  # transparent red: must come out white
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "Inspector Jane Doe")
    text.add_itxt("Comment", "secret comment", zip=True)

    photo = process(images.encode(image, "PNG", pnginfo=text))

    main = decoded(photo.main.data)
    assert photo.source_format == "PNG"
    assert all(abs(c - 255) <= 2 for c in main.getpixel((10, 32)))
    red, green, blue = main.getpixel((80, 32))
    assert red < 5 and green < 5 and blue > 250
    for data in renditions(photo).values():
        assert b"Inspector" not in data and b"secret" not in data


@pytest.mark.parametrize("mode", ["P", "LA"])
def test_transparent_palette_and_grey_alpha_pngs_are_flattened_on_white(mode):
    image = Image.new("RGBA", (64, 48), (0, 0, 0, 0))
    image.paste((20, 20, 20, 255), (32, 0, 64, 48))
    if mode == "P":
        source = image.convert("P")
        source.info["transparency"] = source.getpixel((0, 0))
    else:
        source = image.convert(mode)

    main = decoded(process(images.encode(source, "PNG")).main.data)

    assert min(main.getpixel((8, 24))) >= 250
    assert max(main.getpixel((56, 24))) <= 30


def test_16_bit_greyscale_png_keeps_its_tones():
    image = Image.new("I;16", (64, 48), 32768)

    main = decoded(process(images.encode(image, "PNG")).main.data)

    assert all(abs(c - 128) <= 2 for c in main.getpixel((32, 24)))


def test_webp_is_accepted():
    data = images.encode(images.marked(96, 64), "WEBP", quality=90, exif=images.exif(orientation=3))

    photo = process(data)

    assert photo.source_format == "WEBP"
    assert images.red_corner(decoded(photo.main.data)) == "bottom-right"


def test_multi_picture_jpeg_from_a_phone_is_a_jpeg():
    buffer = io.BytesIO()
    images.marked(96, 64).save(buffer, "MPO", save_all=True, append_images=[images.marked(48, 32)])

    photo = process(buffer.getvalue())

    assert photo.source_format == "JPEG"
    assert (photo.main.width, photo.main.height) == (96, 64)


def test_cmyk_jpeg_comes_out_rgb():
    photo = process(images.jpeg(images.marked(96, 64, mode="CMYK")))

    main = decoded(photo.main.data)
    assert main.mode == "RGB"
    assert images.red_corner(main) == "top-left"


# --- metadata ------------------------------------------------------------------------------


def _jpeg_with_everything() -> bytes:
    tags = images.exif(orientation=1, gps=True, taken=TAKEN, taken_offset="+02:00")
    return images.jpeg(
        images.marked(),
        exif=tags,
        xmp=images.xmp_packet(),
        icc_profile=images.display_p3_profile(),
        comment=b"secret comment",
    )


def _png_with_everything() -> bytes:
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "Inspector Jane Doe")
    text.add_itxt("XML:com.adobe.xmp", images.xmp_packet().decode())
    tags = images.exif(gps=True, taken=TAKEN)
    return images.encode(
        images.marked(), "PNG", pnginfo=text, exif=tags, icc_profile=images.display_p3_profile()
    )


def _webp_with_everything() -> bytes:
    return images.encode(
        images.marked(),
        "WEBP",
        exif=images.exif(gps=True, taken=TAKEN),
        xmp=images.xmp_packet(),
        icc_profile=images.display_p3_profile(),
    )


def _heif_with_everything() -> bytes:
    return images.encode(
        images.marked(),
        "HEIF",
        exif=images.exif(gps=True, taken=TAKEN).tobytes(),
        xmp=images.xmp_packet(),
        icc_profile=images.display_p3_profile(),
    )


@pytest.mark.parametrize(
    "make",
    [_jpeg_with_everything, _png_with_everything, _webp_with_everything, _heif_with_everything],
)
def test_no_metadata_survives_in_any_rendition(make: Callable[[], bytes]):
    source = make()
    assert decoded(source).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the upload does carry GPS

    photo = process(source)

    for name, data in renditions(photo).items():
        image = decoded(data)
        assert len(image.getexif()) == 0, name
        assert not METADATA_KEYS & set(image.info), name
        for secret in SECRETS:
            assert secret not in data, (name, secret)
        segments, trailing = images.jpeg_segments(data)
        assert {marker for marker, _ in segments} <= CLEAN_JPEG_MARKERS, name
        assert all(payload.startswith(b"JFIF\0") for marker, payload in segments if marker == 0xE0)
        assert trailing == b""
    assert photo.captured_at is not None  # the one piece of metadata we keep


def test_display_p3_pixels_are_converted_to_srgb():
    colour = (200, 100, 100)
    source = Image.new("RGB", (64, 48), colour)
    profile = images.display_p3_profile()
    to_srgb = ImageCms.buildTransform(
        ImageCms.ImageCmsProfile(io.BytesIO(profile)), ImageCms.createProfile("sRGB"), "RGB", "RGB"
    )
    expected = to_srgb.apply(Image.new("RGB", (1, 1), colour)).getpixel((0, 0))
    assert expected != colour

    main = decoded(process(images.jpeg(source, quality=95, icc_profile=profile)).main.data)

    assert all(abs(a - b) <= 2 for a, b in zip(main.getpixel((32, 24)), expected, strict=True))


@pytest.mark.parametrize(
    "profile",
    [
        pytest.param(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(), id="srgb"),
        pytest.param(b"not an ICC profile at all", id="broken"),
    ],
)
def test_srgb_or_unusable_profile_leaves_pixels_as_they_are(profile: bytes):
    colour = (200, 100, 100)
    source = Image.new("RGB", (64, 48), colour)

    main = decoded(process(images.jpeg(source, quality=95, icc_profile=profile)).main.data)

    assert all(abs(a - b) <= 2 for a, b in zip(main.getpixel((32, 24)), colour, strict=True))


# --- orientation and fidelity ----------------------------------------------------------------


def test_orientation_6_turns_landscape_into_portrait_with_red_at_top_right():
    source = images.marked(96, 64)
    assert images.red_corner(source) == "top-left"

    photo = process(images.jpeg(source, exif=images.exif(orientation=6)))

    main = decoded(photo.main.data)
    assert main.size == (64, 96)
    assert images.red_corner(main) == "top-right"
    for rendition in (photo.print_copy, photo.thumb):
        assert images.red_corner(decoded(rendition.data)) == "top-right"


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_matches_exif_transpose(orientation: int):
    data = images.jpeg(images.marked(96, 64), exif=images.exif(orientation=orientation))
    expected = ImageOps.exif_transpose(decoded(data))

    main = decoded(process(data).main.data)

    assert main.size == expected.size
    assert images.red_corner(main) == images.red_corner(expected)


def test_orientation_from_png_exif_chunk_is_applied():
    data = images.encode(images.marked(96, 64), "PNG", exif=images.exif(orientation=8))

    main = decoded(process(data).main.data)

    assert main.size == (64, 96)
    assert images.red_corner(main) == "bottom-left"


def test_12_mp_jpeg_is_decoded_at_half_scale_and_stays_faithful(phone_photo, monkeypatch):
    drafts = []
    original_draft = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        drafts.append(size)
        return original_draft(self, mode, size)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)

    photo = process(phone_photo)

    assert drafts == [(2016, 1512)]
    assert (photo.main.width, photo.main.height) == (1512, 2016)  # upright, longest side <= 2048
    full = decoded(phone_photo)
    reference = ImageOps.exif_transpose(full).resize((1512, 2016), Image.Resampling.LANCZOS)
    assert psnr(decoded(photo.main.data), reference) >= 38


def test_orientation_is_applied_to_a_draft_decoded_jpeg():
    data = images.jpeg(images.marked(4032, 3024), exif=images.exif(orientation=6))

    main = decoded(process(data).main.data)

    assert main.size == (1512, 2016)
    assert images.red_corner(main) == "top-right"


def test_same_bytes_give_the_same_photo():
    data = _jpeg_with_everything()

    first, second = process(data), process(data)

    assert first == second
    assert first.sha256 == second.sha256


def test_different_photos_have_different_addresses():
    flat, busy = images.jpeg(images.marked()), images.jpeg(images.photo(96, 64))

    assert process(flat).sha256 != process(busy).sha256


def test_concurrent_calls_give_the_same_results_and_leave_warning_filters_alone():
    uploads = [images.jpeg(images.photo(160, 120, seed=seed)) for seed in range(6)]
    uploads.append(images.png_bomb(10_000, 10_000))
    filters_before = list(warnings.filters)

    def outcome(data: bytes) -> ProcessedPhoto | str:
        try:
            return process(data)
        except PhotoRejected as exc:
            return exc.reason

    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(outcome, uploads * 3))

    assert concurrent == [outcome(data) for data in uploads] * 3
    assert warnings.filters == filters_before


# --- polyglots --------------------------------------------------------------------------------


def test_script_appended_to_a_jpeg_does_not_survive():
    photo = process(images.jpeg(images.marked()) + b"<script>alert(1)</script>")

    for data in renditions(photo).values():
        assert b"script" not in data
        _, trailing = images.jpeg_segments(data)
        assert trailing == b""


def test_zip_appended_to_a_jpeg_does_not_survive():
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("payload.txt", "run me")

    photo = process(images.jpeg(images.marked()) + archive.getvalue())

    for data in renditions(photo).values():
        assert b"PK\x03\x04" not in data and b"payload" not in data
        assert images.jpeg_segments(data)[1] == b""


# --- capture time -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        pytest.param(
            {"taken": TAKEN, "taken_offset": "+02:00"},
            datetime(2024, 5, 17, 10, 30, tzinfo=timezone(timedelta(hours=2))),
            id="original-with-offset",
        ),
        pytest.param(
            {"taken": TAKEN, "taken_offset": "-05:30"},
            datetime(2024, 5, 17, 10, 30, tzinfo=timezone(-timedelta(hours=5, minutes=30))),
            id="original-with-negative-offset",
        ),
        pytest.param({"taken": TAKEN}, datetime(2024, 5, 17, 10, 30), id="original-naive"),
        pytest.param(
            {"modified": "2023:12:31 23:59:58"}, datetime(2023, 12, 31, 23, 59, 58), id="fallback"
        ),
        pytest.param(
            {"modified": "2023:12:31 23:59:58", "modified_offset": "+01:00"},
            datetime(2023, 12, 31, 23, 59, 58, tzinfo=timezone(timedelta(hours=1))),
            id="fallback-with-offset",
        ),
        pytest.param(
            {"taken": "0000:00:00 00:00:00", "modified": "2023:12:31 23:59:58"},
            datetime(2023, 12, 31, 23, 59, 58),
            id="placeholder-original",
        ),
        pytest.param({"taken": "yesterday"}, None, id="garbage"),
        pytest.param({}, None, id="absent"),
    ],
)
def test_capture_time_is_read_from_exif(tags: dict[str, str], expected: datetime | None):
    photo = process(images.jpeg(images.marked(), exif=images.exif(**tags)))

    assert photo.captured_at == expected


def test_capture_time_misplaced_in_ifd0_is_still_read():
    tags = images.exif()
    tags[ExifTags.Base.DateTimeOriginal] = TAKEN  # belongs in the Exif sub-IFD

    photo = process(images.jpeg(images.marked(), exif=tags))

    assert photo.captured_at == datetime(2024, 5, 17, 10, 30)


def test_malformed_exif_is_ignored_not_fatal():
    photo = process(images.jpeg(images.marked(), exif=b"Exif\x00\x00this is not TIFF"))

    assert photo.captured_at is None
    assert (photo.main.width, photo.main.height) == (96, 64)


# --- refusals ------------------------------------------------------------------------------------

SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
    b'<rect width="100" height="100" fill="red"/></svg>'
)


def _truncated(data: bytes, share: float = 0.6) -> bytes:
    return data[: int(len(data) * share)]


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        pytest.param(lambda: b"", "empty", id="zero-bytes"),
        pytest.param(lambda: b"hello, this is not a photo\n", "not_an_image", id="text"),
        pytest.param(
            lambda: b"<!doctype html><html><body><script>alert(1)</script></body></html>",
            "not_an_image",
            id="html",
        ),
        pytest.param(lambda: b"\x00" * 1000, "not_an_image", id="zeros"),
        pytest.param(lambda: SVG, "unsupported_type", id="svg"),
        pytest.param(lambda: images.encode(images.marked(), "GIF"), "unsupported_type", id="gif"),
        pytest.param(lambda: images.encode(images.marked(), "BMP"), "unsupported_type", id="bmp"),
        pytest.param(lambda: images.encode(images.marked(), "TIFF"), "unsupported_type", id="tiff"),
        pytest.param(lambda: images.encode(images.marked(), "PDF"), "unsupported_type", id="pdf"),
        pytest.param(
            lambda: b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + b"\x00" * 64,
            "unsupported_type",
            id="avif",
        ),
        pytest.param(
            lambda: _truncated(images.jpeg(images.photo(200, 150))), "corrupt", id="jpeg-cut-at-60%"
        ),
        pytest.param(
            lambda: _truncated(images.encode(images.photo(200, 150), "PNG")),
            "corrupt",
            id="png-cut-at-60%",
        ),
        pytest.param(
            lambda: _truncated(images.encode(images.photo(200, 150), "WEBP")),
            "corrupt",
            id="webp-cut-at-60%",
        ),
        pytest.param(
            lambda: _truncated(images.encode(images.photo(200, 150), "HEIF")),
            "corrupt",
            id="heif-cut-at-60%",
        ),
        pytest.param(
            lambda: b"\xff\xd8\xff\xe0" + b"garbage" * 100, "corrupt", id="jpeg-magic-then-garbage"
        ),
        pytest.param(lambda: images.encode(images.marked(1, 1), "PNG"), "too_small", id="1x1"),
        pytest.param(lambda: images.jpeg(images.marked(15, 200)), "too_small", id="15px-wide"),
        pytest.param(
            lambda: images.jpeg(images.marked(3000, 100)), "bad_aspect_ratio", id="3000x100"
        ),
        pytest.param(
            lambda: images.jpeg(images.marked(100, 3000)), "bad_aspect_ratio", id="100x3000"
        ),
    ],
)
def test_refused_upload_says_why(make: Callable[[], bytes], reason: str):
    assert rejection(make()) == reason


def test_ten_to_one_is_still_accepted():
    photo = process(images.jpeg(images.marked(1000, 100)))

    assert (photo.main.width, photo.main.height) == (1000, 100)


def test_upload_over_the_byte_limit_is_too_large():
    data = images.jpeg(images.marked())

    assert rejection(data, max_bytes=len(data) - 1) == "too_large"
    assert process(data, max_bytes=len(data)).main.width == 96


def test_truncated_large_jpeg_is_corrupt_on_the_draft_path_too(phone_photo):
    assert rejection(_truncated(phone_photo)) == "corrupt"


def test_pixel_limit_is_the_callers():
    data = images.jpeg(images.marked(200, 100))

    assert rejection(data, max_pixels=200 * 100 - 1) == "too_many_pixels"
    assert process(data, max_pixels=200 * 100).main.width == 200


@pytest.mark.parametrize(
    "side",
    [
        pytest.param(8_000, id="over-our-limit"),
        pytest.param(10_000, id="over-pillow-warning-limit"),
        pytest.param(20_000, id="over-pillow-error-limit"),
    ],
)
def test_decompression_bomb_is_refused_before_any_pixel_is_allocated(side: int, monkeypatch):
    bomb = images.png_bomb(side, side)
    assert len(bomb) < 64 * 1024
    max_image_pixels = Image.MAX_IMAGE_PIXELS

    def no_allocation(*args: object) -> None:
        raise AssertionError("the pipeline allocated image memory for a bomb")

    monkeypatch.setattr(Image.core, "new", no_allocation)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a DecompressionBombWarning must not escape either
        assert rejection(bomb) == "too_many_pixels"
    assert max_image_pixels == Image.MAX_IMAGE_PIXELS


def test_truncated_images_are_never_loaded_quietly(monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)

    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        process(images.jpeg(images.marked()))


def test_rejection_is_a_value_error_with_a_machine_reason():
    with pytest.raises(ValueError) as caught:
        process(b"")

    assert isinstance(caught.value, PhotoRejected)
    assert caught.value.reason == "empty"
    assert str(caught.value)


# --- robustness ------------------------------------------------------------------------------


@functools.cache
def _seed_upload(format: str) -> bytes:
    image = images.photo(64, 48)
    tags = images.exif(orientation=6, gps=True, taken=TAKEN)
    if format == "HEIF":
        return images.encode(image, format, exif=tags.tobytes())
    return images.encode(image, format, exif=tags, icc_profile=images.display_p3_profile())


@pytest.mark.parametrize("format", ["JPEG", "PNG", "WEBP", "HEIF"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_damaged_uploads_are_refused_with_a_reason_or_processed(format: str, data: st.DataObject):
    upload = bytearray(_seed_upload(format))
    header = min(len(upload), 400)  # where the dimensions, markers and boxes are
    edits = data.draw(
        st.lists(st.tuples(st.integers(0, header - 1), st.integers(0, 255)), max_size=8)
    )
    for position, value in edits:
        upload[position] = value
    upload = upload[: data.draw(st.integers(1, len(upload)))]

    try:
        photo = process(bytes(upload))
    except PhotoRejected as exc:
        assert exc.reason in REASONS
    else:
        assert decoded(photo.main.data).format == "JPEG"
