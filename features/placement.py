"""Placement: where on the source page a link sits.

Two outputs per link: ``placement_main_prob``, the probability that the link
is in the editorial main content, from a small LightGBM model over the DOM
evidence computed by ``features.page`` (trained on the gold link labels of
public extraction benchmarks by ``training/train_placement.py``, shipped as
``features/resources/placement_model.txt``); and ``placement_zone``, a readable
zone derived from that probability and the page's landmarks.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import lightgbm as lgb
import numpy as np

from .page import PageLink, ParsedPage
from .schema import features_in_group

# DOM evidence columns = the placement group minus the outputs computed here.
PLACEMENT_OUTPUTS = ("placement_zone", "placement_main_prob", "placement_found", "placement_link_count")
DOM_FEATURES: tuple[str, ...] = tuple(n for n in features_in_group("placement") if n not in PLACEMENT_OUTPUTS)
MAIN_THRESHOLD = 0.25  # pooled out-of-fold F1 is best near here (data/placement_eval.json)
PLACEMENT_MODEL_FILE = "placement_model.txt"


@dataclass(frozen=True)
class PlacementModel:
    """The learned main-content model; loaded once and passed down explicitly."""

    booster: lgb.Booster

    @classmethod
    def load(cls, path: Path | None = None) -> PlacementModel:
        """Load from ``path`` or the copy shipped inside the ``features`` package."""
        if path is None:
            ref = resources.files("features") / "resources" / PLACEMENT_MODEL_FILE
            text = ref.read_text(encoding="utf-8")
            booster = lgb.Booster(model_str=text)
        else:
            booster = lgb.Booster(model_file=str(path))
        names = tuple(booster.feature_name())
        if names != DOM_FEATURES:
            raise ValueError(
                f"placement model features {names[:3]}... do not match this code's DOM features "
                f"{DOM_FEATURES[:3]}...; retrain it with `python -m training.train_placement`"
            )
        return cls(booster)

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        if len(matrix) == 0:
            return np.zeros(0)
        return self.booster.predict(matrix, validate_features=False)


def dom_matrix(links: list[PageLink]) -> np.ndarray:
    """Links x DOM_FEATURES float matrix (NaN where unknown)."""
    return np.array([[lk.dom.get(n, np.nan) for n in DOM_FEATURES] for lk in links], dtype=np.float64).reshape(
        len(links), len(DOM_FEATURES)
    )


def zone_of(dom: dict[str, float], main_prob: float) -> str:
    """Readable zone: comments and main content first, then landmarks, then layout cues."""
    if dom.get("cls_comment") == 1.0 or dom.get("traf_in_comments") == 1.0 and main_prob < MAIN_THRESHOLD:
        return "comments"
    if main_prob >= MAIN_THRESHOLD:
        return "main_content"
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
        probs = model.predict(dom_matrix(page.links))
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
