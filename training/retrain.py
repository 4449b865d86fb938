"""Retraining on a user's labels: refit the worth score's factor weights, starting from the shipped priors.

Design (recorded in each retrained model's ``metadata.json`` under ``retrain``):

- What is fitted: the weights of the factors of ``features.factors`` (and the bias, and the weight of
  the placement measured on the page), by logistic regression of the user's worth labels (strong = 1,
  weak / risky = 0; see ``training.labels``) on the factor values. The factor values come from
  ``ModelArtifact.worth``, the one scoring step: training and scoring read the same numbers. A factor
  without evidence is NaN and contributes 0, as when scoring.
- Why it cannot break the model: every weight is kept >= 0 (each factor's direction is fixed by
  construction, so the score stays monotone in its evidence: more authority never lowers it), and an
  L2 penalty ``lambda / 2 * sum (w - prior)^2`` pulls the weights towards the shipped priors, so a few
  dozen labels move them a little and thousands move them a lot. Classes are weighted equally.
- What is kept: the link model (LightGBM, ``model.txt``) as shipped, with its calibration; it only
  gives the placement factor when a page was read. Nothing needs ``../shared`` or ``data/build``.
- Each labels file is featurised as one batch (its rows are one profile, as when the file is scored).

Honest evaluation (:func:`evaluate_on_labels`): cross-validation grouped by referring domain; in each
fold the new weights are fitted on the other folds and score the held-out fold; the current model
scores the same rows; only labels the current model did not train on count (``label_hashes``). The
gain is the ROC-AUC difference with a 95% bootstrap interval resampling referring domains: "better"
only when the interval is above 0, "worse" when below, else "no change". The held-out log-loss and
Brier score of both models (gain = current minus new, same intervals) are recorded and printed beside
it but do not decide: on the real-export panel neither gain was real (interval above 0) in any
measured setting, so they were not made part of the rule (figures in ``data/DATASHEET.md``). Other
ways to fit (neutral rows as a middle level, soft labels, learnt factor shapes) were measured in
``training.retrain_designs`` and gained no more: this binary refit is kept.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from features.artifact import ModelArtifact, load_model
from features.factors import FACTORS, FactorModel
from features.pipeline import STATUS_LINK_MISSING, STATUS_OK, FeatureContext, extract_features

from .labels import LabelFile, Problem

COLUMNS = (*FACTORS, "page_placement")  # the design's columns: placement without / with the page
PRIOR_STRENGTH = 10.0  # lambda of the L2 pull towards the prior weights (per squared log-odds unit)
BIAS_STRENGTH = 1.0  # the same for the bias (prior 0)
MIN_TO_SAY = 5  # below this many labels of a class (or referring domains), no verdict at all
WARN_PER_CLASS = 20  # below this many labels of a class: a warning that the interval is wide
WARN_DOMAINS = 10  # below this many referring domains of a class: the same warning
FOLDS = 5
N_BOOT = 1000


@dataclass
class LabelTable:
    """The labelled rows of all label files, featurised once: the frame (schema columns, scoring's
    input), whether the page was read, and the labels."""

    frame: pd.DataFrame
    with_page: np.ndarray
    worth: np.ndarray  # 1 / 0 / NaN (neutral or unknown)
    risk: np.ndarray  # 1 / 0 / NaN
    hashes: list[str]
    domains: np.ndarray
    where: list[str]  # file:line of each row
    flagged: np.ndarray  # a risk flag fires on the row (scoring's rules)

    def __len__(self) -> int:
        return len(self.hashes)


def featurise_labels(files: Sequence[LabelFile], ctx: FeatureContext, pages: object | None,
                     problems: list[Problem]) -> LabelTable:
    """Features of every labelled row; a row the scorer would not score (error, lost link) is named."""
    from serving.scoring import risk_flags_batch

    frames, with_page, worth, risk, hashes, domains, where = [], [], [], [], [], [], []
    for lf in files:
        if not lf.labelled:
            continue
        batch = extract_features(lf.records, ctx, pages)  # the whole file: one profile
        keep = []
        lost = batch.frame["metric_lost"].to_numpy(dtype=np.float64) >= 0.5
        for i, row in sorted(lf.labelled.items()):
            st = batch.status[i]
            if st.startswith("error"):
                problems.append(Problem(row.file, row.line, f"label {row.value!r} not used: {st}"))
            elif lost[i]:
                problems.append(Problem(row.file, row.line, f"label {row.value!r} not used: the tool lists the link "
                                                            "as lost (linkq does not score lost links)"))
            else:
                keep.append(i)
                with_page.append(st in (STATUS_OK, STATUS_LINK_MISSING))
                worth.append(np.nan if row.worth is None else row.worth)
                risk.append(np.nan if row.risk is None else row.risk)
                hashes.append(row.hash)
                domains.append(row.domain)
                where.append(f"{row.file}:{row.line}")
        frames.append(batch.frame.iloc[keep])
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    flagged = np.array([bool(f) for f in risk_flags_batch(frame)], dtype=bool) if len(frame) else np.zeros(0, bool)
    return LabelTable(frame=frame, with_page=np.array(with_page, dtype=bool), worth=np.array(worth, dtype=float),
                      risk=np.array(risk, dtype=float), hashes=hashes, domains=np.array(domains, dtype=object),
                      where=where, flagged=flagged)


def design(values: dict[str, np.ndarray], with_page: np.ndarray) -> np.ndarray:
    """The factor values as a matrix (rows x :data:`COLUMNS`), NaN -> 0: ``bias + X @ w`` is the
    log-odds ``features.factors.combine`` computes (placement read on the page has its own weight)."""
    n = len(with_page)
    x = np.zeros((n, len(COLUMNS)))
    for j, name in enumerate(FACTORS):
        v = np.nan_to_num(np.asarray(values[name], dtype=np.float64))
        if name == "placement":
            x[:, j] = np.where(with_page, 0.0, v)
            x[:, len(FACTORS)] = np.where(with_page, v, 0.0)
        else:
            x[:, j] = v
    return x


def factor_design(model: ModelArtifact, table: LabelTable) -> np.ndarray:
    """:func:`design` of the labelled rows through ``model.worth`` (its link model gives page placement)."""
    if len(table) == 0:
        return np.zeros((0, len(COLUMNS)))
    _, _, values = model.worth(table.frame, table.with_page)
    return design(values, table.with_page)


def as_vector(fm: FactorModel) -> np.ndarray:
    return np.array([fm.weights.get(n, 0.0) for n in FACTORS] + [fm.page_placement_weight])


def as_factor_model(w: np.ndarray, bias: float) -> FactorModel:
    return FactorModel(weights={n: float(w[j]) for j, n in enumerate(FACTORS)}, bias=float(bias),
                       page_placement_weight=float(w[len(FACTORS)]))


def prior_of(base: ModelArtifact) -> FactorModel:
    """The prior of a refit: the weights of the shipped model ``base`` descends from (the ``prior`` a
    retrained model recorded, else the base model's own factor weights): every refit starts from the
    shipped priors, never from another refit's weights (which would count its labels twice)."""
    recorded = base.metadata.get("retrain", {}).get("prior")
    return FactorModel.from_json(recorded) if recorded else base.factors


def fit_weights(x: np.ndarray, y: np.ndarray, prior: FactorModel, strength: float = PRIOR_STRENGTH,
                bias_strength: float = BIAS_STRENGTH, balanced: bool = True) -> FactorModel:
    """L-BFGS-B logistic regression with weights >= 0 and an L2 pull towards ``prior``; equal class weight
    (``balanced=False``: every label weighs 1, so the bias follows the labels' own strong share; measured
    in ``training.eval_retrain`` and not used: see ``data/DATASHEET.md``)."""
    from scipy.optimize import minimize

    y = np.asarray(y, dtype=float)
    w0 = as_vector(prior)
    b0 = prior.bias
    n = len(y)
    if n == 0:
        return prior
    pos = y.sum()
    s = np.where(y == 1, n / (2 * pos) if pos else 0.0, n / (2 * (n - pos)) if n - pos else 0.0)
    if not balanced:
        s = np.ones(n)
    k = x.shape[1]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:k], theta[k]
        z = b + x @ w
        nll = float(np.sum(s * (np.logaddexp(0.0, z) - y * z)))
        r = s * (1.0 / (1.0 + np.exp(-z)) - y)
        gw = x.T @ r + strength * (w - w0)
        gb = float(r.sum()) + bias_strength * (b - b0)
        pen = 0.5 * strength * float(np.sum((w - w0) ** 2)) + 0.5 * bias_strength * (b - b0) ** 2
        return nll + pen, np.append(gw, gb)

    start = np.append(np.maximum(w0, 0.0), b0)
    res = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * k + [(None, None)])
    return as_factor_model(res.x[:k], res.x[k])


