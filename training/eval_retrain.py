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
- other designs (ordinal with neutral between, the experts' disagreements and confidence, learnt
  factor shapes, prior strength by inner cross-validation; ``training.retrain_designs``), in the same
  protocol, under ``other_designs``;
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
    bootstrap_interval,
    brier,
    evaluate_on_labels,
    factor_design,
    featurise_labels,
    fit_weights,
    folds_by_domain,
    log_loss,
    out_of_fold,
    predict,
    prior_of,
    roc_auc,
    scoring_rule_gains,
)

SIZES = (30, 60, 120)
DRAWS = 10


def panel_files(root: Path, bare: Path | None = None, votes: dict[str, tuple[str, str, float]] | None = None
                ) -> tuple[list[LabelFile], list[Problem]]:
    """The four exports as label files carrying the panel's agreed labels (id FILE:N = N-th data row);
    with ``bare`` (a temporary folder), the files without their authority and traffic columns. With
    ``votes`` (filled: ``FILE:LINE`` -> (label_a, label_b, mean confidence / 3)), the rows the experts
    disagree on are labelled too, with no worth value (``training.retrain_designs`` reads their votes)."""
    from features.source_kind import referring_site_of_url

    from .eval_panel import drop_metrics

    panel = list(csv.DictReader((root / "panel-labels.tsv").open(encoding="utf-8"), delimiter="\t"))
    agreed = {r["id"]: r["label_a"] for r in panel if r["label_a"] == r["label_b"] or votes is not None}
    by_id = {r["id"]: r for r in panel}
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
                v = by_id[f"{name}:{n}"]
                if v["label_b"] != value:
                    w = r = None
                if votes is not None:
                    votes[f"{name}:{line}"] = (value, v["label_b"],
                                               (int(v["confidence_a"]) + int(v["confidence_b"])) / 6)
                src = str(rec["source_url"])
                lf.labelled[len(lf.records) - 1] = LabelledRow(
                    file=name, line=line, value=value, worth=w, risk=r, record=rec,
                    hash=label_hash(src, str(rec["target_url"])), domain=referring_site_of_url(src))
        files.append(lf)
    drop_conflicts(files, problems)
    return files, problems


def _pooled(y: np.ndarray, new: np.ndarray, old: np.ndarray, dom: np.ndarray, n_boot: int, seed: int = 0) -> dict:
    """Pooled held-out comparison: ROC-AUC (ranking) and the two proper scoring rules (log-loss, Brier:
    the probability itself), each gain with its 95% interval resampling referring domains. Gains are
    signed so that above 0 means the retrained model is better (lower loss, higher ROC-AUC)."""
    lo, hi = bootstrap_diff(y, new, old, dom, n_boot, seed)
    a, b = roc_auc(y, new), roc_auc(y, old)
    out = {"roc_auc_retrained": round(a, 4), "roc_auc_shipped": round(b, 4), "gain": round(a - b, 4),
           "gain_ci95": [round(lo, 4), round(hi, 4)]}
    rules = scoring_rule_gains(y, new, old, dom, n_boot, seed)
    out.update({k.replace("_new", "_retrained").replace("_current", "_shipped"): v for k, v in rules.items()})
    return out


def site_thresholds(x: np.ndarray, y: np.ndarray, train: np.ndarray, domains: np.ndarray, prior, shipped,
                    strength: float = PRIOR_STRENGTH) -> tuple[float, float, str]:
    """(strong, weak, from) as ``linkq train`` picks them on the ``train`` rows: quantiles of the
    out-of-fold scores of the labels, the shipped thresholds when a class has too few labels."""
    from .retrain import MIN_TO_SAY, thresholds_from_labels

    yt = y[train]
    if (yt == 1).sum() < MIN_TO_SAY or (yt == 0).sum() < MIN_TO_SAY or len(set(domains[train].tolist())) < 2:
        return shipped.strong_threshold, shipped.weak_threshold, "shipped"
    oof = out_of_fold(x[train], yt, folds_by_domain(yt, domains[train]), prior, strength)
    st, wt = thresholds_from_labels(oof, yt.astype(int))
    return st, wt, "labels"


