"""Perturbation test: does an editorial link score lower when its own page is rewritten to make it
paid, unrelated-commercial or boilerplate?

Editorial links (gold ``content``, external, with anchor text) are taken in their own page and
rewritten three ways, each in a copy of the page (the original is the same page parsed and
written back unchanged, so that only the rewrite differs): ``sponsored`` (``rel="sponsored"`` on that
``<a>``), ``money`` (its href pointed at an unrelated commercial site, its anchor an exact-match
money keyword) and ``footer`` (the same ``<a>`` moved into the page footer, its words left in
place as plain text). Every original and variant is scored by the shipped link model (``Scorer``
on records that carry ``source_html``); the figure is the share of variants that score below
their original, per kind, with the placement probability of the footer variants beside it.

Run: ``python -m training.perturbation --shared ../shared [--links 60]``.
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import lxml.html
from lxml import etree

from features.urls import SKIP_SCHEMES

from .build_dataset import MONEY_ANCHORS, MONEY_TLDS
from .corpora import GoldPage, iter_gold_pages

KINDS = ("sponsored", "money", "footer")
SOURCES = ("scrapinghub-aeb", "cleanportaleval", "readability-testpages")


@dataclass(frozen=True)
class Case:
    """One editorial link in its page: the original and its rewritten twins (kind -> html, target)."""

    page: str
    source_url: str
    target_url: str
    anchor: str
    html: str
    variants: dict[str, tuple[str, str]]


def _qualifying(root: etree._Element) -> list[etree._Element]:
    """The page's ``<a href>`` in the order ``features.page.parse_page`` enumerates them."""
    out = []
    for a in root.iter("a"):
        h = (a.get("href") or "").strip()
        if h and not h.startswith("#") and not h.lower().startswith(SKIP_SCHEMES):
            out.append(a)
    return out


def _nth_link(html: str, link_idx: int) -> tuple[etree._Element, etree._Element] | None:
    root = lxml.html.document_fromstring(html)
    etree.strip_elements(root, "script", "style", "noscript", with_tail=False)
    links = _qualifying(root)
    return (root, links[link_idx]) if link_idx < len(links) else None


def _html(root: etree._Element) -> str:
    return etree.tostring(root, encoding="unicode", method="html")


def rewrite(html: str, link_idx: int, kind: str, rng: random.Random) -> tuple[str, str | None] | None:
    """The page with its ``link_idx``-th link rewritten as ``kind``: (html, new href or None)."""
    got = _nth_link(html, link_idx)
    if got is None:
        return None
    root, a = got
    if kind == "original":  # the same serialisation as the variants, so only the rewrite differs
        return _html(root), None
    if kind == "sponsored":
        a.set("rel", "sponsored")
        return _html(root), None
    if kind == "money":
        anchor = rng.choice(MONEY_ANCHORS)
        slug = "-".join(anchor.split())
        href = f"https://{rng.choice(['best', 'top', 'cheap', 'pro'])}-{slug.split('-')[-1]}-{rng.randint(1, 99)}"
        href += f".{rng.choice(MONEY_TLDS)}/{slug}"
        for child in list(a):
            a.remove(child)
        a.text = anchor
        a.set("href", href)
        return _html(root), href
    if kind == "footer":
        parent = a.getparent()
        if parent is None:
            return None
        words = a.text_content()
        tail = a.tail or ""
        prev = a.getprevious()
        if prev is not None:  # the words stay where they were, as text
            prev.tail = (prev.tail or "") + words + tail
        else:
            parent.text = (parent.text or "") + words + tail
        parent.remove(a)
        a.tail = " "
        footer = next(root.iter("footer"), None)
        if footer is None:
            body = root.find("body") if root.find("body") is not None else root
            footer = etree.SubElement(body, "footer")
        footer.append(a)
        return _html(root), None
    raise ValueError(f"unknown kind {kind!r}")


def pick_cases(pages: list[GoldPage], n: int, seed: int = 7) -> list[Case]:
    """Up to ``n`` editorial external links, at most one per page, drawn with a fixed seed."""
    rng = random.Random(seed)
    cands = [
        (gp, gl) for gp in pages if gp.url_known
        for gl in gp.links if gl.label == "content" and gl.scope == "external" and len(gl.anchor.split()) >= 1
    ]
    rng.shuffle(cands)
    seen: set[str] = set()
    cases: list[Case] = []
    for gp, gl in cands:
        if len(cases) >= n or f"{gp.corpus}/{gp.page_id}" in seen:
            continue
        variants = {}
        for kind in ("original", *KINDS):
            try:
                got = rewrite(gp.html, gl.idx, kind, rng)
            except (ValueError, etree.ParserError):
                got = None
            if got is None:
                break
            new_html, href = got
            variants[kind] = (new_html, href or urljoin(gp.url, gl.href.strip()))
        if len(variants) == 1 + len(KINDS):
            seen.add(f"{gp.corpus}/{gp.page_id}")
            original = variants.pop("original")[0]
            cases.append(Case(f"{gp.corpus}/{gp.page_id}", gp.url, urljoin(gp.url, gl.href.strip()), gl.anchor,
                              original, variants))
    return cases


def run(cases: list[Case], scorer) -> dict[str, dict[str, float]]:  # noqa: ANN001 - serving.scoring.Scorer
    """Share of variants scoring below their original, per kind, and mean scores."""
    from features.pipeline import extract_features

    recs = []
    for c in cases:
        recs.append({"source_url": c.source_url, "target_url": c.target_url, "source_html": c.html})
        for kind in KINDS:
            html, target = c.variants[kind]
            recs.append({"source_url": c.source_url, "target_url": target, "source_html": html})
    results = scorer.score(recs)
    probs = extract_features(recs, scorer.ctx).frame["placement_main_prob"].to_numpy()
    width = 1 + len(KINDS)
    out: dict[str, dict[str, float]] = {}
    for k, kind in enumerate(KINDS, start=1):
        below = n = 0
        pbelow = 0
        orig_s, var_s = [], []
        for i in range(len(cases)):
            o, v = results[i * width], results[i * width + k]
            if o["score"] is None or v["score"] is None:
                continue
            n += 1
            below += v["score"] < o["score"]
            pbelow += probs[i * width + k] < probs[i * width]
            orig_s.append(o["score"])
            var_s.append(v["score"])
        out[kind] = {
            "n": n,
            "share_below": below / n if n else float("nan"),
            "placement_prob_below": pbelow / n if n else float("nan"),
            "mean_original": sum(orig_s) / n if n else float("nan"),
            "mean_variant": sum(var_s) / n if n else float("nan"),
        }
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path("../shared"))
    ap.add_argument("--links", type=int, default=60)
    args = ap.parse_args(argv)
    from serving.scoring import Scorer

    pages = list(iter_gold_pages(args.shared, SOURCES))
    cases = pick_cases(pages, args.links)
    report = run(cases, Scorer.load())
    print(f"{len(cases)} editorial links from {', '.join(SOURCES)}")
    print("| variant | n | share scoring below original | placement prob below original | mean score original | variant |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind, r in report.items():
        print(f"| {kind} | {r['n']} | {r['share_below']:.3f} | {r['placement_prob_below']:.3f} | "
              f"{r['mean_original']:.3f} | {r['mean_variant']:.3f} |")


if __name__ == "__main__":
    main()
