"""The model artifact: a folder ``models/<model_id>/`` with ``model.txt`` (LightGBM
text format: diffable, carries feature names, no pickle) and ``metadata.json``.

Lives in ``features`` so that serving can load models without importing
training. Loading checks the feature schema hash and the embedding model and
refuses a mismatch with a message naming both sides.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import LinkqError
from .factors import FactorModel
from .schema import BY_NAME, FEATURE_NAMES, SCHEMA_VERSION, conform, schema_hash

if TYPE_CHECKING:  # imported where models are loaded: finding a model folder needs neither
    import lightgbm as lgb
    import pandas as pd

FORMAT_VERSION = 1
CURRENT_FILE = "CURRENT"
VERDICTS = ("strong", "review", "weak")


class ModelMismatch(LinkqError, RuntimeError):
    """The model was built for another feature schema or embedding model."""


@dataclass(frozen=True)
class Calibration:
    """Isotonic map from raw LightGBM probability to a calibrated one (piecewise linear)."""

    x: tuple[float, ...]
    y: tuple[float, ...]

    def apply(self, raw: np.ndarray) -> np.ndarray:
        if not self.x:
            return np.clip(raw, 0.0, 1.0)
        return np.clip(np.interp(raw, self.x, self.y), 0.0, 1.0)

    def to_json(self) -> dict:
        return {"method": "isotonic", "x": list(self.x), "y": list(self.y)}

    @classmethod
    def from_json(cls, d: dict) -> Calibration:
        return cls(tuple(d.get("x", ())), tuple(d.get("y", ())))


@dataclass(frozen=True)
class ModelArtifact:
    model_id: str
    path: Path
    booster: lgb.Booster
    metadata: dict
    calibration: Calibration
    strong_threshold: float
    weak_threshold: float
    factors: FactorModel = FactorModel()

    @property
    def embedding(self) -> str:
        return self.metadata["embedding"]["name"]

    @functools.cached_property
    def booster_features(self) -> tuple[str, ...]:
        """The schema features the link model reads (a model is fitted on a subset of the schema:
        the page, anchor and rel evidence the corpora have; the export's columns go to the factors)."""
        return tuple(self.booster.feature_name())

    def editorial_probability(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated probability that each link is editorial, from the link model (the placement
        factor's evidence when the page was read)."""
        return self.scores(frame)

    def worth(self, frame: pd.DataFrame, with_page: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray],
                                                                         dict[str, np.ndarray]]:
        """The worth score of each row of a schema-ordered frame: (score 0-1, each factor's part of the
        log-odds, each factor's value in [-1, 1] or NaN), see ``features.factors``. ``with_page``
        marks the rows whose source page was read: the link model gives their placement factor.
        The one scoring step behind ``linkq score``, the HTTP service, Dask and ``linkq evaluate``."""
        from .factors import combine, factor_values
        from .schema import NUMERIC_NAMES

        n = len(frame)
        with_page = np.asarray(with_page, dtype=bool)
        editorial = np.full(n, np.nan)
        cols = {name: frame[name].to_numpy(dtype=np.float64) for name in NUMERIC_NAMES}
        if with_page.any():
            editorial[with_page] = self.editorial_probability(frame.iloc[np.flatnonzero(with_page)])
        values = factor_values(cols, n, with_page, editorial)
        scores, parts = combine(values, self.factors, n, with_page)
        return scores, parts, values

    def booster_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The columns of a schema-ordered frame that the link model reads, in its order."""
        x = conform(frame)
        return x if self.booster_features == FEATURE_NAMES else x[list(self.booster_features)]

    def raw_scores(self, frame: pd.DataFrame) -> np.ndarray:
        """Uncalibrated probability of 'strong' for a schema-ordered frame."""
        if len(frame) == 0:
            return np.zeros(0)
        return self.booster.predict(self.booster_frame(frame), validate_features=True,
                                    num_threads=_threads(len(frame)))

    def scores(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated probability (0..1) that each link passes editorial value."""
        return self.calibration.apply(self.raw_scores(frame))

    def verdicts(self, scores: np.ndarray) -> list[str]:
        return [
            "strong" if s >= self.strong_threshold else "weak" if s < self.weak_threshold else "review"
            for s in scores
        ]


def _threads(rows: int) -> int:
    """One thread for small batches: LightGBM's thread hand-off costs ~10 ms per call,
    more than predicting a few hundred rows; all cores (0 = default) for large ones."""
    return 1 if rows < 2000 else 0


def default_models_dir() -> Path:
    """``$LINKQ_MODELS`` or the repository's ``models/`` folder."""
    env = os.environ.get("LINKQ_MODELS")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "models"


def resolve_model_dir(models_dir: Path, model_id: str | None = None) -> Path:
    """Folder of ``model_id`` (or of the one named in ``models/CURRENT``)."""
    if model_id is None:
        current = models_dir / CURRENT_FILE
        if not current.is_file():
            raise FileNotFoundError(f"no model given and {current} does not exist; train one with `linkq train`")
        model_id = current.read_text().strip()
    path = Path(model_id)
    if not (path / "model.txt").is_file():
        path = models_dir / model_id
    if not (path / "model.txt").is_file():
        known = sorted(p.name for p in models_dir.glob("*/") if (p / "metadata.json").is_file())
        raise FileNotFoundError(f"model {model_id!r} not found in {models_dir}; known: {', '.join(known) or 'none'}")
    return path


def save_model(folder: Path, booster: lgb.Booster, metadata: dict) -> Path:
    """Write model.txt + metadata.json atomically (temp folder, then rename)."""
    folder = Path(folder)
    names = tuple(booster.feature_name())
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise ModelMismatch(f"booster features not in the feature schema: {unknown}")
    meta = {
        "format_version": FORMAT_VERSION,
        "schema_version": SCHEMA_VERSION,
        "schema_hash": schema_hash(),
        "feature_names": list(FEATURE_NAMES),
        "booster_features": list(names),
        **metadata,
    }
    meta["model_id"] = folder.name
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        booster.save_model(str(tmp / "model.txt"))
        (tmp / "metadata.json").write_text(json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def set_current(models_dir: Path, model_id: str) -> None:
    tmp = models_dir / (CURRENT_FILE + ".tmp")
    tmp.write_text(model_id + "\n")
    os.replace(tmp, models_dir / CURRENT_FILE)


def load_model(folder: Path, embedding: str | None = None) -> ModelArtifact:
    """Load a model folder; refuse a schema or embedding mismatch with a clear message."""
    folder = Path(folder)
    meta = json.loads((folder / "metadata.json").read_text())
    if meta.get("schema_hash") != schema_hash() or meta.get("schema_version") != SCHEMA_VERSION:
        raise ModelMismatch(
            f"model {folder.name} was trained on feature schema v{meta.get('schema_version')} "
            f"(hash {meta.get('schema_hash')}), but this linkq computes schema v{SCHEMA_VERSION} "
            f"(hash {schema_hash()}); retrain it with `linkq train`"
        )
    want = meta.get("embedding", {}).get("name")
    if embedding is not None and want != embedding:
        raise ModelMismatch(
            f"model {folder.name} needs embedding model {want!r}, but the pipeline is loaded with {embedding!r}"
        )
    import lightgbm as lgb

    booster = lgb.Booster(model_file=str(folder / "model.txt"))
    names = tuple(booster.feature_name())
    if [n for n in names if n not in BY_NAME] or list(names) != meta.get("booster_features", list(FEATURE_NAMES)):
        raise ModelMismatch(f"model {folder.name}: model.txt feature names differ from metadata/schema")
    th = meta.get("thresholds", {})
    return ModelArtifact(
        model_id=meta.get("model_id", folder.name),
        path=folder,
        booster=booster,
        metadata=meta,
        calibration=Calibration.from_json(meta.get("calibration", {})),
        strong_threshold=float(th.get("strong", 0.5)),
        weak_threshold=float(th.get("weak", 0.5)),
        factors=FactorModel.from_json(meta.get("factors")),
    )
