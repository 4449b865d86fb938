"""Train and evaluate the placement model (is a link in the editorial main content?).

Data: gold link labels of ``../shared/corpora`` joined to the placement evidence of
``features.page`` (``training.placement_data``); ``content`` = 1, ``boilerplate``/``comments``
= 0, ``ambiguous``/``notext``/``unlabelled`` dropped. Scores are out-of-fold with folds by
site; a Platt calibration is fitted on them, and ONE decision threshold is chosen as the best
mean per-corpus F1 (each corpus weighing the same). The report gives, per corpus (all links and
external links), the model at that threshold and at the threshold chosen leave-one-corpus-out
(without that corpus), against each extractor's "the anchor text occurs in its main text"
(trafilatura, and readability-lxml / resiliparse / jusText / boilerpipe when
``training.extractor_baselines`` has been run); the best fair baseline leaves out the extractor
that made a corpus's gold. The shipped model is then fitted on all sites and written to
``features/resources`` with its calibration and threshold.

Run: ``python -m training.train_placement --shared ../shared`` (writes the model,
``placement_calibration.json``, ``data/placement_eval.json`` and the out-of-fold predictions,
calibrated, that the link-model dataset uses to avoid leakage). ``--seed-spread 8 9 10 11``
refits the out-of-fold evaluation with other LightGBM seeds and prints each slice's spread: on
the small corpora one seed's F1 is not the model's, and a claim of "at or above the baseline"
should hold across seeds.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from features.placement import CALIBRATION_FILE, MODEL_FEATURES

from .extractor_baselines import EXTRACTORS
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
THRESHOLDS = np.round(np.arange(0.05, 0.951, 0.01), 2)  # candidate decision thresholds (calibrated scale)
# The extractor that made a corpus's gold is left out of its "best baseline".
GOLD_MAKER = {"readability-testpages": "readability", "trafilatura-eval": "trafilatura"}


def labelled(df: pd.DataFrame) -> pd.DataFrame:
    out = df[df["label"].isin(list(PLACEMENT_LABELS))].copy()
    out["y"] = out["label"].map(PLACEMENT_LABELS).astype(int)
    return out.reset_index(drop=True)


def corpus_weights(df: pd.DataFrame) -> np.ndarray:
    """Each corpus weighs the same in total, so dragnet's 170k links do not drown the rest."""
    counts = df["corpus"].value_counts()
    return df["corpus"].map(lambda c: len(df) / (len(counts) * counts[c])).to_numpy(dtype=float)


def fit(df: pd.DataFrame, features: tuple[str, ...] = MODEL_FEATURES, params: dict | None = None) -> lgb.Booster:
    ds = lgb.Dataset(
        df[list(features)].to_numpy(np.float64), label=df["y"].to_numpy(), weight=corpus_weights(df),
        feature_name=list(features), free_raw_data=True,
    )
    return lgb.train(params or PARAMS, ds, num_boost_round=ROUNDS)


def out_of_fold(
    df: pd.DataFrame, n_folds: int = N_FOLDS, features: tuple[str, ...] = MODEL_FEATURES, params: dict | None = None
) -> np.ndarray:
    """Out-of-fold raw main-content score for every labelled row (folds by site)."""
    folds = site_folds(df["site"], n_folds)
    oof = np.full(len(df), np.nan)
    for k in range(n_folds):
        test = folds == k
        model = fit(df[~test], features, params)
        oof[test] = model.predict(df.loc[test, list(features)].to_numpy(np.float64))
    return oof


def fit_calibration(y: np.ndarray, raw: np.ndarray, weight: np.ndarray) -> tuple[float, float]:
    """Platt scaling on the logit of out-of-fold scores: (slope, intercept)."""
    from sklearn.linear_model import LogisticRegression

    r = np.clip(raw, 1e-6, 1 - 1e-6)
    x = np.log(r / (1 - r)).reshape(-1, 1)
    lr = LogisticRegression(C=1e6, max_iter=1000).fit(x, y, sample_weight=weight)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def is_external(df: pd.DataFrame) -> np.ndarray:
    return (df["scope"] == "external").to_numpy()


def f1_by_corpus(df: pd.DataFrame, prob: np.ndarray) -> dict[str, np.ndarray]:
    """F1 of every candidate threshold, per corpus (all links)."""
    out = {}
    for corpus, part in df.groupby("corpus"):
        idx = part.index.to_numpy()
        y = part["y"].to_numpy().astype(bool)
        p = prob[idx]
        out[corpus] = np.array([prf(y, p >= t)["f1"] for t in THRESHOLDS])
    return out


