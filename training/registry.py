"""Models on disk for ``linkq models`` and ``linkq evaluate``: list, describe, evaluate (promoting is
``training.promotion``: one rule for ``models promote`` and ``train --set-current``).

Each function returns the lines to print, so the command stays a thin face and the texts are tested here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from features.artifact import load_model, resolve_model_dir

from .evaluate import format_table, write_json
from .floors import check


def headline(meta: dict) -> str:
    """What a model was measured on, in a few words: a model retrained on a user's labels by its
    cross-validation on those labels; a model fitted on the corpora by its held-out sites' rows read
    with their page. Why not the corpora's pooled "all" slice: its export-only rows carry no evidence
    of placement, which the worth score does not guess (README), so it read 0.739 for the shipped
    score against 0.948 for the link model that scores 0.976 with the page."""
    ev = meta.get("retrain", {}).get("evaluation")
    if ev and ev.get("roc_auc_new") is not None:
        against = f" ({ev['compared_to']} {ev['roc_auc_current']:.3f})" if ev.get("compared_to") else ""
        return f"your labels, cross-validated: ROC-AUC {ev['roc_auc_new']:.3f}{against}"
    test = meta.get("metrics", {}).get("test", {})
    m = test.get("real mode=html")
    if m:
        return f"corpora's held-out sites, with the page: ROC-AUC {m['roc_auc']:.3f}  PR-AUC {m['pr_auc']:.3f}"
    m = test.get("all")
    if m:
        return f"held out: ROC-AUC {m['roc_auc']:.3f}  PR-AUC {m['pr_auc']:.3f}"
    return "not measured"


def list_lines(models_dir: Path) -> list[str]:
    """One line per model with what it was measured on (:func:`headline`); ``*`` marks models/CURRENT."""
    current = (models_dir / "CURRENT").read_text().strip() if (models_dir / "CURRENT").exists() else None
    out = []
    for meta_path in sorted(models_dir.glob("*/metadata.json")):
        meta = json.loads(meta_path.read_text())
        mark = "*" if meta_path.parent.name == current else " "
        out.append(f"{mark} {meta_path.parent.name}  created {meta.get('created_at')}  {headline(meta)}")
    return out


def metrics_lines(meta: dict) -> list[str]:
    """The held-out metrics table of a model's metadata, and its ablation when it has one."""
    out = [format_table(meta["metrics"]["test"])]
    if "ablation" in meta["metrics"]:
        out.append("\n| ablation | ROC-AUC | PR-AUC |\n|---|---|---|")
        out += [f"| {k} | {v['roc_auc']:.3f} | {v['pr_auc']:.3f} |" for k, v in meta["metrics"]["ablation"].items()]
    return out


def show_lines(models_dir: Path, model_id: str | None) -> list[str]:
    """A model's metadata summary and held-out metrics."""
    meta = json.loads((resolve_model_dir(models_dir, model_id) / "metadata.json").read_text())
    keys = ("model_id", "created_at", "schema_version", "schema_hash", "embedding", "thresholds", "training_data")
    return [f"{k}: {json.dumps(meta.get(k), default=str)}" for k in keys] + metrics_lines(meta)


@dataclass(frozen=True)
class Evaluation:
    model_id: str
    data: Path  # the links.parquet evaluated
    lines: list[str]  # what ``linkq evaluate`` prints
    metrics: dict  # per slice
    problems: list[str]  # floors missed (empty when they hold or were not checked)


def evaluate_data(data: Path, models_dir: Path, model_id: str | None, floors: Path | None = None,
                  json_out: Path | None = None) -> Evaluation:
    """Evaluate a model on the held-out sites of ``data`` (links.parquet or its folder), checking the
    pinned ``floors`` (and the data's hash) when given; the metrics also go to ``json_out`` when given."""
    import pandas as pd

    from .evaluate import evaluate_model
    from .splits import TEST_FOLD, site_folds

    path = data / "links.parquet" if data.is_dir() else data
    df = pd.read_parquet(path)
    folds = df["fold"].to_numpy() if "fold" in df else site_folds(df["site"])
    test = df[folds == TEST_FOLD].reset_index(drop=True)
    model = load_model(resolve_model_dir(models_dir, model_id))
    reports = evaluate_model(model, test)
    lines = [f"model {model.model_id} on {len(test)} held-out rows of {path}", format_table(reports)]
    if json_out is not None:
        write_json(json_out, {"model_id": model.model_id, "data": str(path), "metrics": reports})
    return Evaluation(model.model_id, path, lines, reports, check(floors, path, reports) if floors is not None else [])


def train_link_model(data_path: Path, models_dir: Path, model_id: str | None, no_ablation: bool,
                     embedding: str | None, log: Callable[[str], None]) -> Path:
    """``linkq train --data``: the link model (LightGBM) refit on the corpora table of ``make data``."""
    from features.embeddings import DEFAULT_EMBEDDING

    from .datasets import assemble_training_table
    from .train import train_model

    df, files = assemble_training_table(default_table=data_path, log=log, embedding=embedding)
    return train_model(df, models_dir, model_id=model_id, data_files=files, with_ablation=not no_ablation,
                       embedding=embedding or DEFAULT_EMBEDDING, log=log)


def train_and_register(models_dir: Path, *, labels: tuple[Path, ...] = (), disavow: Path | None = None,
                       export_path: Path | None = None, rest: str = "unlabelled", pages: Path | None = None,
                       base_id: str | None = None, prior_strength: float | None = None,
                       data_path: Path | None = None, model_id: str | None = None, set_current: bool = False,
                       force: bool = False, brands: tuple[str, ...] = (), money: tuple[str, ...] = (),
                       no_ablation: bool = False, embedding: str | None = None,
                       out: Callable[[str], None] = print, log: Callable[[str], None] = print) -> Path:
    """``linkq train``: the factor weights refit on the user's labels (``training.retrain``), or with
    ``data_path`` the link model refit on the corpora table; then, with ``set_current``, promoted by the
    one rule (``training.promotion``). Results go to ``out`` (the link model's metrics), progress and
    the retraining report to ``log``. Returns the new model's folder."""
    if data_path is not None:
        folder = train_link_model(data_path, models_dir, model_id, no_ablation, embedding, log)
        for line in metrics_lines(json.loads((folder / "metadata.json").read_text())):
            out(line)
    else:
        from .retrain import PRIOR_STRENGTH, train_on_labels

        res = train_on_labels(models_dir, labels, disavow, export_path, rest, pages, base_id, model_id,
                              PRIOR_STRENGTH if prior_strength is None else prior_strength,
                              brands=brands, money=money, log=log)
        for line in res.lines():
            log(line)
        folder = res.folder
    if set_current:
        from .promotion import promote

        promote(models_dir, folder.name, force=force, via="train --set-current")
        log(f"models/CURRENT -> {folder.name}")
    return folder
