"""Placement: where on the source page a link sits.

Two outputs per link: ``placement_main_prob``, the probability that the link
is in the editorial main content, from a small LightGBM model over the DOM
evidence computed by ``features.page`` (trained on the gold link labels of
public extraction benchmarks by ``training/train_placement.py``, shipped as
``features/resources/placement_model.txt``, its output calibrated and its one
decision threshold chosen leave-one-corpus-out, both in ``placement_calibration.json``);
and ``placement_zone``, a readable zone derived from that probability and the page's
landmarks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import lightgbm as lgb
import numpy as np

from .page import EXTRA_FEATURES, PageLink, ParsedPage
from .schema import features_in_group

# DOM evidence columns = the placement group minus the outputs computed here.
PLACEMENT_OUTPUTS = ("placement_zone", "placement_main_prob", "placement_found", "placement_link_count")
DOM_FEATURES: tuple[str, ...] = tuple(n for n in features_in_group("placement") if n not in PLACEMENT_OUTPUTS)
# The placement model's inputs: the schema's DOM columns, then evidence only it uses.
MODEL_FEATURES: tuple[str, ...] = DOM_FEATURES + EXTRA_FEATURES
PLACEMENT_MODEL_FILE = "placement_model.txt"
CALIBRATION_FILE = "placement_calibration.json"


@dataclass(frozen=True)
class Calibration:
    """Platt scaling of the raw model output and the decision threshold on the calibrated scale.

    ``prob = 1 / (1 + exp(-(slope * logit(raw) + intercept)))``; both fitted on site-grouped
    out-of-fold predictions by ``training/train_placement.py``, which also picks ``threshold``
    leave-one-corpus-out."""

    slope: float
    intercept: float
    threshold: float

    def apply(self, raw: np.ndarray) -> np.ndarray:
        r = np.clip(np.asarray(raw, dtype=np.float64), 1e-6, 1 - 1e-6)
        return 1.0 / (1.0 + np.exp(-(self.slope * np.log(r / (1 - r)) + self.intercept)))

    @classmethod
    def from_json(cls, text: str) -> Calibration:
        d = json.loads(text)
        return cls(float(d["slope"]), float(d["intercept"]), float(d["threshold"]))


@lru_cache(maxsize=1)
def shipped_calibration() -> Calibration:
    """The calibration shipped beside the model (read once, on first use)."""
    ref = resources.files("features") / "resources" / CALIBRATION_FILE
    return Calibration.from_json(ref.read_text(encoding="utf-8"))


def main_threshold() -> float:
    """Decision threshold on ``placement_main_prob``: at or above it a link is main content."""
    return shipped_calibration().threshold


@dataclass(frozen=True)
class PlacementModel:
    """The learned main-content model; loaded once and passed down explicitly."""

    booster: lgb.Booster
    calibration: Calibration

    @classmethod
    def load(cls, path: Path | None = None) -> PlacementModel:
        """Load from ``path`` (with its calibration JSON beside it) or the copies shipped inside
        the ``features`` package."""
        if path is None:
            ref = resources.files("features") / "resources" / PLACEMENT_MODEL_FILE
            booster = lgb.Booster(model_str=ref.read_text(encoding="utf-8"))
            calibration = shipped_calibration()
        else:
            booster = lgb.Booster(model_file=str(path))
            calibration = Calibration.from_json((path.parent / CALIBRATION_FILE).read_text(encoding="utf-8"))
        names = tuple(booster.feature_name())
        if names != MODEL_FEATURES:
            raise ValueError(
                f"placement model features {names[:3]}... do not match this code's placement features "
                f"{MODEL_FEATURES[:3]}...; retrain it with `python -m training.train_placement`"
            )
        return cls(booster, calibration)

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """Calibrated main-content probability per row of a ``model_matrix``."""
        if len(matrix) == 0:
            return np.zeros(0)
        # one thread: a page holds tens to hundreds of links, too few for OpenMP to pay; LightGBM's
        # thread pool cost ~6 ms of CPU per page (spinning), one thread ~1.5 ms; same output
        return self.calibration.apply(self.booster.predict(matrix, validate_features=False, num_threads=1))


def model_matrix(links: list[PageLink]) -> np.ndarray:
    """Links x MODEL_FEATURES float matrix (NaN where unknown)."""
    rows = [[lk.dom.get(n, np.nan) for n in DOM_FEATURES] + [lk.extra.get(n, np.nan) for n in EXTRA_FEATURES]
            for lk in links]
    return np.array(rows, dtype=np.float64).reshape(len(links), len(MODEL_FEATURES))


def zone_of(dom: dict[str, float], main_prob: float) -> str:
    """Readable zone: main content first (the model's decision alone: a comment-like class is
    evidence it already weighs, not a veto), then comments, landmarks and layout cues."""
    if main_prob >= main_threshold():
        return "main_content"
    if dom.get("cls_comment") == 1.0 or dom.get("traf_in_comments") == 1.0:
        return "comments"
    if dom.get("dom_in_footer") == 1.0 or dom.get("cls_footer") == 1.0:
        return "footer"
    if dom.get("dom_in_nav") == 1.0 or dom.get("cls_nav") == 1.0:
        return "navigation"
    if dom.get("dom_in_header") == 1.0 or dom.get("cls_header") == 1.0:
        return "header"
    if dom.get("dom_in_aside") == 1.0 or dom.get("cls_sidebar") == 1.0:
        return "sidebar"
    if dom.get("cls_related") == 1.0 or dom.get("cls_blogroll") == 1.0 or dom.get("block_link_density", 0) > 0.6:
        return "link_list"
    pos = dom.get("doc_text_pos", 0.5)
    if pos < 0.1:
        return "header"
    if pos > 0.9:
        return "footer"
    return "sidebar"


def place_page(page: ParsedPage, model: PlacementModel | None) -> None:
    """Fill ``page.main_prob`` and ``page.zones`` for every link of the page (once per page)."""
    if page.main_prob is not None:
        return
    if model is None:
        probs = np.full(len(page.links), np.nan)
    else:
        probs = model.predict(model_matrix(page.links))
    page.main_prob = probs
    page.zones = [zone_of(lk.dom, float(p) if np.isfinite(p) else 0.0) for lk, p in zip(page.links, probs, strict=True)]


def best_link(page: ParsedPage, target_key: str) -> tuple[PageLink | None, float, str, int]:
    """The most prominent link to ``target_key``: (link, main_prob, zone, count)."""
    assert page.main_prob is not None, "place_page() first"
    idx = [i for i, lk in enumerate(page.links) if lk.key == target_key]
    if not idx:
        return None, np.nan, "not_found", 0
    probs = page.main_prob
    best = max(idx, key=lambda i: (probs[i] if np.isfinite(probs[i]) else -1.0, -i))
    return page.links[best], float(probs[best]), page.zones[best], len(idx)
