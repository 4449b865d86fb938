"""Train and evaluate the placement model (is a link in the editorial main content?).

Data: gold link labels of ``../shared/corpora`` joined to DOM evidence
(``training.placement_data``); ``content`` = 1, ``boilerplate``/``comments`` = 0,
``ambiguous``/``notext``/``unlabelled`` dropped. Evaluation is out-of-fold with
folds by site, per corpus, for all links and external links, against the
baseline "the anchor text occurs in trafilatura's main text". The shipped model
is then fitted on all sites and written to ``features/resources``.

Run: ``python -m training.train_placement --shared ../shared`` (writes the
model, ``data/placement_eval.json`` and the out-of-fold predictions that the
link-model dataset uses to avoid leakage).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from features.placement import DOM_FEATURES, MAIN_THRESHOLD

from .metrics import binary_report, prf
from .placement_data import PLACEMENT_LABELS, build_placement_table
from .splits import N_FOLDS, site_folds

PARAMS = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "verbose": -1,
    "num_threads": 2,
    "seed": 7,
    "deterministic": True,
}
ROUNDS = 400


def labelled(df: pd.DataFrame) -> pd.DataFrame:
    out = df[df["label"].isin(list(PLACEMENT_LABELS))].copy()
    out["y"] = out["label"].map(PLACEMENT_LABELS).astype(int)
    return out.reset_index(drop=True)


def corpus_weights(df: pd.DataFrame) -> np.ndarray:
    """Each corpus weighs the same in total, so dragnet's 170k links do not drown the rest."""
    counts = df["corpus"].value_counts()
    return df["corpus"].map(lambda c: len(df) / (len(counts) * counts[c])).to_numpy(dtype=float)


def fit(df: pd.DataFrame) -> lgb.Booster:
    ds = lgb.Dataset(
        df[list(DOM_FEATURES)].to_numpy(np.float64), label=df["y"].to_numpy(), weight=corpus_weights(df),
        feature_name=list(DOM_FEATURES), free_raw_data=True,
    )
    return lgb.train(PARAMS, ds, num_boost_round=ROUNDS)


def out_of_fold(df: pd.DataFrame, n_folds: int = N_FOLDS) -> np.ndarray:
    """Out-of-fold main-content probability for every labelled row (folds by site)."""
    folds = site_folds(df["site"], n_folds)
    oof = np.full(len(df), np.nan)
    for k in range(n_folds):
        test = folds == k
        model = fit(df[~test])
        oof[test] = model.predict(df.loc[test, list(DOM_FEATURES)].to_numpy(np.float64))
    return oof


def is_external(df: pd.DataFrame) -> np.ndarray:
    return (df["scope"] == "external").to_numpy()


def evaluate(df: pd.DataFrame, prob: np.ndarray) -> dict:
    """Per corpus, all and external links: model vs the trafilatura-anchor baseline."""
    report: dict[str, dict] = {}
    for corpus, part in df.groupby("corpus"):
        idx = part.index.to_numpy()
        for scope, mask in (("all", np.ones(len(idx), bool)), ("external", is_external(part))):
            if mask.sum() == 0:
                continue
            y = part["y"].to_numpy()[mask]
            p = prob[idx][mask]
            base = part["traf_has_anchor"].to_numpy()[mask] > 0.5
            model = binary_report(y, p, threshold=MAIN_THRESHOLD)
            b = prf(y, base)
            b["pr_auc"] = binary_report(y, base.astype(float))["pr_auc"]
            report[f"{corpus}/{scope}"] = {
                "n": int(mask.sum()),
                "content": int(y.sum()),
                "model": {k: model[k] for k in ("precision", "recall", "f1", "pr_auc")},
                "baseline_traf_anchor": b,
            }
    return report


def markdown_table(report: dict) -> str:
    lines = [
        "| corpus / links | n | content | P | R | F1 | PR-AUC | baseline P | R | F1 | PR-AUC |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, r in report.items():
        m, b = r["model"], r["baseline_traf_anchor"]
        lines.append(
            f"| {key} | {r['n']} | {r['content']} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | "
            f"{m['pr_auc']:.3f} | {b['precision']:.3f} | {b['recall']:.3f} | {b['f1']:.3f} | {b['pr_auc']:.3f} |"
        )
    return "\n".join(lines)


def check_placement_floors(path: Path, report: dict) -> list[str]:
    """Floors look like {"floors": {"scrapinghub-aeb/external": {"pr_auc": 0.88, "f1": 0.85}}, "tolerance": 0.01}."""
    spec = json.loads(path.read_text())
    tol = float(spec.get("tolerance", 0.0))
    problems = []
    for key, metrics in spec["floors"].items():
        got = report.get(key, {}).get("model", {})
        for metric, floor in metrics.items():
            v = got.get(metric, float("nan"))
            if not v >= floor - tol:
                problems.append(f"placement {key} {metric} = {v:.4f} below floor {floor:.4f}")
    return problems


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument("--build", type=Path, default=Path("data/build"))
    parser.add_argument("--model-out", type=Path, default=Path("features/resources/placement_model.txt"))
    parser.add_argument("--report", type=Path, default=Path("data/placement_eval.json"))
    parser.add_argument("--eval-only", action="store_true", help="evaluate (out-of-fold) without writing the model")
    parser.add_argument("--floors", type=Path, help="fail if a metric drops below these pinned floors (JSON)")
    args = parser.parse_args(argv)
    t0 = time.time()
    table = build_placement_table(args.shared, args.build / "placement_links.parquet")
    df = labelled(table)
    t1 = time.time()
    oof = out_of_fold(df)
    report = evaluate(df, oof)
    print(markdown_table(report))
    print(f"rows {len(df)} (table {t1 - t0:.0f} s, 5-fold CV {time.time() - t1:.0f} s)")
    oof_frame = df[["corpus", "page_id", "link_idx"]].assign(placement_oof=oof.astype(np.float32))
    oof_frame.to_parquet(args.build / "placement_oof.parquet", index=False)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(
        json.dumps({"rows": len(df), "folds": N_FOLDS, "threshold": MAIN_THRESHOLD, "by_corpus": report}, indent=2)
        + "\n"
    )
    if args.floors:
        problems = check_placement_floors(args.floors, report)
        for p in problems:
            print(f"FLOOR: {p}")
        if problems:
            raise SystemExit(1)
        print(f"all placement floors in {args.floors} hold")
    if not args.eval_only:
        model = fit(df)
        model.save_model(str(args.model_out))
        print(f"wrote {args.model_out} ({args.model_out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
