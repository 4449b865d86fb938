"""``linkq train``: from a labelled feature table to a model folder under models/.

The table is the default set built by ``make data`` (data/build/links.parquet)
or a user's labels turned into features (``training.user_labels``), or both.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import lightgbm
import numpy as np
import pandas as pd
import sklearn

from features.artifact import load_model, save_model
from features.embeddings import DEFAULT_EMBEDDING
from features.errors import LinkqError
from features.schema import FEATURE_NAMES, conform

from .evaluate import ablation, slice_reports
from .fit import FitConfig, calibrate, fit_booster, pick_thresholds
from .metrics import binary_report
from .splits import TEST_FOLD, site_folds

MIN_PER_CLASS = 20
CAL_FOLD = 1


class TrainingDataError(LinkqError, ValueError):
    """Labels that cannot train a useful model (too few, one-sided)."""


def check_labels(df: pd.DataFrame, min_per_class: int = MIN_PER_CLASS) -> None:
    counts = df["label"].value_counts()
    strong, weak = int(counts.get(1, 0)), int(counts.get(0, 0))
    if strong < min_per_class or weak < min_per_class:
        raise TrainingDataError(
            f"need at least {min_per_class} strong and {min_per_class} weak labels; got {strong} strong, {weak} weak"
        )


def split(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """train / calibration / test by site (see training.splits)."""
    folds = df["fold"].to_numpy() if "fold" in df else site_folds(df["site"])
    test = df[folds == TEST_FOLD]
    cal = df[folds == CAL_FOLD]
    train = df[(folds != TEST_FOLD) & (folds != CAL_FOLD)]
    for name, part in (("training", train), ("calibration", cal), ("test", test)):
        if part["label"].nunique() < 2:
            raise TrainingDataError(f"the {name} split (by site) has only one class; add labels from more sites")
    return train, cal, test


def git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True, cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def train_model(
    df: pd.DataFrame,
    models_dir: Path,
    model_id: str | None = None,
    cfg: FitConfig | None = None,
    embedding: str = DEFAULT_EMBEDDING,
    data_files: list[dict] | None = None,
    with_ablation: bool = True,
    log=print,
) -> Path:
    """Fit on train sites, calibrate on calibration sites, evaluate on test sites, save."""
    cfg = cfg or FitConfig()
    check_labels(df)
    t0 = time.time()
    train, cal, test = split(df)
    log(f"training on {len(train)} rows, calibrating on {len(cal)}, testing on {len(test)} (split by site)")
    booster = fit_booster(train, cal, cfg)
    raw_cal = booster.predict(conform(cal[list(FEATURE_NAMES)]))
    calib = calibrate(raw_cal, cal["label"].to_numpy())
    prob_cal = calib.apply(raw_cal)
    strong_t, weak_t = pick_thresholds(prob_cal, cal["label"].to_numpy(), cfg.weak_recall_floor)
    prob_test = calib.apply(booster.predict(conform(test[list(FEATURE_NAMES)])))
    metrics = {
        "test": slice_reports(test, prob_test, strong_t),
        "calibration": {"all": binary_report(cal["label"].to_numpy(), prob_cal, strong_t)},
    }
    fit_seconds = time.time() - t0
    if with_ablation:
        log("ablation: refitting without each feature group")
        metrics["ablation"] = ablation(train, cal, test, cfg)
    if model_id is None:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        digest = hashlib.sha256(json.dumps(data_files or [], sort_keys=True).encode()).hexdigest()[:6]
        model_id = f"linkq-{stamp}-{digest}"
    counts = {k: int(v) for k, v in df["label"].value_counts().items()}
    from features.embeddings import load_embedder

    meta = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "embedding": {"name": embedding, "dim": int(load_embedder(embedding).dim)},
        "calibration": calib.to_json(),
        "thresholds": {"strong": strong_t, "weak": weak_t},
        "training_data": {
            "files": data_files or [],
            "rows": int(len(df)),
            "label_counts": {"strong": counts.get(1, 0), "weak": counts.get(0, 0)},
            "split": {"train": int(len(train)), "calibration": int(len(cal)), "test": int(len(test)),
                      "by": "registered domain of the source page"},
        },
        "config": asdict(cfg),
        "best_iteration": int(booster.best_iteration or booster.current_iteration()),
        "metrics": metrics,
        "fit_seconds": round(fit_seconds, 1),
        "library_versions": {"lightgbm": lightgbm.__version__, "scikit-learn": sklearn.__version__,
                             "numpy": np.__version__, "pandas": pd.__version__, "python": platform.python_version()},
        "git_commit": git_commit(),
    }
    folder = save_model(models_dir / model_id, booster, meta)
    load_model(folder, embedding)  # round-trip check: what we wrote loads
    return folder
