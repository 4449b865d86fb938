"""Other ways to retrain on labels, measured against the one ``linkq train`` uses (measurement only).

Nothing here is used by ``linkq train``: these are the designs tried to see whether a user's labels
can be put to better use than the binary refit of ``training.retrain.fit_weights``, on the real-export
panel, in the protocol of ``training.eval_retrain`` (leave one site out, held-out scores pooled over
the four sites, the same 109 agreed strong vs weak+risky rows scored, gains against the shipped model
with 95% intervals resampling referring domains). Every design starts from the shipped priors with
the same prior strength (``PRIOR_STRENGTH``, fixed before the panel was run) unless it says otherwise.

- **ordinal**: the panel's four labels are ordered (strong > neutral > weak, risky); neutral rows
  (183 of the 292 agreed rows, unused by the binary fit) say where "worth little" sits. An
  adjacent-category logit ``P(level k | x) ~ exp(k * (x @ w) / 2 + c_k)`` over levels 0 (weak,
  risky), 1 (neutral), 2 (strong) keeps the worth score's meaning exactly: restricted to strong vs
  weak+risky it is ``sigmoid(b + x @ w)`` with ``b = c_2``, so the same factor weights and bias are
  learnt, from every labelled row. Classes weighted equally (as ``linkq train``).
- **disagreements**: rows the two experts labelled differently, as soft labels (half a vote each,
  ``LABELLING-GUIDE.md``: each judged the row alone); in the binary fit a vote for neutral carries no
  worth label, so e.g. strong | neutral is half a strong label.
- **confidence**: each row weighted by the experts' mean confidence (1-3, divided by 3).
- **shape**: each factor's value (in [-1, 1]) through a monotone piecewise-linear function (2 or 4
  pieces, each piece's slope >= 0 and pulled towards the shipped weight: equal slopes are the shipped
  linear factor), so a factor can count more at one end of its range; and continued boosting of
  monotone stumps (one factor per tree: an additive, monotone shape correction) from the shipped
  log-odds, 10 and 30 rounds.
- **prior strength by inner cross-validation**: chosen among 1 / 10 / 100 on the training sites only
  (grouped by referring domain), never on the held-out site.
- **the bound**: weights fitted on the evaluation rows themselves (in-sample, what no honest protocol
  reaches), to show what the panel could resolve at all.

    python -m training.eval_retrain --shared ../shared   # writes these under "other_designs"
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from .retrain import (
    BIAS_STRENGTH,
    PRIOR_STRENGTH,
    as_factor_model,
    as_vector,
    bootstrap_diff,
    factor_design,
    featurise_labels,
    fit_weights,
    folds_by_domain,
    log_loss,
    predict,
    prior_of,
    roc_auc,
    scoring_rule_gains,
)

LEVEL = {"strong": 2, "neutral": 1, "weak": 0, "risky": 0}
STUMP_ROUNDS = (10, 30)
INNER_STRENGTHS = (1.0, 10.0, 100.0)


def vote_targets(a: np.ndarray, b: np.ndarray, soft: bool) -> np.ndarray:
    """(rows x 3) share of the two experts' votes on levels 0 (weak/risky), 1 (neutral), 2 (strong);
    rows they disagree on are all 0 unless ``soft``."""
    out = np.zeros((len(a), 3))
    for i, (u, v) in enumerate(zip(a, b, strict=True)):
        if u == v or soft:
            out[i, LEVEL[u]] += 0.5
            out[i, LEVEL[v]] += 0.5
    return out


def fit_adjacent(x: np.ndarray, votes: np.ndarray, w0: np.ndarray, b0: float, strength: float = PRIOR_STRENGTH,
                 weights: np.ndarray | None = None, ordinal: bool = True) -> tuple[np.ndarray, float]:
    """Adjacent-category logit (weights >= 0, L2 pull of ``strength`` towards ``w0``, bias towards ``b0``
    with ``BIAS_STRENGTH``), soft targets ``votes`` (rows x 3), each level's total weight equal.
    ``ordinal=False`` drops the neutral level: the binary refit of ``training.retrain.fit_weights``.
    Returns (w, b): the worth score is ``sigmoid(b + x @ w)``."""
    from scipy.optimize import minimize

    n, k = x.shape
    rw = votes * (np.ones(n) if weights is None else weights)[:, None]
    if not ordinal:
        rw[:, 1] = 0.0
    tot = rw.sum(0)
    present = tot > 0
    rw = rw * np.where(present, rw.sum() / (present.sum() * np.where(present, tot, 1.0)), 0.0)[None, :]
    row = rw.sum(1)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b, c1 = theta[:k], theta[k], theta[k + 1]
        z = x @ w
        pot = np.column_stack([np.zeros(n), z / 2 + c1 if ordinal else np.full(n, -np.inf), z + b])
        logp = pot - np.logaddexp.reduce(pot, axis=1)[:, None]
        nll = -float(np.sum(rw * np.where(np.isfinite(logp), logp, 0.0)))
        g = np.exp(logp) * row[:, None] - rw  # d nll / d potential
        gw = x.T @ (g[:, 1] / 2 + g[:, 2]) + strength * (w - w0)
        gb = float(g[:, 2].sum()) + BIAS_STRENGTH * (b - b0)
        gc = float(g[:, 1].sum()) + 1e-3 * c1
        pen = 0.5 * strength * float(np.sum((w - w0) ** 2)) + 0.5 * BIAS_STRENGTH * (b - b0) ** 2 + 5e-4 * c1 ** 2
        return nll + pen, np.concatenate([gw, [gb, gc]])

    start = np.concatenate([np.maximum(w0, 0.0), [b0, 0.0]])
    res = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * k + [(None, None)] * 2)
    return res.x[:k], float(res.x[k])


def pieces(x: np.ndarray, knots: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Each column split into monotone pieces between ``knots`` (each piece 0 at value 0, so a factor
    without evidence still adds nothing); (basis, column each piece comes from). Equal slopes on every
    piece give back the column itself."""
    cols, owner = [], []
    for j in range(x.shape[1]):
        for lo, hi in zip(knots[:-1], knots[1:], strict=True):
            cols.append(np.clip(x[:, j], lo, hi) - np.clip(0.0, lo, hi))
            owner.append(j)
    return np.column_stack(cols), np.array(owner)


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(q / (1 - q))


