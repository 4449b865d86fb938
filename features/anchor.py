"""Anchor text features: what the link says about its target.

Anchor text comes from the page when the link was found there, else from the
record (export). Matching is on normalised words (NFKC, lower case), so case
and whitespace never change a feature.
"""

from __future__ import annotations

import functools
import re

import numpy as np

from .html_text import norm_text
from .urls import domain_label, url_words

GENERIC_ANCHORS = frozenset(
    norm_text(s)
    for s in (
        # en
        "click here", "here", "this", "link", "this link", "read more", "more", "learn more", "see more",
        "website", "this website", "this site", "site", "web site", "homepage", "home page", "source", "via",
        "visit", "visit site", "visit website", "go", "continue", "details", "more info", "info", "download",
        "article", "this article", "this post", "post", "page", "here is", "check it out", "full story",
        "continue reading", "read the full article", "report", "study", "official website",
        "anchor text", "anchor", "keyword", "your keyword", "link text", "url",
        # de
        "hier", "klicken sie hier", "mehr", "weiterlesen", "weiter", "mehr lesen", "webseite", "website besuchen",
        "quelle", "mehr erfahren", "hier klicken",
        # fr
        "ici", "cliquez ici", "en savoir plus", "lire la suite", "plus", "site web", "source", "voir plus",
        # es / pt
        "aquí", "aqui", "haga clic aquí", "leer más", "más", "sitio web", "fuente", "saiba mais", "clique aqui",
        "ver más", "leia mais",
        # it / nl / pl
        "qui", "clicca qui", "leggi tutto", "di più", "hier klikken", "lees meer", "meer", "tutaj", "więcej",
        "czytaj więcej", "kliknij tutaj", "strona",
    )
)

# Commercial-intent / money vocabulary (word stems, several languages).
COMMERCIAL = re.compile(
    r"\b(buy|cheap|cheapest|best|top|price|prices|discount|deal|deals|coupon|promo|sale|order|shop|store|"
    r"online|free|casino|poker|bet|betting|slots?|loans?|payday|credit|insurance|mortgage|forex|crypto|bitcoin|"
    r"viagra|cialis|pills?|pharmacy|replica|seo|backlinks?|essay|escort|dating|hire|services?|rent|rental|"
    r"kaufen|günstig|billig|preis|angebot|acheter|pas cher|prix|comprar|barato|precio|oferta|kup|tanie)\b"
)
# Niches of link spam whose words are not shopping words ("delta 8 gummies", "testo booster").
SPAM_NICHE = re.compile(
    r"\b(casino|poker|slots?|betting|viagra|cialis|pills?|pharmacy|replica|escort|porn|xxx|cbd|thc|delta 8|"
    r"gummies|kratom|vape|testo|testosterone|booster|keto|diet pills|weight loss|payday|loans?|forex|"
    r"essays?|followers|backlinks?|seo services|crypto signals)\b"
)
NAKED_URL = re.compile(r"^(https?://|www\.)\S+$|^[\w-]+(\.[\w-]+)*\.[a-z]{2,}(/\S*)?$", re.I)


def _words(s: str) -> list[str]:
    return norm_text(s).split()


@functools.lru_cache(maxsize=4096)  # an export links to a few hundred target pages
def _target_terms(target_url: str, target_title: str | None) -> tuple[str, frozenset[str], str, str]:
    """What an anchor is compared with, per target: (brand label, the target's words without the
    brand: URL path words and title words, normalised title, URL slug)."""
    brand = domain_label(target_url).lower().replace("-", "")
    path_words = url_words(target_url)[1:]  # path words; the host label is the brand
    words = set(path_words)
    if target_title:
        words |= set(_words(target_title))
    words.discard(brand)
    title_norm = " ".join(_words(target_title)) if target_title else ""
    return brand, frozenset(words), title_norm, " ".join(path_words)


ANCHOR_FEATURES = (
    "anchor_chars", "anchor_words", "anchor_empty", "anchor_is_image", "anchor_naked_url",
    "anchor_generic", "anchor_brand", "anchor_exact_match", "anchor_partial_match",
    "anchor_commercial", "anchor_overoptimised", "anchor_commercial_unrelated", "anchor_title_like",
)


