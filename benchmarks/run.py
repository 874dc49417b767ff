"""`make bench`: nnscratch against raw NumPy and PyTorch CPU, and the book's own timings.

Runs the workers (training epochs, dropout forward, the book) in fresh processes, prints
three tables and the PASS/MISS lines for the performance targets, writes
`_build/bench.json`, and regenerates the results section of `benchmarks/README.md` and
`benchmarks/ratios.png`.

    python benchmarks/run.py [--repeats 7] [--threads 1] [--skip-book] [--no-readme]

Timing: each epoch and dropout measurement is repeated (`--repeats`) and reported as min
and median. With one thread per process (the default) the statistic is the process CPU
time, which a busy machine disturbs far less than wall-clock time; with more threads it is
wall-clock time (CPU time would add the threads up). Both are stored in the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
README = HERE / "README.md"
PLOT = HERE / "ratios.png"
OUTPUT = ROOT / "_build" / "bench.json"
BATCHES = (2, 64, 256)
SHAPE = "256x1024"  # the shape the dropout target is stated for
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
BUILDS = [("clean_build", "clean build"), ("cached_rebuild", "cached rebuild (`--all`)")]

# (what, limit) pairs; every one is printed as a PASS or MISS line.
EPOCH_RATIO_LIMITS = {2: 1.4, 64: 1.15, 256: 1.15}  # nnscratch / raw NumPy, at most
TORCH_SPEEDUP_MIN = {64: 1.5}  # PyTorch / nnscratch, at least
DROPOUT_NS_MAX = 4.0  # nnscratch dropout forward, ns per element at SHAPE, at most
CHAPTER_SECONDS_MAX = 60.0
BOOK_SECONDS_MAX = 240.0


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

    With one thread per library (the default) all contenders share one process and take
    turns, so changing load from elsewhere affects them alike. With more threads, PyTorch
    runs in a process of its own, so that its thread pool and OpenBLAS's do not compete.
    """
    repeats = ["--repeats", str(args.repeats)]
    if args.threads == 1:
        return worker(script, ["--impl", *numpy_side, "torch", *repeats, "--threads", "1"], 1)
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


def measure(args: argparse.Namespace) -> dict:
    metric = "cpu" if args.threads == 1 else "wall"
    results: dict = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {
            "cpu": _cpu_model(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_before": os.getloadavg()[0],
        },
        "threads": args.threads or "library default",
        "metric": metric,
        "repeats": args.repeats,
    }
    print("training epochs ...", flush=True)
    epoch = side_by_side("bench_epoch.py", ["nnscratch", "numpy", "numpy_inplace"], args)
    results["versions"] = epoch["info"]
    results["check"] = epoch["check"]
    results["epoch_seconds"] = {
        impl: {b: {**summary(t[metric]), "raw": t} for b, t in per_batch.items()}
        for impl, per_batch in epoch["times"].items()
    }
    print("dropout forward ...", flush=True)
    drop = side_by_side("bench_dropout.py", ["nnscratch", "naive", "copy"], args)
    results["dropout_ns_per_element"] = {
        impl: {s: {**summary(t[metric]), "raw": t} for s, t in per_shape.items()}
        for impl, per_shape in drop["ns_per_element"].items()
    }
    if not args.skip_book:
        print("the book (clean build, cached rebuild) ...", flush=True)
        results["book"] = worker("bench_book.py", [], 0)
    results["machine"]["load_average_after"] = os.getloadavg()[0]
    results["verdicts"] = verdicts(results)
    return results


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def check_verdict(check: dict) -> tuple[bool, float]:
    """Largest relative difference of any implementation's step losses from raw NumPy's."""
    reference = check["numpy"]
    worst = 0.0
    for losses in check.values():
        for p, values in losses.items():
            for a, b in zip(values, reference[p], strict=True):
                worst = max(worst, abs(a - b) / abs(b))
    return worst < 1e-4, worst


def verdict(name: str, value: float, limit: str, ok: bool) -> dict:
    """One target: what was measured, its value, the limit it must meet, whether it did."""
    return {"name": name, "value": value, "limit": limit, "ok": bool(ok)}


