"""The link model's training table: the default set built by ``make data`` (``data/build/links.parquet``).

A user's labels do not go here: they retrain the worth score's factor weights (``training.labels``,
``training.retrain``), which needs neither ``../shared`` nor ``data/build``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from features.schema import FEATURE_NAMES

from .build_dataset import sha256_file
from .train import TrainingDataError


def assemble_training_table(
    default_table: Path,
    log: Callable[[str], None] = print,
    embedding: str | None = None,
) -> tuple[pd.DataFrame, list[dict]]:
    """The table ``linkq train --data`` fits the link model on, and its file with its hash."""
    path = default_table / "links.parquet" if default_table.is_dir() else default_table
    if not path.is_file():
        raise FileNotFoundError(f"default training table {path} not found; build it with `make data` (needs "
                                "../shared); to retrain on your own labels use `linkq train --labels FILE`")
    df = pd.read_parquet(path)
    files = [{"path": str(path), "sha256": sha256_file(path), "kind": "default training set", "rows": int(len(df))}]
    log(f"default training set: {len(df)} rows ({path})")
    missing = [c for c in FEATURE_NAMES if c not in df]
    if missing:
        raise TrainingDataError(f"training table lacks features {missing[:5]}; rebuild it with `make data`")
    return df, files