def verdict_gains(y: np.ndarray, new: np.ndarray, new_weak: np.ndarray, new_strong: np.ndarray, old: np.ndarray,
                  old_weak: float, old_strong: float, dom: np.ndarray, n_boot: int, seed: int = 0) -> dict:
    """The verdicts' thresholds on held-out labels: share of strong labels called weak (lower is better)
    and of weak+risky labels called weak (higher is better), retrained vs shipped, with the gain's 95%
    interval resampling referring domains (gain above 0: the retrained verdicts are better)."""
    pos, neg = y == 1, y == 0
    nw, ow = new < new_weak, old < old_weak
    ns, os_ = new >= new_strong, old >= old_strong

    def share(called: np.ndarray, cls: np.ndarray, i: np.ndarray) -> float:
        m = cls[i]
        return float(called[i][m].mean()) if m.any() else float("nan")

    out: dict = {}
    for name, cls, a, b, sign in (("strong_called_weak", pos, nw, ow, -1), ("weak_or_risky_called_weak", neg, nw, ow, 1),
                                  ("strong_called_strong", pos, ns, os_, 1),
                                  ("weak_or_risky_called_strong", neg, ns, os_, -1)):
        every = np.arange(len(y))
        ra, rb = share(a, cls, every), share(b, cls, every)
        lo, hi = bootstrap_interval(lambda i, a=a, b=b, cls=cls, sign=sign: sign * (share(a, cls, i) - share(b, cls, i)),
                                    dom, n_boot, seed)
        out[name] = {"retrained": round(ra, 3), "shipped": round(rb, 3), "gain": round(sign * (ra - rb), 3),
                     "gain_ci95": [round(lo, 3), round(hi, 3)]}
    return out


def _summary(draws: list[dict], keys: tuple[str, ...]) -> dict:
    """Per figure over the draws: mean gain, range, and how many draws' intervals are above / below 0."""
    out = {}
    for k in keys:
        gains = np.array([d[k]["gain"] if isinstance(d[k], dict) else d[k] for d in draws], dtype=float)
        cis = [d[k]["gain_ci95"] if isinstance(d[k], dict) else d[f"{k}_ci95"] for d in draws]
        out[k] = {"gain_mean": round(float(np.nanmean(gains)), 4), "gain_min": round(float(np.nanmin(gains)), 4),
                  "gain_max": round(float(np.nanmax(gains)), 4), "draws_gain_above_0": int((gains > 0).sum()),
                  "draws_interval_above_0": int(sum(c[0] > 0 for c in cis)),
                  "draws_interval_below_0": int(sum(c[1] < 0 for c in cis))}
    return out


