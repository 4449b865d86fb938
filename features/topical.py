"""Topical similarity between the source page, the link's context, its anchor and the target.

All texts of a batch are embedded in one call through a ``CachedEmbedder``, so
each distinct text (a page shared by many links, a repeated anchor) is encoded
once. Similarities are cosines in [-1, 1]; NaN where a text is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .embeddings import Embedder
from .urls import url_words


@dataclass(frozen=True)
class TopicalTexts:
    """The texts one link is compared on (None = unknown)."""

    page: str | None
    context: str | None
    anchor: str | None
    target: str
    target_known: bool


def target_text(target_url: str, target_title: str | None, target_text: str | None) -> tuple[str, bool]:
    """What the target is about: its title and text when given, else the words of its URL."""
    parts = [p for p in (target_title, (target_text or "")[:1500]) if p and p.strip()]
    if parts:
        return " ".join(parts), True
    return " ".join(url_words(target_url)), False


def topical_features(items: list[TopicalTexts], embedder: Embedder) -> list[dict[str, float]]:
    """Similarity features for a batch of links (one embedding call for the batch)."""
    texts: list[str] = []
    index: dict[str, int] = {}

    def slot(t: str | None) -> int:
        if t is None or not t.strip():
            return -1
        if t not in index:
            index[t] = len(texts)
            texts.append(t)
        return index[t]

    slots = np.array([(slot(it.page), slot(it.context), slot(it.anchor), slot(it.target)) for it in items],
                     dtype=np.int64).reshape(-1, 4)
    vecs = embedder.encode(texts) if texts else np.zeros((0, 1), dtype=np.float32)

    def cos(a: int, b: int) -> list[float]:
        """Cosines of the (a, b) text pairs of every link (rows are unit vectors); NaN if one is unknown."""
        left, right = slots[:, a], slots[:, b]
        ok = (left >= 0) & (right >= 0)
        out = np.full(len(slots), np.nan)
        if ok.any():
            out[ok] = np.einsum("ij,ij->i", vecs[left[ok]], vecs[right[ok]])
        return out.tolist()

    page_t, context_t, anchor_t, anchor_c = cos(0, 3), cos(1, 3), cos(2, 3), cos(2, 1)
    return [
        {
            "sim_page_target": page_t[i],
            "sim_context_target": context_t[i],
            "sim_anchor_target": anchor_t[i],
            "sim_anchor_context": anchor_c[i],
            "target_text_known": float(it.target_known),
        }
        for i, it in enumerate(items)
    ]
