"""Topical similarity between the source page, the link's context, its anchor and the target.

All texts of a batch are embedded in one call through a ``CachedEmbedder``, so
each distinct text (a page shared by many links, a repeated anchor) is encoded
once. Similarities are cosines in [-1, 1]; NaN where a text is unknown.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .embeddings import Embedder
from .urls import url_words


class TopicalTexts(NamedTuple):
    """The texts one link is compared on (None = unknown)."""

    page: str | None
    context: str | None
    anchor: str | None
    target: str
    target_known: bool
    title: str | None = None  # the source page's title (from the export or the page)


def target_text(target_url: str, target_title: str | None, target_text: str | None) -> tuple[str, bool]:
    """What the target is about: its title and text when given, else the words of its URL."""
    parts = [p for p in (target_title, (target_text or "")[:1500]) if p and p.strip()]
    if parts:
        return " ".join(parts), True
    return " ".join(url_words(target_url)), False


def topical_columns(items: list[TopicalTexts], embedder: Embedder) -> dict[str, np.ndarray]:
    """Similarity features for a batch of links, one float64 array per feature (one embedding
    call for the batch; arrays, not a dict per link: the caller puts them in its frame)."""
    texts: list[str] = []
    index: dict[str, int] = {}

    def slot(t: str | None) -> int:
        if t is None:
            return -1
        got = index.get(t)
        if got is None:
            if not t.strip():
                return -1
            got = index[t] = len(texts)
            texts.append(t)
        return got

    slots = np.array([(slot(it.page), slot(it.context), slot(it.anchor), slot(it.target), slot(it.title))
                      for it in items], dtype=np.int64).reshape(-1, 5)
    vecs = embedder.encode(texts) if texts else np.zeros((0, 1), dtype=np.float32)

    def cos(a: int, b: int) -> np.ndarray:
        """Cosines of the (a, b) text pairs of every link (rows are unit vectors); NaN if one is unknown."""
        left, right = slots[:, a], slots[:, b]
        ok = (left >= 0) & (right >= 0)
        out = np.full(len(slots), np.nan)
        if ok.any():
            out[ok] = np.einsum("ij,ij->i", vecs[left[ok]], vecs[right[ok]])
        return out

    return {
        "sim_page_target": cos(0, 3),
        "sim_context_target": cos(1, 3),
        "sim_anchor_target": cos(2, 3),
        "sim_anchor_context": cos(2, 1),
        "sim_title_target": cos(4, 3),
        "target_text_known": np.array([float(it.target_known) for it in items]),
    }
