"""Pixel limits per format, checked from the header before any decoding, and the gate that
lets only so many large decodes run at once."""

from __future__ import annotations

import threading
import time

import pillow_heif
import pytest
from PIL import Image

from shopper.photos import pipeline
from shopper.photos.pipeline import (
    MAX_PIXELS,
    MAX_PIXELS_BY_FORMAT,
    DecodeGate,
    DecodesBusy,
    PhotoRejected,
    process,
)
from tests.photos import images

pillow_heif.register_heif_opener()  # so the tests can write HEIF

SMALL = (96, 64)


@pytest.fixture
def never_opened(monkeypatch):
    """Fails the test if Pillow opens the upload, let alone allocates or decodes its pixels."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the pipeline opened an image it should have refused from its header")

    monkeypatch.setattr(Image, "open", refuse)
    monkeypatch.setattr(Image.core, "new", refuse)


def rejected(data: bytes, **options: object) -> PhotoRejected:
    with pytest.raises(PhotoRejected) as caught:
        process(data, **options)  # type: ignore[arg-type]
    return caught.value


def small(format: str, **params: object) -> bytes:
    return images.encode(images.marked(*SMALL), format, **params)


# --- the limits ---------------------------------------------------------------------------------


def test_formats_that_decode_at_full_size_have_lower_limits_than_jpeg():
    assert MAX_PIXELS == 50_000_000  # JPEG, decoded at reduced scale
    assert dict(MAX_PIXELS_BY_FORMAT) == {
        "PNG": 20_000_000,
        "WEBP": 15_000_000,
        "HEIF": 25_000_000,
    }


def test_a_webp_just_over_its_limit_is_refused_before_it_is_opened(never_opened):
    data = images.flat_webp(4000, 3751)  # 15.004 MP in a few bytes
    assert len(data) < 1024

    refusal = rejected(data)

    assert refusal.reason == "too_many_pixels"
    assert (refusal.source_format, refusal.limit) == ("WEBP", 15_000_000)


def test_a_png_just_over_its_limit_is_refused_before_it_is_opened(never_opened):
    data = images.png_bomb(5001, 4000)  # 20.004 MP

    refusal = rejected(data)

    assert refusal.reason == "too_many_pixels"
    assert (refusal.source_format, refusal.limit) == ("PNG", 20_000_000)


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"quality": 80}, id="lossy-VP8"),
        pytest.param({"lossless": True}, id="lossless-VP8L"),
        pytest.param({"exif": images.exif(orientation=3)}, id="extended-VP8X"),
    ],
)
def test_every_kind_of_webp_header_is_read_for_its_size(params, monkeypatch):
    data = small("WEBP", **params)
    assert process(data, max_pixels_by_format={"WEBP": SMALL[0] * SMALL[1]}).main.width

    monkeypatch.setattr(Image, "open", lambda *a, **k: pytest.fail("opened"))
    refusal = rejected(data, max_pixels_by_format={"WEBP": SMALL[0] * SMALL[1] - 1})
    assert (refusal.reason, refusal.source_format) == ("too_many_pixels", "WEBP")


def test_a_webp_whose_size_cannot_be_read_is_refused_unopened(never_opened):
    data = bytearray(small("WEBP", quality=80))
    assert data[12:16] == b"VP8 "
    data[23:26] = b"\x00\x00\x00"  # the frame's start code, before its width and height

    assert rejected(bytes(data)).reason == "corrupt"


def test_a_heic_over_its_limit_is_refused_from_its_header_without_decoding(monkeypatch):
    data = small("HEIF")
    assert process(data, max_pixels_by_format={"HEIF": SMALL[0] * SMALL[1]}).main.width

    monkeypatch.setattr(pipeline, "_decode", lambda image: pytest.fail("decoded"))
    monkeypatch.setattr(Image.core, "new", lambda *a: pytest.fail("allocated"))
    refusal = rejected(data, max_pixels_by_format={"HEIF": SMALL[0] * SMALL[1] - 1})
    assert (refusal.reason, refusal.source_format) == ("too_many_pixels", "HEIF")


def test_each_format_has_its_own_limit():
    by_format = {"PNG": 1, "WEBP": 1, "HEIF": 1}

    assert process(images.jpeg(images.marked(*SMALL)), max_pixels_by_format=by_format)
    assert rejected(small("PNG"), max_pixels_by_format=by_format).limit == 1


def test_the_overall_limit_caps_every_format():
    refusal = rejected(small("PNG"), max_pixels=SMALL[0] * SMALL[1] - 1)

    assert (refusal.reason, refusal.limit) == ("too_many_pixels", SMALL[0] * SMALL[1] - 1)


# --- the gate on large decodes ---------------------------------------------------------------


class DecodeSpy:
    """Counts the decodes running at once; each can be made to wait for `release`."""

    def __init__(self, monkeypatch, hold: float = 0.0) -> None:
        self.lock = threading.Lock()
        self.running = self.most = 0
        self.hold = hold
        self.started = threading.Event()
        self.release = threading.Event()
        original = pipeline._decode

        def decode(image):
            with self.lock:
                self.running += 1
                self.most = max(self.most, self.running)
            self.started.set()
            try:
                if self.hold:
                    time.sleep(self.hold)
                else:
                    self.release.wait(10)
                original(image)
            finally:
                with self.lock:
                    self.running -= 1

        monkeypatch.setattr(pipeline, "_decode", decode)


def test_at_most_n_large_decodes_run_at_once(monkeypatch):
    spy = DecodeSpy(monkeypatch, hold=0.15)
    gate = DecodeGate(2, threshold=0, timeout=10)
    data = images.jpeg(images.marked(*SMALL))
    results: list[object] = []

    def upload() -> None:
        results.append(process(data, gate=gate))

    threads = [threading.Thread(target=upload) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 6
    assert spy.most == 2


def test_small_decodes_never_wait_for_the_gate(monkeypatch):
    gate = DecodeGate(1, threshold=SMALL[0] * SMALL[1], timeout=0.01)
    with gate.slot(gate.threshold + 1):  # the only large slot is taken
        assert process(images.jpeg(images.marked(*SMALL)), gate=gate).main.width == SMALL[0]


def test_a_large_decode_that_waits_past_the_timeout_is_refused(monkeypatch):
    spy = DecodeSpy(monkeypatch)
    gate = DecodeGate(1, threshold=0, timeout=0.2)
    data = images.jpeg(images.marked(*SMALL))
    first = threading.Thread(target=process, args=(data,), kwargs={"gate": gate})
    first.start()
    assert spy.started.wait(5)

    began = time.monotonic()
    with pytest.raises(DecodesBusy):
        process(data, gate=gate)
    waited = time.monotonic() - began

    spy.release.set()
    first.join()
    assert 0.2 <= waited < 2
    assert spy.most == 1
    assert process(data, gate=gate).main.width == SMALL[0]  # the slot was given back


def test_a_webp_waits_for_its_slot_before_it_is_opened(never_opened):
    gate = DecodeGate(1, threshold=0, timeout=0.01)
    with gate.slot(1), pytest.raises(DecodesBusy):
        process(images.flat_webp(*SMALL), gate=gate)


def test_a_refused_decode_gives_its_slot_back():
    gate = DecodeGate(1, threshold=0, timeout=0.01)
    truncated = images.jpeg(images.photo(200, 150))[:3000]

    assert rejected(truncated, gate=gate).reason == "corrupt"
    assert process(images.jpeg(images.marked(*SMALL)), gate=gate).main.width == SMALL[0]


def test_a_gate_needs_a_slot():
    with pytest.raises(ValueError):
        DecodeGate(0, timeout=1)