def choose_threshold(f1s: dict[str, np.ndarray], exclude: str | None = None) -> float:
    """The threshold with the best mean per-corpus F1 (corpora weigh the same), ``exclude`` left out."""
    rows = [v for k, v in f1s.items() if k != exclude]
    return float(THRESHOLDS[int(np.argmax(np.nanmean(np.vstack(rows), axis=0)))])


def loco_thresholds(f1s: dict[str, np.ndarray]) -> dict[str, float]:
    """For each corpus, the threshold chosen on all the other corpora."""
    return {c: choose_threshold(f1s, exclude=c) for c in f1s}


def evaluate(df: pd.DataFrame, prob: np.ndarray, threshold: float, loco: dict[str, float] | None = None) -> dict:
    """Per corpus, all and external links: the model at ``threshold`` (and at the corpus's
    leave-one-corpus-out threshold) against every extractor's "anchor in its main text"."""
    report: dict[str, dict] = {}
    base_cols = {"trafilatura": "traf_has_anchor", **{e: f"base_{e}" for e in EXTRACTORS}}
    for corpus, part in df.groupby("corpus"):
        idx = part.index.to_numpy()
        for scope, mask in (("all", np.ones(len(idx), bool)), ("external", is_external(part))):
            if mask.sum() == 0:
                continue
            y = part["y"].to_numpy()[mask]
            p = prob[idx][mask]
            model = binary_report(y, p, threshold=threshold)
            entry: dict = {
                "n": int(mask.sum()),
                "content": int(y.sum()),
                "model": {k: model[k] for k in ("precision", "recall", "f1", "pr_auc", "roc_auc")},
                "baselines": {},
            }
            if loco is not None:
                entry["model"]["loco_threshold"] = loco[corpus]
                entry["model"]["loco_f1"] = prf(y, p >= loco[corpus])["f1"]
            for name, col in base_cols.items():
                if col not in part.columns:
                    continue
                v = part[col].to_numpy()[mask]
                known = np.isfinite(v)
                b = prf(y[known], v[known] > 0.5)
                b["pr_auc"] = binary_report(y[known], v[known].astype(float))["pr_auc"]
                entry["baselines"][name] = b
            fair = {k: v for k, v in entry["baselines"].items() if k != GOLD_MAKER.get(corpus)}
            if fair:
                best = max(fair, key=lambda k: fair[k]["f1"] if fair[k]["f1"] == fair[k]["f1"] else -1)
                entry["best_baseline"] = {"name": best, "f1": fair[best]["f1"]}
            report[f"{corpus}/{scope}"] = entry
    return report


def calibrated_report(df: pd.DataFrame, raw: np.ndarray) -> tuple[np.ndarray, float, dict[str, float], dict, tuple[float, float]]:
    """Platt-calibrate out-of-fold ``raw`` scores, choose the one threshold (and the leave-one-corpus-out
    ones) and evaluate: (calibrated scores, threshold, LOCO thresholds, report, (slope, intercept))."""
    slope, intercept = fit_calibration(df["y"].to_numpy(), raw, corpus_weights(df))
    r = np.clip(raw, 1e-6, 1 - 1e-6)
    oof = 1.0 / (1.0 + np.exp(-(slope * np.log(r / (1 - r)) + intercept)))
    f1s = f1_by_corpus(df, oof)
    threshold = choose_threshold(f1s)
    loco = loco_thresholds(f1s)
    return oof, threshold, loco, evaluate(df, oof, threshold, loco), (slope, intercept)


def seed_spread(df: pd.DataFrame, seeds: list[int], first: dict) -> dict:
    """The same out-of-fold evaluation refitted with other LightGBM seeds (bagging and feature
    sampling draw differently): per slice, F1 at the LOCO threshold and PR-AUC for each seed,
    ``first`` (the shipped seed's report) included, and how many seeds stay at or above the best
    fair extractor. Small corpora move by a few hundredths between seeds, which is what a
    one-seed "at or above the baseline" claim must be read against."""
    reports = {PARAMS["seed"]: first}
    for seed in seeds:
        reports[seed] = calibrated_report(df, out_of_fold(df, params={**PARAMS, "seed": seed}))[3]
    out = {}
    for key, entry in first.items():
        loco_f1 = [reports[s][key]["model"]["loco_f1"] for s in reports]
        pr = [reports[s][key]["model"]["pr_auc"] for s in reports]
        best = entry.get("best_baseline", {}).get("f1", float("nan"))
        out[key] = {"seeds": list(reports), "loco_f1": loco_f1, "pr_auc": pr, "best_baseline_f1": best,
                    "seeds_at_or_above": int(sum(f >= best for f in loco_f1))}
    return out


