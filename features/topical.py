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

    slots = [(slot(it.page), slot(it.context), slot(it.anchor), slot(it.target)) for it in items]
    vecs = embedder.encode(texts) if texts else np.zeros((0, 1), dtype=np.float32)

    def cos(a: int, b: int) -> float:
        return float(np.dot(vecs[a], vecs[b])) if a >= 0 and b >= 0 else np.nan

    out = []
    for it, (p, c, a, t) in zip(items, slots, strict=True):
        out.append(
            {
                "sim_page_target": cos(p, t),
                "sim_context_target": cos(c, t),
                "sim_anchor_target": cos(a, t),
                "sim_anchor_context": cos(a, c),
                "target_text_known": float(it.target_known),
            }
        )
    return out
