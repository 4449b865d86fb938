"""Does retraining on labels help? Measured on the real-export panel (reads ``../shared`` only).

``../shared/real-exports``: four real exports (four sites) and two experts' labels of 315 of their rows.
On the agreed rows (strong = 1, weak + risky = 0, neutral unused for the weights, as ``linkq train``):

- leave one site out: refit the factor weights (``training.retrain.fit_weights``, from the shipped
  priors) on the other three sites' labels, score the held-out site; pool the held-out scores over the
  four sites (the panel is too thin per site) and compare the pooled ROC-AUC with the shipped model's on
  the same rows, with a 95% bootstrap interval of the difference resampling referring domains;
- few labels: 30, 60, 120 labelled rows drawn at random (neutral included, as a user labelling rows
  would get them) from the other three sites, 10 draws each, the same pooled comparison per draw;
- what ``linkq train`` itself says with all four files as labels (cross-validation by referring domain);
- the sensitivity to the prior strength (fixed at ``PRIOR_STRENGTH`` before this was run);
- all of it again on the files without their authority and traffic columns (``without_metric_columns``:
  what a user with a metric-less export, e.g. Search Console, would get).

Every row is featurised once through the scoring path (``ModelArtifact.worth``), each file as one profile.

    python -m training.eval_retrain --shared ../shared [--json data/build/retrain_eval.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from features.artifact import default_models_dir, load_model, resolve_model_dir

from .labels import LABEL_VALUES, LabelFile, LabelledRow, Problem, _rows, drop_conflicts, label_hash
from .retrain import (
    PRIOR_STRENGTH,
    bootstrap_diff,
    evaluate_on_labels,
    factor_design,
    featurise_labels,
    fit_weights,
    folds_by_domain,
    out_of_fold,
    predict,
    prior_of,
    roc_auc,
)

SIZES = (30, 60, 120)
DRAWS = 10


def panel_files(root: Path, bare: Path | None = None) -> tuple[list[LabelFile], list[Problem]]:
    """The four exports as label files carrying the panel's agreed labels (id FILE:N = N-th data row);
    with ``bare`` (a temporary folder), the files without their authority and traffic columns."""
    from features.urls import registered_domain

    from .eval_panel import drop_metrics

    panel = list(csv.DictReader((root / "panel-labels.tsv").open(encoding="utf-8"), delimiter="\t"))
    agreed = {r["id"]: r["label_a"] for r in panel if r["label_a"] == r["label_b"]}
    files: list[LabelFile] = []
    problems: list[Problem] = []
    for name in sorted({i.rsplit(":", 1)[0] for i in agreed}):
        path = root / name
        if bare is not None:
            path = bare / name.replace("/", "_")
            drop_metrics(root / name, path)
        fmt, _, rows = _rows(path)
        lf = LabelFile(path=path, kind="panel", format=fmt)
        for n, (line, _, rec, error) in enumerate(rows, start=1):
            value = agreed.get(f"{name}:{n}")
            if rec is None or not rec.get("source_url") or not rec.get("target_url"):
                if value:
                    problems.append(Problem(name, line, f"panel row {n} unreadable: {error}"))
                continue
            lf.records.append(rec)
            lf.lines.append(line)
            if value:
                w, r = LABEL_VALUES[value]
                src = str(rec["source_url"])
                lf.labelled[len(lf.records) - 1] = LabelledRow(
                    file=name, line=line, value=value, worth=w, risk=r, record=rec,
                    hash=label_hash(src, str(rec["target_url"])), domain=registered_domain(src) or src)
        files.append(lf)
    drop_conflicts(files, problems)
    return files, problems


def _pooled(y: np.ndarray, new: np.ndarray, old: np.ndarray, dom: np.ndarray, n_boot: int, seed: int = 0) -> dict:
    lo, hi = bootstrap_diff(y, new, old, dom, n_boot, seed)
    a, b = roc_auc(y, new), roc_auc(y, old)
    return {"roc_auc_retrained": round(a, 4), "roc_auc_shipped": round(b, 4), "gain": round(a - b, 4),
            "gain_ci95": [round(lo, 4), round(hi, 4)]}


def verdict_shares(x: np.ndarray, y: np.ndarray, has: np.ndarray, site: np.ndarray, sites: list[str],
                   domains: np.ndarray, prior, pooled: np.ndarray, ship_scores: np.ndarray, shipped) -> dict:
    """Share of strong labels called weak and of weak+risky labels called weak on the held-out sites:
    the retrained model with thresholds picked (as ``linkq train`` does) on out-of-fold scores of the
    three training sites, the shipped model with its own thresholds."""
    from .retrain import thresholds_from_labels

    weak_t = np.full(len(y), np.nan)
    strong_t = np.full(len(y), np.nan)
    picked = {}
    for s in sites:
        tr = has & (site != s)
        folds = folds_by_domain(y[tr], domains[tr])
        oof = out_of_fold(x[tr], y[tr], folds, prior, PRIOR_STRENGTH)
        st, wt = thresholds_from_labels(oof, y[tr].astype(int))
        weak_t[site == s], strong_t[site == s] = wt, st
        picked[s] = {"strong": round(float(st), 3), "weak": round(float(wt), 3)}

    def shares(score: np.ndarray, weak: np.ndarray, strong: np.ndarray) -> dict:
        pos, neg = has & (y == 1), has & (y == 0)
        return {"strong_called_weak": round(float((score[pos] < weak[pos]).mean()), 3),
                "weak_or_risky_called_weak": round(float((score[neg] < weak[neg]).mean()), 3),
                "strong_called_strong": round(float((score[pos] >= strong[pos]).mean()), 3),
                "weak_or_risky_called_strong": round(float((score[neg] >= strong[neg]).mean()), 3)}

    n = len(y)
    return {"retrained": shares(pooled, weak_t, strong_t), "retrained_thresholds_per_held_out_site": picked,
            "shipped": shares(ship_scores, np.full(n, shipped.weak_threshold), np.full(n, shipped.strong_threshold))}


def run(shared: Path, model_id: str, n_boot: int, seed: int = 0, bare: Path | None = None) -> dict:
    from features.pipeline import load_context

    root = shared / "real-exports"
    shipped = load_model(resolve_model_dir(default_models_dir(), model_id))
    prior = prior_of(shipped)
    files, problems = panel_files(root, bare)
    table = featurise_labels(files, load_context(shipped.embedding), None, problems)
    x = factor_design(shipped, table)
    ship_scores, _, _ = shipped.worth(table.frame, table.with_page)
    assert np.allclose(predict(prior, x), ship_scores), "design and ModelArtifact.worth disagree"
    site = np.array([w.rsplit(":", 1)[0] for w in table.where])
    sites = sorted(set(site.tolist()))
    has = ~np.isnan(table.worth)
    y = table.worth
    out: dict = {"model": shipped.model_id, "prior_strength": PRIOR_STRENGTH, "agreed_rows_used": len(table),
                 "strong": int((y == 1).sum()), "weak_or_risky": int((y == 0).sum()),
                 "neutral": int((~has).sum()), "unusable": [str(p) for p in problems],
                 "per_site": {s: {"strong": int(((y == 1) & (site == s)).sum()),
                                  "weak_or_risky": int(((y == 0) & (site == s)).sum())} for s in sites}}

    def loso(strength: float, train_mask: np.ndarray | None = None) -> np.ndarray:
        pred = np.full(len(y), np.nan)
        for s in sites:
            tr = has & (site != s) & (train_mask if train_mask is not None else True)
            fm = fit_weights(x[tr], y[tr], prior, strength)
            pred[site == s] = predict(fm, x[site == s])
        return pred

    ev = has
    pooled = loso(PRIOR_STRENGTH)
    out["verdicts_leave_one_site_out"] = verdict_shares(x, y, has, site, sites, table.domains, prior, pooled,
                                                        ship_scores, shipped)
    out["leave_one_site_out"] = _pooled(y[ev], pooled[ev], ship_scores[ev], table.domains[ev], n_boot, seed)
    out["leave_one_site_out"]["per_site_roc_auc"] = {
        s: {"retrained": round(roc_auc(y[ev & (site == s)], pooled[ev & (site == s)]), 3),
            "shipped": round(roc_auc(y[ev & (site == s)], ship_scores[ev & (site == s)]), 3)} for s in sites}
    out["prior_strength_sensitivity"] = {
        str(lam): _pooled(y[ev], (p := loso(lam))[ev], ship_scores[ev], table.domains[ev], n_boot, seed)
        for lam in (0.1, 1.0, 10.0, 100.0)}
    del p
    rng = np.random.default_rng(seed)
    few: dict = {}
    for m in SIZES:
        draws = []
        for _ in range(DRAWS):
            pred = np.full(len(y), np.nan)
            n_worth = []
            for s in sites:
                pool = np.flatnonzero(site != s)
                pick = rng.choice(pool, size=min(m, len(pool)), replace=False)
                mask = np.zeros(len(y), dtype=bool)
                mask[pick] = True
                tr = mask & has
                n_worth.append(int(tr.sum()))
                fm = fit_weights(x[tr], y[tr], prior, PRIOR_STRENGTH)
                pred[site == s] = predict(fm, x[site == s])
            d = _pooled(y[ev], pred[ev], ship_scores[ev], table.domains[ev], n_boot, seed)
            d["worth_labels_per_fit"] = n_worth
            draws.append(d)
        gains = np.array([d["gain"] for d in draws])
        few[str(m)] = {"gain_mean": round(float(gains.mean()), 4), "gain_min": round(float(gains.min()), 4),
                       "gain_max": round(float(gains.max()), 4), "draws_gain_above_0": int((gains > 0).sum()),
                       "draws_interval_above_0": int(sum(d["gain_ci95"][0] > 0 for d in draws)),
                       "draws_interval_below_0": int(sum(d["gain_ci95"][1] < 0 for d in draws)),
                       "roc_auc_retrained_mean": round(float(np.mean([d["roc_auc_retrained"] for d in draws])), 4),
                       "worth_labels_mean": round(float(np.mean([np.mean(d["worth_labels_per_fit"])
                                                                  for d in draws])), 1),
                       "draws": draws}
    out["few_labels"] = few
    cv = evaluate_on_labels(table, shipped, shipped, prior, PRIOR_STRENGTH, n_boot, seed)["evaluation"]
    out["linkq_train_cross_validation_all_four"] = cv
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=Path("../shared"))
    ap.add_argument("--model", default="linkq-default-v2", help="the shipped model to retrain from and compare with")
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    if not (args.shared / "real-exports" / "panel-labels.tsv").is_file():
        sys.exit(f"{args.shared}/real-exports/panel-labels.tsv not found: this evaluation needs ../shared")
    res = run(args.shared, args.model, args.boot)
    with tempfile.TemporaryDirectory(prefix="linkq-retrain-") as tmp:
        res["without_metric_columns"] = run(args.shared, args.model, args.boot, bare=Path(tmp))
    slim = json.loads(json.dumps(res))
    for part in (slim, slim["without_metric_columns"]):
        for v in part["few_labels"].values():
            v.pop("draws")
    print(json.dumps(slim, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
