"""`make bench`: nnscratch against raw NumPy and PyTorch CPU, and the book's own timings.

Runs the workers in fresh processes, one section at a time (see `SECTIONS`): PyTorch parity
(float64, same weights and masks), training epochs, dropout forward, the book, the built
site's pages on a throttled network (bench_site.py). Prints a table
per section and a PASS or MISS line per target, writes `_build/bench.json`, regenerates the
results section of `benchmarks/README.md` and `benchmarks/ratios.png`, and exits with status 1
if any target was missed.

    python benchmarks/run.py [--repeats 7] [--threads 1] [--skip book] [--no-readme]

Timing: each epoch and dropout measurement is repeated (`--repeats`) and reported as min
and median. With one thread per process (the default) the statistic is the process CPU
time, which a busy machine disturbs far less than wall-clock time; with more threads it is
wall-clock time (CPU time would add the threads up). Both are stored in the JSON.

A new section is one more `Section(...)` in `SECTIONS`: a function that runs its worker and
returns its results (stored in the JSON under the section's key), one that turns them into
verdicts, and one that turns them into a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
README = HERE / "README.md"
PLOT = HERE / "ratios.png"
OUTPUT = ROOT / "_build" / "bench.json"
# The book section's clean build is kept here, so that the site section measures the site
# just built from these sources (a fresh clone has no `_build/html`).
BENCH_BOOK = ROOT / "_build" / "bench-book"
BATCHES = (2, 64, 256)
EPOCH_PROCESSES = 3  # the epoch worker runs this many times; see `run_epoch`
STACK_K = 5  # networks in the "stacked vs one by one" comparison
SHAPE = "256x1024"  # the shape the dropout target is stated for
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
BUILDS = [("clean_build", "clean build"), ("cached_rebuild", "cached rebuild (`--all`)")]

# The targets (docs: /work/shared/DESIGN.md, "Performance budgets"); each is a PASS/MISS line.
PARITY_MAX = 1e-9  # nnscratch vs PyTorch, float64, worst relative difference, at most
CHECK_MAX = 1e-5  # float32 step losses of the timed implementations, same masks, at most
EPOCH_RATIO_LIMITS = {2: 1.4, 64: 1.15, 256: 1.1}  # nnscratch / raw NumPy floor, at most
DROPOUT_NS_MAX = 3.0  # nnscratch dropout forward, ns per element at SHAPE, at most
CHAPTER_SECONDS_MAX = 120.0  # each chapter's execution, from a cold cache, at most
BOOK_SECONDS_MAX = 360.0  # all chapters' executions together, at most


def worker(script: str, args: list[str], threads: int, env: dict | None = None) -> dict:
    """Run `benchmarks/<script>` in a fresh interpreter and parse the JSON it prints."""
    env = dict(os.environ if env is None else env)
    if threads:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[name] = str(threads)
    cmd = [sys.executable, str(HERE / script), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        sys.exit(f"{script} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def side_by_side(script: str, numpy_side: list[str], args: argparse.Namespace) -> dict:
    """Run a worker for the NumPy-side contenders and PyTorch; merge their JSON.

    The NumPy-side contenders share one process and take turns, so changing load from
    elsewhere affects them alike. PyTorch runs in a process of its own: loaded next to them,
    it changes their times (its thread pool and allocator; at batch 2 the ratio of nnscratch
    to the floor moved by about 0.03 with PyTorch imported), and a reader of nnscratch does
    not have it loaded.
    """
    repeats = ["--repeats", str(args.repeats)]
    threads = ["--threads", str(args.threads)] if args.threads else []
    merged: dict = {}
    for impls in (numpy_side, ["torch"]):
        result = worker(script, ["--impl", *impls, *repeats, *threads], args.threads)
        for key, value in result.items():
            merged.setdefault(key, {}).update(value)
    return merged


def ratio_of(a: dict, b: dict, metric: str) -> float:
    """Time of `a` over time of `b`: the median of the per-repeat ratios.

    The contenders take turns, so repeat i of `a` and repeat i of `b` ran under about the
    same load; the median of their ratios is steadier than a ratio of two minima, which a
    single lucky repeat of either side can move.
    """
    pairs = zip(a["raw"][metric], b["raw"][metric], strict=True)
    return statistics.median(x / y for x, y in pairs)


def summary(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values)}


def verdict(name: str, value: float, limit: str, ok: bool) -> dict:
    """One target: what was measured, its value, the limit it must meet, whether it did."""
    return {"name": name, "value": value, "limit": limit, "ok": bool(ok)}


def metric_of(args: argparse.Namespace) -> str:
    return "cpu" if args.threads == 1 else "wall"


# --- PyTorch parity ---------------------------------------------------------------------------


def run_parity(args: argparse.Namespace) -> dict:
    return worker("bench_parity.py", [], 1)


def parity_verdicts(p: dict, r: dict) -> list[dict]:
    out = []
    for key, label in p["quantities"].items():
        worst = max(p["worst"][key].values())
        out.append(
            verdict(
                f"same as PyTorch (float64, worst relative difference): {label}",
                worst,
                f"<= {PARITY_MAX:.0e}",
                worst <= PARITY_MAX,
            )
        )
    return out


def parity_table(p: dict, r: dict) -> str:
    losses = list(next(iter(p["worst"].values())))
    rates = ", ".join(f"{rate:g}" for rate in p["rates"])
    lines = [
        f"**PyTorch parity** (PyTorch {p['torch']}, float64): Linear(784, 256)-ReLU-Dropout-"
        f"Linear(256, 10) from the same weights, batch {p['batch']}, p = {rates}; PyTorch's "
        f"own dropout masks fed to nnscratch; then {p['steps']} SGD steps with momentum 0.9. "
        "Worst relative difference, max |nnscratch - PyTorch| / max |PyTorch|, over the "
        f"rates and steps (target: at most {PARITY_MAX:.0e}).",
        "",
        "| quantity | " + " | ".join(losses) + " |",
        "|---|" + "---:|" * len(losses),
    ]
    for key, label in p["quantities"].items():
        cells = " | ".join(f"{p['worst'][key][loss]:.1e}" for loss in losses)
        lines.append(f"| {label} | {cells} |")
    return "\n".join(lines)


# --- training epochs --------------------------------------------------------------------------

EPOCH_COLUMNS = [
    ("nnscratch", "nnscratch"),
    ("numpy", "raw NumPy (the floor)"),
    ("numpy_grads", "raw NumPy, gradients stored"),
    ("torch", "PyTorch"),
]


def run_epoch(args: argparse.Namespace) -> dict:
    """Epoch times from `EPOCH_PROCESSES` fresh processes, their repeats pooled.

    One process's times carry its own luck of memory placement: on this machine the same
    nnscratch epoch at batch 2 runs in 220 ms in one process and 232 ms in the next, while
    the floor stays within a few ms. Pooling the repeats of several processes (and taking the
    median of the per-repeat ratios) measures the typical process, not one draw.
    """
    metric = metric_of(args)
    numpy_side = [impl for impl, _ in EPOCH_COLUMNS if impl != "torch"]
    epoch = side_by_side("bench_epoch.py", numpy_side, args)
    for _ in range(EPOCH_PROCESSES - 1):
        more = side_by_side("bench_epoch.py", numpy_side, args)
        for impl, per_batch in more["times"].items():
            for b, times in per_batch.items():
                for key, values in times.items():
                    epoch["times"][impl][b][key] += values
    stack = worker(
        "bench_epoch.py",
        ["--stack", str(STACK_K), "--repeats", str(args.repeats)],
        args.threads,
    )
    return {
        "versions": epoch["info"],
        "check": epoch["check"],
        "stack": {
            "k": stack["k"],
            "seconds": {
                name: {b: summary(t[metric]) for b, t in per_batch.items()}
                for name, per_batch in stack["times"].items()
            },
        },
        "seconds": {
            impl: {b: {**summary(t[metric]), "raw": t} for b, t in per_batch.items()}
            for impl, per_batch in epoch["times"].items()
        },
    }


def check_verdict(check: dict) -> tuple[bool, float]:
    """Largest relative difference of any implementation's step losses from raw NumPy's."""
    reference = check["numpy"]
    worst = 0.0
    for losses in check.values():
        for p, values in losses.items():
            for a, b in zip(values, reference[p], strict=True):
                worst = max(worst, abs(a - b) / abs(b))
    return worst <= CHECK_MAX, worst


def epoch_verdicts(e: dict, r: dict) -> list[dict]:
    ok, worst = check_verdict(e["check"])
    out = [
        verdict(
            "timed implementations: same float32 losses from the same weights and masks "
            "(max relative difference)",
            worst,
            f"<= {CHECK_MAX:.0e}",
            ok,
        )
    ]
    for b, limit in EPOCH_RATIO_LIMITS.items():
        ratio = ratio_of(
            e["seconds"]["nnscratch"][str(b)], e["seconds"]["numpy"][str(b)], r["metric"]
        )
        out.append(
            verdict(
                f"nnscratch epoch / raw NumPy floor epoch, batch {b}",
                ratio,
                f"<= {limit}",
                ratio <= limit,
            )
        )
    return out


def _ms(x: dict) -> str:
    return f"{x['min'] * 1e3:.1f} / {x['median'] * 1e3:.1f}"


def epoch_table(e: dict, r: dict) -> str:
    metric = "CPU time" if r["metric"] == "cpu" else "wall-clock time"
    lines = [
        "**Training epoch**: 784-256-10 MLP, inverted dropout p = 0.5, cross-entropy, SGD "
        f"(lr 0.1), 4,000 digits, float32; milliseconds of {metric} per epoch, min / median "
        f"of {r['repeats']} repeats in each of {EPOCH_PROCESSES} fresh processes. Ratios are "
        "medians of the per-repeat ratios.",
        "",
        "| batch | "
        + " | ".join(label for _, label in EPOCH_COLUMNS)
        + " | nnscratch / floor | stored gradients / floor | PyTorch / nnscratch |",
        "|---:|" + "---:|" * (len(EPOCH_COLUMNS) + 3),
    ]
    seconds = e["seconds"]
    for b in map(str, BATCHES):
        if b not in seconds["nnscratch"]:
            continue
        cells = [_ms(seconds[impl][b]) for impl, _ in EPOCH_COLUMNS]
        ratios = [
            ratio_of(seconds["nnscratch"][b], seconds["numpy"][b], r["metric"]),
            ratio_of(seconds["numpy_grads"][b], seconds["numpy"][b], r["metric"]),
            ratio_of(seconds["torch"][b], seconds["nnscratch"][b], r["metric"]),
        ]
        lines.append(
            f"| {b} | " + " | ".join(cells) + " | " + " | ".join(f"{x:.2f}x" for x in ratios) + " |"
        )
    if "stack" in e:
        k, stack = e["stack"]["k"], e["stack"]["seconds"]
        lines += [
            "",
            f"**{k} networks stacked vs {k} one by one**: the same network {k} times, each "
            "with its own masks and batch order; one epoch of all of them, as one stack of "
            f"{k} members (`stack_modules`, one `fit`) or as {k} calls of `fit`. Milliseconds "
            f"of {metric}, min / median of {r['repeats']} repeats, one process.",
            "",
            "| batch | one by one | stacked | stacked / one by one |",
            "|---:|---:|---:|---:|",
        ]
        for b in map(str, BATCHES):
            if b in stack["stacked"]:
                one, both = stack["one_by_one"][b], stack["stacked"][b]
                lines.append(
                    f"| {b} | {_ms(one)} | {_ms(both)} | {both['median'] / one['median']:.2f}x |"
                )
    return "\n".join(lines)


# --- dropout forward --------------------------------------------------------------------------


def run_dropout(args: argparse.Namespace) -> dict:
    metric = metric_of(args)
    drop = side_by_side("bench_dropout.py", ["nnscratch", "naive", "copy"], args)
    return {
        impl: {s: {**summary(t[metric]), "raw": t} for s, t in per_shape.items()}
        for impl, per_shape in drop["ns_per_element"].items()
    }


def dropout_verdicts(d: dict, r: dict) -> list[dict]:
    ns = d["nnscratch"][SHAPE]["min"]
    return [
        verdict(
            f"nnscratch dropout forward, ns per element, {SHAPE} float32 (min of repeats)",
            ns,
            f"<= {DROPOUT_NS_MAX}",
            ns <= DROPOUT_NS_MAX,
        )
    ]


def dropout_table(d: dict, r: dict) -> str:
    lines = [
        "**Dropout forward**, p = 0.5, float32, a fresh output array; nanoseconds per "
        f"element, min / median of {r['repeats']}.",
        "",
        "| shape | nnscratch | naive `rng.random(shape) < keep` | PyTorch | array copy "
        "| nnscratch / copy |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for shape in d["nnscratch"]:
        cells = [
            f"{d[i][shape]['min']:.2f} / {d[i][shape]['median']:.2f}"
            for i in ("nnscratch", "naive", "torch", "copy")
        ]
        ratio = ratio_of(d["nnscratch"][shape], d["copy"][shape], r["metric"])
        lines.append(f"| {shape} | " + " | ".join(cells) + f" | {ratio:.1f}x |")
    return "\n".join(lines)


# --- the book ---------------------------------------------------------------------------------


def run_book(args: argparse.Namespace) -> dict:
    if args.book_from_cache:
        return worker("bench_book.py", ["--from-cache", str(args.book_from_cache)], 0)
    shutil.rmtree(BENCH_BOOK, ignore_errors=True)  # a clean build, every time
    return worker("bench_book.py", ["--keep", str(BENCH_BOOK)], 0)


def book_total(book: dict) -> float:
    """All chapters' execution seconds together (NaN if a chapter has no time)."""
    times = [e["seconds"] for e in book["execution"].values()]
    return math.nan if None in times else sum(times)


