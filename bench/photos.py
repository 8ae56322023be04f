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


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def main() -> None:
    print(
        f"Photo pipeline benchmark - Python {sys.version.split()[0]}, Pillow {PIL.__version__}, "
        f"pillow-heif {pillow_heif.__version__}, {os.cpu_count()} CPUs"
    )
    method = ""
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
    print(f"\nPeak memory method: {method}; the input bytes were already in memory.")


def _report(what: str, value: str, target: str, ok: bool) -> None:
    print(f"  {what}: {value} (target {target})  {'ok' if ok else 'MISSED'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peak-rss", nargs=2, metavar=("PIPELINE", "FILE"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.peak_rss:
        _child_peak_rss(*arguments.peak_rss)
    else:
        main()