@functools.lru_cache(maxsize=16384)  # exports repeat (anchor, target) pairs: brand, "click here", ...
def anchor_features(
    anchor: str | None,
    image_alt: str | None,
    target_url: str,
    target_title: str | None,
    brands: tuple[str, ...] = (),
    money: tuple[str, ...] = (),
) -> dict[str, float]:
    """Anchor features for one link. ``anchor`` None means unknown (all NaN).

    ``brands`` and ``money`` are the user's own brand names and money keywords (normalised words),
    empty when not given: then the brand is the target's domain label and only the built-in
    commercial vocabulary counts. A money anchor ("over-optimised") is a commercial keyword that
    names the target's page (its URL words) or a user money keyword: never a bare URL, a brand, the
    target's own title or a headline-length citation. The result is cached and shared: callers
    copy it (``row.update(...)``), never change it."""
    if anchor is None and image_alt is None:
        out = dict.fromkeys(ANCHOR_FEATURES, np.nan)
        out["anchor_user_brand"] = out["anchor_user_money"] = np.nan
        return out
    text = " ".join((anchor or "").split())
    is_image = float(not text and bool(image_alt is not None))
    if not text and image_alt:
        text = " ".join(image_alt.split())
    words = _words(text)
    joined = " ".join(words)
    compact = "".join(words)
    brand, target_words, title_norm, slug = _target_terms(target_url, target_title)
    naked = bool(NAKED_URL.match(text.strip())) if text else False
    brand_match = bool(brand) and bool(compact) and (
        compact == brand or (len(brand) >= 4 and brand in compact) or (len(compact) >= 4 and compact in brand)
    )
    user_brand = any(b and (b in joined or b.replace(" ", "") in compact) for b in brands) if compact else False
    user_money = any(k and f" {k} " in f" {joined} " for k in money) if joined else False
    content_words = [w for w in words if len(w) > 2]
    partial = (sum(w in target_words for w in content_words) / len(content_words)) if content_words else 0.0
    is_title = bool(title_norm) and joined == title_norm
    exact = bool(joined) and not naked and len(words) >= 2 and bool(
        is_title or (slug and (joined == slug or f" {joined} " in f" {slug} "))
    )
    niche = len(SPAM_NICHE.findall(joined))
    commercial = len(COMMERCIAL.findall(joined)) + niche
    title_like = len(words) >= 6
    named = brand_match or user_brand or naked
    # the target's own headline (its slug, four words or more) is a citation, not a keyword
    citation = is_title or (len(words) >= 4 and bool(slug) and joined == slug)
    # (a spam niche's keyword stays a keyword even when the target page is titled with it)
    keyword = (bool(words) and len(words) <= 5 and not named and (not citation or niche > 0) and not title_like
               and joined not in GENERIC_ANCHORS)
    money_anchor = keyword and (user_money or niche > 0 or (commercial > 0 and (exact or partial >= 0.75)))
    unrelated = keyword and (niche > 0 or commercial >= 2) and partial == 0.0
    return {
        "anchor_chars": float(len(text)),
        "anchor_words": float(len(words)),
        "anchor_empty": float(not words),
        "anchor_is_image": is_image,
        "anchor_naked_url": float(naked),
        "anchor_generic": float(joined in GENERIC_ANCHORS),
        "anchor_brand": float(brand_match or user_brand),
        "anchor_exact_match": float(exact),
        "anchor_partial_match": float(partial),
        "anchor_commercial": float(commercial),
        "anchor_overoptimised": float(money_anchor),
        "anchor_commercial_unrelated": float(unrelated),
        "anchor_title_like": float(title_like),
        "anchor_user_brand": float(user_brand) if brands else np.nan,
        "anchor_user_money": float(user_money) if money else np.nan,
    }


def anchor_class(values: dict[str, float]) -> str:
    """The anchor's class as auditors name it: brand, url, exact, partial, generic, image, empty,
    other (``values``: the features of :func:`anchor_features`); '' when the anchor is unknown."""
    def on(name: str) -> bool:
        v = values.get(name)
        return v is not None and v == v and v >= 0.5
    if values.get("anchor_words") is None or values.get("anchor_words") != values.get("anchor_words"):
        return ""
    if on("anchor_empty"):
        return "empty"
    if on("anchor_is_image"):
        return "image"
    if on("anchor_naked_url"):
        return "url"
    if on("anchor_brand"):
        return "brand"
    if on("anchor_generic"):
        return "generic"
    if on("anchor_overoptimised") or on("anchor_exact_match"):
        return "exact"
    if (values.get("anchor_partial_match") or 0) > 0:
        return "partial"
    return "other"


def context_features(left: str | None, right: str | None) -> dict[str, float]:
    """How much running text surrounds the link: editorial links sit in sentences,
    template links in bare lists. NaN when the context is unknown."""
    if left is None and right is None:
        return {"context_chars": np.nan, "context_punct": np.nan}
    text = " ".join(p for p in (left, right) if p)
    return {
        "context_chars": float(len("".join(text.split()))),
        "context_punct": float(sum(text.count(c) for c in ".!?;,")),
    }