def book_verdicts(book: dict, r: dict) -> list[dict]:
    out = []
    for name, e in book["execution"].items():
        seconds = e["seconds"]
        why = f", no time: {e['error']}" if seconds is None else ""
        out.append(
            verdict(
                f"{name} executes (seconds, from a cold cache{why})",
                math.nan if seconds is None else seconds,
                f"<= {CHAPTER_SECONDS_MAX:.0f}",
                seconds is not None and seconds <= CHAPTER_SECONDS_MAX,
            )
        )
    total = book_total(book)
    out.append(
        verdict(
            f"all {len(book['execution'])} chapters execute (seconds, sum)",
            total,
            f"<= {BOOK_SECONDS_MAX:.0f}",
            total <= BOOK_SECONDS_MAX,  # False for NaN: a chapter without a time
        )
    )
    return out


def book_notes(book: dict) -> list[str]:
    """A failed build, and chapters that ran with failing cells: not timing misses."""
    notes = []
    build = book.get("clean_build")
    if build and build["returncode"] != 0:
        why = "; ".join(build["problems"][:2]) or "see its log"
        notes.append(
            f"NOTE  the clean build failed (exit {build['returncode']}): {why}; chapters the "
            "build did not time were executed one by one with nbclient"
        )
    for name, e in book["execution"].items():
        failed = e.get("cells_failed") or []
        if failed:
            shown = "; ".join(failed[:2]) + ("; ..." if len(failed) > 2 else "")
            notes.append(f"NOTE  {name}: {len(failed)} failing cell(s), timed anyway: {shown}")
    return notes