def predict(fm: FactorModel, x: np.ndarray) -> np.ndarray:
    z = fm.bias + x @ as_vector(fm)
    return 1.0 / (1.0 + np.exp(-z))


def roc_auc(y: np.ndarray, s: np.ndarray) -> float:
    """ROC-AUC by ranks (ties count half); NaN with one class."""
    from scipy.stats import rankdata

    y = np.asarray(y)
    pos = int((y == 1).sum())
    neg = int((y == 0).sum())
    if pos == 0 or neg == 0:
        return float("nan")
    r = rankdata(s)
    return float((r[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Mean negative log-likelihood of the worth labels under the scores, in nats per label (scores
    clipped to [1e-6, 1 - 1e-6], so one confident error costs at most ~13.8). A proper scoring rule:
    it rewards a probability that predicts the labels, not only a ranking."""
    y = np.asarray(y, dtype=float)
    q = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q))) if len(y) else float("nan")


def brier(y: np.ndarray, p: np.ndarray) -> float:
    """Brier score: mean squared difference between the score and the 1/0 worth label (0 is perfect)."""
    y = np.asarray(y, dtype=float)
    return float(np.mean((np.asarray(p, dtype=float) - y) ** 2)) if len(y) else float("nan")


def bootstrap_interval(stat: Callable[[np.ndarray], float], domains: np.ndarray, n_boot: int = N_BOOT,
                       seed: int = 0) -> tuple[float, float]:
    """95% interval of ``stat(rows)`` when the referring domains are resampled with replacement (all the
    rows of a drawn domain come along); draws where ``stat`` is NaN (one class only) are left out."""
    uniq, inv = np.unique(np.asarray(domains).astype(str), return_inverse=True)
    members = [np.flatnonzero(inv == g) for g in range(len(uniq))]
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(n_boot):
        v = stat(np.concatenate([members[g] for g in rng.integers(0, len(uniq), len(uniq))]))
        if v == v:
            vals.append(v)
    if not vals:
        return float("nan"), float("nan")
    lo, hi = np.percentile(vals, [2.5, 97.5])
    return float(lo), float(hi)


def bootstrap_diff(y: np.ndarray, a: np.ndarray, b: np.ndarray, domains: np.ndarray, n_boot: int = N_BOOT,
                   seed: int = 0, metric: Callable[[np.ndarray, np.ndarray], float] | None = None) -> tuple[float, float]:
    """95% interval of ``metric(a) - metric(b)`` (default ROC-AUC), resampling referring domains."""
    m = roc_auc if metric is None else metric
    return bootstrap_interval(lambda i: m(y[i], a[i]) - m(y[i], b[i]), domains, n_boot, seed)


def scoring_rule_gains(y: np.ndarray, new: np.ndarray, cur: np.ndarray, domains: np.ndarray,
                       n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """Held-out log-loss and Brier score of the new and the current scores, and the gain (current minus
    new: above 0 = the new probabilities predict the labels better) with its domain-bootstrap interval."""
    out: dict = {}
    for name, f in (("log_loss", log_loss), ("brier", brier)):
        a, b = f(y, new), f(y, cur)
        lo, hi = bootstrap_diff(y, cur, new, domains, n_boot, seed, metric=f)
        out.update({f"{name}_new": round(a, 4), f"{name}_current": round(b, 4), f"{name}_gain": round(b - a, 4),
                    f"{name}_gain_ci95": [round(lo, 4), round(hi, 4)]})
    return out


def folds_by_domain(y: np.ndarray, domains: np.ndarray, k: int = FOLDS, seed: int = 0) -> np.ndarray:
    """Fold number of each row: referring domains kept whole, classes spread (StratifiedGroupKFold)."""
    from sklearn.model_selection import StratifiedGroupKFold

    n_groups = len(set(domains.tolist()))
    k = max(2, min(k, n_groups))
    out = np.zeros(len(y), dtype=int)
    cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    for f, (_, test) in enumerate(cv.split(np.zeros(len(y)), y.astype(int), domains.astype(str))):
        out[test] = f
    return out


def out_of_fold(x: np.ndarray, y: np.ndarray, folds: np.ndarray, prior: FactorModel,
                strength: float = PRIOR_STRENGTH) -> np.ndarray:
    """Each row's score from weights fitted on the other folds."""
    out = np.full(len(y), np.nan)
    for f in np.unique(folds):
        test = folds == f
        out[test] = predict(fit_weights(x[~test], y[~test], prior, strength), x[test])
    return out


def label_warnings(y: np.ndarray, domains: np.ndarray) -> tuple[list[str], bool]:
    """(warnings, enough to say anything) for the worth labels of an evaluation."""
    warn: list[str] = []
    enough = True
    for cls, name in ((1, "strong"), (0, "weak/risky")):
        m = y == cls
        n, d = int(m.sum()), len(set(domains[m].tolist()))
        if n < MIN_TO_SAY or d < MIN_TO_SAY:
            enough = False
            warn.append(f"only {n} {name} labels from {d} referring domains: too few to say anything "
                        f"(need at least {MIN_TO_SAY} of each)")
        elif n < WARN_PER_CLASS or d < WARN_DOMAINS:
            warn.append(f"only {n} {name} labels from {d} referring domains: the interval is wide; "
                        f"{WARN_PER_CLASS}+ labels from {WARN_DOMAINS}+ domains per class say more")
    return warn, enough


def verdict_of(lo: float, hi: float, enough: bool) -> str:
    if not enough or lo != lo:
        return "too few labels"
    return "better" if lo > 0 else "worse" if hi < 0 else "no change"


def trained_hashes(model: ModelArtifact) -> set[str]:
    return set(model.metadata.get("retrain", {}).get("label_hashes", []))


def evaluate_on_labels(table: LabelTable, base: ModelArtifact, current: ModelArtifact | None, prior: FactorModel,
                       strength: float = PRIOR_STRENGTH, n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """Cross-validated comparison of the refit (from ``prior``, on ``base``'s link model) with ``current``
    on the worth labels ``current`` did not train on. Also the out-of-fold scores (for thresholds)."""
    has = ~np.isnan(table.worth)
    y_all = table.worth
    x = factor_design(base, table)
    y, d = y_all[has], table.domains[has]
    warn, enough = label_warnings(y, d)
    out: dict = {"labels": int(has.sum()), "strong": int((y == 1).sum()), "weak_or_risky": int((y == 0).sum()),
                 "referring_domains": len(set(d.tolist())), "compared_to": current.model_id if current else None,
                 "grouped_by": "referring domain (features.source_kind.referring_site: a blog on a platform is its own)", "prior_strength": strength}
    oof = np.full(len(table), np.nan)
    if enough:
        folds = folds_by_domain(y, d, seed=seed)
        oof[has] = out_of_fold(x[has], y, folds, prior, strength)
        out["folds"] = int(folds.max() + 1)
    if current is not None:
        seen = trained_hashes(current)
        fresh = has & np.array([h not in seen for h in table.hashes])
        out["excluded_trained_by_current"] = int(has.sum() - fresh.sum())
        cur = np.full(len(table), np.nan)
        if fresh.any():
            cur[fresh], _, _ = current.worth(table.frame.iloc[np.flatnonzero(fresh)], table.with_page[fresh])
        ye, de = y_all[fresh], table.domains[fresh]
        enough_e = enough
        if not fresh.any() and has.any():
            enough_e = False
            warn = warn + [f"the current model {current.model_id} trained on all {int(has.sum())} of these labels: "
                           "nothing is left to compare it on; label other rows (`linkq label EXPORT`) to compare"]
        elif int(fresh.sum()) != int(has.sum()):
            warn_e, enough_e = label_warnings(ye, de)
            warn = warn + [f"on the {int(fresh.sum())} labels the current model did not train on: {w}" for w in warn_e]
        ok = enough and enough_e
        out["evaluated_labels"] = int(fresh.sum())
        if ok:
            new_auc, cur_auc = roc_auc(ye, oof[fresh]), roc_auc(ye, cur[fresh])
            lo, hi = bootstrap_diff(ye, oof[fresh], cur[fresh], de, n_boot, seed)
            out.update({"roc_auc_new": round(new_auc, 4), "roc_auc_current": round(cur_auc, 4),
                        "roc_auc_gain": round(new_auc - cur_auc, 4), "gain_ci95": [round(lo, 4), round(hi, 4)]})
            out.update(scoring_rule_gains(ye, oof[fresh], cur[fresh], de, n_boot, seed))
        else:
            lo = hi = float("nan")
        out["verdict"] = verdict_of(lo, hi, ok)
    else:
        out["verdict"] = "no current model"
    out["warnings"] = warn
    return {"evaluation": out, "oof": oof}


STRONG_CALLED_WEAK = 0.05  # at most this share of the strong labels fall below the weak threshold
WEAK_CALLED_STRONG = 0.10  # at most this share of the weak/risky labels reach the strong threshold


def thresholds_from_labels(scores: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(strong, weak) verdict thresholds from labelled scores: ``weak`` leaves at most 5% of the strong
    labels below it, ``strong`` lets at most 10% of the weak/risky labels reach it (never below ``weak``).
    Quantiles, not an F1 search: stable with a few dozen labels, and each says what it guarantees."""
    strong_scores = np.sort(scores[y == 1])
    weak_scores = np.sort(scores[y == 0])
    weak = float(np.quantile(strong_scores, STRONG_CALLED_WEAK, method="lower"))
    strong = float(np.nextafter(np.quantile(weak_scores, 1.0 - WEAK_CALLED_STRONG, method="higher"), 1.0))
    return max(strong, weak), weak


def pick_thresholds(scores: np.ndarray, y: np.ndarray, base: ModelArtifact) -> dict:
    """Verdict thresholds from the user's labels (out-of-fold scores, :func:`thresholds_from_labels`);
    the base model's when there are too few labels."""
    ok = ~np.isnan(scores) & ~np.isnan(y)
    s, t = scores[ok], y[ok].astype(int)
    if (t == 1).sum() < MIN_TO_SAY or (t == 0).sum() < MIN_TO_SAY:
        return {"strong": base.strong_threshold, "weak": base.weak_threshold,
                "from": f"the base model {base.model_id} (too few labels to set them)"}
    strong, weak = thresholds_from_labels(s, t)
    return {"strong": round(strong, 4), "weak": round(weak, 4),
            "from": f"the user's labels: out-of-fold scores of {len(t)} labels (weak: at most "
                    f"{STRONG_CALLED_WEAK:.0%} of the strong labels below it; strong: at most "
                    f"{WEAK_CALLED_STRONG:.0%} of the weak/risky labels at or above it)"}


def risk_report(table: LabelTable) -> dict:
    """How the risk flags (rules) do on the user's risk labels."""
    r = table.risk
    risky = r == 1
    known = ~np.isnan(r)
    f = table.flagged
    return {"risky_labels": int(risky.sum()), "risky_flagged": int((f & risky).sum()),
            "flagged_labelled": int((f & known).sum()),
            "flag_precision": round(float(risky[f & known].mean()), 3) if (f & known).any() else None}


def retrain(files: Sequence[LabelFile], problems: list[Problem], base: ModelArtifact, current: ModelArtifact | None,
            ctx: FeatureContext, models_dir: Path, model_id: str | None = None, pages: object | None = None,
            strength: float = PRIOR_STRENGTH, n_boot: int = N_BOOT, log: Callable[[str], None] = print,
            terms: dict | None = None) -> Path:
    """Refit the factor weights on the labels, evaluate against ``current``, write ``models_dir/model_id``."""
    from .build_dataset import sha256_file
    from .labels import LabelError
    from .package_model import package

    table = featurise_labels(files, ctx, pages, problems)
    has = ~np.isnan(table.worth)
    y = table.worth[has]
    if (y == 1).sum() == 0 or (y == 0).sum() == 0:
        raise LabelError(f"the worth labels need both sides: got {int((y == 1).sum())} strong/keep/good and "
                         f"{int((y == 0).sum())} weak/risky/disavow/bad (neutral labels train no weight)")
    prior = prior_of(base)
    res = evaluate_on_labels(table, base, current, prior, strength, n_boot)
    ev = res["evaluation"]
    x = factor_design(base, table)
    fm = fit_weights(x[has], y, prior, strength)
    thresholds = pick_thresholds(res["oof"], table.worth, base)
    if model_id is None:
        model_id = "linkq-user-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    retrain_meta = {
        "design": "factor weights (>= 0: directions fixed) and bias refitted by L-BFGS-B logistic regression on the "
                  "user's worth labels (strong=1, weak/risky=0; neutral unused), classes weighted equally, with an L2 "
                  "pull of strength prior_strength towards the shipped priors; link model kept as shipped",
        "prior": prior.to_json(), "prior_strength": strength, "bias_strength": BIAS_STRENGTH,
        "base_model": base.model_id,
        "link_model": f"kept as shipped (model.txt of {base.model_id})",
        "label_files": [{"path": str(lf.path), "sha256": sha256_file(lf.path), "kind": lf.kind, "format": lf.format,
                         "rows": len(lf.records), "labelled": len(lf.labelled), "unlabelled": lf.unlabelled}
                        for lf in files],
        "label_hashes": sorted({h for h, ok in zip(table.hashes, has, strict=True) if ok}),
        "label_hash": "sha256 of the normalised source URL, a tab and the normalised target URL (training.labels)",
        "label_counts": {"strong": int((y == 1).sum()), "weak_or_risky": int((y == 0).sum()),
                         "neutral_or_unknown": int((~has).sum())},
        "unusable_rows": [str(p) for p in problems],
        "evaluation": ev,
        "risk": risk_report(table),
        "thresholds_from": thresholds.pop("from"),
        "terms": terms or {"brands": list(ctx.brands), "money": list(ctx.money)},
    }
    folder = package(base.path, models_dir, model_id, factors=fm, strong=thresholds["strong"],
                     weak=thresholds["weak"], extra={"retrain": retrain_meta})
    log(f"wrote {folder}")
    return folder


def record_promotion(folder: Path, info: dict) -> None:
    """Add ``promotion`` to a model's metadata.json (atomically)."""
    import os

    path = Path(folder) / "metadata.json"
    meta = json.loads(path.read_text())
    meta.setdefault("promotions", []).append(info)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)
    load_model(Path(folder))


def fmt(v: float) -> str:
    return "nan" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def context_for(model: ModelArtifact, brands: Sequence[str] = (), money: Sequence[str] = ()) -> FeatureContext:
    """The feature context of ``model`` with the user's brand names and money keywords (as scoring sets them)."""
    from features.html_text import normalise_terms
    from features.pipeline import load_context

    ctx = load_context(model.embedding)
    ctx.brands = normalise_terms(brands)
    ctx.money = normalise_terms(money)
    return ctx


@dataclass
class TrainResult:
    folder: Path
    problems: list[Problem]
    metadata: dict

    def lines(self, max_problems: int = 50) -> list[str]:
        """What ``linkq train`` prints: unusable rows (file:line), the evaluation, its verdict."""
        r = self.metadata["retrain"]
        ev = r["evaluation"]
        out = [f"{len(self.problems)} label rows not used:" if self.problems else "every label row was used"]
        out += [f"  {p}" for p in self.problems[:max_problems]]
        if len(self.problems) > max_problems:
            out.append(f"  ... and {len(self.problems) - max_problems} more (all listed in metadata.json)")
        c = r["label_counts"]
        out.append(f"worth labels: {c['strong']} strong, {c['weak_or_risky']} weak/risky "
                   f"({c['neutral_or_unknown']} neutral or without a worth value: not used for the weights)")
        w = self.metadata["factors"]["weights"]
        out.append("weights: " + ", ".join(f"{k} {w[k]:.2f}" for k in FACTORS) +
                   f", page placement {self.metadata['factors']['page_placement_weight']:.2f}, "
                   f"bias {self.metadata['factors']['bias']:.2f}")
        th = self.metadata["thresholds"]
        out.append(f"thresholds: strong >= {th['strong']}, weak < {th['weak']} (from {r['thresholds_from']})")
        if "roc_auc_new" in ev:
            out.append(f"on {ev['evaluated_labels']} held-out labels ({ev.get('folds')} folds by referring domain): "
                       f"ROC-AUC {ev['roc_auc_new']:.3f} retrained vs {ev['roc_auc_current']:.3f} "
                       f"{ev['compared_to']}, gain {ev['roc_auc_gain']:+.3f} (95% interval {ev['gain_ci95'][0]:+.3f} "
                       f"to {ev['gain_ci95'][1]:+.3f})")
        if "log_loss_new" in ev:
            out.append(f"  probability (not part of the verdict, see training.promotion): log-loss {ev['log_loss_new']:.3f} "
                       f"vs {ev['log_loss_current']:.3f}, gain {ev['log_loss_gain']:+.3f} (95% interval "
                       f"{ev['log_loss_gain_ci95'][0]:+.3f} to {ev['log_loss_gain_ci95'][1]:+.3f}); Brier "
                       f"{ev['brier_new']:.3f} vs {ev['brier_current']:.3f}, gain {ev['brier_gain']:+.3f} "
                       f"({ev['brier_gain_ci95'][0]:+.3f} to {ev['brier_gain_ci95'][1]:+.3f})")
        out.append(f"verdict against {ev['compared_to']}: {ev['verdict']}"
                   + (f" (`linkq models promote {self.folder.name}` makes it the default)"
                      if ev["verdict"] == "better" else " (not promotable without --force)"
                      if ev["compared_to"] else ""))
        out += [f"warning: {m}" for m in ev["warnings"]]
        rk = r["risk"]
        if rk["risky_labels"]:
            out.append(f"risk flags catch {rk['risky_flagged']} of your {rk['risky_labels']} risky/disavow labels")
        return out


def train_on_labels(models_dir: Path, labels: Sequence[Path] = (), disavow: Path | None = None,
                    export: Path | None = None, rest: str = "unlabelled", pages: Path | None = None,
                    base_id: str | None = None, model_id: str | None = None, strength: float = PRIOR_STRENGTH,
                    n_boot: int = N_BOOT, brands: Sequence[str] = (), money: Sequence[str] = (),
                    log: Callable[[str], None] = print) -> TrainResult:
    """``linkq train --labels ...``: read the labels, refit from ``base_id`` (default: the current
    model), evaluate against the current model, write the new model (not made current here).
    ``brands`` / ``money``: the user's terms, as ``linkq score --brand / --money`` takes them (the
    anchors of the labels are classed as they will be when scoring)."""
    from features.artifact import CURRENT_FILE, resolve_model_dir
    from features.pages import open_pages

    from .labels import read_labels

    files, problems = read_labels(labels, disavow, export, rest)
    base = load_model(resolve_model_dir(models_dir, base_id))
    current = load_model(resolve_model_dir(models_dir)) if (models_dir / CURRENT_FILE).is_file() else None
    ctx = context_for(base, brands, money)
    log(f"featurising {sum(len(f.records) for f in files)} rows of {len(files)} label file(s) "
        f"({sum(len(f.labelled) for f in files)} labelled)")
    folder = retrain(files, problems, base, current, ctx, models_dir, model_id, open_pages(pages), strength,
                     n_boot, log, terms={"brands": list(ctx.brands), "money": list(ctx.money)})
    meta = json.loads((folder / "metadata.json").read_text())
    return TrainResult(folder=folder, problems=problems, metadata=meta)
