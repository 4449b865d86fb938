"""Source-kind and source-knowledge cost per export row, on the four real exports in ../shared.

Run: ``.venv/bin/python bench/bench_source_kind.py [--shared ../shared] [--repeat 3]``. Every row of the
four exports (source URL, title, anchor) is classified by a fresh ``SourceKinds`` (empty memos: the
cost a new export pays) and again by the warm one (memos full: repeated pages, titles and anchors),
and each source host is looked up in a fresh ``SourceKnowledge``. Prints microseconds per row (best
of ``--repeat``), with urllib's ``urlsplit`` of the same URLs as a reference, in process CPU time (the machine's 2 cores are shared: wall time under load
would measure the neighbours), the load average and the hardware.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path
from urllib.parse import urlsplit

from features.source_kind import SourceKinds
from features.source_knowledge import SourceKnowledge
from features.urls import host_of
from training.source_kind_report import EXPORTS, export_rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rows = [r for name in EXPORTS for r in export_rows(args.shared / "real-exports" / name)]
    hosts = [host_of(url) for url, _, _ in rows]
    n = len(rows)
    fresh = warm = look = float("inf")
    for _ in range(args.repeat):
        kinds = SourceKinds.load()
        t = time.process_time()
        for url, title, anchor in rows:
            kinds.classify(url, title, anchor)
        fresh = min(fresh, time.process_time() - t)
        t = time.process_time()
        for url, title, anchor in rows:
            kinds.classify(url, title, anchor)
        warm = min(warm, time.process_time() - t)
        knowledge = SourceKnowledge.load(kinds)
        t = time.process_time()
        for host in hosts:
            knowledge.lookup(host)
        look = min(look, time.process_time() - t)
    ref = float("inf")  # calibration: the standard library's URL split of the same URLs
    for _ in range(args.repeat):
        t = time.process_time()
        for url, _, _ in rows:
            urlsplit(url)
        ref = min(ref, time.process_time() - t)
    print(f"rows: {n} (4 real exports), distinct URLs {len(set(r[0] for r in rows))}, "
          f"titles {len(set(r[1] for r in rows))}, hosts {len(set(hosts))}")
    print(f"SourceKinds.classify, fresh memos: {fresh / n * 1e6:.2f} us/row (CPU time)")
    print(f"SourceKinds.classify, warm memos:  {warm / n * 1e6:.2f} us/row")
    print(f"SourceKnowledge.lookup (host):     {look / n * 1e6:.2f} us/row")
    print(f"reference, urllib urlsplit:       {ref / n * 1e6:.2f} us/row")
    print(f"load average {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}")


if __name__ == "__main__":
    main()
