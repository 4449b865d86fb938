"""Package a model folder: a fitted link model (LightGBM, trained on the corpora) plus the factor
weights and verdict thresholds of the worth score (``features.factors``).

The link model is what the corpora can teach (is a link editorial, from its page, anchor and rel);
the factor weights are the priors written down in ``data/DATASHEET.md`` (there is no public
labelled backlink set to fit them on); retraining on a user's labels refits them (``linkq train``).

    python -m training.package_model --booster-from models/linkq-default-v1 --model-id linkq-default-v2 \
        --eval-data data/build/links.parquet --set-current
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

import lightgbm as lgb

from features.artifact import default_models_dir, load_model, save_model, set_current
from features.factors import FactorModel

# Verdict thresholds on the worth score (0-1): below WEAK the link is worth nothing (or is risky),
# from STRONG on it is a link worth having; between, a person should look.
STRONG_THRESHOLD = 0.6
WEAK_THRESHOLD = 0.35


def package(booster_from: Path, models_dir: Path, model_id: str, factors: FactorModel | None = None,
            strong: float = STRONG_THRESHOLD, weak: float = WEAK_THRESHOLD, set_as_current: bool = False,
            extra: dict | None = None, eval_data: Path | None = None) -> Path:
    """Write ``models_dir/model_id`` with the booster of ``booster_from`` and the factor model (``extra``:
    more metadata, e.g. ``retrain``: how the weights were refitted on a user's labels). ``eval_data``
    (``links.parquet`` of ``make data``): record the held-out metrics of the packaged model on it, the
    worth score's slices and the link model's (``link model <slice>``), which the promotion rule's
    floors read; without it the metrics of ``booster_from`` are kept."""
    old = json.loads((Path(booster_from) / "metadata.json").read_text())
    booster = lgb.Booster(model_file=str(Path(booster_from) / "model.txt"))
    keep = ("embedding", "calibration", "training_data", "config", "best_iteration", "metrics", "library_versions",
            "git_commit", "fit_seconds")
    meta = {k: old[k] for k in keep if k in old}
    meta.update({
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "link_model_from": old.get("link_model_from") or old.get("model_id", Path(booster_from).name),
        "link_model_thresholds": old.get("link_model_thresholds") or old.get("thresholds"),
        "thresholds": {"strong": strong, "weak": weak},
        "factors": (factors or FactorModel()).to_json(),
        **(extra or {}),
        "score": "worth score: logistic of the weighted factor values (features.factors); the link model "
                 "gives the placement factor when the page was read",
    })
    folder = save_model(models_dir / model_id, booster, meta)
    model = load_model(folder)
    if eval_data is not None:
        meta["metrics"] = {**meta.get("metrics", {}), "test": held_out_metrics(model, eval_data), "data": str(eval_data)}
        folder = save_model(models_dir / model_id, booster, meta)
        load_model(folder)
    if set_as_current:
        set_current(models_dir, model_id)
    return folder


def held_out_metrics(model: object, data: Path) -> dict:
    """``training.evaluate.evaluate_model`` on the test fold (held-out sites) of ``data``."""
    import pandas as pd

    from .evaluate import evaluate_model
    from .splits import TEST_FOLD, site_folds

    df = pd.read_parquet(data)
    folds = df["fold"].to_numpy() if "fold" in df else site_folds(df["site"])
    return evaluate_model(model, df[folds == TEST_FOLD].reset_index(drop=True))  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--booster-from", type=Path, required=True, help="model folder whose model.txt to reuse")
    ap.add_argument("--model-id", required=True)
    ap.add_argument("--models-dir", type=Path, default=None)
    ap.add_argument("--set-current", action="store_true")
    ap.add_argument("--eval-data", type=Path, default=None,
                    help="links.parquet of make data: record the held-out metrics on it (the floors read them)")
    args = ap.parse_args(argv)
    folder = package(args.booster_from, args.models_dir or default_models_dir(), args.model_id,
                     set_as_current=args.set_current, eval_data=args.eval_data)
    print(f"wrote {folder}")


if __name__ == "__main__":
    main()
