"""Benchmark the photo pipeline against a naive Pillow pipeline.

Run from the project root:  python bench/photos.py

For a 12 MP and a 48 MP phone-like JPEG (EXIF orientation 6, GPS, quality 92) it prints, for
our `process()` and for a naive pipeline doing the same work (full decode, exif_transpose,
LANCZOS to 2048, then 1000 and 320 from that, same JPEG settings):
- the median time per photo, both run alternately in this process;
- the peak memory of one call, measured as the growth of peak RSS (VmHWM) in a fresh child
  process per pipeline and size, after reading the input and a warm-up call. RSS sees the
  image buffers Pillow allocates in C, which tracemalloc does not;
- the PSNR of our main rendition against the naive pipeline's output at the same size, and
  against an unencoded full-quality reference (full decode, exif_transpose, LANCZOS).

Then, per format that decodes at full size (WebP, PNG, HEIF), the peak memory of `process()`
on the largest image its pixel limit allows now, against the largest allowed before (50 MP,
the JPEG limit, for every format), in its common mode and its costliest one; and of four
large WebP uploads at once, without and with the gate on large decodes.
Run only that part:  python bench/photos.py --formats
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import PIL
import pillow_heif
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from shopper.photos import pipeline  # noqa: E402
from tests.photos import images  # noqa: E402

CASES = (  # label, width, height, timed runs, ratio target
    ("12 MP", 4032, 3024, 7, 0.35),
    ("48 MP", 8064, 6048, 5, 0.30),
)
PEAK_TARGET_MB = 100
PSNR_TARGET_DB = 38
FORMAT_PEAK_TARGET_MB = 300
# format, mode: the common mode, then the costliest we found (bytes per pixel at peak)
FORMAT_CASES = (
    ("WEBP", "RGB"),
    ("WEBP", "RGBA"),
    ("PNG", "RGB"),
    ("PNG", "LA"),
    ("HEIF", "RGB"),
    ("HEIF", "RGBA;16"),  # 10-bit with alpha
)
FORMAT_NAMES = {"WEBP": "WebP", "PNG": "PNG", "HEIF": "HEIF"}
CONCURRENT = 4


def phone_jpeg(width: int, height: int, *, icc_profile: bytes | None = None) -> bytes:
    """A photo as a phone stores it: landscape pixels, EXIF orientation 6, GPS, quality 92."""
    tags = images.exif(orientation=6, gps=True, taken="2024:05:17 10:30:00", taken_offset="+02:00")
    extra = {"icc_profile": icc_profile} if icc_profile else {}
    return images.jpeg(images.photo(width, height, seed=width), quality=92, exif=tags, **extra)


def ours(data: bytes) -> tuple[bytes, bytes, bytes]:
    photo = pipeline.process(data)
    return photo.main.data, photo.print_copy.data, photo.thumb.data


def naive(data: bytes, size: tuple[int, int] | None = None) -> tuple[bytes, bytes, bytes]:
    """What one writes first: decode all, rotate all, resize all. `size` overrides the main size."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        upright = ImageOps.exif_transpose(image)
    main = upright.resize(size or _fit(upright.size, pipeline.MAIN_SIDE), Image.Resampling.LANCZOS)
    del upright
    print_copy = main.resize(_fit(main.size, pipeline.PRINT_SIDE), Image.Resampling.LANCZOS)
    thumb = main.resize(_fit(main.size, pipeline.THUMB_SIDE), Image.Resampling.LANCZOS)
    return _jpeg(main), _jpeg(print_copy), _jpeg(thumb)


PIPELINES: dict[str, Callable[[bytes], tuple[bytes, bytes, bytes]]] = {
    "ours": ours,
    "naive": naive,
}


def _fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    scale = min(1.0, side / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=pipeline.JPEG_QUALITY, optimize=True, subsampling="4:4:4")
    return buffer.getvalue()


