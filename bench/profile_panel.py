"""Dev check (not a test): what each profile feature says about the expert panel's rows.

Run: ``PYTHONPATH=. .venv/bin/python bench/profile_panel.py [--shared ../shared]``. For each of the
real exports in ``SHARED/real-exports`` it streams the file once through ``ProfileBuilder`` (as the
batch pre-pass does: ``serving.exports.read_export``), then looks up the panel rows
(``panel-labels.tsv``; ``FILE:N`` = the N-th data row of FILE; agreed labels only) and prints, per
feature: how many panel rows it knows, its mean per label (strong / neutral / weak / risky), and the
ROC-AUC of the feature alone for strong vs weak+risky (among rows where it is known; above 0.5 means
larger values go with strong links), pooled over the files and per file. Nothing is fitted or tuned
here: these are four sites, a development view only.
"""

from __future__ import annotations

import argparse
import csv
import math
import time
from collections import defaultdict
from pathlib import Path

from sklearn.metrics import roc_auc_score

from features.profile import FEATURE_NAMES, ProfileBuilder
from serving.exports import read_export

LABELS = ("strong", "neutral", "weak", "risky")


def panel(path: Path) -> dict[str, dict[int, str]]:
    """file -> {row number: agreed label}."""
    out: dict[str, dict[int, str]] = defaultdict(dict)
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if row["label_a"] != row["label_b"]:
                continue
            name, n = row["id"].rsplit(":", 1)
            out[name][int(n)] = row["label_a"]
    return out


def auc(values: list[float], labels: list[str]) -> tuple[float, int]:
    """ROC-AUC strong (1) vs weak+risky (0) among rows with a known value; (NaN, n) if one class is empty."""
    pairs = [(v, lab == "strong") for v, lab in zip(values, labels, strict=True)
             if not math.isnan(v) and lab in ("strong", "weak", "risky")]
    ys = {y for _, y in pairs}
    if len(ys) < 2:
        return float("nan"), len(pairs)
    return float(roc_auc_score([y for _, y in pairs], [v for v, _ in pairs])), len(pairs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared")
    args = ap.parse_args()
    root = args.shared / "real-exports"
    labels_by_file = panel(root / "panel-labels.tsv")
    rows: list[tuple[str, str, dict[str, float]]] = []  # (file, label, features)
    for name in sorted(labels_by_file):
        wanted = labels_by_file[name]
        t0 = time.perf_counter()
        builder = ProfileBuilder()
        records: dict[int, dict[str, object] | None] = {}
        _, chunks = read_export(root / name)
        n = 0
        for chunk in chunks:
            for row in chunk:
                n += 1
                rec = row.record
                if rec is not None:
                    builder.add(rec)
                if n in wanted:
                    records[n] = rec
        stats = builder.build()
        took = time.perf_counter() - t0
        print(f"{name}: {n:,} rows, {stats.domains:,} referring domains, stats {len(stats.to_bytes()):,} bytes, "
              f"read+profile {took:.2f} s")
        for k, label in sorted(wanted.items()):
            rec = records.get(k)
            feats = stats.features(rec) if rec is not None else dict.fromkeys(FEATURE_NAMES, float("nan"))
            rows.append((name, label, feats))
    files = sorted({f for f, _, _ in rows})
    counts = {lab: sum(1 for _, la, _ in rows if la == lab) for lab in LABELS}
    print(f"\nagreed panel rows: {len(rows)} ({', '.join(f'{k} {v}' for k, v in counts.items())})\n")
    head = "| feature | known | " + " | ".join(f"mean {lab}" for lab in LABELS) + \
        " | AUC pooled (n) | " + " | ".join(f"AUC {Path(f).stem[:14]}" for f in files) + " |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for feat in FEATURE_NAMES:
        vals = [fs[feat] for _, _, fs in rows]
        labs = [lab for _, lab, _ in rows]
        known = sum(1 for v in vals if not math.isnan(v))
        means = []
        for lab in LABELS:
            xs = [v for v, la in zip(vals, labs, strict=True) if la == lab and not math.isnan(v)]
            means.append(f"{sum(xs) / len(xs):.3g}" if xs else "-")
        pooled, npool = auc(vals, labs)
        per_file = []
        for f in files:
            fv = [fs[feat] for ff, _, fs in rows if ff == f]
            fl = [lab for ff, lab, _ in rows if ff == f]
            a, _ = auc(fv, fl)
            per_file.append("-" if math.isnan(a) else f"{a:.2f}")
        print(f"| {feat} | {known}/{len(rows)} | " + " | ".join(means) +
              f" | {'-' if math.isnan(pooled) else f'{pooled:.3f}'} ({npool}) | " + " | ".join(per_file) + " |")


if __name__ == "__main__":
    main()
