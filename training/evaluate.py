"""Held-out evaluation of a link model: overall and per slice, plus the ablation table.

Slices: mode (html / export-only), corpus, placement zone, rel value, real vs
synthetic, scope (internal / external). Every figure is computed on sites the
model never saw (test fold), with calibrated scores.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from features.artifact import ModelArtifact
from features.schema import FEATURE_NAMES, GROUPS, conform, features_in_group

from .fit import FitConfig, fit_booster
from .metrics import binary_report

MIN_SLICE = 30


def rel_value(df: pd.DataFrame) -> pd.Series:
    def one(n: float, s: float, u: float) -> str:
        if n != n:
            return "unknown"
        parts = [name for name, v in (("nofollow", n), ("sponsored", s), ("ugc", u)) if v == 1.0]
        return " ".join(parts) or "follow"

    return pd.Series(
        [one(*t) for t in zip(df["rel_nofollow"], df["rel_sponsored"], df["rel_ugc"], strict=True)], index=df.index
    )


def slice_reports(df: pd.DataFrame, prob: np.ndarray, strong_t: float) -> dict:
    out: dict[str, dict] = {}
    y = df["label"].to_numpy()

    def add(name: str, mask: np.ndarray) -> None:
        if mask.sum() >= MIN_SLICE:
            out[name] = binary_report(y[mask], prob[mask], strong_t)

    add("all", np.ones(len(df), bool))
    for col, values in (("mode", None), ("corpus", None), ("scope", None)):
        if col in df:
            for v in values or sorted(df[col].astype(str).unique()):
                add(f"{col}={v}", (df[col].astype(str) == v).to_numpy())
    if "synthetic" in df:
        add("real", (df["synthetic"] == 0).to_numpy())
        add("synthetic", (df["synthetic"] == 1).to_numpy())
        if "mode" in df:
            for m in ("html", "export"):
                add(f"real mode={m}", ((df["synthetic"] == 0) & (df["mode"] == m)).to_numpy())
                if "scope" in df:
                    add(f"real external mode={m}",
                        ((df["synthetic"] == 0) & (df["mode"] == m) & (df["scope"] == "external")).to_numpy())
    html = (df["mode"] == "html").to_numpy() if "mode" in df else np.ones(len(df), bool)
    zones = df["placement_zone"].astype(str).to_numpy()
    for z in sorted(set(zones[html])):
        add(f"zone={z}", html & (zones == z))
    rels = rel_value(df).to_numpy()
    for r in sorted(set(rels)):
        add(f"rel={r}", rels == r)
    return out


def ablation(train: pd.DataFrame, valid: pd.DataFrame, test: pd.DataFrame, cfg: FitConfig) -> dict[str, float]:
    """ROC-AUC and PR-AUC on the test sites with each feature group removed (refit without it)."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    out = {}
    y = test["label"].to_numpy()
    for group in ("none", *GROUPS):
        drop = features_in_group(group) if group != "none" else ()
        tr, va, te = (d.copy() for d in (train, valid, test))
        for d in (tr, va, te):
            for c in drop:
                d[c] = np.nan if c != "placement_zone" else None
        booster = fit_booster(tr, va, cfg)
        p = booster.predict(conform(te[list(FEATURE_NAMES)]))
        out[f"without {group}" if group != "none" else "all features"] = {
            "roc_auc": float(roc_auc_score(y, p)), "pr_auc": float(average_precision_score(y, p))
        }
    return out


def evaluate_model(model: ModelArtifact, df: pd.DataFrame) -> dict:
    """Slices of the worth score (as ``linkq score`` gives it) and of the link model alone (the
    placement factor's evidence when the page is read), on a labelled feature table."""
    frame = df[list(FEATURE_NAMES)]
    with_page = (df["mode"] == "html").to_numpy() if "mode" in df else np.ones(len(df), bool)
    worth, _, _ = model.worth(conform(frame), with_page)
    out = slice_reports(df, worth, model.strong_threshold)
    link = slice_reports(df, model.scores(frame), model.strong_threshold)
    out.update({f"link model {k}": v for k, v in link.items()})
    return out


def format_table(reports: dict, keys: tuple[str, ...] = ("n", "positives", "roc_auc", "pr_auc",
                                                          "recall_at_2pct_fpr", "f1", "brier", "ece")) -> str:
    lines = ["| slice | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for name, r in reports.items():
        cells = [f"{r[k]:.3f}" if isinstance(r[k], float) else str(r[k]) for k in keys]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_json(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, default=float) + "\n")
