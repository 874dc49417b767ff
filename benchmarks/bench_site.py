"""Worker: how fast the built site's pages are on a slow network (part of `make bench`).

Opens each chapter page of `_build/html` (and the landing page) in headless Chromium with
Chromium's network emulation at 10 Mbit/s and 40 ms per round trip, an empty cache, at
desktop size, and measures:

- first contentful paint (target: at most 2 s);
- when every slider is usable: drawn, named, with its frame decoded (the loader script's
  performance mark "nnscratch:sliders-usable"; target: at most 7 s);
- the bytes fetched (the browser tests hold them to 6 MB);
- links into a page (`chapter.html#section`, the last titled section below the page's last
  slider), at desktop and phone sizes: when the target first stood in view (its top within
  120 px of the window's top) against the first paint (target: in view at the first paint,
  not after the deferred scripts), and the layout shift, worst of the repeats (target: at
  most 0.1).

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


# Before the page's scripts: in every animation frame (just before a paint) until the page has
# loaded and settled, the time and where the link's target is.
TARGET_FRAMES_JS = """
window.__targetFrames = [];
(function frame() {
  let id = location.hash.slice(1);
  try { id = decodeURIComponent(id); } catch (error) {}
  const target = id ? document.getElementById(id) : null;
  const shown = document.body !== null && getComputedStyle(document.body).visibility === "visible";
  const top = target && shown ? target.getBoundingClientRect().top : null;
  window.__targetFrames.push([performance.now(), top]);
  if (!window.__stopFrames) requestAnimationFrame(frame);
})();
"""
IN_VIEW_PX = (-2, 120)


def measure_deep_link(
    browser, base_url: str, site: Path, page: str, target: str, size: str
) -> dict:
    """A throttled load of `page#target`: first paint, target in view, layout shift."""
    url = f"{base_url}{page}#{target}"
    visit = harness.open_page(browser, url, size=size, throttle=True, init_script=TARGET_FRAMES_JS)
    try:
        views, _ = harness.expected_widgets(site, page)
        harness.wait_until_settled(visit.page, views)
        visit.page.wait_for_timeout(500)
        frames = visit.page.evaluate("window.__stopFrames = true; window.__targetFrames")
        content_loaded = visit.page.evaluate(
            "performance.getEntriesByType('navigation')[0].domContentLoadedEventStart"
        )
        low, high = IN_VIEW_PX
        in_view = [t for t, top in frames if top is not None and low <= top <= high]
        return {
            "first_paint_s": harness.first_contentful_paint_s(visit.page),
            "in_view_s": in_view[0] / 1000 if in_view else None,
            "content_loaded_s": content_loaded / 1000,
            "shift": harness.layout_shift(visit.page),
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


def deep_link_verdicts(links: dict[str, dict]) -> list[dict]:
    """Per link and size: in view by the first paint (a frame, 50 ms, of slack), shift."""
    out = []
    for name, m in links.items():
        late = max(
            (r["in_view_s"] - r["first_paint_s"]) if r["in_view_s"] is not None else float("inf")
            for r in m["runs"]
        )
        out.append(
            {
                "name": f"{name}: target in view after the first paint, worst (s)",
                "value": late,
                "limit": "<= 0.05",
                "ok": late <= 0.05,
            }
        )
        out.append(
            {
                "name": f"{name}: layout shift at 10 Mbit/s, 40 ms, worst",
                "value": m["shift_worst"],
                "limit": f"<= {harness.MAX_LAYOUT_SHIFT}",
                "ok": m["shift_worst"] <= harness.MAX_LAYOUT_SHIFT,
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
    links = [
        (page, target, size)
        for page in pages
        if (target := harness.deep_link_target(args.site, page)) is not None
        for size in harness.SIZES
    ]
    load_before = os.getloadavg()[0]
    runs: dict[str, list[dict]] = {page: [] for page in pages}
    link_runs: dict[str, list[dict]] = {f"{p}#{t} ({s})": [] for p, t, s in links}
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
            for page, target, size in links:
                m = measure_deep_link(browser, base_url, args.site, page, target, size)
                link_runs[f"{page}#{target} ({size})"].append(m)
                in_view = "never" if m["in_view_s"] is None else f"{m['in_view_s']:.2f} s"
                print(
                    f"  run {repeat + 1}: {page}#{target} ({size}): first paint "
                    f"{m['first_paint_s']:.2f} s, target in view {in_view}, DOMContentLoaded "
                    f"{m['content_loaded_s']:.2f} s, shift {m['shift']:.3f}",
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
    deep_links = {
        name: {
            "first_paint_s": median("first_paint_s", values),
            "in_view_s": median("in_view_s", values),
            "content_loaded_s": median("content_loaded_s", values),
            "shift_worst": max(v["shift"] for v in values),
            "runs": values,
        }
        for name, values in link_runs.items()
    }
    result = {
        "network": harness.THROTTLED,
        "repeats": args.repeats,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg()[0],
        "pages": summary,
        "deep_links": deep_links,
        "verdicts": verdicts(summary) + deep_link_verdicts(deep_links),
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
    print(
        f"\n{'deep link':58s} {'first paint':>11s} {'in view':>8s} {'DOMContentLoaded':>16s} "
        f"{'shift (worst)':>13s}",
        file=sys.stderr,
    )
    for name, m in deep_links.items():
        in_view = "never" if m["in_view_s"] is None else f"{m['in_view_s']:.2f} s"
        print(
            f"{name:58s} {m['first_paint_s']:>9.2f} s {in_view:>8s} "
            f"{m['content_loaded_s']:>14.2f} s {m['shift_worst']:>13.3f}",
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