def verdicts(r: dict) -> list[dict]:
    """Every target as {name, value, limit, ok}."""
    out = []
    ok, worst = check_verdict(r["check"])
    out.append(
        verdict(
            "same losses from the same weights and masks (max relative difference)",
            worst,
            "< 1e-4",
            ok,
        )
    )
    epoch = r["epoch_seconds"]
    for b, limit in EPOCH_RATIO_LIMITS.items():
        ratio = ratio_of(epoch["nnscratch"][str(b)], epoch["numpy"][str(b)], r["metric"])
        out.append(
            verdict(
                f"nnscratch epoch / raw NumPy epoch, batch {b}",
                ratio,
                f"<= {limit}",
                ratio <= limit,
            )
        )
    for b, limit in TORCH_SPEEDUP_MIN.items():
        ratio = ratio_of(epoch["torch"][str(b)], epoch["nnscratch"][str(b)], r["metric"])
        out.append(
            verdict(
                f"PyTorch epoch / nnscratch epoch, batch {b}", ratio, f">= {limit}", ratio >= limit
            )
        )
    ns = r["dropout_ns_per_element"]["nnscratch"][SHAPE]["min"]
    out.append(
        verdict(
            f"nnscratch dropout forward, ns per element, {SHAPE} float32",
            ns,
            f"<= {DROPOUT_NS_MAX}",
            ns <= DROPOUT_NS_MAX,
        )
    )
    book = r.get("book")
    if book:
        for name, e in book["execution"].items():
            seconds = e["seconds"]
            failed = f", but fails: {e['error']}" if e["error"] else ""
            out.append(
                verdict(
                    f"{name} executes (seconds){failed}",
                    seconds if seconds is not None else float("nan"),
                    f"< {CHAPTER_SECONDS_MAX:.0f}",
                    e["error"] is None and seconds < CHAPTER_SECONDS_MAX,
                )
            )
        if "clean_build" in book:
            build = book["clean_build"]
            problems = f", with {build['warnings']} warnings/errors" if build["warnings"] else ""
            out.append(
                verdict(
                    f"clean build of the whole book (seconds){problems}",
                    build["seconds"],
                    f"< {BOOK_SECONDS_MAX:.0f}",
                    build["returncode"] == 0
                    and not build["warnings"]
                    and build["seconds"] < BOOK_SECONDS_MAX,
                )
            )
    return out


# --- tables -----------------------------------------------------------------------------------

EPOCH_COLUMNS = [
    ("nnscratch", "nnscratch"),
    ("numpy", "raw NumPy"),
    ("numpy_inplace", "raw NumPy, in-place SGD"),
    ("torch", "PyTorch"),
]


def _s(x: dict) -> str:
    return f"{x['min'] * 1e3:.1f} / {x['median'] * 1e3:.1f}"