def spread_table(spread: dict) -> str:
    lines = ["| corpus / links | F1 (LOCO thr) min / mean / max | PR-AUC min / max | best fair baseline | seeds at or above |",
             "|---|---|---|---|---|"]
    for key, r in spread.items():
        f, p = r["loco_f1"], r["pr_auc"]
        lines.append(f"| {key} | {min(f):.3f} / {np.mean(f):.3f} / {max(f):.3f} | {min(p):.3f} / {max(p):.3f} | "
                     f"{r['best_baseline_f1']:.3f} | {r['seeds_at_or_above']} of {len(f)} |")
    return "\n".join(lines)


def markdown_table(report: dict) -> str:
    names = ["trafilatura", *EXTRACTORS]
    lines = [
        "| corpus / links | n | content | P | R | F1 | F1 (LOCO thr) | PR-AUC | "
        + " | ".join(f"{n} F1" for n in names) + " | best fair baseline |",
        "|---|" + "---|" * (8 + len(names)),
    ]
    for key, r in report.items():
        m = r["model"]
        base = " | ".join(
            f"{r['baselines'][n]['f1']:.3f}" if n in r["baselines"] else "" for n in names
        )
        bb = r.get("best_baseline", {})
        lines.append(
            f"| {key} | {r['n']} | {r['content']} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | "
            f"{m.get('loco_f1', float('nan')):.3f} | {m['pr_auc']:.3f} | {base} | "
            f"{bb.get('name', '')} {bb.get('f1', float('nan')):.3f} |"
        )
    return "\n".join(lines)


def with_baselines(df: pd.DataFrame, build: Path) -> pd.DataFrame:
    """Join the extractor verdicts of ``training.extractor_baselines`` when they were built."""
    path = build / "extractor_baselines.parquet"
    if not path.exists():
        return df
    base = pd.read_parquet(path, columns=["corpus", "page_id", "link_idx", *[f"base_{e}" for e in EXTRACTORS]])
    base = base.drop_duplicates(["corpus", "page_id", "link_idx"])
    return df.merge(base, on=["corpus", "page_id", "link_idx"], how="left")


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
    parser.add_argument("--seed-spread", type=int, nargs="+", metavar="SEED",
                        help="also refit the out-of-fold evaluation with these LightGBM seeds and print each "
                             "slice's spread (the floors and the shipped model keep PARAMS['seed'])")
    args = parser.parse_args(argv)
    t0 = time.time()
    table = build_placement_table(args.shared, args.build / "placement_links.parquet")
    df = with_baselines(labelled(table), args.build)
    t1 = time.time()
    oof, threshold, loco, report, (slope, intercept) = calibrated_report(df, out_of_fold(df))
    print(markdown_table(report))
    print(f"threshold {threshold} (leave-one-corpus-out choices: {loco}); calibration slope {slope:.4f} "
          f"intercept {intercept:.4f}")
    print(f"rows {len(df)} (table {t1 - t0:.0f} s, 5-fold CV {time.time() - t1:.0f} s)")
    oof_frame = df[["corpus", "page_id", "link_idx"]].assign(placement_oof=oof.astype(np.float32))
    oof_frame.to_parquet(args.build / "placement_oof.parquet", index=False)
    result = {"rows": len(df), "folds": N_FOLDS, "threshold": threshold, "loco_thresholds": loco,
              "calibration": {"slope": slope, "intercept": intercept}, "by_corpus": report}
    if args.seed_spread:
        result["seed_spread"] = seed_spread(df, args.seed_spread, report)
        print(spread_table(result["seed_spread"]))
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(result, indent=2) + "\n")
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
        cal = {"slope": round(slope, 6), "intercept": round(intercept, 6), "threshold": threshold}
        (args.model_out.parent / CALIBRATION_FILE).write_text(json.dumps(cal, indent=1) + "\n")
        print(f"wrote {args.model_out} ({args.model_out.stat().st_size / 1e6:.2f} MB) and {CALIBRATION_FILE}")


if __name__ == "__main__":
    main()