def reference(data: bytes, size: tuple[int, int]) -> Image.Image:
    """Full decode, exif_transpose, LANCZOS to `size`: the best Pillow can do, unencoded."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return ImageOps.exif_transpose(image).resize(size, Image.Resampling.LANCZOS)


def psnr(a: Image.Image, b: Image.Image) -> float:
    x = np.asarray(a.convert("RGB"), dtype=np.float64)
    y = np.asarray(b.convert("RGB"), dtype=np.float64)
    mse = float(np.mean((x - y) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def median_ms(runs: dict[str, list[float]], name: str) -> float:
    return statistics.median(runs[name]) * 1000


def time_side_by_side(data: bytes, count: int) -> dict[str, list[float]]:
    for run in PIPELINES.values():  # warm-up: plugins, codecs, caches
        run(data)
    runs: dict[str, list[float]] = {name: [] for name in PIPELINES}
    for index in range(count):
        order = list(PIPELINES) if index % 2 == 0 else list(reversed(PIPELINES))
        for name in order:
            gc.collect()
            start = time.perf_counter()
            PIPELINES[name](data)
            runs[name].append(time.perf_counter() - start)
    return runs


def peak_rss_mb(name: str, data: bytes) -> tuple[float, str]:
    """Peak RSS growth of one call, in a fresh child process."""
    with tempfile.NamedTemporaryFile(suffix=".jpg") as file:
        file.write(data)
        file.flush()
        result = subprocess.run(
            [sys.executable, __file__, "--peak-rss", name, file.name],
            check=True,
            capture_output=True,
            text=True,
        )
    measured = json.loads(result.stdout)
    return measured["mb"], measured["method"]


def _child_peak_rss(name: str, path: str) -> None:
    run = PIPELINES[name]
    warm_up = phone_jpeg(64, 48)
    data = Path(path).read_bytes()
    run(warm_up)
    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    except OSError:
        before = _status_kib("VmHWM")  # cannot reset: peak since start, inflated by the warm-up
        method = "growth of peak RSS (VmHWM, not resettable)"
    else:
        before = _status_kib("VmRSS")
        method = "peak RSS (VmHWM) minus RSS before the call, in a fresh process"
    run(data)
    print(json.dumps({"mb": (_status_kib("VmHWM") - before) / 1024, "method": method}))


def format_sample(format: str, mode: str, width: int, height: int) -> bytes:
    """A smooth gradient in `mode`, small on disk whatever its size: decoding costs the same."""
    pillow_heif.register_heif_opener()  # so that Pillow can write HEIF too
    if mode.endswith(";16"):  # 10-bit HEIF, which Pillow cannot make
        ramp = np.linspace(0, 65535, width, dtype=np.uint16)[None, :]
        planes = np.broadcast_to(ramp, (height, width))
        channels = 4 if mode.startswith("RGBA") else 3
        pixels = np.ascontiguousarray(np.stack([planes] * channels, axis=-1))
        heif = pillow_heif.from_bytes(mode=mode, size=(width, height), data=pixels.tobytes())
        buffer = io.BytesIO()
        heif.save(buffer, quality=50)
        return buffer.getvalue()
    ramp = Image.linear_gradient("L").resize((width, height))
    image = Image.merge("RGB", (ramp, ramp.transpose(Image.Transpose.FLIP_LEFT_RIGHT), ramp))
    if mode == "RGBA":
        image.putalpha(ramp.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    elif mode != "RGB":
        image = image.convert("RGBA").convert(mode)
    params: dict[str, object] = {
        "WEBP": {"lossless": mode == "RGBA", "quality": 80, "method": 0},
        "PNG": {"compress_level": 1},
        "HEIF": {"quality": 50},
    }[format]
    return images.encode(image, format, **params)


def largest(pixels: int) -> tuple[int, int]:
    """The largest 4:3 size of at most `pixels` pixels."""
    width = int((pixels * 4 / 3) ** 0.5)
    return width, min(width * 3 // 4, pixels // width)


def photo_peak_rss_mb(
    data: bytes, format: str, mode: str, *, limits: str, threads: int = 1, slots: int = 0
) -> float:
    """Peak RSS growth of `threads` simultaneous process() calls on `data`, in a fresh child
    process; `limits` "now" or "before" (50 MP for every format); a gate of `slots` if any."""
    with tempfile.NamedTemporaryFile() as file:
        file.write(data)
        file.flush()
        options = {"format": format, "mode": mode, "limits": limits, "threads": threads}
        result = subprocess.run(
            [sys.executable, __file__, "--peak-rss-photo", file.name, json.dumps(options)]
            + ([] if not slots else ["--slots", str(slots)]),
            check=True,
            capture_output=True,
            text=True,
        )
    return float(json.loads(result.stdout)["mb"])


def _child_photo_peak_rss(path: str, options_json: str, slots: int) -> None:
    options = json.loads(options_json)
    by_format = pipeline.MAX_PIXELS_BY_FORMAT if options["limits"] == "now" else {}
    gate = pipeline.DecodeGate(slots, timeout=600) if slots else None

    def run(data: bytes) -> None:
        pipeline.process(data, max_bytes=1 << 30, max_pixels_by_format=by_format, gate=gate)

    data = Path(path).read_bytes()
    run(format_sample(options["format"], options["mode"], 64, 48))  # plugins, codecs, caches
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    before = _status_kib("VmRSS")
    workers = [threading.Thread(target=run, args=(data,)) for _ in range(options["threads"])]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    print(json.dumps({"mb": (_status_kib("VmHWM") - before) / 1024}))


def formats() -> None:
    """Peak memory of the largest photo allowed per format, now and before."""
    print(
        f"\nLargest photo allowed per format, peak memory of one process() call "
        f"(target < {FORMAT_PEAK_TARGET_MB} MB now):"
    )
    worst: dict[str, float] = {}
    for format, mode in FORMAT_CASES:
        limit = pipeline.MAX_PIXELS_BY_FORMAT[format]
        figures = []
        for limits, pixels in (("now", limit), ("before", pipeline.MAX_PIXELS)):
            width, height = largest(pixels)
            data = format_sample(format, mode, width, height)
            peak = photo_peak_rss_mb(data, format, mode, limits=limits)
            figures.append(f"{width * height / 1e6:4.1f} MP {width}x{height} {peak:6.1f} MB")
            if limits == "now":
                worst[format] = max(worst.get(format, 0.0), peak)
        print(f"  {FORMAT_NAMES[format]:<5} {mode:<8} now {figures[0]}   before {figures[1]}")
    for format, peak in worst.items():
        limit_mp = pipeline.MAX_PIXELS_BY_FORMAT[format] / 1e6
        _report(
            f"{FORMAT_NAMES[format]} limit {limit_mp:g} MP, costliest mode",
            f"{peak:.1f} MB",
            f"< {FORMAT_PEAK_TARGET_MB}",
            peak < FORMAT_PEAK_TARGET_MB,
        )
    format, mode = "WEBP", "RGBA"
    now = format_sample(format, mode, *largest(pipeline.MAX_PIXELS_BY_FORMAT[format]))
    before = format_sample(format, mode, *largest(pipeline.MAX_PIXELS))
    slots = 2
    figures = {
        "before (50 MP each, no gate)": photo_peak_rss_mb(
            before, format, mode, limits="before", threads=CONCURRENT
        ),
        "now, no gate": photo_peak_rss_mb(now, format, mode, limits="now", threads=CONCURRENT),
        f"now, gate of {slots}": photo_peak_rss_mb(
            now, format, mode, limits="now", threads=CONCURRENT, slots=slots
        ),
    }
    print(
        f"  {CONCURRENT} largest {FORMAT_NAMES[format]} {mode} uploads at once: "
        + "; ".join(f"{label} {mb:.0f} MB" for label, mb in figures.items())
    )


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def main(only_formats: bool = False) -> None:
    print(
        f"Photo pipeline benchmark - Python {sys.version.split()[0]}, Pillow {PIL.__version__}, "
        f"pillow-heif {pillow_heif.__version__}, {os.cpu_count()} CPUs"
    )
    method = "peak RSS (VmHWM) minus RSS before the call, in a fresh process"
    if only_formats:
        formats()
        print(f"\nPeak memory method: {method}; the input bytes were already in memory.")
        return
    for label, width, height, count, ratio_target in CASES:
        data = phone_jpeg(width, height)
        size_mb = len(data) / 1e6
        print(f"\n{label}: {width}x{height} JPEG q92, {size_mb:.1f} MB, EXIF orientation 6 + GPS")
        runs = time_side_by_side(data, count)
        mains = {name: Image.open(io.BytesIO(run(data)[0])) for name, run in PIPELINES.items()}
        peaks = {}
        for name, main_image in mains.items():
            peaks[name], method = peak_rss_mb(name, data)
            main_size = f"{main_image.width}x{main_image.height}"
            print(
                f"  {name:<5}  median {median_ms(runs, name):6.0f} ms over {count} runs"
                f"   peak memory {peaks[name]:6.1f} MB   main {main_size}"
            )
        ours_main = mains["ours"]
        ratio = median_ms(runs, "ours") / median_ms(runs, "naive")
        naive_at_our_size = Image.open(io.BytesIO(naive(data, ours_main.size)[0]))
        versus_naive = psnr(ours_main, naive_at_our_size)
        versus_reference = psnr(ours_main, reference(data, ours_main.size))
        _report("ratio ours/naive", f"{ratio:.2f}", f"<= {ratio_target}", ratio <= ratio_target)
        _report(
            "peak memory ours",
            f"{peaks['ours']:.1f} MB",
            f"< {PEAK_TARGET_MB}",
            peaks["ours"] < PEAK_TARGET_MB,
        )
        _report(
            f"PSNR ours vs naive pipeline's JPEG at {ours_main.width}x{ours_main.height}",
            f"{versus_naive:.2f} dB",
            f">= {PSNR_TARGET_DB}",
            versus_naive >= PSNR_TARGET_DB,
        )
        _report(
            "PSNR ours vs unencoded reference (full decode, exif_transpose, LANCZOS)",
            f"{versus_reference:.2f} dB",
            f">= {PSNR_TARGET_DB}",
            versus_reference >= PSNR_TARGET_DB,
        )

    label, width, height, count, _ = CASES[0]
    with_profile = phone_jpeg(width, height, icc_profile=images.display_p3_profile())
    runs = time_side_by_side(with_profile, count)
    print(
        f"\n{label} with a Display P3 ICC profile, as iPhones write: "
        f"ours {median_ms(runs, 'ours'):.0f} ms, naive {median_ms(runs, 'naive'):.0f} ms "
        "(naive skips the colour conversion)"
    )
    formats()
    print(f"\nPeak memory method: {method}; the input bytes were already in memory.")


def _report(what: str, value: str, target: str, ok: bool) -> None:
    print(f"  {what}: {value} (target {target})  {'ok' if ok else 'MISSED'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peak-rss", nargs=2, metavar=("PIPELINE", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--peak-rss-photo", nargs=2, metavar=("FILE", "JSON"), help=argparse.SUPPRESS
    )
    parser.add_argument("--slots", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--formats", action="store_true", help="only the per-format figures")
    arguments = parser.parse_args()
    if arguments.peak_rss:
        _child_peak_rss(*arguments.peak_rss)
    elif arguments.peak_rss_photo:
        _child_photo_peak_rss(*arguments.peak_rss_photo, arguments.slots)
    else:
        main(only_formats=arguments.formats)
