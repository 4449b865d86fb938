"""Metrics for imbalanced binary problems (never accuracy)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score, roc_curve


def _nan_if_one_class(y: np.ndarray) -> bool:
    return len(y) == 0 or y.min() == y.max()


def prf(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Precision, recall, F1 of the positive class for 0/1 predictions."""
    y = np.asarray(y, dtype=bool)
    pred = np.asarray(pred, dtype=bool)
    tp = float(np.sum(y & pred))
    p = tp / pred.sum() if pred.sum() else float("nan")
    r = tp / y.sum() if y.sum() else float("nan")
    f = 2 * p * r / (p + r) if p == p and r == r and (p + r) > 0 else (0.0 if p == p and r == r else float("nan"))
    return {"precision": p, "recall": r, "f1": f}


def ece(y: np.ndarray, prob: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over equal-width probability bins."""
    y = np.asarray(y, dtype=float)
    prob = np.asarray(prob, dtype=float)
    if len(y) == 0:
        return float("nan")
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(prob, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.mean() * abs(prob[m].mean() - y[m].mean())
    return float(total)


def recall_at_fpr(y: np.ndarray, prob: np.ndarray, max_fpr: float = 0.02) -> float:
    if _nan_if_one_class(y):
        return float("nan")
    fpr, tpr, _ = roc_curve(y, prob)
    ok = fpr <= max_fpr
    return float(tpr[ok].max()) if ok.any() else 0.0


def binary_report(y: np.ndarray, prob: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """n, positives, ROC-AUC, PR-AUC, recall@2%FPR, P/R/F1 at threshold, Brier, ECE."""
    y = np.asarray(y, dtype=int)
    prob = np.asarray(prob, dtype=float)
    out: dict[str, float] = {"n": int(len(y)), "positives": int(y.sum())}
    one = _nan_if_one_class(y)
    out["roc_auc"] = float("nan") if one else float(roc_auc_score(y, prob))
    out["pr_auc"] = float("nan") if one else float(average_precision_score(y, prob))
    out["recall_at_2pct_fpr"] = recall_at_fpr(y, prob)
    out.update(prf(y, prob >= threshold))
    out["brier"] = float(brier_score_loss(y, prob)) if len(y) else float("nan")
    out["ece"] = ece(y, prob)
    return out
