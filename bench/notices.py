"""Benchmark notice documents: render (HTML → PDF) and sign, per candidate font, and in bulk.

Run from the project root:  python bench/notices.py   (10-20 minutes on 2 cores)

For an outlet notice with 20 findings and 10 photos (print copies, 1000 px JPEGs made like
phone photos), and the same notice without photos, per candidate CJK font it prints:
- the median time, over RUNS runs, to render (template → HTML → WeasyPrint PDF) and to sign
  (pyHanko, certified PAdES, a revision of its own), and the share of signing in their sum;
- the peak memory of one render and sign, as the growth of peak RSS (VmHWM) in a fresh child
  process after a warm-up notice (RSS sees what WeasyPrint, Pango and Pillow allocate in C);
- the PDF's size.
Then bulk: BULK notices (a typical one: 6 findings, 3 photos; the templates rendered in this
process, PDF and signature in workers that each load the signer once) with one process and
with every core, in notices per second, and the ratio.
The baseline - the renderer, templates and signer as they were before the speed work,
frozen in bench/baseline/ - renders and signs the same notices with the chosen font in the
same runs (taking its turn with the fonts), so that the two are measured side by side under
the same load; with --bulk-baseline its bulk rate too.
The last line sums it up for the chosen font.  Options: --bulk N (0: no bulk run), --runs N,
--only-bulk, --bulk-baseline, --fonts chosen (only the chosen font and the baseline: a
quick run while working on the speed).
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

from bench.baseline import document as baseline_document  # noqa: E402
from bench.baseline import pdf as baseline_pdf  # noqa: E402
from bench.baseline import signing as baseline_signing  # noqa: E402
from shopper import create_app, pdf  # noqa: E402
from shopper.notices import document, pki, signing  # noqa: E402
from tests.notices import samples  # noqa: E402

FONTS = ("WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Serif CJK SC")
CHOSEN = "WenQuanYi Micro Hei"  # the font in templates/notices/notice.css
BASELINE = "baseline"  # bench/baseline/, with the chosen font
RUNS = 5
BULK = 200
TARGET_MS, TARGET_KB, TARGET_SIGNING, TARGET_SPEEDUP = 500, 1024, 10.0, 1.7


def make_app(instance: Path):
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench",
            # a file: the in-memory URL's pool takes no pool_timeout (shopper.db passes one)
            "DATABASE_URL": f"sqlite:///{instance / 'bench.sqlite3'}",
            "STORAGE_DIR": str(instance / "storage"),
            "PKI_DIR": str(instance / "pki"),
        }
    )


def font_css(font: str) -> list[str]:
    return [f'html {{ font-family: "{font}", sans-serif !important; }}']


def sign_kwargs(context: dict) -> dict:
    return {"signer_name": context["issuer"], "reason": context["number"], "location": "示范银行"}


def render(app, context: dict, font: str, baseline: bool = False):
    """The notice's PDF with `font`, by today's code or by the baseline's."""
    if baseline:
        with app.app_context():
            html = baseline_document.render_html(context, "zh")
        return baseline_pdf.render_pdf(html, stylesheets=font_css(font))
    with app.app_context():
        html = document.render_html(context, "zh")
    return pdf.render_pdf(html, stylesheets=font_css(font))


def sign(rendered, signer, context: dict, baseline: bool = False) -> bytes:
    sign_pdf = baseline_signing.sign_pdf if baseline else signing.sign_pdf
    return sign_pdf(rendered.data, signer, field_box=rendered.signature_box, **sign_kwargs(context))


def clear_thumbnails() -> None:
    """Each notice brings its own photos: no thumbnail is kept from the one before."""
    pdf.thumbnail_uri.cache_clear()
    baseline_pdf.thumbnail_uri.cache_clear()


def cases(fonts: tuple[str, ...] = FONTS) -> list[tuple[str, bool]]:
    """(font, baseline?) of every timed row: today's code per font, the baseline's."""
    return [(font, False) for font in fonts] + [(CHOSEN, True)]


def row_name(font: str, baseline: bool) -> str:
    return f"{BASELINE} ({font.split()[-2]} {font.split()[-1]})" if baseline else font


