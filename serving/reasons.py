"""Reasons a user reads: per factor, what its evidence says, in words, strongest first.

Each scored link gets one phrase per factor that had evidence ("authority: UR 45, top 10% of this
export"), ordered by how much that factor moved the score (its exact part of the log-odds, see
``features.factors``), then one phrase naming the factors without evidence ("unknown: relevance
(no page text or title)"). Phrases never start with a character a spreadsheet reads as a formula.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence

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
    "patterns": "no profile",
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


def _score(v: float) -> str:
    return f"{v:.0f}" if v == int(v) or v >= 10 else f"{v:.1f}"


def _pct(p: float) -> str:
    if p >= 0.5:
        return f"top {max(1, round((1 - p) * 100))}% of this export"
    return f"bottom {max(1, round(p * 100))}% of this export"


def _from_log(v: float) -> float:
    return 10 ** v - 1.0


def factor_phrase(name: str, get: Mapping[str, object], ev: Mapping[str, object]) -> str | None:
    """What factor ``name`` found for one link (``get``: feature values by name; ``ev``: the row's
    evidence: tool name, page zone, source kind); None when it found nothing."""
    v = lambda k: _num(get.get(k))  # noqa: E731
    tool = str(ev.get("tool") or "")
    if name == "placement":
        zone = ev.get("placement_zone")
        if ev.get("with_page") and zone and zone != "unknown":
            p = v("placement_main_prob")
            where = ZONE_WORDS.get(str(zone), str(zone))
            return f"{where} (p={p:.2f})" if _known(p) else where
        bits = []
        if _known(v("metric_in_content")):
            bits.append("in the main content, says the tool" if v("metric_in_content") >= 0.5
                        else "not in the main content, says the tool")
        if v("metric_sitewide") >= 0.5:
            bits.append("site-wide")
        if v("metric_link_frame_form") >= 0.5:
            bits.append("in a frame or form")
        if v("metric_link_redirect") >= 0.5:
            bits.append("a redirect")
        if v("metric_log_links_in_group") > 1.0:
            bits.append(f"one of {_count(_from_log(v('metric_log_links_in_group')))} grouped links")
        return ", ".join(bits) or None
    if name == "relevance":
        s, what = v("sim_page_target"), "page"
        if not _known(s):
            s, what = v("sim_title_target"), "page title"
        if not _known(s):
            return None
        return (f"{what} on the target's topic (similarity {s:.2f})" if s >= 0.3
                else f"{what} unrelated to the target (similarity {s:.2f})")
    if name == "authority":
        bits = []
        pa = v("metric_page_authority")
        if _known(pa):
            label = PAGE_MEASURE.get(tool, "page authority")
            pct = v("prof_page_authority_pct")
            bits.append(f"{label} {_score(pa)}" + (f", {_pct(pct)}" if _known(pct) else ""))
        platform = v("src_platform_user") >= 0.5
        da = v("metric_domain_authority")
        if _known(da):
            label = DOMAIN_MEASURE.get(tool, "domain authority")
            bits.append(f"{label} {_score(da)} is the platform's, not this user's" if platform
                        else f"{label} {_score(da)}")
        rank = v("src_majestic_rank")
        if _known(rank) and not platform:
            bits.append(f"Majestic Million #{_count(10 ** rank)}")
        wiki = v("src_wiki_reliability")
        if _known(wiki) and not platform:
            bits.append({1.0: "a reliable source for Wikipedia editors", 0.0: "no consensus on reliability "
                         "among Wikipedia editors"}.get(wiki, "an unreliable source for Wikipedia editors"))
        return ", ".join(bits) or None
    if name == "traffic":
        bits = []
        if _known(v("metric_log_traffic")):
            bits.append(f"page {_count(_from_log(v('metric_log_traffic')))} visits/month")
        if _known(v("metric_log_domain_traffic")):
            bits.append(f"site {_count(_from_log(v('metric_log_domain_traffic')))} visits/month")
        if _known(v("metric_log_page_keywords")):
            bits.append(f"ranks for {_count(_from_log(v('metric_log_page_keywords')))} keywords")
        return ", ".join(bits) or None
    if name == "anchor":
        if not _known(v("anchor_words")):
            return None
        if v("anchor_overoptimised") >= 0.5:
            return "exact-match money keyword"
        if v("anchor_commercial_unrelated") >= 0.5:
            return "spam keyword with nothing of the target in it"
        if v("anchor_empty") >= 0.5:
            return "empty"
        if v("anchor_is_image") >= 0.5:
            return "image"
        if v("anchor_naked_url") >= 0.5:
            return "a bare URL (natural)"
        if v("anchor_brand") >= 0.5:
            return "the brand (natural)"
        if v("anchor_generic") >= 0.5:
            return "generic words"
        if v("anchor_title_like") >= 0.5:
            return "a headline or sentence (natural citation)"
        return "descriptive words"
    if name == "intent":
        if v("anchor_overoptimised") >= 0.5 or v("anchor_commercial_unrelated") >= 0.5:
            return "a keyword anchor placed to rank the target (manipulative)"
        if v("rel_sponsored") >= 0.5:
            return "rel=sponsored (paid)"
        if v("rel_ugc") >= 0.5:
            return "rel=ugc (user-generated)"
        if v("rel_nofollow") >= 0.5:
            return "nofollow"
        if v("meta_nofollow") >= 0.5:
            return "the page is meta-robots nofollow"
        if v("rel_known") >= 0.5:
            return "followed"
        return None
    if name == "source":
        bits = []
        kind = ev.get("source_kind")
        if kind:
            bits.append(str(kind))
        else:
            for k, words in KIND_WORDS.items():
                if v(f"src_kind_{k}") >= 0.5:
                    bits.append(words)
        if v("src_spam_listed") >= 0.5:
            bits.append("the domain is on a public spam list")
        if v("metric_tool_spam") >= 0.5:
            bits.append("the tool marks it as spam")
        if v("metric_spam_score") >= 60:
            bits.append(f"the tool's spam score is {v('metric_spam_score'):.0f}")
        out_links = v("page_ext_links")
        if not _known(out_links) and _known(v("metric_log_outbound")):
            out_links = _from_log(v("metric_log_outbound"))
        if _known(out_links):
            bits.append(f"{_count(out_links)} outbound links on the page")
        if v("metric_http_ok") == 0.0:
            bits.append("the page did not answer 2xx to the tool")
        return ", ".join(bits) or None
    if name == "patterns":
        net = v("prof_template_domains")
        if net >= 5:
            return f"the same generated page path on {net:.0f} referring domains of this export (a network)"
        if _known(net):
            return "no generated page path repeated across this export"
        return None
    return None


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
                   "metric_link_redirect", "metric_log_links_in_group"), ("with_page", "placement_zone")),
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
    equal to the row-by-row function (tested)."""
    n = len(evidence)
    if n == 0:
        return []
    plain = {f: [None if v != v else v for v in columns[f]] for f in REASON_COLUMNS}  # NaN: unhashable as a key
    texts: list[list[str | None]] = []  # per factor, per row: its phrase, None = unknown
    part_matrix = np.empty((n, len(FACTORS)), dtype=np.float64)
    for j, name in enumerate(FACTORS):
        fields, ev_keys = PHRASE_FIELDS[name]
        pt = np.asarray(parts[name], dtype=np.float64)
        part_matrix[:, j] = pt
        signs = np.where(pt > 0.05, 1, np.where(pt < -0.05, -1, 0)).tolist()
        values = zip(*(plain[f] for f in fields), strict=True)  # one tuple per row, built in C
        if ev_keys:
            ev_values = [tuple(ev.get(k) for k in ev_keys) for ev in evidence]
            keys = list(zip(signs, values, ev_values, strict=True))
        else:
            keys = list(zip(signs, values, strict=True))
        memo: dict[tuple, str | None] = {}
        for i, key in enumerate(keys):
            if key not in memo:
                get = {f: (math.nan if v is None else v) for f, v in zip(fields, key[1], strict=True)}
                phrase = factor_phrase(name, get, evidence[i])
                memo[key] = None if phrase is None else f"{name}: {phrase} ({_SIGN_WORDS[key[0]]})"
        kn = np.asarray(known[name], dtype=bool).tolist()
        texts.append([memo[k] if ok else None for k, ok in zip(keys, kn, strict=True)])
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


_SIGN_WORDS = {1: "raises", -1: "lowers", 0: "neutral"}


@functools.lru_cache(maxsize=512)
def _unknown_phrase(names: tuple[str, ...]) -> str:
    return "unknown: " + ", ".join(f"{u} ({UNKNOWN_WHY[u]})" for u in names)


__all__ = ["REASON_COLUMNS", "ZONE_WORDS", "factor_phrase", "factor_reasons", "factor_reasons_batch"]