def stumps(x: np.ndarray, y: np.ndarray, base: np.ndarray, x_new: np.ndarray, base_new: np.ndarray,
           rounds: int) -> np.ndarray:
    """Scores of ``x_new`` after ``rounds`` of monotone LightGBM stumps boosted from the shipped scores
    ``base`` (learning rate 0.1, 10+ rows a leaf, L2 10, classes weighted equally)."""
    import lightgbm as lgb

    pos = y.sum()
    wt = np.where(y == 1, len(y) / (2 * pos), len(y) / (2 * (len(y) - pos)))
    ds = lgb.Dataset(x, y, weight=wt, init_score=_logit(base))
    params = {"objective": "binary", "num_leaves": 2, "learning_rate": 0.1, "min_data_in_leaf": 10,
              "lambda_l2": 10.0, "monotone_constraints": [1] * x.shape[1], "verbose": -1, "num_threads": 1,
              "seed": 0, "deterministic": True}
    bst = lgb.train(params, ds, num_boost_round=rounds)
    return 1.0 / (1.0 + np.exp(-(_logit(base_new) + bst.predict(x_new, raw_score=True))))


def inner_strength(x: np.ndarray, votes: np.ndarray, y: np.ndarray, domains: np.ndarray, w0: np.ndarray,
                   b0: float, ordinal: bool) -> float:
    """The prior strength (of :data:`INNER_STRENGTHS`) with the lowest log-loss of strong vs weak+risky
    in a cross-validation of these rows alone, grouped by referring domain (neutral rows follow their
    domain's fold)."""
    ok = ~np.isnan(y)
    fold_of = dict(zip(domains[ok].tolist(), folds_by_domain(y[ok], domains[ok]).tolist(), strict=True))
    k = max(fold_of.values()) + 1
    uniq = sorted(set(domains.tolist()) - set(fold_of))
    fold_of.update({d: i % k for i, d in enumerate(uniq)})
    folds = np.array([fold_of[d] for d in domains.tolist()])
    best = (np.inf, PRIOR_STRENGTH)
    for lam in INNER_STRENGTHS:
        p = np.full(len(y), np.nan)
        for f in range(k):
            te = folds == f
            w, b = fit_adjacent(x[~te], votes[~te], w0, b0, lam, ordinal=ordinal)
            p[te] = 1.0 / (1.0 + np.exp(-(b + x[te] @ w)))
        best = min(best, (log_loss(y[ok], p[ok]), lam))
    return best[1]