def time_fonts(
    app, signer, context: dict, runs: int, fonts: tuple[str, ...] = FONTS
) -> dict[tuple[str, bool], dict]:
    """Median wall and CPU times per font and for the baseline, the rows taking turns (in a
    rotating order) so that other work on the machine weighs on each alike."""
    rows_cases = cases(fonts)
    for font, baseline in rows_cases:  # warm-up: fonts, caches
        render(app, context, font, baseline)
    timings: dict[tuple[str, bool], dict[str, list[float]]] = {
        case: {"render": [], "sign": [], "cpu": [], "sign_cpu": []} for case in rows_cases
    }
    sizes: dict[tuple[str, bool], int] = {}
    for run in range(runs):
        turn = run % len(rows_cases)
        for case in rows_cases[turn:] + rows_cases[:turn]:
            font, baseline = case
            clear_thumbnails()
            gc.collect()
            wall, cpu = time.perf_counter(), time.process_time()
            rendered = render(app, context, font, baseline)
            wall_1, cpu_1 = time.perf_counter(), time.process_time()
            signed = sign(rendered, signer, context, baseline)
            wall_2, cpu_2 = time.perf_counter(), time.process_time()
            timings[case]["render"].append(wall_1 - wall)
            timings[case]["sign"].append(wall_2 - wall_1)
            timings[case]["cpu"].append(cpu_2 - cpu)
            timings[case]["sign_cpu"].append(cpu_2 - cpu_1)
            sizes[case] = len(signed)
    rows = {}
    for case, t in timings.items():
        render_ms = statistics.median(t["render"]) * 1000
        sign_ms = statistics.median(t["sign"]) * 1000
        cpu_ms = statistics.median(t["cpu"]) * 1000
        rows[case] = {
            "render_ms": render_ms,
            "sign_ms": sign_ms,
            "total_ms": render_ms + sign_ms,
            "cpu_ms": cpu_ms,
            "signing_pct": 100 * sign_ms / (render_ms + sign_ms),
            "signing_cpu_pct": 100 * statistics.median(t["sign_cpu"]) * 1000 / cpu_ms,
            "kb": sizes[case] / 1024,
        }
    return rows


def peak_rss_mb(font: str, photos: int, instance: Path, baseline: bool = False) -> float:
    result = subprocess.run(
        [sys.executable, __file__, "--peak-rss", font, str(photos), str(instance)]
        + (["--baseline-rss"] if baseline else []),
        check=True,
        capture_output=True,
        text=True,
    )
    return float(json.loads(result.stdout.strip().splitlines()[-1])["mb"])


def _child_peak_rss(font: str, photos: int, instance: str, baseline: bool = False) -> None:
    app = make_app(Path(instance))
    signer = pki.load_signer(Path(instance) / "pki")
    warm_up = samples.outlet_notice(findings=2, photos=1)
    context = samples.outlet_notice(findings=20, photos=photos)
    sign(render(app, warm_up, font, baseline), signer, warm_up, baseline)
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    before = _status_kib("VmRSS")
    sign(render(app, context, font, baseline), signer, context, baseline)
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


def _html(app, context: dict, baseline: bool = False) -> str:
    clear_thumbnails()
    with app.app_context():
        return (baseline_document if baseline else document).render_html(context, "zh")


def _baseline_pdf_and_sign(html: str, signer_args: tuple, kwargs: dict) -> bytes:
    """The baseline's signing.pdf_and_sign_from_html (a worker loads the signer once)."""
    return baseline_signing.pdf_and_sign_from_html(html, signer_args, kwargs)


