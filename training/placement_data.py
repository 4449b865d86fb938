"""Join the corpora's gold link labels to the DOM evidence of ``features.page``.

One row per gold link that parse_page enumerates identically (same index, same
href): DOM features, gold label, corpus, page, site, scope. Parsing ~3,500
pages takes a few minutes, so the table is cached as Parquet under data/build.
"""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import numpy as np
import pandas as pd

from features.page import EXTRA_FEATURES, parse_page
from features.placement import DOM_FEATURES, MODEL_FEATURES
from features.urls import registered_domain

from .corpora import CORPORA, GoldPage, iter_gold_pages

PLACEMENT_LABELS = {"content": 1, "boilerplate": 0, "comments": 0}


def page_rows(gp: GoldPage) -> list[dict]:
    """Rows for one gold page (empty when the page cannot be parsed)."""
    try:
        page = parse_page(gp.html, gp.url)
    except ValueError:
        return []
    own = registered_domain(gp.url)
    rows = []
    for gl in gp.links:
        if gl.idx >= len(page.links):
            continue
        lk = page.links[gl.idx]
        if lk.href != gl.href.strip():
            continue
        key = lk.key or ""
        tgt_domain = registered_domain(key.split("/")[0]) if key else ""
        rows.append(
            {
                "corpus": gp.corpus,
                "page_id": gp.page_id,
                "site": gp.site,
                "url_known": gp.url_known,
                "link_idx": gl.idx,
                "label": gl.label,
                "scope": gl.scope or ("external" if tgt_domain and tgt_domain != own else "internal"),
                "href": lk.href,
                "target_key": key,
                "anchor": lk.anchor,
                **{k: lk.dom[k] for k in DOM_FEATURES},
                **{k: lk.extra[k] for k in EXTRA_FEATURES},
            }
        )
    return rows


def build_placement_table(shared: Path, cache: Path, corpora: tuple[str, ...] = CORPORA, workers: int = 2) -> pd.DataFrame:
    """The joined table, read from ``cache`` when present with every placement feature (delete it
    to rebuild after a change to ``features.page``)."""
    if cache.exists():
        cached = pd.read_parquet(cache)
        if all(k in cached.columns for k in MODEL_FEATURES):
            return cached
    pages = iter_gold_pages(shared, corpora)
    with mp.get_context("fork").Pool(workers) as pool:
        chunks = pool.imap(page_rows, pages, chunksize=4)
        rows = [r for chunk in chunks for r in chunk]
    df = pd.DataFrame(rows)
    for k in MODEL_FEATURES:
        df[k] = df[k].astype(np.float32)
    cache.parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(cache, index=False)
    return df


