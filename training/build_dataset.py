"""Build the default training set of labelled backlinks from ``../shared`` (``make data``).

Unit: one (source page, target URL) pair, i.e. one backlink, however many
``<a>`` on the page point to the target. Labels come from the corpora's gold
annotations and the public spam lists, never from features (see
data/DATASHEET.md for the rules, counts and caveats):

- strong (1): at least one gold ``content`` link to the target with anchor text,
  not rel=sponsored/ugc, target not on a spam list;
- weak (0): every gold link to the target is ``boilerplate``/``comments``, or it
  is rel=sponsored/ugc, or the target is on a spam list, or it is synthetic;
- dropped: ``ambiguous``/``notext``/``unlabelled`` only.

Each pair appears in two modes: ``html`` (features from the page) and
``export`` (no HTML: anchor, context, rel and title as an export gives them,
read off the page). Synthetic rows (real pages with an injected in-content
money-anchor link to an unrelated commercial target) are marked ``synthetic``.
Placement probabilities are replaced by the placement model's out-of-fold
predictions, so no row is scored by a placement model that saw its site.

Output: ``data/build/links.parquet`` and ``data/MANIFEST.json`` (hashes, counts).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import random
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urljoin

import lxml.html
import numpy as np
import pandas as pd
from lxml import etree

from features.domains import DomainLists
from features.embeddings import DEFAULT_EMBEDDING
from features.pipeline import FeatureContext, extract_features, load_context
from features.placement import zone_of
from features.rel import rel_tokens
from features.schema import FEATURE_NAMES
from features.urls import registered_domain, url_key

from .corpora import CORPORA, GoldPage, iter_gold_pages
from .splits import site_folds

SYNTHETIC_PAGE_SHARE = 0.7  # pages that get one injected money link (about 1% of pairs)
SYNTHETIC_REL_SHARE = 0.1  # real strong links copied as rel=sponsored/ugc twins (about 1% of rows)

MONEY_ANCHORS = (
    "cheap payday loans", "best online casino", "buy viagra online", "cheap replica watches", "seo services",
    "buy backlinks", "best cbd oil", "online sports betting", "cheap car insurance", "buy essays online",
    "best vpn deals", "forex trading signals", "cheap flights deals", "weight loss pills", "crypto trading bot",
    "buy instagram followers", "best mattress discount", "cheap web hosting", "slot machines online",
    "payday loans no credit check", "günstige kredite", "casino en ligne", "comprar seguidores",
)
MONEY_TLDS = ("com", "net", "xyz", "top", "online", "info", "biz")

_CTX: FeatureContext | None = None
_EMBEDDING = DEFAULT_EMBEDDING


def _ctx() -> FeatureContext:
    global _CTX  # one context per worker process (forked after main() sets _EMBEDDING), loaded on first use
    if _CTX is None:
        _CTX = load_context(_EMBEDDING)
    return _CTX


def pair_labels(gp: GoldPage, lists: DomainLists) -> list[dict]:
    """One labelled pair per (page, target key) with at least one usable gold link."""
    groups: dict[str, list] = {}
    for gl in gp.links:
        key = url_key(gl.href, base=gp.url)
        if key:
            groups.setdefault(key, []).append(gl)
    own = registered_domain(gp.url)
    pairs = []
    for key, gls in groups.items():
        labels = {g.label for g in gls}
        target = urljoin(gp.url, gls[0].href.strip())
        spam = lists.is_spam(target)
        if "content" in labels and any(g.anchor.strip() for g in gls if g.label == "content"):
            label, why = (0, "spam_target") if spam else (1, "content")
        elif labels and labels <= {"boilerplate", "comments"}:
            label, why = 0, "comments" if "comments" in labels else "boilerplate"
        else:
            continue
        tgt_dom = registered_domain(key.split("/")[0])
        pairs.append(
            {"target_url": target, "label": label, "label_source": why,
             "scope": "internal" if tgt_dom == own else "external"}
        )
    return pairs


def inject_money_link(html: str, url: str, rng: random.Random) -> tuple[str, str, str] | None:
    """Put an exact-match money-anchor link to an unrelated commercial site inside the
    longest paragraph of a real page; returns (html, target_url, anchor) or None."""
    try:
        root = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return None
    paras = [p for p in root.iter("p") if len(p.text_content()) > 200]
    if not paras:
        return None
    p = max(paras, key=lambda e: len(e.text_content()))
    anchor = rng.choice(MONEY_ANCHORS)
    slug = "-".join(anchor.split())
    domain = f"{rng.choice(['best', 'top', 'cheap', 'pro', 'go', 'my'])}-{slug.split('-')[-1]}-{rng.randint(1, 99)}"
    target = f"https://{domain}.{rng.choice(MONEY_TLDS)}/{slug}"
    a = etree.Element("a", href=target)
    a.text = anchor
    text = p.text or ""
    cut = text.find(" ", len(text) // 2)
    try:
        if cut > 0:  # in the middle of the paragraph's own text, as a contextual link would be
            p.text, a.tail = text[:cut] + " ", " " + text[cut:]
            p.insert(0, a)
        else:
            a.tail = " "
            p.append(a)
        return etree.tostring(root, encoding="unicode", method="html"), target, anchor
    except ValueError:  # text lxml refuses to write back (control characters)
        return None


def page_dataset(gp: GoldPage) -> pd.DataFrame | None:
    """All labelled rows of one page, both modes, plus its synthetic row if drawn."""
    ctx = _ctx()
    pairs = pair_labels(gp, ctx.lists)
    rng = random.Random(int(hashlib.sha256(f"{gp.corpus}/{gp.page_id}".encode()).hexdigest()[:8], 16))
    html = gp.html
    records = [{"source_url": gp.url, "target_url": p["target_url"], "source_html": html} for p in pairs]
    meta = [dict(p, synthetic=0) for p in pairs]
    if pairs and rng.random() < SYNTHETIC_PAGE_SHARE:
        inj = inject_money_link(html, gp.url, rng)
        if inj:
            syn_html, target, _anchor = inj
            records.append({"source_url": gp.url, "target_url": target, "source_html": syn_html})
            meta.append({"target_url": target, "label": 0, "label_source": "synthetic_money_link",
                         "scope": "external", "synthetic": 1})
    if not records:
        return None
    batch = extract_features(records, ctx)
    keep = [i for i, s in enumerate(batch.status) if not s.startswith("error")]
    errors = [s for s in batch.status if s.startswith("error")]
    if errors:  # a feature bug must not silently thin the training set: report it
        print(f"{gp.corpus}/{gp.page_id}: {len(errors)} feature errors, e.g. {errors[0]}", flush=True)
    if not keep:
        return None
    html_frame = batch.frame.iloc[keep].reset_index(drop=True)
    # export-only twins: what a backlink export would carry for the same link
    export_records = []
    for i in keep:
        ev = batch.evidence[i]
        rec = {"source_url": gp.url, "target_url": records[i]["target_url"]}
        if "anchor_on_page" in ev:
            rec.update(anchor_text=ev["anchor_on_page"], rel=ev.get("rel_on_page", ""),
                       context_left=ev.get("context_left"), context_right=ev.get("context_right"))
        rec["source_title"] = ev.get("source_title") or None
        export_records.append(rec)
    export_batch = extract_features(export_records, ctx, use_pages=False)
    bad = [s for s in export_batch.status if s.startswith("error")]
    if bad:
        print(f"{gp.corpus}/{gp.page_id}: {len(bad)} export-mode feature errors, e.g. {bad[0]}", flush=True)
    export_frame = export_batch.frame
    rows = pd.DataFrame([meta[i] for i in keep])
    rows["gold_idx"] = [batch.evidence[i].get("link_index", -1) for i in keep]
    rows["rel_on_page"] = [batch.evidence[i].get("rel_on_page") for i in keep]
    base = rows.assign(corpus=gp.corpus, page_id=gp.page_id, site=gp.site, source_url=gp.url)
    out = pd.concat(
        [pd.concat([base.assign(mode="html"), html_frame], axis=1),
         pd.concat([base.assign(mode="export"), export_frame], axis=1)],
        ignore_index=True,
    )
    return out


def apply_rel_labels(df: pd.DataFrame) -> pd.DataFrame:
    """rel=sponsored/ugc on the page makes a link weak (label rule, see datasheet)."""
    toks = df["rel_on_page"].map(lambda r: (rel_tokens(r) if isinstance(r, str) else None) or set())
    paid = toks.map(lambda t: bool(t & {"sponsored", "ugc"}))
    flip = paid & (df["label"] == 1)
    df.loc[flip, "label"] = 0
    df.loc[flip, "label_source"] = "rel_sponsored_ugc"
    return df


def add_rel_twins(df: pd.DataFrame, share: float = SYNTHETIC_REL_SHARE, seed: int = 11) -> pd.DataFrame:
    """Synthetic copies of real strong links marked rel=sponsored or ugc (label weak by definition).

    The corpora hold almost no such links, so without these the model could not learn the
    label rule; they are marked ``synthetic`` and stay a small minority."""
    rng = np.random.default_rng(seed)
    strong = df[(df["label"] == 1) & (df["synthetic"] == 0)]
    twins = strong.sample(frac=share, random_state=seed).copy()
    kind = rng.integers(0, 2, len(twins))
    twins["rel_known"] = 1.0
    twins["rel_sponsored"] = np.where(kind == 0, 1.0, twins["rel_sponsored"].fillna(0.0))
    twins["rel_ugc"] = np.where(kind == 1, 1.0, twins["rel_ugc"].fillna(0.0))
    twins["rel_nofollow"] = np.where(rng.random(len(twins)) < 0.5, 1.0, twins["rel_nofollow"].fillna(0.0))
    twins["label"] = 0
    twins["synthetic"] = 1
    twins["label_source"] = np.where(kind == 0, "synthetic_rel_sponsored", "synthetic_rel_ugc")
    return pd.concat([df, twins], ignore_index=True)


def apply_oof_placement(df: pd.DataFrame, oof_path: Path) -> pd.DataFrame:
    """Replace placement_main_prob/zone of html rows with out-of-fold predictions."""
    oof = pd.read_parquet(oof_path).rename(columns={"link_idx": "gold_idx"})
    merged = df.merge(oof, on=["corpus", "page_id", "gold_idx"], how="left")
    html = (merged["mode"] == "html") & merged["placement_found"].eq(1.0)
    has = html & merged["placement_oof"].notna()
    merged.loc[has, "placement_main_prob"] = merged.loc[has, "placement_oof"]
    # pairs whose representative link has no out-of-fold prediction keep the shipped
    # model's probability; they are counted in the manifest (leak_risk_rows).
    merged["leak_risk"] = (html & ~has).astype(np.int8)
    dom_cols = [c for c in FEATURE_NAMES if c.startswith(("dom_", "cls_", "traf_", "block_", "ctx_", "doc_", "list_"))]
    zones = [
        zone_of(dict(zip(dom_cols, vals, strict=True)), float(p)) if m == "html" and f == 1.0 else z
        for vals, p, m, f, z in zip(
            merged[dom_cols].to_numpy(), merged["placement_main_prob"].fillna(0).to_numpy(),
            merged["mode"], merged["placement_found"], merged["placement_zone"], strict=True
        )
    ]
    merged["placement_zone"] = pd.Categorical(zones, categories=merged["placement_zone"].cat.categories)
    return merged.drop(columns=["placement_oof"])


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument("--out", type=Path, default=Path("data/build"))
    parser.add_argument("--manifest", type=Path, default=Path("data/MANIFEST.json"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reuse-raw", action="store_true", help="reuse the featurised pages of a previous run")
    parser.add_argument("--embedding", default=DEFAULT_EMBEDDING, help="embedding model for the topical features")
    parser.add_argument("--corpora", default=",".join(c for c in CORPORA if c != "trafilatura-eval"))
    args = parser.parse_args(argv)
    global _EMBEDDING
    _EMBEDDING = args.embedding
    t0 = time.time()
    oof_path = args.out / "placement_oof.parquet"
    if not oof_path.exists():
        # in a child process: LightGBM's OpenMP threads, once started here, would hang the forked
        # pool below (seen: its workers waited forever when this ran in-process); its report goes
        # beside the table, not over the repository's data/placement_eval.json
        subprocess.run([sys.executable, "-m", "training.train_placement", "--shared", str(args.shared),
                        "--build", str(args.out), "--eval-only", "--report", str(args.out / "placement_eval.json")],
                       check=True)
    corpora = tuple(c for c in args.corpora.split(",") if c)
    raw_path = args.out / "links_raw.parquet"  # checkpoint: the slow part, before the labelling rules
    if args.reuse_raw and raw_path.exists():
        df = pd.read_parquet(raw_path)
    else:
        with mp.get_context("fork").Pool(args.workers) as pool:
            parts = [p for p in pool.imap(page_dataset, iter_gold_pages(args.shared, corpora), chunksize=2)
                     if p is not None]
        df = pd.concat(parts, ignore_index=True)
        df.to_parquet(raw_path, index=False)
    df = apply_rel_labels(df)
    df = apply_oof_placement(df, oof_path)
    df = add_rel_twins(df)
    df["fold"] = site_folds(df["site"])
    out = args.out / "links.parquet"
    df.to_parquet(out, index=False)
    counts = (
        df[df["mode"] == "html"].groupby(["corpus", "label"]).size().unstack(fill_value=0).rename(columns={0: "weak", 1: "strong"})
    )
    manifest = {
        "file": str(out),
        "sha256": sha256_file(out),
        "rows": int(len(df)),
        "pairs": int((df["mode"] == "html").sum()),
        "sites": int(df["site"].nunique()),
        "by_corpus": {c: {k: int(v) for k, v in r.items()} for c, r in counts.iterrows()},
        "by_label_source": {k: int(v) for k, v in df[df["mode"] == "html"]["label_source"].value_counts().items()},
        "by_scope": {k: int(v) for k, v in df[df["mode"] == "html"]["scope"].value_counts().items()},
        "synthetic_pairs": int(((df["mode"] == "html") & (df["synthetic"] == 1)).sum()),
        "leak_risk_rows": int(df["leak_risk"].sum()),
        "build_seconds": round(time.time() - t0, 1),
        "corpora": list(corpora),
        "embedding": args.embedding,
    }
    args.manifest.write_text(json.dumps(manifest, indent=2) + "\n")
    print(json.dumps(manifest, indent=2))


if __name__ == "__main__":
    main()