def bulk(app, signer_args: tuple, count: int, rounds: int = 4, baseline: bool = False) -> dict:
    """Notices per second: templates here, PDF and signature in this process or in a pool
    of one worker per core, each submitted as soon as its HTML is ready. The two take turns
    in `rounds` rounds, so that other work on the machine weighs on both alike."""
    contexts = bulk_contexts(count)
    workers = os.cpu_count() or 1
    work = _baseline_pdf_and_sign if baseline else signing.pdf_and_sign_from_html
    one_s = all_s = 0.0
    with concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("fork")
    ) as pool:
        warm_up = _html(app, contexts[0], baseline)  # each worker: the signer, fonts once
        list(
            pool.map(
                work,
                [warm_up] * workers,
                [signer_args] * workers,
                [sign_kwargs(contexts[0])] * workers,
            )
        )
        work(warm_up, signer_args, sign_kwargs(contexts[0]))
        for round_ in range(rounds):
            part = contexts[round_::rounds]
            start = time.perf_counter()
            for context in part:
                work(_html(app, context, baseline), signer_args, sign_kwargs(context))
            one_s += time.perf_counter() - start
            start = time.perf_counter()
            futures = [
                pool.submit(work, _html(app, context, baseline), signer_args, sign_kwargs(context))
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


def print_row(name: str, row: dict) -> None:
    print(
        f"  {name:<22}{row['render_ms']:>6.0f} ms{row['sign_ms']:>5.0f} ms"
        f"{row['total_ms']:>6.0f} ms{row['cpu_ms']:>6.0f} ms"
        f"{row['signing_pct']:>8.1f}%{row['peak_mb']:>7.0f} MB{row['kb']:>6.0f} KB"
    )


def main(
    runs: int,
    bulk_count: int,
    only_bulk: bool = False,
    bulk_baseline: bool = False,
    fonts: tuple[str, ...] = FONTS,
):
    print(
        f"Notice benchmark - Python {sys.version.split()[0]}, WeasyPrint "
        f"{weasyprint.__version__}, {os.cpu_count()} CPUs, median of {runs} runs"
        f" (load average {os.getloadavg()[0]:.1f} before)"
    )
    with tempfile.TemporaryDirectory() as folder:
        instance = Path(folder)
        pki.ensure_pki(instance / "pki", "示范银行")
        app = make_app(instance)
        signer = pki.signer_for(str(instance / "pki"))
        notices = (
            ("20 findings, 10 photos", samples.outlet_notice(findings=20, photos=10), 10),
            ("20 findings, no photos", samples.outlet_notice(findings=20, photos=0), 0),
        )
        if only_bulk:
            notices = ()
        figures: dict[tuple[str, str, bool], dict] = {}
        for label, context, photos in notices:
            print(f"\nOutlet notice, {label}:")
            print(
                f"  {'font':<22}{'render':>9}{'sign':>8}{'total':>9}{'CPU':>9}{'signing':>9}"
                f"{'peak RSS':>10}{'PDF':>9}"
            )
            rows = time_fonts(app, signer, context, runs, fonts)
            for font, baseline in cases(fonts):
                row = rows[(font, baseline)]
                row["peak_mb"] = peak_rss_mb(font, photos, instance, baseline)
                figures[(label, font, baseline)] = row
                print_row(row_name(font, baseline), row)
            today, before = rows[(CHOSEN, False)], rows[(CHOSEN, True)]
            print(
                f"  {CHOSEN} today vs {BASELINE}: wall"
                f" x{today['total_ms'] / before['total_ms']:.2f},"
                f" CPU x{today['cpu_ms'] / before['cpu_ms']:.2f}"
            )
        if notices:
            print(
                "\n  render, sign, total: median wall time; CPU: median CPU time of render + sign"
                " (less sensitive to other work on the machine);\n  signing: its share of the"
                " wall time; peak RSS: VmHWM growth over one render and sign in a fresh process,"
                f" after a warm-up notice;\n  {BASELINE}: bench/baseline/, the code before the"
                " speed work, in the same runs"
            )
        signer_args = (str(instance / "pki"), None, None)
        results = {False: {"speedup": float("nan")}}
        for baseline in ((False, True) if bulk_baseline else (False,)) if bulk_count else ():
            print(
                f"\nBulk{' (' + BASELINE + ')' if baseline else ''}: {bulk_count} notices of 6"
                f" findings and 3 photos (load average {os.getloadavg()[0]:.1f} before)"
            )
            result = results[baseline] = bulk(app, signer_args, bulk_count, baseline=baseline)
            print(f"  1 process:   {result['one_rate']:.2f} notices/s")
            print(f"  {result['workers']} processes: {result['all_rate']:.2f} notices/s")
            print(f"  speed-up {result['speedup']:.2f}x (target >= {TARGET_SPEEDUP})")
        result = results[False]

    if only_bulk:
        return
    chosen = figures[(notices[0][0], CHOSEN, False)]
    before = figures[(notices[0][0], CHOSEN, True)]
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
        f"{BASELINE}: render+sign {before['total_ms']:.0f} ms (CPU {before['cpu_ms']:.0f} ms),"
        f" {before['kb']:.0f} KB, signing {before['signing_pct']:.1f}%"
    )
    print(
        f"notice: render+sign {chosen['total_ms']:.0f} ms, {chosen['kb']:.0f} KB, "
        f"signing {chosen['signing_pct']:.1f}%, bulk speed-up {result['speedup']:.2f}x"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--peak-rss", nargs=3, metavar=("FONT", "PHOTOS", "INSTANCE"), help=argparse.SUPPRESS
    )
    parser.add_argument("--baseline-rss", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bulk", type=int, default=BULK, help="notices in the bulk run")
    parser.add_argument("--runs", type=int, default=RUNS, help="timed runs per font")
    parser.add_argument("--only-bulk", action="store_true", help="only the bulk figures")
    parser.add_argument("--bulk-baseline", action="store_true", help="the baseline's bulk rate too")
    parser.add_argument(
        "--fonts", choices=("all", "chosen"), default="all", help="every candidate or the chosen"
    )
    arguments = parser.parse_args()
    if arguments.peak_rss:
        font, photos, instance = arguments.peak_rss
        _child_peak_rss(font, int(photos), instance, arguments.baseline_rss)
    else:
        main(
            arguments.runs,
            arguments.bulk,
            arguments.only_bulk,
            arguments.bulk_baseline,
            FONTS if arguments.fonts == "all" else (CHOSEN,),
        )
