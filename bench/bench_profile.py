"""Profile pre-pass cost and size: ProfileBuilder.add per row, build, stats bytes, lookup per row.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_profile.py [--rows 1000000] [--domains 100000]``.
Rows are generated in chunks of 10,000 canonical records (flat metrics, as ``ExportRow.record`` gives):
referring domains drawn with a long tail (a few site-wide runs, most domains with one or two rows), a
generated network sharing one path template and title, anchors mixing brand, URL and keyword anchors,
authority/traffic values with the ties real exports have. Only ``add`` is timed during the stream
(generation is not); ``features`` is timed over the first ``--lookup-rows`` rows with a stats object
freshly read from bytes, as a scoring process starts. Prints a markdown table and the hardware.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import time

from bench_batch import hardware  # this folder is on the path when the script runs

from features.profile import ProfileBuilder, ProfileStats

WORDS = ("health", "care", "policy", "reform", "hospital", "nurse", "insurance", "blog", "news", "china",
         "rural", "medicine", "clinic", "data", "report", "review", "guide", "best", "local", "world")


def chunk(rng: random.Random, start: int, size: int, domains: int) -> list[dict[str, object]]:
    rows = []
    for i in range(start, start + size):
        r = rng.random()
        if r < 0.02:  # a generated network: one template and title on many domains
            d = rng.randrange(domains)
            url = f"https://net{d}.site/domain-list-{rng.randrange(1000)}/"
            title = "Where to buy aged domains and backlinks"
        else:
            # long tail: squaring concentrates rows on low ids (site-wide runs) and spreads the rest
            d = int(domains * rng.random() ** 2) if r < 0.5 else rng.randrange(domains)
            w1, w2 = WORDS[d % len(WORDS)], rng.choice(WORDS)
            url = f"https://www.{w1}{d}.com/{rng.randrange(2005, 2026)}/{w2}-{w1}-{i}.html"
            title = f"{w2.title()} {w1} and {rng.choice(WORDS)}: {i % 997} things | {w1.title()}{d}"
        a = rng.random()
        anchor = ("Example Health" if a < 0.3 else "https://example-health.org/" if a < 0.5
                  else f"{rng.choice(WORDS)} {rng.choice(WORDS)}" if a < 0.9 else "")
        rows.append({
            "source_url": url, "target_url": "https://example-health.org/page",
            "anchor_text": anchor, "source_title": title, "rel": "",
            "domain_authority": float(rng.randrange(100)), "page_authority": float(rng.randrange(60)),
            "traffic": float(int(rng.lognormvariate(3, 3))) if rng.random() < 0.7 else None,
            "outbound_links": float(rng.randrange(300)),
        })
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--domains", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lookup-rows", type=int, default=100_000,
                    help="consecutive rows looked up with features() by a freshly loaded stats object")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    builder = ProfileBuilder()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    add_s = 0.0
    sample: list[dict[str, object]] = []
    for start in range(0, args.rows, 10_000):
        rows = chunk(rng, start, min(10_000, args.rows - start), args.domains)
        add = builder.add
        t0 = time.perf_counter()
        for r in rows:
            add(r)
        add_s += time.perf_counter() - t0
        if len(sample) < args.lookup_rows:
            sample.extend(rows[: args.lookup_rows - len(sample)])
        del rows
    t0 = time.perf_counter()
    stats = builder.build()
    build_s = time.perf_counter() - t0
    blob = stats.to_bytes()
    t0 = time.perf_counter()
    loaded = ProfileStats.from_bytes(blob)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()  # a fresh object: its first lookup builds the dicts, memos start empty
    for r in sample:
        loaded.features(r)
    look_us = (time.perf_counter() - t0) / len(sample) * 1e6
    t0 = time.perf_counter()
    for r in sample:
        loaded.features(r)
    warm_us = (time.perf_counter() - t0) / len(sample) * 1e6
    netlocs = len({r["source_url"].split("/")[2] for r in sample})  # type: ignore[union-attr]
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"hardware: {hardware()}, load average {os.getloadavg()[0]:.1f}")
    ref = {"a": 1}.get
    t0 = time.perf_counter()
    for _ in range(1_000_000):
        ref("a")
    print(f"reference: a dict.get call in a loop {(time.perf_counter() - t0) * 1e3:.0f} ns "
          "(a shared machine's load shows here)")
    print(f"rows {args.rows:,}, referring domains {stats.domains:,}")
    print("| measure | value |\n|---|---|")
    print(f"| add, us/row | {add_s / args.rows * 1e6:.2f} |")
    print(f"| build, s | {build_s:.2f} |")
    print(f"| stats file, bytes | {len(blob):,} |")
    print(f"| load (from_bytes), s | {load_s:.3f} |")
    print(f"| features(record) over {len(sample):,} consecutive rows, fresh stats object, us/row | "
          f"{look_us:.2f} |")
    print(f"| the same rows again (memos warm: no host lookups), us/row | {warm_us:.2f} |")
    print(f"| distinct source hosts in those rows | {netlocs:,} |")
    print(f"| distinct source hosts in the profile (builder) | {len(builder._netlocs):,} |")
    print(f"| process peak RSS growth (generation included), MB | {(rss1 - rss0) / 1024:.0f} |")
    for k, (keys, _, floor) in stats.tables.items():
        print(f"| table {k}: entries / cut floor | {keys.size:,} / {floor} |")
    for m, (vals, *_) in stats.pct.items():
        print(f"| {m}: kept values | {vals.size:,} |")


if __name__ == "__main__":
    main()
