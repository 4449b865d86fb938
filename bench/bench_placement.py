"""Per-page CPU of placement: parse + trafilatura + DOM evidence + the placement model.

Prints, per page set, the median CPU ms per page of ``parse_page`` + ``place_page`` and of
trafilatura's extraction alone on the same pages (their ratio is the placement overhead),
plus the page nearest 43 KB. Pages: the two test fixtures, and (when ``../shared`` is
there) a fixed sample of real news pages from scrapinghub-aeb and multilingual pages from
trafilatura-eval. CPU time (``time.process_time``), median of ``--repeat`` runs per page.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_placement.py [--pages 40] [--repeat 3]``.
Works against any checkout that has ``features.page.parse_page`` and
``features.placement.place_page`` (point PYTHONPATH at it to compare versions).
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import statistics
import time
from pathlib import Path

import trafilatura

from features.html_text import decode_html
from features.page import parse_page
from features.placement import PlacementModel, place_page

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "pages"


def fixture_pages() -> list[tuple[str, str]]:
    urls = dict(line.split(",")[::-1] for line in (FIXTURES / "manifest.csv").read_text().splitlines()[1:])
    return [(urls[p.name], gzip.open(p, "rt", encoding="utf-8").read()) for p in sorted(FIXTURES.glob("*.html.gz"))]


def shared_pages(shared: Path, corpus: str, n: int) -> list[tuple[str, str]]:
    """The first ``n`` pages (sorted by file name, so the sample is fixed) of a corpus."""
    sub = {"scrapinghub-aeb": "html", "trafilatura-eval": "eval"}[corpus]
    files = sorted((shared / "corpora" / corpus / sub).glob("*.gz"))[:n]
    out = []
    for f in files:
        with gzip.open(f) as fh:
            try:
                out.append((f"https://{corpus}.example/{f.name}", decode_html(fh.read())))
            except ValueError:
                continue
    return out


def cpu_ms(fn, repeat: int) -> float:  # noqa: ANN001
    times = []
    for _ in range(repeat):
        t = time.process_time()
        fn()
        times.append((time.process_time() - t) * 1000.0)
    return statistics.median(times)


def bench(pages: list[tuple[str, str]], model: PlacementModel, repeat: int) -> dict[str, float]:
    ours, traf, sizes = [], [], []

    def ours_fn(url: str, html: str) -> None:
        place_page(parse_page(html, url), model)

    def traf_fn(url: str, html: str) -> None:
        trafilatura.bare_extraction(html, url=url, include_links=True, include_comments=True, with_metadata=False)

    for url, html in pages:
        ours_fn(url, html)  # warm-up: imports, lazy resources
        ours.append(cpu_ms(lambda u=url, h=html: ours_fn(u, h), repeat))
        traf.append(cpu_ms(lambda u=url, h=html: traf_fn(u, h), repeat))
        sizes.append(len(html.encode("utf-8")) / 1000)
    near = min(range(len(pages)), key=lambda i: abs(sizes[i] - 43))
    return {
        "pages": len(pages),
        "median KB": statistics.median(sizes),
        "placement ms": statistics.median(ours),
        "trafilatura ms": statistics.median(traf),
        "ratio": statistics.median(ours) / statistics.median(traf),
        "~43 KB page KB": sizes[near],
        "~43 KB page ms": ours[near],
        "~43 KB ratio": ours[near] / traf[near],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--pages", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    model = PlacementModel.load()
    sets = {"fixtures": fixture_pages()}
    if (args.shared / "corpora").is_dir():
        sets["scrapinghub-aeb"] = shared_pages(args.shared, "scrapinghub-aeb", args.pages)
        sets["trafilatura-eval"] = shared_pages(args.shared, "trafilatura-eval", args.pages)
    print(f"{os.cpu_count()} cores, Python {platform.python_version()}, load {os.getloadavg()[0]:.1f}")
    cols = None
    for name, pages in sets.items():
        r = bench(pages, model, args.repeat)
        if cols is None:
            cols = list(r)
            print("| set | " + " | ".join(cols) + " |")
            print("|---|" + "---:|" * len(cols))
        print(f"| {name} | " + " | ".join(f"{r[c]:.1f}" if isinstance(r[c], float) else str(r[c]) for c in cols) + " |")


if __name__ == "__main__":
    main()
