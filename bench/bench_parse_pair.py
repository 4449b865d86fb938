"""Per-page CPU of ``parse_page``: this checkout against another one, in one process, page by page.

Whole-process benches on this shared machine swing by 20% from run to run, too much to see a
millisecond; interleaving the two versions page by page and keeping the fastest of ``--repeat``
runs of each resolves it. The other checkout's ``features`` package is imported under another
name (through a symlink in a temporary folder). ``--cold`` clears this checkout's class-string
memos before every run (a page whose class strings were never seen); without it they are warm,
as on a site's second page.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_parse_pair.py --other ../main [--corpus trafilatura-eval] [--cold]``
(needs ``../shared``).
"""

from __future__ import annotations

import argparse
import gzip
import importlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

from features.html_text import decode_html
from features.page import _attr_vocab, _rd_attrs, parse_page

ROOT = Path(__file__).resolve().parent.parent
SUBDIR = {"scrapinghub-aeb": "html", "trafilatura-eval": "eval"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--other", type=Path, required=True, help="the checkout to compare with")
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--corpus", choices=sorted(SUBDIR), default="scrapinghub-aeb")
    ap.add_argument("--pages", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--cold", action="store_true", help="clear this checkout's class-string memos before each run")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    (tmp / "features_other").symlink_to(args.other.resolve() / "features")
    sys.path.insert(0, str(tmp))
    other = importlib.import_module("features_other.page").parse_page

    def ours(html: str, url: str) -> None:
        if args.cold:
            _attr_vocab.cache_clear()
            _rd_attrs.cache_clear()
        parse_page(html, url)

    files = sorted((args.shared / "corpora" / args.corpus / SUBDIR[args.corpus]).glob("*.gz"))[: args.pages]
    pages = []
    for f in files:
        with gzip.open(f) as fh:
            try:
                pages.append(decode_html(fh.read()))
            except ValueError:
                continue
    url = f"https://{args.corpus}.example/"
    best: dict[str, list[float]] = {"other": [], "this": []}
    for html in pages:
        other(html, url)
        ours(html, url)
        runs: dict[str, list[float]] = {"other": [], "this": []}
        for _ in range(args.repeat):
            for name, fn in (("other", other), ("this", ours)):
                t = time.process_time()
                fn(html, url)
                runs[name].append((time.process_time() - t) * 1000.0)
        for name, r in runs.items():
            best[name].append(min(r))
    diff = [b - a for a, b in zip(best["other"], best["this"], strict=True)]
    rel = [b / a - 1 for a, b in zip(best["other"], best["this"], strict=True) if a > 0]
    print(f"{args.corpus}, {len(pages)} pages, {'cold' if args.cold else 'warm'} class memos: median CPU ms per page "
          f"other {statistics.median(best['other']):.2f}, this {statistics.median(best['this']):.2f}; "
          f"median paired difference {statistics.median(diff):+.2f} ms ({100 * statistics.median(rel):+.1f}%)")


if __name__ == "__main__":
    main()