def _compare(y: np.ndarray, new: np.ndarray, old: np.ndarray, dom: np.ndarray, site: np.ndarray,
             n_boot: int, seed: int) -> dict:
    lo, hi = bootstrap_diff(y, new, old, dom, n_boot, seed)
    a, b = roc_auc(y, new), roc_auc(y, old)
    out = {"roc_auc": round(a, 4), "roc_auc_shipped": round(b, 4), "gain": round(a - b, 4),
           "gain_ci95": [round(lo, 4), round(hi, 4)]}
    out.update({k.replace("_new", "").replace("_current", "_shipped"): v
                for k, v in scoring_rule_gains(y, new, old, dom, n_boot, seed).items()})
    out["per_site_roc_auc"] = {s: [round(roc_auc(y[site == s], new[site == s]), 3),
                                   round(roc_auc(y[site == s], old[site == s]), 3)] for s in sorted(set(site))}
    return out


def run(shared: Path, shipped, n_boot: int, seed: int = 0, bare: Path | None = None,
        sizes: tuple[int, ...] = (30, 60, 120), draws: int = 10) -> dict:
    """Every design above, leave one site out, against ``shipped``; then the ordinal fit on the
    few-label draws of ``training.eval_retrain`` (same seed, same drawn rows as its binary figures)."""
    from features.pipeline import load_context

    from .eval_retrain import panel_files

    votes_of: dict[str, tuple[str, str, float]] = {}
    files, problems = panel_files(shared / "real-exports", bare, votes=votes_of)
    table = featurise_labels(files, load_context(shipped.embedding), None, problems)
    x = factor_design(shipped, table)
    ship, _, _ = shipped.worth(table.frame, table.with_page)
    prior = prior_of(shipped)
    w0, b0 = as_vector(prior), prior.bias
    va = np.array([votes_of[w][0] for w in table.where])
    vb = np.array([votes_of[w][1] for w in table.where])
    conf = np.array([votes_of[w][2] for w in table.where])
    site = np.array([w.rsplit(":", 1)[0] for w in table.where])
    sites = sorted(set(site.tolist()))
    dom = table.domains.astype(str)
    y = table.worth  # agreed strong 1, agreed weak/risky 0, else NaN
    ev = ~np.isnan(y)
    hard, soft = vote_targets(va, vb, False), vote_targets(va, vb, True)
    x2, own2 = pieces(x, (-1.0, 0.0, 1.0))
    x4, own4 = pieces(x, (-1.0, -0.5, 0.0, 0.5, 1.0))
    picked: list[float] = []  # the prior strength of each held-out fit (inner cross-validation)

    def adjacent(xx: np.ndarray, ww0: np.ndarray, votes: np.ndarray, ordinal: bool, weights: np.ndarray | None = None,
                 nested: bool = False) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        def fit_score(tr: np.ndarray, te: np.ndarray) -> np.ndarray:
            tr = tr & (votes[:, [0, 2] if not ordinal else [0, 1, 2]].sum(1) > 0)
            lam = inner_strength(xx[tr], votes[tr], y[tr], dom[tr], ww0, b0, ordinal) if nested else PRIOR_STRENGTH
            picked.append(lam)
            w, b = fit_adjacent(xx[tr], votes[tr], ww0, b0, lam, None if weights is None else weights[tr], ordinal)
            return 1.0 / (1.0 + np.exp(-(b + xx[te] @ w)))
        return fit_score

    def binary(tr: np.ndarray, te: np.ndarray) -> np.ndarray:
        tr = tr & ev
        return predict(fit_weights(x[tr], y[tr], prior, PRIOR_STRENGTH), x[te])

    def boosted(rounds: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        return lambda tr, te: stumps(x[tr & ev], y[tr & ev], ship[tr & ev], x[te], ship[te], rounds)

    designs: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
        "binary (linkq train)": binary,
        "binary + disagreements as soft labels": adjacent(x, w0, soft, False),
        "binary, weighted by the experts' confidence": adjacent(x, w0, hard, False, conf),
        "ordinal (neutral between), agreed rows": adjacent(x, w0, hard, True),
        "ordinal + disagreements as soft labels": adjacent(x, w0, soft, True),
        "ordinal, weighted by the experts' confidence": adjacent(x, w0, hard, True, conf),
        "binary, shape: 2 monotone pieces per factor": adjacent(x2, w0[own2], hard, False),
        "binary, shape: 4 monotone pieces per factor": adjacent(x4, w0[own4], hard, False),
        "ordinal + soft, shape: 4 monotone pieces per factor": adjacent(x4, w0[own4], soft, True),
        **{f"binary, monotone stumps boosted from the shipped score, {r} rounds": boosted(r) for r in STUMP_ROUNDS},
        "binary, prior strength by inner cross-validation": adjacent(x, w0, hard, False, nested=True),
        "ordinal, prior strength by inner cross-validation": adjacent(x, w0, hard, True, nested=True),
    }
    out: dict = {"rows": len(table), "evaluated": int(ev.sum()), "disagreements": int((va != vb).sum()),
                 "leave_one_site_out": {}}
    for name, fit_score in designs.items():
        pred = np.full(len(y), np.nan)
        picked.clear()
        for s in sites:
            pred[site == s] = fit_score(site != s, site == s)
        out["leave_one_site_out"][name] = _compare(y[ev], pred[ev], ship[ev], dom[ev], site[ev], n_boot, seed)
        if "inner" in name:
            out["leave_one_site_out"][name]["prior_strength_per_held_out_site"] = dict(zip(sites, picked, strict=True))
    bound = {}
    for lam in (0.01, 1.0, PRIOR_STRENGTH):
        fm = fit_weights(x[ev], y[ev], prior, lam)
        bound[str(lam)] = _compare(y[ev], predict(fm, x[ev]), ship[ev], dom[ev], site[ev], n_boot, seed)
        bound[str(lam)]["weights"] = as_factor_model(as_vector(fm), fm.bias).to_json()["weights"]
    out["in_sample_bound_binary"] = bound
    out["few_labels_ordinal"] = few_labels(x, y, hard, ship, site, dom, w0, b0, prior, n_boot, seed, sizes, draws)
    return out


