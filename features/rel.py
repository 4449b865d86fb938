"""rel flags of a link (nofollow, sponsored, ugc) and page-level robots meta.

The page's own ``rel`` attribute wins over the export's, because the page is
the evidence; without either, every flag is unknown (NaN).
"""

from __future__ import annotations

import functools

import numpy as np


def rel_tokens(rel: str | None) -> set[str] | None:
    """'NoFollow  UGC' -> {'nofollow', 'ugc'}; None when rel is unknown."""
    if rel is None:
        return None
    return {t for t in rel.lower().replace(",", " ").split() if t}


@functools.lru_cache(maxsize=256)  # a handful of distinct rel values in any export
def rel_features(rel: str | None) -> dict[str, float]:
    """The rel flags of one link. The result is cached and shared: callers copy it
    (``row.update(...)``), never change it."""
    tokens = rel_tokens(rel)
    if tokens is None:
        return {"rel_known": 0.0, "rel_nofollow": np.nan, "rel_sponsored": np.nan, "rel_ugc": np.nan}
    return {
        "rel_known": 1.0,
        "rel_nofollow": float("nofollow" in tokens),
        "rel_sponsored": float("sponsored" in tokens),
        "rel_ugc": float("ugc" in tokens),
    }
