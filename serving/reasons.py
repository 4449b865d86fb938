"""Turn LightGBM per-feature contributions into reasons a user understands.

Contributions are in log-odds; the largest in absolute value are shown, each
phrased from the feature's value ("in the footer", "marked rel=sponsored",
"page unrelated to target (similarity 0.08)") with its direction (+ raises the
score, - lowers it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from features.schema import BY_NAME, FEATURE_NAMES

ZONE_WORDS = {
    "main_content": "in the article's main content",
    "comments": "in the comments",
    "navigation": "in the navigation menu",
    "header": "in the page header",
    "footer": "in the footer",
    "sidebar": "in a sidebar",
    "link_list": "in a list of links",
    "not_found": "link not found on the page",
}

# 0/1 features: (words when 1, words when 0)
FLAG_WORDS: dict[str, tuple[str, str]] = {
    "rel_sponsored": ("marked rel=sponsored (paid)", "not marked sponsored"),
    "rel_ugc": ("marked rel=ugc (user-generated)", "not marked ugc"),
    "rel_nofollow": ("marked nofollow", "followed link"),
    "anchor_overoptimised": ("anchor is an exact-match money keyword", "anchor is not an over-optimised keyword"),
    "anchor_generic": ("generic anchor ('click here', 'website')", "descriptive anchor"),
    "anchor_naked_url": ("anchor is a bare URL", "anchor is not a bare URL"),
    "anchor_brand": ("anchor names the target's brand", "anchor does not name the brand"),
    "anchor_is_image": ("image link", "text link"),
    "anchor_exact_match": ("anchor repeats the target's title/URL keywords", "anchor is not an exact match"),
    "src_spam_listed": ("source domain is on a spam list", "source domain not on spam lists"),
    "tgt_spam_listed": ("target domain is on a spam list", "target domain not on spam lists"),
    "meta_nofollow": ("page is meta-robots nofollow", "page allows following links"),
    "meta_noindex": ("page is noindex", "page is indexable"),
    "dom_in_footer": ("inside a <footer>", "not in a footer"),
    "dom_in_nav": ("inside a <nav> menu", "not in a navigation menu"),
    "dom_in_paragraph": ("inside a text paragraph", "not inside a paragraph"),
    "traf_has_link": ("kept by main-content extraction", "dropped by main-content extraction"),
    "placement_found": ("link found on the page", "link not found on the page"),
    "cls_comment": ("inside a comments block", "not in a comments block"),
    "cls_sidebar": ("inside a sidebar/widget", "not in a sidebar"),
    "cls_footer": ("inside a footer block", "not in a footer block"),
    "cls_related": ("inside a related-links block", "not in a related-links block"),
}


def phrase(name: str, value: object) -> str | None:
    """Words for one feature at one value; None when the value says nothing (unknown)."""
    if name == "placement_zone":
        return ZONE_WORDS.get(str(value)) if value is not None and str(value) != "nan" else None
    v = float(value) if value is not None else math.nan
    if math.isnan(v):
        return None
    flag = v >= 0.5
    if name == "placement_main_prob":
        return f"in the editorial main content (p={v:.2f})" if v >= 0.5 else f"outside the editorial content (p={v:.2f})"
    if name in FLAG_WORDS:
        return FLAG_WORDS[name][0] if flag else FLAG_WORDS[name][1]
    if name.startswith("sim_"):
        what = {"sim_page_target": "page", "sim_context_target": "text around the link",
                "sim_anchor_target": "anchor", "sim_anchor_context": "anchor vs its context"}[name]
        if name == "sim_anchor_context":
            return f"anchor fits its surrounding text (similarity {v:.2f})" if v >= 0.3 else \
                f"anchor unrelated to its surrounding text (similarity {v:.2f})"
        return f"{what} on the target's topic (similarity {v:.2f})" if v >= 0.3 else \
            f"{what} unrelated to target (similarity {v:.2f})"
    if name == "block_link_density":
        return f"block is {v:.0%} link text"
    if name == "page_ext_links":
        return f"page has {v:.0f} outbound links"
    if name == "anchor_words":
        return f"anchor of {v:.0f} word{'s' if v != 1 else ''}"
    if name == "context_chars":
        return "no running text around the link" if v == 0 else f"{v:,.0f} characters of text around the link"
    if name == "context_punct":
        return f"{v:.0f} sentence mark{'s' if v != 1 else ''} around the link (running text)" if v else \
            "no sentence around the link"
    if name == "page_text_chars":
        return f"source page has {v:,.0f} characters of text"
    if name == "src_url_depth":
        return f"source URL is {v:.0f} folder{'s' if v != 1 else ''} deep"
    value = f"{v:,.0f}" if abs(v) >= 100 or v == int(v) else f"{v:.2f}"
    return f"{BY_NAME[name].doc}: {value}"


MIN_CONTRIBUTION = 0.05  # log-odds: smaller contributions are not worth a reason


def top_reasons(contrib: np.ndarray, values: Mapping[str, object], k: int = 3) -> list[str]:
    """The k strongest reasons for one row; ``contrib`` has one entry per feature plus the bias."""
    order = np.argsort(-np.abs(contrib[: len(FEATURE_NAMES)]), kind="stable")
    return _reasons(_pairs(order, contrib), lambda j: values.get(FEATURE_NAMES[j]), k)


def top_reasons_batch(contrib: np.ndarray, columns: Sequence[Sequence[object]], k: int = 3) -> list[list[str]]:
    """:func:`top_reasons` for every row of ``contrib`` (rows x (features + 1)) at once;
    ``columns[j][i]`` is feature j's value on row i (schema order). Only the few strongest
    contributions of each row are sorted (``argpartition``); rows whose candidates run out (unknown
    values, repeated words) fall back to the full order, so the result equals :func:`top_reasons`."""
    n_feat = len(FEATURE_NAMES)
    mag = np.abs(contrib[:, :n_feat])
    m = min(n_feat, 2 * k + 4)
    if m < n_feat:
        part = np.argpartition(-mag, m - 1, axis=1)[:, :m]
        # the m largest, in the full order's sequence (descending magnitude, ties by index)
        keyed = np.take_along_axis(mag, part, axis=1)
        cand = np.take_along_axis(part, np.lexsort((part, -keyed), axis=1), axis=1)
        floor = keyed.min(axis=1)  # magnitudes below this were not candidates
    else:
        cand = np.argsort(-mag, axis=1, kind="stable")
        floor = np.zeros(len(mag))
    # Plain Python lists: the per-row loop below then reads no numpy scalars.
    cand_idx = cand.tolist()
    cand_val = np.take_along_axis(contrib[:, :n_feat], cand, axis=1).tolist()
    # Rows whose candidates may not hold the answer: the cut is above MIN_CONTRIBUTION and either
    # the candidates run out (checked per row below) or a contribution tied with the smallest
    # candidate was left out (checked here for all rows at once).
    if m < n_feat:
        cut_counts = floor >= MIN_CONTRIBUTION
        tie_left_out = cut_counts & (np.count_nonzero(mag == floor[:, None], axis=1)
                                     > np.count_nonzero(keyed == floor[:, None], axis=1))
    else:  # every contribution is a candidate
        cut_counts = tie_left_out = np.zeros(len(mag), dtype=bool)
    cut, ties = cut_counts.tolist(), tie_left_out.tolist()
    out: list[list[str]] = []
    for i in range(len(mag)):
        def value(j: int, i: int = i) -> object:
            return columns[j][i]

        got = _reasons(zip(cand_idx[i], cand_val[i], strict=True), value, k)
        if cut[i] and (len(got) < k or ties[i]):
            got = _reasons(_pairs(np.argsort(-mag[i], kind="stable"), contrib[i]), value, k)
        out.append(got)
    return out


_PHRASES: dict[tuple[int, object], str | None] = {}  # (feature, value) -> words: values repeat a lot


def _phrase(j: int, value: object) -> str | None:
    """:func:`phrase` of feature ``j`` at ``value``, memoised (bounded). -0.0 reads as 0.0 (it
    equals 0.0 as a key, and "-0 outbound links" says nothing more)."""
    if value == 0.0 and type(value) is float:
        value = 0.0
    key = (j, value)
    try:
        return _PHRASES[key]
    except KeyError:
        pass
    except TypeError:  # unhashable value
        return phrase(FEATURE_NAMES[j], value)
    text = phrase(FEATURE_NAMES[j], value)
    if len(_PHRASES) >= 50_000:
        _PHRASES.clear()
    _PHRASES[key] = text
    return text


def _pairs(order: Iterable[int], contrib: np.ndarray) -> Iterator[tuple[int, float]]:
    """(feature index, contribution) in ``order``."""
    return ((int(j), float(contrib[j])) for j in order)


def _reasons(pairs: Iterable[tuple[int, float]], value: Callable[[int], object], k: int) -> list[str]:
    """The first k distinct phrases of (feature, contribution) pairs taken strongest first,
    down to MIN_CONTRIBUTION."""
    out: list[str] = []
    seen: set[str] = set()
    for j, c in pairs:
        if abs(c) < MIN_CONTRIBUTION or len(out) >= k:
            break
        text = _phrase(j, value(j))
        if text is None or text in seen:
            continue
        seen.add(text)
        out.append(f"{'+' if c > 0 else '-'} {text}")
    return out
