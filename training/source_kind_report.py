"""Dev report (not a test): source-page kinds on the real exports in ../shared, and kind vs the panel.

Prints, per export, the count of each kind and up to 10 examples of each; then, for the agreed
rows of ``real-exports/panel-labels.tsv``, a table of kind x panel label. (Cost per row:
bench/bench_source_kind.py.)

    python -m training.source_kind_report --shared ../shared [--examples 10]

The exports have no licence: this script only reads them from ../shared and prints.
"""

from __future__ import annotations

import argparse
import collections
import csv
from pathlib import Path

from features.source_kind import KINDS, SourceKinds

EXPORTS = (
    "ahrefs/lamicrobyflo-fr-gsheets-hashcol.csv",
    "semrush/worldhealthcareblog-org.csv",
    "semrush/politiplatform-com.csv",
    "semrush/coinlineup-com-2026.csv",
)
LABELS = ("strong", "neutral", "weak", "risky")


def export_rows(path: Path) -> list[tuple[str, str, str]]:
    """(source URL, title, anchor) of each data row, in file order (as csv.DictReader returns them)."""
    out = []
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            url = row.get("Referring page URL") or row.get("Source url") or ""
            title = row.get("Referring page title") or row.get("Source title") or ""
            out.append((url, title, row.get("Anchor") or ""))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path("../shared"))
    ap.add_argument("--examples", type=int, default=10)
    args = ap.parse_args()
    base = args.shared / "real-exports"
    kinds = SourceKinds.load()
    data = {name: export_rows(base / name) for name in EXPORTS}

    for name, rows in data.items():
        counts: collections.Counter[str] = collections.Counter()
        examples: dict[str, list[str]] = collections.defaultdict(list)
        seen: set[tuple[str, str]] = set()
        for url, title, anchor in rows:
            got = kinds.classify(url, title, anchor)
            k = got.kind or "-"
            counts[k] += 1
            key = (k, url)
            if key not in seen and len(examples[k]) < args.examples:
                seen.add(key)
                us = " [user space]" if got.user_space else ""
                examples[k].append(f"{url[:100]} | {title[:50]} | {anchor[:30]} <- {got.evidence}{us}")
        print(f"\n=== {name}: {len(rows)} rows")
        for k, n in counts.most_common():
            print(f"  {k:15} {n:6}")
        for k in [*KINDS, "-"]:
            if examples.get(k):
                print(f"  -- {k}")
                for line in examples[k]:
                    print(f"     {line}")

    # kind x agreed panel label
    table: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    spaces: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    with (base / "panel-labels.tsv").open(encoding="utf-8", newline="") as fh:
        for lab in csv.DictReader(fh, delimiter="\t"):
            if lab["label_a"] != lab["label_b"]:
                continue
            name, n = lab["id"].rsplit(":", 1)
            url, title, anchor = data[name][int(n) - 1]
            got = kinds.classify(url, title, anchor)
            table[got.kind or "-"][lab["label_a"]] += 1
            spaces["user space" if got.user_space else "not"][lab["label_a"]] += 1
    print("\n=== kind vs agreed panel label (297 rows)")
    print(f"  {'kind':15} " + " ".join(f"{x:>7}" for x in LABELS) + "   total")
    for k in [*KINDS, "-"]:
        if k in table:
            c = table[k]
            print(f"  {k:15} " + " ".join(f"{c[x]:7}" for x in LABELS) + f"   {sum(c.values()):5}")
    for k in ("user space", "not"):
        c = spaces[k]
        print(f"  {k:15} " + " ".join(f"{c[x]:7}" for x in LABELS) + f"   {sum(c.values()):5}")

    # cost per row: bench/bench_source_kind.py

if __name__ == "__main__":
    main()