def tables(r: dict) -> str:
    """The three result tables as Markdown (also readable as plain text)."""
    lines = []
    metric = "CPU time" if r["metric"] == "cpu" else "wall-clock time"
    lines += [
        "**Training epoch**: 784-256-10 MLP, inverted dropout p = 0.5, cross-entropy, SGD "
        f"(lr 0.1), 4,000 digits, float32; milliseconds of {metric} per epoch, min / median "
        f"of {r['repeats']}.",
        "",
        "| batch | "
        + " | ".join(label for _, label in EPOCH_COLUMNS)
        + " | nnscratch / NumPy | PyTorch / nnscratch |",
        "|---:|" + "---:|" * (len(EPOCH_COLUMNS) + 2),
    ]
    epoch = r["epoch_seconds"]
    for b in map(str, BATCHES):
        if b not in epoch["nnscratch"]:
            continue
        cells = [_s(epoch[impl][b]) for impl, _ in EPOCH_COLUMNS]
        ratio = ratio_of(epoch["nnscratch"][b], epoch["numpy"][b], r["metric"])
        speedup = ratio_of(epoch["torch"][b], epoch["nnscratch"][b], r["metric"])
        lines.append(f"| {b} | " + " | ".join(cells) + f" | {ratio:.2f}x | {speedup:.2f}x |")

    drop = r["dropout_ns_per_element"]
    lines += [
        "",
        "**Dropout forward**, p = 0.5, float32, a fresh output array; nanoseconds per "
        f"element, min / median of {r['repeats']}.",
        "",
        "| shape | nnscratch | naive `rng.random(shape) < keep` | PyTorch | array copy "
        "| nnscratch / copy |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for shape in drop["nnscratch"]:
        cells = [
            f"{drop[i][shape]['min']:.2f} / {drop[i][shape]['median']:.2f}"
            for i in ("nnscratch", "naive", "torch", "copy")
        ]
        ratio = ratio_of(drop["nnscratch"][shape], drop["copy"][shape], r["metric"])
        lines.append(f"| {shape} | " + " | ".join(cells) + f" | {ratio:.1f}x |")

    book = r.get("book")
    if book:
        lines += ["", f"**The book** ({book['method']}; one run each).", ""]
        pages = book.get("pages", {})
        lines += [
            "| chapter | executes in (s) | page weight (KB) | of which widget state (KB) "
            "| widgets |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, e in book["execution"].items():
            secs = f"{e['seconds']:.1f}" if e["seconds"] is not None else "failed"
            page = pages.get(name)
            if page:
                cells = f"{page['total_bytes'] / 1e3:.0f} | "
                cells += f"{page['widget_state_bytes'] / 1e3:.0f} | {page['widgets']}"
            else:
                cells = "- | - | -"
            lines.append(f"| {Path(name).stem} | {secs} | {cells} |")
        builds = [(k, label) for k, label in BUILDS if k in book]
        if builds:
            lines += ["", "| whole book | seconds | notebooks executed | Sphinx warnings | exit |"]
            lines += ["|---|---:|---:|---:|---:|"]
        for key, label in builds:
            b = book[key]
            executed = b.get("notebooks_executed", "?")
            lines.append(
                f"| {label} | {b['seconds']:.1f} | {executed} | {b['warnings']} "
                f"| {b['returncode']} |"
            )
    return "\n".join(lines)


def verdict_lines(r: dict) -> list[str]:
    lines = []
    for v in r["verdicts"]:
        value = v["value"]
        shown = f"{value:.2e}" if abs(value) < 0.01 and value else f"{value:.2f}"
        lines.append(f"{'PASS' if v['ok'] else 'MISS'}  {v['name']}: {shown} ({v['limit']})")
    return lines


# --- README and plot --------------------------------------------------------------------------


def plot(r: dict, path: Path) -> None:
    """Two panels: epoch time relative to raw NumPy, dropout time relative to a copy."""
    from nnscratch.plots import PALETTE, new_figure, to_png

    fig = new_figure(8.0, 3.6)
    ax1, ax2 = fig.subplots(1, 2)
    width = 0.27

    epoch = r["epoch_seconds"]
    batches = [b for b in map(str, BATCHES) if b in epoch["nnscratch"]]
    for k, (impl, label) in enumerate([EPOCH_COLUMNS[0], EPOCH_COLUMNS[2], EPOCH_COLUMNS[3]]):
        ratios = [ratio_of(epoch[impl][b], epoch["numpy"][b], r["metric"]) for b in batches]
        xs = [i + (k - 1) * width for i in range(len(batches))]
        ax1.bar(xs, ratios, width, label=label, color=PALETTE[k])
    for i, b in enumerate(batches):
        limit = EPOCH_RATIO_LIMITS.get(int(b))
        if limit:
            label = "nnscratch target" if i == 0 else None
            ax1.hlines(limit, i - 1.5 * width, i - 0.5 * width, color="black", lw=2, label=label)
    ax1.axhline(1.0, color="gray", lw=0.8)
    ax1.set_xticks(range(len(batches)), [f"batch {b}" for b in batches])
    ax1.set_ylabel("epoch time / raw NumPy")
    ax1.set_title("Training epoch, 784-256-10")
    ax1.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)

    drop = r["dropout_ns_per_element"]
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
    section = "\n".join(
        [
            BEGIN,
            f"Measured {r['when']} on {m['cpu']} ({m['cores']} cores; load average "
            f"{m['load_average_before']:.1f} before, {m['load_average_after']:.1f} after), "
            f"Python {m['python']}, NumPy {r['versions']['numpy']}, PyTorch "
            f"{r['versions'].get('torch', '-')}, threads per process: {r['threads']}.",
            "",
            tables(r),
            "",
            "```text",
            *verdict_lines(r),
            "```",
            "",
            f"![Left: epoch time of nnscratch, of raw NumPy with an in-place update and of "
            f"PyTorch, divided by raw NumPy's, at batch sizes 2, 64 and 256, with the targets. "
            f"Right: dropout forward time divided by an array copy's, log scale.]({PLOT.name})",
            END,
        ]
    )
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    path.write_text(head + section + tail)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="at least 5")
    parser.add_argument(
        "--threads", type=int, default=1, help="BLAS/PyTorch threads per process (0: default)"
    )
    parser.add_argument("--skip-book", action="store_true", help="no book build")
    parser.add_argument("--no-readme", action="store_true", help="leave README and plot alone")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    if args.repeats < 5:
        parser.error("--repeats must be at least 5")

    results = measure(args)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=1))
    print()
    print(tables(results))
    print()
    print("\n".join(verdict_lines(results)))
    print(f"\nwrote {args.output}")
    if not args.no_readme:
        plot(results, PLOT)
        update_readme(results, README)
        print(f"updated {README.relative_to(ROOT)} and {PLOT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
