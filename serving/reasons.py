"""Reasons a user reads: per factor, what its evidence says, in words, strongest first.

Each scored link gets one phrase per factor that had evidence ("authority: UR 45, top 10% of this
export"), ordered by how much that factor moved the score (its exact part of the log-odds, see
``features.factors``), then one phrase naming the factors without evidence ("unknown: relevance
(no page text or title)"). Phrases never start with a character a spreadsheet reads as a formula.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from features.factors import FACTORS

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

# The tools' names for their page and domain measures (features.records.METRIC_FIELDS).
PAGE_MEASURE = {"ahrefs": "UR", "ahrefs_awt": "UR", "semrush": "Page ascore", "semrush_legacy": "Page score",
                "moz": "PA", "majestic": "Trust Flow"}
DOMAIN_MEASURE = {"ahrefs": "DR", "ahrefs_awt": "DR", "moz": "DA", "semrush": "AS"}

UNKNOWN_WHY = {
    "placement": "no page, and the export does not say",
    "relevance": "no page text or title",
    "authority": "no authority figures, and the site is not on the shipped lists",
    "traffic": "no traffic figures",
    "anchor": "no anchor text",
    "intent": "rel not known",
    "source": "nothing known about the source",
    "patterns": "a page path without words to compare, e.g. a home page",
}

KIND_WORDS = {
    "generated": "a generated page (domain stats, domain or link list, URL-share, doorway or parked page)",
    "directory": "a directory listing",
    "ugc": "user content (profile, forum, comment, Q&A, social or self-published page)",
    "syndication": "a syndicated or scraped copy",
}


def _num(v: object) -> float:
    try:
        x = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return x


def _known(v: float) -> bool:
    return v == v


def _count(v: float) -> str:
    """A count, short: 887, 3.6k, 1.2M."""
    if v >= 1e6:
        return f"{v / 1e6:.1f}M"
    if v >= 1e4:
        return f"{v / 1e3:.0f}k"
    if v >= 1e3:
        return f"{v / 1e3:.1f}k"
    return f"{v:.0f}"


def _counted(v: float, one: str, many: str) -> str:
    """A count with its noun in the right number: "1 outbound link", "14 outbound links"."""
    text = _count(v)
    return f"{text} {one if text == '1' else many}"


def _score(v: float) -> str:
    return f"{v:.0f}" if v == int(v) or v >= 10 else f"{v:.1f}"


def _pct(p: float) -> str:
    if p >= 0.5:
        return f"top {max(1, round((1 - p) * 100))}% of this export"
    return f"bottom {max(1, round(p * 100))}% of this export"


def _from_log(v: float) -> float:
    return 10 ** v - 1.0


def _placement(x: tuple[float, ...], ev: Mapping[str, object]) -> str | None:
    main_prob, in_content, sitewide, frame_form, redirect, log_group = x
    zone = ev.get("placement_zone")
    if ev.get("with_page") and zone and zone != "unknown":
        where = ZONE_WORDS.get(str(zone), str(zone))
        where = f"{where} (p={main_prob:.2f})" if _known(main_prob) else where
        # the factor is the link model's editorial probability (anchor and context too), which can
        # disagree with the zone: "main content (p=0.61), editorial p=0.31 (lowers)" says why
        editorial = ev.get("editorial_p")
        return f"{where}, editorial {editorial}" if editorial else where
    bits = []
    if _known(in_content):
        bits.append("in the main content, says the tool" if in_content >= 0.5
                    else "not in the main content, says the tool")
    if sitewide >= 0.5:
        bits.append("site-wide")
    if frame_form >= 0.5:
        bits.append("in a frame or form")
    if redirect >= 0.5:
        bits.append("a redirect")
    if log_group > 1.0:
        bits.append(f"one of {_count(_from_log(log_group))} grouped links")
    return ", ".join(bits) or None


def _relevance(x: tuple[float, ...], ev: Mapping[str, object]) -> str | None:
    s, what = x[0], "page"
    if not _known(s):
        s, what = x[1], "page title"
    if not _known(s):
        return None
    # the relevance factor is (s - 0.3) / 0.3 clipped to [-1, 1] (features.factors): zero at 0.3, so the
    # words name a band around it rather than a side of it (0.29 "unrelated" and 0.31 "on topic" both
    # moved the score by ~3% of the factor's range)
    shown = round(s, 2)  # the band of the figure the reader sees (0.1996 reads 0.20: loosely related)
    if shown >= 0.4:
        return f"{what} on the target's topic (similarity {s:.2f})"
    if shown >= 0.2:
        return f"{what} loosely related to the target (similarity {s:.2f})"
    return f"{what} unrelated to the target (similarity {s:.2f})"


def _authority(x: tuple[float, ...], ev: Mapping[str, object]) -> str | None:
    pa, pct, platform_user, da, rank, wiki = x
    tool = str(ev.get("tool") or "")
    bits = []
    if _known(pa):
        label = PAGE_MEASURE.get(tool, "page authority")
        bits.append(f"{label} {_score(pa)}" + (f", {_pct(pct)}" if _known(pct) else ""))
    platform = platform_user >= 0.5
    if _known(da):
        label = DOMAIN_MEASURE.get(tool, "domain authority")
        bits.append(f"{label} {_score(da)} is the platform's, not this user's" if platform
                    else f"{label} {_score(da)}")
    if _known(rank) and not platform:
        bits.append(f"Majestic Million #{_count(10 ** rank)}")
    if _known(wiki) and not platform:
        bits.append({1.0: "a reliable source for Wikipedia editors", 0.0: "no consensus on reliability "
                     "among Wikipedia editors"}.get(wiki, "an unreliable source for Wikipedia editors"))
    return ", ".join(bits) or None


def _traffic(x: tuple[float, ...], ev: Mapping[str, object]) -> str | None:
    log_traffic, log_domain_traffic, log_keywords = x
    bits = []
    if _known(log_traffic):
        bits.append(f"page {_count_of_log(log_traffic)} visits/month")
    if _known(log_domain_traffic):
        bits.append(f"site {_count_of_log(log_domain_traffic)} visits/month")
    if _known(log_keywords):
        bits.append(f"ranks for {_counted(_from_log(log_keywords), 'keyword', 'keywords')}")
    return ", ".join(bits) or None


@functools.lru_cache(maxsize=65536)
def _count_of_log(v: float) -> str:
    """``_count`` of a log10(1 + x) feature value. Memoised: a row's traffic phrase is new when any of
    its three figures is (most rows of an export), but each figure repeats across rows."""
    return _count(_from_log(v))


def _anchor(x: tuple[float, ...], ev: Mapping[str, object]) -> str | None:
    words, overoptimised, commercial_unrelated, empty, image, naked_url, brand, generic, title_like = x
    if not _known(words):
        return None
    if overoptimised >= 0.5:
        return "exact-match money keyword"
    if commercial_unrelated >= 0.5:
        return "spam keyword with nothing of the target in it"
    if empty >= 0.5:
        return "empty"
    if image >= 0.5:
        return "image"
    if naked_url >= 0.5:
        return "a bare URL (natural)"
    if brand >= 0.5:
        return "the brand (natural)"
    if generic >= 0.5:
        return "generic words"
    if title_like >= 0.5:
        return "a headline or sentence (natural citation)"
    return "descriptive words"


def _intent(x: tuple[float, ...], ev: Mapping[str, object]) -> str | None:
    overoptimised, commercial_unrelated, sponsored, ugc, nofollow, meta_nofollow, rel_known = x
    if overoptimised >= 0.5 or commercial_unrelated >= 0.5:
        return "a keyword anchor placed to rank the target (manipulative)"
    if sponsored >= 0.5:
        return "rel=sponsored (paid)"
    if ugc >= 0.5:
        return "rel=ugc (user-generated)"
    if nofollow >= 0.5:
        return "nofollow"
    if meta_nofollow >= 0.5:
        return "the page is meta-robots nofollow"
    if rel_known >= 0.5:
        return "followed"
    return None


def _source(x: tuple[float, ...], ev: Mapping[str, object]) -> str | None:
    (generated, doorway, directory, ugc, syndication, spam_listed, tool_spam, spam_score, ext_links,
     log_outbound, http_ok) = x
    bits = []
    kind = ev.get("source_kind")
    if kind:
        bits.append(str(kind))
    else:
        for flag, words in zip((generated, directory, ugc, syndication), KIND_WORDS.values(), strict=True):
            if flag >= 0.5:
                bits.append(words)
    if spam_listed >= 0.5:
        bits.append("the domain is on a public spam list")
    if tool_spam >= 0.5:
        bits.append("the tool marks it as spam")
    if spam_score >= 60:
        bits.append(f"the tool's spam score is {spam_score:.0f}")
    out_links = ext_links
    if not _known(out_links) and _known(log_outbound):
        out_links = _from_log(log_outbound)
    if _known(out_links):
        bits.append(f"{_counted(out_links, 'outbound link', 'outbound links')} on the page")
    if http_ok == 0.0:
        bits.append("the page did not answer 2xx to the tool")
    return ", ".join(bits) or None


def _patterns(x: tuple[float, ...], ev: Mapping[str, object]) -> str | None:
    net = x[0]
    if net >= 5:
        return f"the same generated page path on {net:.0f} referring domains of this export (a network)"
    if _known(net):
        return "no generated page path repeated across this export"
    return None


# Per factor: the phrase from its values (in PHRASE_FIELDS order, NaN = unknown) and the row's evidence.
_PHRASERS: dict[str, Callable[[tuple[float, ...], Mapping[str, object]], str | None]] = {
    "placement": _placement, "relevance": _relevance, "authority": _authority, "traffic": _traffic,
    "anchor": _anchor, "intent": _intent, "source": _source, "patterns": _patterns,
}


def factor_phrase(name: str, get: Mapping[str, object], ev: Mapping[str, object]) -> str | None:
    """What factor ``name`` found for one link (``get``: feature values by name; ``ev``: the row's
    evidence: tool name, page zone, source kind); None when it found nothing."""
    phraser = _PHRASERS.get(name)
    if phraser is None:
        return None
    return phraser(tuple(_num(get.get(f)) for f in PHRASE_FIELDS[name][0]), ev)


def factor_reasons(parts: Mapping[str, float], get: Mapping[str, object], ev: Mapping[str, object],
                   known: Mapping[str, bool]) -> list[str]:
    """One phrase per factor with evidence, largest part of the score first, then the unknowns."""
    found: list[tuple[float, str]] = []
    unknown: list[str] = []
    for name in FACTORS:
        text = factor_phrase(name, get, ev) if known.get(name) else None
        if text is None:
            unknown.append(name)
            continue
        part = parts.get(name, 0.0)
        sign = "raises" if part > 0.05 else "lowers" if part < -0.05 else "neutral"
        found.append((abs(part), f"{name}: {text} ({sign})"))
    found.sort(key=lambda t: -t[0])
    out = [text for _, text in found]
    if unknown:
        out.append("unknown: " + ", ".join(f"{u} ({UNKNOWN_WHY[u]})" for u in unknown))
    return out


# What each factor's phrase reads: feature values and evidence keys (the memo key of its phrase).
PHRASE_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "placement": (("placement_main_prob", "metric_in_content", "metric_sitewide", "metric_link_frame_form",
                   "metric_link_redirect", "metric_log_links_in_group"), ("with_page", "placement_zone", "editorial_p")),
    "relevance": (("sim_page_target", "sim_title_target"), ()),
    "authority": (("metric_page_authority", "prof_page_authority_pct", "src_platform_user", "metric_domain_authority",
                   "src_majestic_rank", "src_wiki_reliability"), ("tool",)),
    "traffic": (("metric_log_traffic", "metric_log_domain_traffic", "metric_log_page_keywords"), ()),
    "anchor": (("anchor_words", "anchor_overoptimised", "anchor_commercial_unrelated", "anchor_empty",
                "anchor_is_image", "anchor_naked_url", "anchor_brand", "anchor_generic", "anchor_title_like"), ()),
    "intent": (("anchor_overoptimised", "anchor_commercial_unrelated", "rel_sponsored", "rel_ugc", "rel_nofollow",
                "meta_nofollow", "rel_known"), ()),
    "source": (("src_kind_generated", "src_kind_doorway", "src_kind_directory", "src_kind_ugc", "src_kind_syndication",
                "src_spam_listed", "metric_tool_spam", "metric_spam_score", "page_ext_links", "metric_log_outbound",
                "metric_http_ok"), ("source_kind",)),
    "patterns": (("prof_template_domains",), ()),
}
REASON_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(f for fields, _ in PHRASE_FIELDS.values() for f in fields))


def factor_reasons_batch(parts: Mapping[str, Sequence[float]], columns: Mapping[str, Sequence[object]],
                         evidence: Sequence[Mapping[str, object]],
                         known: Mapping[str, Sequence[bool]]) -> list[list[str]]:
    """:func:`factor_reasons` for every row (columns by name, at least :data:`REASON_COLUMNS`; parts
    and known by factor; one value per row). Each factor's phrase is computed once per distinct
    tuple of the values it reads (exports repeat them: one site's rows, the same anchor class), and
    the per-row ordering is one stable argsort of the parts, so a row costs a few list look-ups;
    equal to the row-by-row function (tested). Why so: the reasons were ~15% of export-only scoring
    (measured: 24.7 -> 13.6 us a row with this layout, 5,000 Ahrefs rows)."""
    n = len(evidence)
    if n == 0:
        return []
    cols = {f: np.asarray(columns[f], dtype=np.float64) for f in REASON_COLUMNS}
    texts: list[list[str | None]] = []  # per factor, per row: its phrase, None = unknown
    part_matrix = np.empty((n, len(FACTORS)), dtype=np.float64)
    for j, name in enumerate(FACTORS):
        fields, ev_keys = PHRASE_FIELDS[name]
        phraser = _PHRASERS[name]
        pt = np.asarray(parts[name], dtype=np.float64)
        part_matrix[:, j] = pt
        # one float row per link: known, sign, the values read (NaN as a sentinel no feature takes),
        # the codes of the evidence read; its distinct rows are found by one sort in C
        key = np.empty((n, 2 + len(fields) + len(ev_keys)), dtype=np.float64)
        key[:, 0] = np.asarray(known[name], dtype=bool)
        key[:, 1] = np.where(pt > 0.05, 1.0, np.where(pt < -0.05, -1.0, 0.0))
        for k, f in enumerate(fields):
            key[:, 2 + k] = cols[f]
        ev_codes: list[dict[object, int]] = []
        for k, e in enumerate(ev_keys):
            codes: dict[object, int] = {}
            key[:, 2 + len(fields) + k] = [codes.setdefault(ev.get(e), len(codes)) for ev in evidence]
            ev_codes.append(codes)
        np.nan_to_num(key, copy=False, nan=_NAN_KEY, posinf=np.inf, neginf=-np.inf)
        rows = np.ascontiguousarray(key).view(np.dtype((np.void, key.dtype.itemsize * key.shape[1]))).ravel()
        _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
        ev_of = [{code: v for v, code in codes.items()} for codes in ev_codes]
        # the distinct keys' parts as Python values in one conversion each (not one per key)
        distinct = key[first]
        known_of = distinct[:, 0].tolist()
        sign_of = distinct[:, 1].astype(np.int64).tolist()
        values = distinct[:, 2:2 + len(fields)]
        values[values == _NAN_KEY] = np.nan
        values_of = values.tolist()
        codes_of = distinct[:, 2 + len(fields):].astype(np.int64).tolist()
        phrases: list[str | None] = []
        for r in range(len(known_of)):
            if not known_of[r]:
                phrases.append(None)
                continue
            ev = {e: ev_of[k][codes_of[r][k]] for k, e in enumerate(ev_keys)} if ev_keys else _NO_EVIDENCE
            phrase = phraser(tuple(values_of[r]), ev)
            phrases.append(None if phrase is None else f"{name}: {phrase} ({_SIGN_WORDS[sign_of[r]]})")
        texts.append(np.asarray(phrases, dtype=object)[inverse.ravel()].tolist())
    # strongest part first; ties keep the factors' order (as the stable sort of factor_reasons)
    order = np.argsort(-np.abs(part_matrix), axis=1, kind="stable").tolist()
    by_row = list(zip(*texts, strict=True))
    out: list[list[str]] = []
    for row_texts, row_order in zip(by_row, order, strict=True):
        row = [row_texts[j] for j in row_order if row_texts[j] is not None]
        if len(row) < len(FACTORS):
            row.append(_unknown_phrase(tuple(name for name, t in zip(FACTORS, row_texts, strict=True) if t is None)))
        out.append(row)
    return out


_NAN_KEY = -1.7976931348623157e308  # stands for NaN in a memo key (the most negative float: no feature's value)


_SIGN_WORDS = {1: "raises", -1: "lowers", 0: "neutral"}
_NO_EVIDENCE: Mapping[str, object] = {}  # for the phrases that read no evidence (never changed)


@functools.lru_cache(maxsize=512)
def _unknown_phrase(names: tuple[str, ...]) -> str:
    return "unknown: " + ", ".join(f"{u} ({UNKNOWN_WHY[u]})" for u in names)


__all__ = ["REASON_COLUMNS", "ZONE_WORDS", "factor_phrase", "factor_reasons", "factor_reasons_batch"]