RULE_KEYS = ("gain", "log_loss_gain", "brier_gain")
VERDICT_KEYS = ("strong_called_weak", "weak_or_risky_called_weak")


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
    dom = table.domains
    out: dict = {"model": shipped.model_id, "prior_strength": PRIOR_STRENGTH, "agreed_rows_used": len(table),
                 "strong": int((y == 1).sum()), "weak_or_risky": int((y == 0).sum()),
                 "neutral": int((~has).sum()), "unusable": [str(p) for p in problems],
                 "per_site": {s: {"strong": int(((y == 1) & (site == s)).sum()),
                                  "weak_or_risky": int(((y == 0) & (site == s)).sum())} for s in sites},
                 "shipped_on_all_labels": {"log_loss": round(log_loss(y[has], ship_scores[has]), 4),
                                           "brier": round(brier(y[has], ship_scores[has]), 4),
                                           "mean_score_strong": round(float(ship_scores[has & (y == 1)].mean()), 3),
                                           "mean_score_weak_or_risky": round(float(ship_scores[has & (y == 0)].mean()), 3)}}

    def loso(strength: float, train_mask: np.ndarray | None = None, balanced: bool = True
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
        """Held-out scores and verdict thresholds of each site, from the other sites' (masked) labels."""
        pred, weak_t, strong_t = (np.full(len(y), np.nan) for _ in range(3))
        picked: dict = {}
        for s in sites:
            tr = has & (site != s) & (train_mask if train_mask is not None else True)
            fm = fit_weights(x[tr], y[tr], prior, strength, balanced=balanced)
            pred[site == s] = predict(fm, x[site == s])
            st, wt, src = site_thresholds(x, y, tr, dom, prior, shipped, strength)
            strong_t[site == s], weak_t[site == s] = st, wt
            picked[s] = {"strong": round(float(st), 3), "weak": round(float(wt), 3), "from": src}
        return pred, weak_t, strong_t, picked

    ev = has

    def compare(pred: np.ndarray, weak_t: np.ndarray, strong_t: np.ndarray) -> dict:
        res = _pooled(y[ev], pred[ev], ship_scores[ev], dom[ev], n_boot, seed)
        res["verdicts"] = verdict_gains(y[ev], pred[ev], weak_t[ev], strong_t[ev], ship_scores[ev],
                                        shipped.weak_threshold, shipped.strong_threshold, dom[ev], n_boot, seed)
        return res

    pooled, weak_t, strong_t, picked = loso(PRIOR_STRENGTH)
    out["leave_one_site_out"] = compare(pooled, weak_t, strong_t)
    out["leave_one_site_out"]["thresholds_per_held_out_site"] = picked
    out["leave_one_site_out"]["per_site_roc_auc"] = {
        s: {"retrained": round(roc_auc(y[ev & (site == s)], pooled[ev & (site == s)]), 3),
            "shipped": round(roc_auc(y[ev & (site == s)], ship_scores[ev & (site == s)]), 3)} for s in sites}
    out["prior_strength_sensitivity"] = {
        str(lam): _pooled(y[ev], loso(lam)[0][ev], ship_scores[ev], dom[ev], n_boot, seed)
        for lam in (0.1, 1.0, 10.0, 100.0)}
    out["unweighted_classes"] = _pooled(y[ev], loso(PRIOR_STRENGTH, balanced=False)[0][ev], ship_scores[ev],
                                        dom[ev], n_boot, seed)
    rng = np.random.default_rng(seed)
    few: dict = {}
    for m in SIZES:
        draws = []
        for _ in range(DRAWS):
            mask = np.zeros(len(y), dtype=bool)
            n_worth = []
            pred, weak_t, strong_t = (np.full(len(y), np.nan) for _ in range(3))
            sources = []
            for s in sites:
                pool = np.flatnonzero(site != s)
                mask[:] = False
                mask[rng.choice(pool, size=min(m, len(pool)), replace=False)] = True
                tr = mask & has
                n_worth.append(int(tr.sum()))
                fm = fit_weights(x[tr], y[tr], prior, PRIOR_STRENGTH)
                pred[site == s] = predict(fm, x[site == s])
                st, wt, src = site_thresholds(x, y, tr, dom, prior, shipped)
                strong_t[site == s], weak_t[site == s] = st, wt
                sources.append(src)
            d = compare(pred, weak_t, strong_t)
            d["worth_labels_per_fit"] = n_worth
            d["thresholds_from"] = sources
            draws.append(d)
        summary = _summary(draws, RULE_KEYS)
        summary.update(_summary([d["verdicts"] for d in draws], VERDICT_KEYS))
        few[str(m)] = {**summary,
                       "roc_auc_retrained_mean": round(float(np.mean([d["roc_auc_retrained"] for d in draws])), 4),
                       "worth_labels_mean": round(float(np.mean([np.mean(d["worth_labels_per_fit"])
                                                                  for d in draws])), 1),
                       "fits_with_thresholds_from_labels": int(sum(s == "labels" for d in draws
                                                                   for s in d["thresholds_from"])),
                       "draws": draws}
    out["few_labels"] = few
    cv = evaluate_on_labels(table, shipped, shipped, prior, PRIOR_STRENGTH, n_boot, seed)["evaluation"]
    out["linkq_train_cross_validation_all_four"] = cv
    from .retrain_designs import run as run_designs  # it reads the panel through panel_files above

    out["other_designs"] = run_designs(shared, shipped, n_boot, seed, bare, SIZES, DRAWS)
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
