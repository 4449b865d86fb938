"""Extractor baselines for placement: "the anchor text occurs in extractor X's main text".

For every gold page of ``../shared/corpora`` this runs readability-lxml, resiliparse,
jusText and boilerpipe (boilerpy3) once, times each (CPU ms per page) and writes one
row per gold link with a 0/1 verdict per extractor (``base_<name>``; NaN where the
extractor failed on the page). ``training.train_placement`` joins it to report the
baselines per corpus; the CPU column tells which extractor could pay for itself as a
placement feature. trafilatura's verdict is already a DOM feature (``traf_has_anchor``).

Run: ``python -m training.extractor_baselines --shared ../shared`` (~10 min on 2 cores;
cached in ``data/build/extractor_baselines.parquet``, delete it to rebuild).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import lxml.html
import numpy as np
import pandas as pd

from features.html_text import norm_text

from .corpora import CORPORA, GoldPage, iter_gold_pages

EXTRACTORS = ("readability", "resiliparse", "justext", "boilerpipe")
_JUSTEXT_LANG = {
    "en": "English", "fr": "French", "de": "German", "es": "Spanish", "it": "Italian", "pt": "Portuguese",
    "nl": "Dutch", "pl": "Polish", "ru": "Russian", "cs": "Czech", "sv": "Swedish", "da": "Danish",
    "fi": "Finnish", "no": "Norwegian_Bokmal", "tr": "Turkish", "hu": "Hungarian", "ro": "Romanian",
    "el": "Greek", "uk": "Ukrainian", "ca": "Catalan", "sk": "Slovak", "hr": "Croatian", "sl": "Slovenian",
}


def _readability(html: str) -> str:
    from readability import Document

    summary = Document(html).summary(html_partial=True)
    return lxml.html.fromstring(summary).text_content() if summary.strip() else ""


def _resiliparse(html: str) -> str:
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    return extract_plain_text(HTMLTree.parse(html), main_content=True)


def _page_lang(html: str) -> str:
    import re

    m = re.search(r"<html[^>]*\blang=[\"']?([a-zA-Z]{2})", html[:5000])
    return m.group(1).lower() if m else "en"


def _justext(html: str) -> str:
    import justext

    stop = justext.get_stoplist(_JUSTEXT_LANG.get(_page_lang(html), "English"))
    paras = justext.justext(html.encode("utf-8", "replace"), stop, encoding="utf-8")
    return "\n".join(p.text for p in paras if not p.is_boilerplate)


def _boilerpipe(html: str) -> str:
    from boilerpy3 import extractors

    return extractors.ArticleExtractor(raise_on_failure=False).get_content(html)


_RUN: dict[str, Callable[[str], str]] = {
    "readability": _readability, "resiliparse": _resiliparse, "justext": _justext, "boilerpipe": _boilerpipe,
}


def page_rows(gp: GoldPage) -> list[dict]:
    """One row per gold link of ``gp`` with each extractor's verdict and per-page CPU ms."""
    texts: dict[str, str | None] = {}
    cpu: dict[str, float] = {}
    for name in EXTRACTORS:
        t0 = time.process_time()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                texts[name] = " " + norm_text(_RUN[name](gp.html) or "") + " "
        except Exception:  # noqa: BLE001 - an extractor failing on a page is a missing verdict, not a crash
            texts[name] = None
        cpu[name] = (time.process_time() - t0) * 1000.0
    rows = []
    for gl in gp.links:
        an = norm_text(gl.anchor)
        row: dict = {"corpus": gp.corpus, "page_id": gp.page_id, "link_idx": gl.idx}
        for name in EXTRACTORS:
            text = texts[name]
            row[f"base_{name}"] = np.nan if text is None else float(bool(an) and f" {an} " in text)
            row[f"ms_{name}"] = cpu[name]
        rows.append(row)
    return rows


def build_extractor_table(shared: Path, cache: Path, corpora: tuple[str, ...] = CORPORA, workers: int = 2) -> pd.DataFrame:
    """The per-link verdict table, read from ``cache`` when present."""
    if cache.exists():
        return pd.read_parquet(cache)
    with mp.get_context("fork").Pool(workers) as pool:
        rows = [r for chunk in pool.imap(page_rows, iter_gold_pages(shared, corpora), chunksize=4) for r in chunk]
    df = pd.DataFrame(rows)
    for c in df.columns:
        if c.startswith(("base_", "ms_")):
            df[c] = df[c].astype(np.float32)
    cache.parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(cache, index=False)
    return df


def cpu_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Median and p90 CPU ms per page of each extractor, per corpus."""
    pages = df.drop_duplicates(["corpus", "page_id"])
    out = {}
    for name in EXTRACTORS:
        g = pages.groupby("corpus")[f"ms_{name}"]
        out[f"{name} median"] = g.median()
        out[f"{name} p90"] = g.quantile(0.9)
    return pd.DataFrame(out).round(1)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path("../shared"))
    ap.add_argument("--build", type=Path, default=Path("data/build"))
    args = ap.parse_args(argv)
    df = build_extractor_table(args.shared, args.build / "extractor_baselines.parquet")
    print(cpu_summary(df).to_string())


if __name__ == "__main__":
    main()