def book_table(book: dict, r: dict) -> str:
    lines = [f"**The book** ({book['method']}; one run; wall-clock seconds).", ""]
    pages = book.get("pages", {})
    lines += [
        "| chapter | executes in (s) | timed by | failing cells | page weight (KB) "
        "| of which widget state (KB) | widgets |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for name, e in book["execution"].items():
        secs = f"{e['seconds']:.1f}" if e["seconds"] is not None else "no time"
        page = pages.get(name)
        if page:
            cells = f"{page['total_bytes'] / 1e3:.0f} | "
            cells += f"{page['widget_state_bytes'] / 1e3:.0f} | {page['widgets']}"
        else:
            cells = "- | - | -"
        failed = len(e.get("cells_failed") or [])
        by = {"build": "the build's cache", "cache": "cache", "nbclient": "nbclient"}[e["by"]]
        lines.append(f"| {Path(name).stem} | {secs} | {by} | {failed} | {cells} |")
    total = book_total(book)
    lines.append(f"| **all chapters** | {total:.1f} | | | | | |")
    builds = [(k, label) for k, label in BUILDS if k in book]
    if builds:
        lines += ["", "| whole book | seconds | notebooks executed | Sphinx warnings | exit |"]
        lines += ["|---|---:|---:|---:|---:|"]
    for key, label in builds:
        b = book[key]
        executed = b.get("notebooks_executed", "?")
        lines.append(
            f"| {label} | {b['seconds']:.1f} | {executed} | {b['warnings']} | {b['returncode']} |"
        )
    return "\n".join(lines)


def run_site(args: argparse.Namespace) -> dict:
    """The site's pages on a throttled network (bench_site.py).

    Measures the site the book section just built (`BENCH_BOOK`), else `make book`'s.
    """
    for site in (BENCH_BOOK / "_build" / "html", ROOT / "_build" / "html"):
        if (site / "index.html").is_file():
            return {**worker("bench_site.py", ["--site", str(site)], 0), "site": str(site)}
    return {"missing": "no built site (run the book section, or make book first)"}


def site_verdicts(site: dict, r: dict) -> list[dict]:
    if "missing" in site:
        return [verdict(f"site timings ({site['missing']})", math.nan, "-", False)]
    return site["verdicts"]  # per page: first paint <= 2 s, sliders usable <= 7 s


def site_table(site: dict, r: dict) -> str:
    if "missing" in site:
        return f"**The site**: {site['missing']}."
    lines = [
        f"**The site** (`{Path(site['site']).relative_to(ROOT)}`) over Chromium's emulated "
        "10 Mbit/s, 40 ms network, empty cache, 1280 px; "
        f"median of {site['repeats']} loads, wall-clock seconds (load average "
        f"{site['load_average_before']:.1f} before).",
        "",
        "| page | first contentful paint (s) | every slider usable (s) | weight (MB) |",
        "|---|---:|---:|---:|",
    ]
    for page, m in site["pages"].items():
        usable = "-" if m["sliders_usable_s"] is None else f"{m['sliders_usable_s']:.2f}"
        lines.append(f"| {page} | {m['first_paint_s']:.2f} | {usable} | {m['bytes'] / 1e6:.2f} |")
    return "\n".join(lines)


# --- the sections -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """One part of `make bench`: a worker run, its verdicts and its table.

    `run(args)` returns what is stored under `results[key]`; `verdicts(section, results)`
    and `table(section, results)` read it (and, if they need to, the run's `results`).
    """

    key: str
    title: str
    run: Callable[[argparse.Namespace], dict]
    verdicts: Callable[[dict, dict], list[dict]]
    table: Callable[[dict, dict], str]
    notes: Callable[[dict], list[str]] = lambda section: []


SECTIONS = [
    Section("parity", "PyTorch parity", run_parity, parity_verdicts, parity_table),
    Section("epoch", "training epochs", run_epoch, epoch_verdicts, epoch_table),
    Section("dropout", "dropout forward", run_dropout, dropout_verdicts, dropout_table),
    Section(
        "book",
        "the book (clean build, cached rebuild)",
        run_book,
        book_verdicts,
        book_table,
        book_notes,
    ),
    Section(
        "site",
        "the site on a 10 Mbit/s, 40 ms network (the site the book section built)",
        run_site,
        site_verdicts,
        site_table,
    ),
]


def measure(args: argparse.Namespace) -> dict:
    results: dict = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {
            "cpu": _cpu_model(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_before": os.getloadavg()[0],
        },
        "threads": args.threads or "library default",
        "metric": metric_of(args),
        "repeats": args.repeats,
        "sections": [],
    }
    for section in SECTIONS:
        if section.key in args.skip:
            continue
        print(f"{section.title} ...", flush=True)
        started = time.perf_counter()
        results[section.key] = section.run(args)
        results["sections"].append(section.key)
        print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)
    results["machine"]["load_average_after"] = os.getloadavg()[0]
    results["verdicts"] = [
        v
        for section in SECTIONS
        if section.key in results["sections"]
        for v in section.verdicts(results[section.key], results)
    ]
    return results


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def tables(r: dict) -> str:
    """Every section's table as Markdown (also readable as plain text)."""
    return "\n\n".join(
        section.table(r[section.key], r) for section in SECTIONS if section.key in r["sections"]
    )


def verdict_lines(r: dict) -> list[str]:
    lines = []
    for v in r["verdicts"]:
        value = v["value"]
        if abs(value) < 0.01 and value:
            shown = f"{value:.2e}"
        else:
            shown = f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
        lines.append(f"{'PASS' if v['ok'] else 'MISS'}  {v['name']}: {shown} ({v['limit']})")
    for section in SECTIONS:
        if section.key in r["sections"]:
            lines += section.notes(r[section.key])
    return lines


# --- README and plot --------------------------------------------------------------------------


def plot(r: dict, path: Path) -> None:
    """Two panels: epoch time relative to the floor, dropout time relative to a copy."""
    from nnscratch.plots import PALETTE, new_figure, to_png

    fig = new_figure(8.0, 3.6)
    ax1, ax2 = fig.subplots(1, 2)
    width = 0.27

    seconds = r["epoch"]["seconds"]
    batches = [b for b in map(str, BATCHES) if b in seconds["nnscratch"]]
    shown = [EPOCH_COLUMNS[0], EPOCH_COLUMNS[2], EPOCH_COLUMNS[3]]
    for k, (impl, label) in enumerate(shown):
        ratios = [ratio_of(seconds[impl][b], seconds["numpy"][b], r["metric"]) for b in batches]
        xs = [i + (k - 1) * width for i in range(len(batches))]
        ax1.bar(xs, ratios, width, label=label, color=PALETTE[k])
    for i, b in enumerate(batches):
        limit = EPOCH_RATIO_LIMITS.get(int(b))
        if limit:
            label = "nnscratch target" if i == 0 else None
            ax1.hlines(limit, i - 1.5 * width, i - 0.5 * width, color="black", lw=2, label=label)
    ax1.axhline(1.0, color="gray", lw=0.8)
    ax1.set_xticks(range(len(batches)), [f"batch {b}" for b in batches])
    ax1.set_ylabel("epoch time / raw NumPy floor")
    ax1.set_title("Training epoch, 784-256-10")
    ax1.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)

    drop = r["dropout"]
    shapes = list(drop["nnscratch"])
    labels = {"nnscratch": "nnscratch", "naive": "naive NumPy", "torch": "PyTorch"}
    for k, (impl, label) in enumerate(labels.items()):
        ratios = [ratio_of(drop[impl][s], drop["copy"][s], r["metric"]) for s in shapes]
        xs = [i + (k - 1) * width for i in range(len(shapes))]
        ax2.bar(xs, ratios, width, label=label, color=PALETTE[k])
    ax2.axhline(1.0, color="gray", lw=0.8)
    ax2.set_yscale("log")
    ax2.set_xticks(range(len(shapes)), shapes)
    ax2.set_ylabel("time / array copy (log scale)")
    ax2.set_title("Dropout forward, p = 0.5, float32")
    ax2.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3)
    path.write_bytes(to_png(fig, dpi=90))


