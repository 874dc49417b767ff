"""Worker: how fast the built site's pages are on a slow network (part of `make bench`).

Opens each chapter page of `_build/html` (and the landing page) in headless Chromium with
Chromium's network emulation at 10 Mbit/s and 40 ms per round trip, an empty cache, at
desktop size, and measures:

- first contentful paint (target: at most 2 s);
- when every slider is usable: drawn, named, with its frame decoded (the loader script's
  performance mark "nnscratch:sliders-usable"; target: at most 7 s);
- the bytes fetched (the browser tests hold them to 6 MB).

Each page is loaded `--repeats` times (median reported). Progress and a table go to stderr;
the last line of stdout is the JSON that benchmarks/run.py reads, with one PASS/MISS verdict
per page and target.

    python benchmarks/bench_site.py [--repeats 3] [--site _build/html]

The page timings include the machine's own work (parsing 2 MB of scripts, drawing the
widgets), so they are wall-clock times and depend on how busy the machine is; the load
average before and after is recorded with them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "site"))  # the browser tests' harness

import harness  # noqa: E402


def measure_page(browser, base_url: str, site: Path, page: str) -> dict:
    visit = harness.open_page(browser, base_url + page, throttle=True)
    try:
        views, _ = harness.expected_widgets(site, page)
        harness.wait_until_settled(visit.page, views)
        weight, requests = harness.page_weight(visit.page)
        return {
            "first_paint_s": harness.first_contentful_paint_s(visit.page),
            "sliders_usable_s": harness.sliders_usable_s(visit.page) if views else None,
            "bytes": weight,
            "requests": requests,
            "errors": visit.errors,
        }
    finally:
        visit.close()


def verdicts(pages: dict[str, dict]) -> list[dict]:
    out = []
    for page, m in pages.items():
        fcp = m["first_paint_s"]
        out.append(
            {
                "name": f"{page}: first contentful paint at 10 Mbit/s, 40 ms (s)",
                "value": fcp,
                "limit": f"<= {harness.MAX_FIRST_PAINT_S:.0f}",
                "ok": fcp <= harness.MAX_FIRST_PAINT_S,
            }
        )
        if m["sliders_usable_s"] is not None:
            usable = m["sliders_usable_s"]
            out.append(
                {
                    "name": f"{page}: every slider usable at 10 Mbit/s, 40 ms (s)",
                    "value": usable,
                    "limit": f"<= {harness.MAX_SLIDERS_USABLE_S:.0f}",
                    "ok": usable <= harness.MAX_SLIDERS_USABLE_S,
                }
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--site", type=Path, default=harness.SITE)
    args = parser.parse_args()
    if not (args.site / "index.html").is_file():
        sys.exit(f"bench_site: no built site in {args.site}: run `make book` first")

    pages = harness.chapter_pages(args.site)
    load_before = os.getloadavg()[0]
    runs: dict[str, list[dict]] = {page: [] for page in pages}
    with harness.serve(args.site) as base_url, harness.chromium() as browser:
        for repeat in range(args.repeats):
            for page in pages:
                runs[page].append(measure_page(browser, base_url, args.site, page))
                m = runs[page][-1]
                print(
                    f"  run {repeat + 1}: {page}: first paint {m['first_paint_s']:.2f} s, "
                    f"sliders usable {m['sliders_usable_s'] or 0:.2f} s, "
                    f"{m['bytes'] / 1e6:.2f} MB",
                    file=sys.stderr,
                    flush=True,
                )

    def median(key: str, values: list[dict]) -> float | None:
        found = [v[key] for v in values if v[key] is not None]
        return statistics.median(found) if found else None

    summary = {
        page: {
            "first_paint_s": median("first_paint_s", values),
            "sliders_usable_s": median("sliders_usable_s", values),
            "bytes": values[0]["bytes"],
            "requests": values[0]["requests"],
            "runs": values,
        }
        for page, values in runs.items()
    }
    result = {
        "network": harness.THROTTLED,
        "repeats": args.repeats,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg()[0],
        "pages": summary,
        "verdicts": verdicts(summary),
    }
    print(
        f"\n{'page':34s} {'first paint':>11s} {'sliders usable':>14s} {'weight':>9s}",
        file=sys.stderr,
    )
    for page, m in summary.items():
        usable = "-" if m["sliders_usable_s"] is None else f"{m['sliders_usable_s']:.2f} s"
        print(
            f"{page:34s} {m['first_paint_s']:>9.2f} s {usable:>14s} {m['bytes'] / 1e6:>6.2f} MB",
            file=sys.stderr,
        )
    for v in result["verdicts"]:
        print(
            f"{'PASS' if v['ok'] else 'MISS'}  {v['name']}: {v['value']:.2f} ({v['limit']})",
            file=sys.stderr,
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