def few_labels(x: np.ndarray, y: np.ndarray, votes: np.ndarray, ship: np.ndarray, site: np.ndarray, dom: np.ndarray,
               w0: np.ndarray, b0: float, prior, n_boot: int, seed: int, sizes: tuple[int, ...], draws: int) -> dict:
    """The few-label draws of ``training.eval_retrain`` (agreed rows only, the same generator and order,
    so the same rows), each fitted binary and ordinal; per size and figure: mean gain, draws whose
    interval is above 0 / below 0."""
    agreed = votes.max(1) == 1.0
    xa, ya, va, sa, da, sh = x[agreed], y[agreed], votes[agreed], site[agreed], dom[agreed], ship[agreed]
    ev = ~np.isnan(ya)
    sites = sorted(set(sa.tolist()))
    rng = np.random.default_rng(seed)
    out: dict = {}
    for m in sizes:
        got: dict[str, dict[str, list]] = {k: {"gain": [], "log_loss_gain": [], "brier_gain": [], "ci": []}
                                           for k in ("binary", "ordinal")}
        for _ in range(draws):
            pred = {k: np.full(len(ya), np.nan) for k in got}
            for s in sites:
                pool = np.flatnonzero(sa != s)
                mask = np.zeros(len(ya), dtype=bool)
                mask[rng.choice(pool, size=min(m, len(pool)), replace=False)] = True
                tr = mask & ev
                pred["binary"][sa == s] = predict(fit_weights(xa[tr], ya[tr], prior, PRIOR_STRENGTH), xa[sa == s])
                w, b = fit_adjacent(xa[mask], va[mask], w0, b0)
                pred["ordinal"][sa == s] = 1.0 / (1.0 + np.exp(-(b + xa[sa == s] @ w)))
            for k, p in pred.items():
                lo, hi = bootstrap_diff(ya[ev], p[ev], sh[ev], da[ev], n_boot, seed)
                r = scoring_rule_gains(ya[ev], p[ev], sh[ev], da[ev], n_boot, seed)
                got[k]["gain"].append(roc_auc(ya[ev], p[ev]) - roc_auc(ya[ev], sh[ev]))
                got[k]["log_loss_gain"].append(r["log_loss_gain"])
                got[k]["brier_gain"].append(r["brier_gain"])
                got[k]["ci"].append(((lo, hi), r["log_loss_gain_ci95"], r["brier_gain_ci95"]))
        out[str(m)] = {k: {f: {"gain_mean": round(float(np.mean(g[f])), 4),
                               "draws_interval_above_0": int(sum(c[i][0] > 0 for c in g["ci"])),
                               "draws_interval_below_0": int(sum(c[i][1] < 0 for c in g["ci"]))}
                           for i, f in enumerate(("gain", "log_loss_gain", "brier_gain"))} for k, g in got.items()}
    return out
