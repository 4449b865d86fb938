"""Feature-pipeline throughput: links/s with HTML (1 and 50 links per ~100 KB page) and
without HTML, plus embedding texts/s for both embedding models.

Run: ``.venv/bin/python bench/bench_features.py [--repeat 3]``. Pages are the
test fixtures padded to ~100 KB with copies of their own paragraphs, each made
distinct so no cache helps across pages. Prints a markdown table and the
hardware it ran on.
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import re
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from features.embeddings import CachedEmbedder, load_embedder  # noqa: E402
from features.page import parse_page  # noqa: E402
from features.pipeline import extract_features, load_context  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "pages"
URL = "https://www.sciencealert.com/nasa-finds-water-plumes-above-the-surface-of-jupiter-s-icy-moon-europa"


def hardware() -> str:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor()
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def padded_page(i: int, size: int = 100_000) -> str:
    with gzip.open(FIXTURES / "14cc2a0c.html.gz", "rt", encoding="utf-8") as fh:
        html = fh.read()
    paras = re.findall(r"<p>.*?</p>", html, flags=re.S)[:10]
    filler = []
    k = 0
    while len(html) + sum(map(len, filler)) < size:
        filler.append(paras[k % len(paras)].replace("<p>", f"<p>[page {i} copy {k}] ", 1))
        k += 1
    marker = "</article>" if "</article>" in html else "</body>"
    page = html.replace(marker, "".join(filler) + marker, 1)
    assert len(page) >= size and f"[page {i} copy 0]" in page, "padding failed"
    return page


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pages", type=int, default=20)
    args = ap.parse_args()
    rows: list[tuple[str, str]] = []
    for emb_name in ("minilm-l6-static-256", "minilm-l6-v2"):
        ctx = load_context(emb_name)
        pages = [padded_page(i) for i in range(args.pages)]
        targets = sorted({lk.key for lk in parse_page(pages[0], URL).links if lk.key})[:50]

        def one_link(ctx=ctx, pages=pages, targets=targets) -> None:
            ctx.embedder._cache.clear()
            extract_features([{"source_url": URL, "target_url": "https://" + targets[0], "source_html": p}
                              for p in pages], ctx)

        def fifty_links(ctx=ctx, pages=pages, targets=targets) -> None:
            ctx.embedder._cache.clear()
            extract_features([{"source_url": URL, "target_url": "https://" + t, "source_html": p}
                              for p in pages[:4] for t in targets], ctx)

        n_export = 5000
        export = [{"source_url": f"https://site{i % 997}.example.com/post/{i}", "target_url": "https://t.example/x",
                   "anchor_text": f"anchor number {i % 311}", "rel": "nofollow" if i % 3 else "",
                   "context_left": f"some words before {i % 101}", "context_right": "and after the link"}
                  for i in range(n_export)]

        def export_only(ctx=ctx, export=export) -> None:
            ctx.embedder._cache.clear()
            extract_features(export, ctx)

        t1 = timed(one_link, args.repeat)
        t50 = timed(fifty_links, args.repeat)
        te = timed(export_only, args.repeat)
        rows.append((f"{emb_name}: 1 link per ~100 KB page", f"{len(pages) / t1:.1f} links/s ({1000 * t1 / len(pages):.1f} ms/page)"))
        rows.append((f"{emb_name}: 50 links per ~100 KB page", f"{4 * len(targets) / t50:.0f} links/s ({1000 * t50 / 4:.0f} ms/page)"))
        rows.append((f"{emb_name}: export-only (no HTML)", f"{n_export / te:.0f} links/s"))
        raw = load_embedder(emb_name)
        anchors = [f"anchor text {i}" for i in range(2000)]
        excerpts = [" ".join(re.sub(r"<[^>]+>", " ", p).split())[:1500] for p in pages]
        ta = timed(lambda raw=raw, anchors=anchors: CachedEmbedder(raw).encode(anchors), 1)
        tx = timed(lambda raw=raw, excerpts=excerpts: CachedEmbedder(raw).encode(excerpts), 1)
        rows.append((f"{emb_name}: embedding anchors", f"{len(anchors) / ta:.0f} texts/s"))
        rows.append((f"{emb_name}: embedding page excerpts (1,500 chars)", f"{len(excerpts) / tx:.1f} texts/s"))
    print(f"hardware: {hardware()}; pages {len(padded_page(0)) / 1000:.0f} KB each\n")
    print("| measurement | throughput |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")
    base = {k: v for k, v in rows}
    s = float(base["minilm-l6-static-256: embedding anchors"].split()[0])
    m = float(base["minilm-l6-v2: embedding anchors"].split()[0])
    print(f"\nstatic / MiniLM embedding speed ratio (anchors): {s / m:.0f}x")


if __name__ == "__main__":
    main()