def update_readme(r: dict, path: Path) -> None:
    """Replace the text between the bench markers of README.md with the latest results."""
    text = path.read_text()
    if BEGIN not in text or END not in text:
        print(f"{path} has no {BEGIN} ... {END} section; left unchanged")
        return
    m = r["machine"]
    versions = r.get("epoch", {}).get("versions", {})
    section = [
        BEGIN,
        f"Measured {r['when']} on {m['cpu']} ({m['cores']} cores; load average "
        f"{m['load_average_before']:.1f} before, {m['load_average_after']:.1f} after), "
        f"Python {m['python']}, NumPy {versions.get('numpy', '-')}, PyTorch "
        f"{versions.get('torch', '-')}, threads per process: {r['threads']}.",
        "",
        tables(r),
        "",
        "```text",
        *verdict_lines(r),
        "```",
    ]
    if PLOT.exists():
        section += [
            "",
            "![Left: epoch time of nnscratch, of raw NumPy with stored gradients and of "
            "PyTorch, divided by the raw NumPy floor's, at batch sizes 2, 64 and 256, with the "
            f"targets. Right: dropout forward time divided by an array copy's, log scale.]"
            f"({PLOT.name})",
        ]
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    path.write_text(head + "\n".join([*section, END]) + tail)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="at least 5")
    parser.add_argument(
        "--threads", type=int, default=1, help="BLAS/PyTorch threads per process (0: default)"
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=[s.key for s in SECTIONS],
        help="leave a section out (repeatable)",
    )
    parser.add_argument("--skip-book", action="store_true", help="same as --skip book")
    parser.add_argument(
        "--book-from-cache",
        type=Path,
        metavar="DIR",
        help="no book build: chapter times that the last build into DIR (e.g. _build) cached",
    )
    parser.add_argument("--no-readme", action="store_true", help="leave README and plot alone")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    if args.repeats < 5:
        parser.error("--repeats must be at least 5")
    if args.skip_book:
        args.skip.append("book")

    started = time.perf_counter()
    results = measure(args)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=1))
    print()
    print(tables(results))
    print()
    print("\n".join(verdict_lines(results)))
    print(f"\nwrote {args.output}")
    # The README shows a complete run only: partial runs would overwrite the other results.
    if not args.no_readme and not args.skip and not args.book_from_cache:
        plot(results, PLOT)
        update_readme(results, README)
        print(f"updated {README.relative_to(ROOT)} and {PLOT.relative_to(ROOT)}")
    missed = [v for v in results["verdicts"] if not v["ok"]]
    print(f"make bench took {time.perf_counter() - started:.0f} s")
    if missed:
        sys.exit(f"{len(missed)} target(s) missed (MISS lines above)")


if __name__ == "__main__":
    main()
