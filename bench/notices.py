"""Benchmark notice documents: render (HTML → PDF) and sign, per candidate font, and in bulk.

Run from the project root:  python bench/notices.py   (10-20 minutes on 2 cores)

For an outlet notice with 20 findings and 10 photos (print copies, 1000 px JPEGs made like
phone photos), and the same notice without photos, per candidate CJK font it prints:
- the median time, over RUNS runs, to render (template → HTML → WeasyPrint PDF) and to sign
  (pyHanko, certified PAdES, one revision), and the share of signing in their sum;
- the peak memory of one render and sign, as the growth of peak RSS (VmHWM) in a fresh child
  process after a warm-up notice (RSS sees what WeasyPrint, Pango and Pillow allocate in C);
- the PDF's size.
Then bulk: BULK notices (a typical one: 6 findings, 3 photos; the templates rendered in this
process, PDF and signature in workers that each load the signer once) with one process and
with every core, in notices per second, and the ratio.
The last line sums it up for the chosen font.  Options: --bulk N, --runs N, --only-bulk.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import gc
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import weasyprint  # noqa: E402

from shopper import create_app, pdf  # noqa: E402
from shopper.notices import document, pki, signing  # noqa: E402
from tests.notices import samples  # noqa: E402

FONTS = ("WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Serif CJK SC")
CHOSEN = "WenQuanYi Micro Hei"  # the font in templates/notices/notice.css
RUNS = 5
BULK = 200
TARGET_MS, TARGET_KB, TARGET_SIGNING, TARGET_SPEEDUP = 500, 1024, 10.0, 1.7


def make_app(instance: Path):
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench",
            "DATABASE_URL": "sqlite://",
            "STORAGE_DIR": str(instance / "storage"),
            "PKI_DIR": str(instance / "pki"),
        }
    )


def font_css(font: str) -> list[str]:
    return [f'html {{ font-family: "{font}", sans-serif !important; }}']


def sign_kwargs(context: dict) -> dict:
    return {"signer_name": context["issuer"], "reason": context["number"], "location": "示范银行"}


def render(app, context: dict, font: str) -> pdf.RenderedPdf:
    with app.app_context():
        html = document.render_html(context, "zh")
    return pdf.render_pdf(html, stylesheets=font_css(font))


def time_fonts(app, signer, context: dict, runs: int) -> dict[str, dict]:
    """Median wall and CPU times per font, the fonts taking turns (in a rotating order) so
    that other work on the machine weighs on each alike."""
    for font in FONTS:  # warm-up: fonts, caches
        render(app, context, font)
    timings: dict[str, dict[str, list[float]]] = {
        font: {"render": [], "sign": [], "cpu": [], "sign_cpu": []} for font in FONTS
    }
    sizes: dict[str, int] = {}
    for run in range(runs):
        for font in FONTS[run % len(FONTS) :] + FONTS[: run % len(FONTS)]:
            pdf.thumbnail_uri.cache_clear()  # each notice brings its own photos
            gc.collect()
            wall, cpu = time.perf_counter(), time.process_time()
            rendered = render(app, context, font)
            wall_1, cpu_1 = time.perf_counter(), time.process_time()
            signed = signing.sign_pdf(
                rendered.data, signer, field_box=rendered.signature_box, **sign_kwargs(context)
            )
            wall_2, cpu_2 = time.perf_counter(), time.process_time()
            timings[font]["render"].append(wall_1 - wall)
            timings[font]["sign"].append(wall_2 - wall_1)
            timings[font]["cpu"].append(cpu_2 - cpu)
            timings[font]["sign_cpu"].append(cpu_2 - cpu_1)
            sizes[font] = len(signed)
    rows = {}
    for font, t in timings.items():
        render_ms = statistics.median(t["render"]) * 1000
        sign_ms = statistics.median(t["sign"]) * 1000
        cpu_ms = statistics.median(t["cpu"]) * 1000
        rows[font] = {
            "render_ms": render_ms,
            "sign_ms": sign_ms,
            "total_ms": render_ms + sign_ms,
            "cpu_ms": cpu_ms,
            "signing_pct": 100 * sign_ms / (render_ms + sign_ms),
            "signing_cpu_pct": 100 * statistics.median(t["sign_cpu"]) * 1000 / cpu_ms,
            "kb": sizes[font] / 1024,
        }
    return rows


def peak_rss_mb(font: str, photos: int, instance: Path) -> float:
    result = subprocess.run(
        [sys.executable, __file__, "--peak-rss", font, str(photos), str(instance)],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(json.loads(result.stdout.strip().splitlines()[-1])["mb"])


def _child_peak_rss(font: str, photos: int, instance: str) -> None:
    app = make_app(Path(instance))
    signer = pki.load_signer(Path(instance) / "pki")
    warm_up = samples.outlet_notice(findings=2, photos=1)
    context = samples.outlet_notice(findings=20, photos=photos)
    rendered = render(app, warm_up, font)
    signing.sign_pdf(
        rendered.data, signer, field_box=rendered.signature_box, **sign_kwargs(warm_up)
    )
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    before = _status_kib("VmRSS")
    rendered = render(app, context, font)
    signing.sign_pdf(
        rendered.data, signer, field_box=rendered.signature_box, **sign_kwargs(context)
    )
    print(json.dumps({"mb": (_status_kib("VmHWM") - before) / 1024}))


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def bulk_contexts(count: int) -> list[dict]:
    contexts = []
    for index in range(count):
        context = samples.outlet_notice(findings=6, photos=3)
        context["number"] = f"ZG-2026Q4-{index + 1:05d}"
        context["verify_url"] = f"http://127.0.0.1:5000/verify/{context['number']}"
        contexts.append(context)
    return contexts


def _html(app, context: dict) -> str:
    pdf.thumbnail_uri.cache_clear()  # each notice brings its own photos
    with app.app_context():
        return document.render_html(context, "zh")


def bulk(app, signer_args: tuple, count: int, rounds: int = 4) -> dict:
    """Notices per second: templates here, PDF and signature in this process or in a pool
    of one worker per core, each submitted as soon as its HTML is ready. The two take turns
    in `rounds` rounds, so that other work on the machine weighs on both alike."""
    contexts = bulk_contexts(count)
    workers = os.cpu_count() or 1
    one_s = all_s = 0.0
    with concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("fork")
    ) as pool:
        warm_up = _html(app, contexts[0])  # each worker loads the signer and the fonts once
        list(
            pool.map(
                signing.pdf_and_sign_from_html,
                [warm_up] * workers,
                [signer_args] * workers,
                [sign_kwargs(contexts[0])] * workers,
            )
        )
        signing.pdf_and_sign_from_html(warm_up, signer_args, sign_kwargs(contexts[0]))
        for round_ in range(rounds):
            part = contexts[round_::rounds]
            start = time.perf_counter()
            for context in part:
                html = _html(app, context)
                signing.pdf_and_sign_from_html(html, signer_args, sign_kwargs(context))
            one_s += time.perf_counter() - start
            start = time.perf_counter()
            futures = [
                pool.submit(
                    signing.pdf_and_sign_from_html,
                    _html(app, context),
                    signer_args,
                    sign_kwargs(context),
                )
                for context in part
            ]
            results = [future.result() for future in futures]
            all_s += time.perf_counter() - start
            assert all(r.startswith(b"%PDF-") for r in results)
    return {
        "workers": workers,
        "one_rate": count / one_s,
        "all_rate": count / all_s,
        "speedup": one_s / all_s,
    }


def main(runs: int, bulk_count: int, only_bulk: bool = False) -> None:
    print(
        f"Notice benchmark - Python {sys.version.split()[0]}, WeasyPrint "
        f"{weasyprint.__version__}, {os.cpu_count()} CPUs, median of {runs} runs"
    )
    with tempfile.TemporaryDirectory() as folder:
        instance = Path(folder)
        pki.ensure_pki(instance / "pki", "示范银行")
        app = make_app(instance)
        signer = pki.signer_for(str(instance / "pki"))
        cases = (
            ("20 findings, 10 photos", samples.outlet_notice(findings=20, photos=10), 10),
            ("20 findings, no photos", samples.outlet_notice(findings=20, photos=0), 0),
        )
        if only_bulk:
            cases = ()
        figures: dict[tuple[str, str], dict] = {}
        for label, context, photos in cases:
            print(f"\nOutlet notice, {label}:")
            print(
                f"  {'font':<22}{'render':>9}{'sign':>8}{'total':>9}{'CPU':>9}{'signing':>9}"
                f"{'peak RSS':>10}{'PDF':>9}"
            )
            rows = time_fonts(app, signer, context, runs)
            for font in FONTS:
                row = rows[font]
                row["peak_mb"] = peak_rss_mb(font, photos, instance)
                figures[(label, font)] = row
                print(
                    f"  {font:<22}{row['render_ms']:>6.0f} ms{row['sign_ms']:>5.0f} ms"
                    f"{row['total_ms']:>6.0f} ms{row['cpu_ms']:>6.0f} ms"
                    f"{row['signing_pct']:>8.1f}%{row['peak_mb']:>7.0f} MB{row['kb']:>6.0f} KB"
                )
        if cases:
            print(
                "\n  render, sign, total: median wall time; CPU: median CPU time of render + sign"
                " (less sensitive to other work on the machine);\n  signing: its share of the"
                " wall time; peak RSS: VmHWM growth over one render and sign in a fresh process,"
                " after a warm-up notice"
            )
        print(
            f"\nBulk: {bulk_count} notices of 6 findings and 3 photos"
            f" (load average {os.getloadavg()[0]:.1f} before)"
        )
        result = bulk(app, (str(instance / "pki"), None, None), bulk_count)
        print(f"  1 process:   {result['one_rate']:.2f} notices/s")
        print(f"  {result['workers']} processes: {result['all_rate']:.2f} notices/s")
        print(f"  speed-up {result['speedup']:.2f}x (target >= {TARGET_SPEEDUP})")

    if only_bulk:
        return
    chosen = figures[(cases[0][0], CHOSEN)]
    print(f"\nChosen font {CHOSEN}, 20 findings and 10 photos:")
    for what, value, target, ok in (
        (
            "render+sign",
            f"{chosen['total_ms']:.0f} ms",
            f"< {TARGET_MS} ms",
            chosen["total_ms"] < TARGET_MS,
        ),
        (
            "render+sign, CPU time",
            f"{chosen['cpu_ms']:.0f} ms",
            f"< {TARGET_MS} ms",
            chosen["cpu_ms"] < TARGET_MS,
        ),
        ("PDF size", f"{chosen['kb']:.0f} KB", f"< {TARGET_KB} KB", chosen["kb"] < TARGET_KB),
        (
            "signing share",
            f"{chosen['signing_pct']:.1f}%",
            f"< {TARGET_SIGNING}%",
            chosen["signing_pct"] < TARGET_SIGNING,
        ),
        (
            "bulk speed-up",
            f"{result['speedup']:.2f}x",
            f">= {TARGET_SPEEDUP}x",
            result["speedup"] >= TARGET_SPEEDUP,
        ),
    ):
        print(f"  {what}: {value} (target {target})  {'ok' if ok else 'MISSED'}")
    print(
        f"notice: render+sign {chosen['total_ms']:.0f} ms, {chosen['kb']:.0f} KB, "
        f"signing {chosen['signing_pct']:.1f}%, bulk speed-up {result['speedup']:.2f}x"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--peak-rss", nargs=3, metavar=("FONT", "PHOTOS", "INSTANCE"), help=argparse.SUPPRESS
    )
    parser.add_argument("--bulk", type=int, default=BULK, help="notices in the bulk run")
    parser.add_argument("--runs", type=int, default=RUNS, help="timed runs per font")
    parser.add_argument("--only-bulk", action="store_true", help="only the bulk figures")
    arguments = parser.parse_args()
    if arguments.peak_rss:
        font, photos, instance = arguments.peak_rss
        _child_peak_rss(font, int(photos), instance)
    else:
        main(arguments.runs, arguments.bulk, arguments.only_bulk)
