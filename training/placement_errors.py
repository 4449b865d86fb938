"""Error analysis of the placement model: the worst out-of-fold misses with their DOM path.

Reads the placement table and the out-of-fold predictions written by
``python -m training.train_placement`` (``data/build``), then for each corpus prints
the gold ``content`` links with the lowest probability (missed editorial links) and the
``boilerplate``/``comments`` links with the highest (boilerplate taken for content),
each with its anchor, the evidence that mattered and its DOM path (tag#id.class from
the root), so the error classes can be read off.

Run: ``python -m training.placement_errors --shared ../shared [--top 8] [--corpus dragnet]``.
"""

from __future__ import annotations

import argparse
import gzip
import re
from pathlib import Path

import lxml.html
import numpy as np
import pandas as pd
from lxml import etree

from features.html_text import decode_html
from features.placement import main_threshold
from features.urls import SKIP_SCHEMES

from .corpora import page_file

SHOWN = ("traf_has_anchor", "res_has_anchor", "pm_in_main", "pm_in_article", "block_link_density",
         "cls_boiler_depth", "cls_content_depth", "dom_in_paragraph", "rd_unlikely", "rd_removed", "rep_href",
         "rep_path_share")


def _step(el: etree._Element) -> str:
    tag = el.tag if isinstance(el.tag, str) else "?"
    ident = f"#{el.get('id')}" if el.get("id") else ""
    cls = "".join(f".{c}" for c in (el.get("class") or "").split()[:2])
    return f"{tag}{ident}{cls}"


def dom_path(html: str, link_idx: int) -> tuple[str, str]:
    """(path from the root to the ``link_idx``-th qualifying ``<a href>``, its block's text),
    enumerated as ``features.page.parse_page`` does."""
    if html.lstrip().startswith("<?xml"):  # lxml refuses str input that declares an encoding
        html = re.sub(r"^\s*<\?xml[^>]*\?>", "", html, count=1)
    root = lxml.html.document_fromstring(html)
    etree.strip_elements(root, "script", "style", "noscript", with_tail=False)
    k = -1
    for a in root.iter("a"):
        h = (a.get("href") or "").strip()
        if not h or h.startswith("#") or h.lower().startswith(SKIP_SCHEMES):
            continue
        k += 1
        if k == link_idx:
            chain = [a, *a.iterancestors()][::-1]
            block = a.getparent() if a.getparent() is not None else a
            text = " ".join(block.text_content().split())
            return " > ".join(_step(e) for e in chain), text[:160]
    return "(link not found)", ""


def worst(df: pd.DataFrame, top: int, thr: float) -> pd.DataFrame:
    """Per corpus: the ``top`` missed content links and the ``top`` boilerplate links taken for content."""
    parts = []
    for _, part in df.groupby("corpus"):
        fn = part[(part["y"] == 1) & (part["prob"] < thr)].nsmallest(top, "prob").assign(kind="missed")
        fp = part[(part["y"] == 0) & (part["prob"] >= thr)].nlargest(top, "prob").assign(kind="false_main")
        parts += [fn, fp]
    return pd.concat(parts, ignore_index=True)


def error_classes(df: pd.DataFrame, thr: float) -> pd.DataFrame:
    """Counts of errors at threshold ``thr`` by coarse evidence class (first match), per corpus."""
    err = df[(df["y"] == 1) != (df["prob"] >= thr)].copy()
    err["kind"] = np.where(err["y"] == 1, "missed", "false_main")
    cls = np.select(
        [err["cls_comment"] == 1, err["dom_in_footer"] + err["cls_footer"] > 0, err["block_link_density"] > 0.6,
         err["traf_has_anchor"] == 0, err["pm_in_main"] == 0],
        ["comment-class", "footer", "link-dense block", "not in trafilatura text", "outside main block"],
        default="in main, prose",
    )
    err["class"] = cls
    return err.groupby(["corpus", "kind", "class"]).size().unstack(fill_value=0)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path("../shared"))
    ap.add_argument("--build", type=Path, default=Path("data/build"))
    ap.add_argument("--top", type=int, default=8)
    ap.add_argument("--corpus", action="append", help="only these corpora (repeatable)")
    ap.add_argument("--threshold", type=float, help="decision threshold (default: the shipped one)")
    ap.add_argument("--scope", choices=("all", "external"), default="all")
    ap.add_argument("--vs", help="only errors this extractor baseline gets right (e.g. readability)")
    ap.add_argument("--table", type=Path, help="placement table (default: BUILD/placement_links.parquet)")
    ap.add_argument("--oof", type=Path, help="out-of-fold predictions (default: BUILD/placement_oof.parquet)")
    args = ap.parse_args(argv)
    thr = args.threshold if args.threshold is not None else main_threshold()
    table = pd.read_parquet(args.table or args.build / "placement_links.parquet")
    oof = pd.read_parquet(args.oof or args.build / "placement_oof.parquet").rename(columns={"placement_oof": "prob"})
    df = table.merge(oof, on=["corpus", "page_id", "link_idx"], how="inner")
    df = df[df["label"].isin(["content", "boilerplate", "comments"])]
    df["y"] = (df["label"] == "content").astype(int)
    if args.corpus:
        df = df[df["corpus"].isin(args.corpus)]
    if args.scope == "external":
        df = df[df["scope"] == "external"]
    if args.vs:
        base = pd.read_parquet(args.build / "extractor_baselines.parquet",
                               columns=["corpus", "page_id", "link_idx", f"base_{args.vs}"])
        df = df.merge(base.drop_duplicates(["corpus", "page_id", "link_idx"]), on=["corpus", "page_id", "link_idx"])
        df = df[(df[f"base_{args.vs}"] > 0.5) == (df["y"] == 1)]
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(error_classes(df, thr).to_string())
    for _, r in worst(df, args.top, thr).iterrows():
        path = page_file(args.shared / "corpora" / r["corpus"], r["corpus"], r["page_id"])
        with gzip.open(path) as fh:
            html = decode_html(fh.read())
        dpath, text = dom_path(html, int(r["link_idx"]))
        ev = " ".join(f"{k}={r[k]:.2f}" for k in SHOWN if k in r and r[k] == r[k])
        print(f"\n[{r['corpus']} {r['kind']}] p={r['prob']:.3f} page={r['page_id']} #{r['link_idx']} "
              f"{r['scope']} anchor={r['anchor'][:60]!r}\n  {ev}\n  {dpath[-260:]}\n  block: {text}")


if __name__ == "__main__":
    main()
