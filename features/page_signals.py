"""Page signals: how the source page looks as a whole, its URL, and export metrics.

Text and link measures need the page HTML (NaN without it); URL shape, domain
lists and export metrics work from the record alone.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence

import numpy as np

from .domains import CHEAP_TLDS, DomainLists
from .page import ParsedPage
from .records import Metrics
from .urls import host_of, public_suffix, registered_domain, split_url

SPAM_WORDS = re.compile(
    r"\b(casino|poker|viagra|cialis|porn|xxx|escort|payday|loans?|replica|pharmacy|bitcoin|forex|"
    r"backlinks?|seo services|guest post|sponsored post|write for us|betting|slots?|cbd|vape)\b",
    re.I,
)


def page_features(page: ParsedPage | None) -> dict[str, float]:
    """Whole-page measures from the parsed page (all NaN without a page)."""
    if page is None:
        return {}
    if page.signals is None:
        page.signals = _page_features(page)
    return page.signals


def _page_features(page: ParsedPage) -> dict[str, float]:
    main = len("".join(page.main_text.split()))
    own = registered_domain(page.url)
    ext = [lk for lk in page.links if lk.key and registered_domain(lk.key.split("/")[0]) != own]
    words = max(len(page.main_text.split()), 1)
    text_for_spam = page.title + " " + page.main_text[:20000]
    return {
        "page_main_chars": float(main),
        "page_text_chars": float(page.text_chars),
        "page_main_ratio": main / page.text_chars if page.text_chars else 0.0,
        "page_links": float(len(page.links)),
        "page_ext_links": float(len(ext)),
        "page_ext_domains": float(len({registered_domain(lk.key.split("/")[0]) for lk in ext})),
        "page_link_density": page.link_text_chars / page.text_chars if page.text_chars else 1.0,
        "page_title_chars": float(len(page.title)),
        "page_spam_words": 1000.0 * len(SPAM_WORDS.findall(text_for_spam)) / words,
        "page_is_english": np.nan if page.lang is None else float(page.lang == "en"),
        "meta_nofollow": float(page.meta_nofollow),
        "meta_noindex": float(page.meta_noindex),
    }


def url_features(source_url: str, target_url: str, source_title: str | None, lists: DomainLists) -> dict[str, float]:
    """URL shape and domain-list features (no page needed)."""
    parts = split_url(source_url)
    path = [p for p in parts.path.split("/") if p]
    out = {
        "src_url_depth": float(len(path)),
        "src_url_chars": float(len(source_url)),
        "src_url_query": float(bool(parts.query)),
        **_host_features(host_of(source_url)),
        **spam_listed(source_url, target_url, lists),
    }
    if source_title is not None:
        out["page_title_chars"] = float(len(source_title))
    return out


def spam_listed(source_url: str, target_url: str, lists: DomainLists) -> dict[str, float]:
    """Whether the source and the target are on the shipped spam lists (1.0 / 0.0): the part of
    :func:`url_features` that the worth score and the risk flags read."""
    return {"src_spam_listed": float(lists.is_spam(source_url)), "tgt_spam_listed": float(lists.is_spam(target_url))}


@functools.lru_cache(maxsize=16384)  # exports repeat referring hosts on many rows
def _host_features(host: str) -> dict[str, float]:
    """Shape of the source host's registrable label and TLD (the caller copies the dict)."""
    suffix = public_suffix(host)
    label = host[: -len(suffix) - 1] if suffix else host
    return {
        "src_host_digits": float(sum(map(str.isdigit, label))),
        "src_host_hyphens": float(label.count("-")),
        "src_cheap_tld": float(suffix.split(".")[-1] in CHEAP_TLDS),
    }


def metric_features(m: Metrics) -> dict[str, float]:
    """The export's own columns as features, each NaN when the export does not give it.

    Counts spread over orders of magnitude, so they are log10(1 + x); 0-100 scores and yes/no
    flags are kept as the tool wrote them. Nothing is filled from another column. The definition,
    per record; the pipeline computes the same values a batch at a time (:func:`metric_columns`)."""
    frame_form = _either(m.link_frame, m.link_form)
    return {
        "metric_domain_authority": _value(m.domain_authority),
        "metric_page_authority": _value(m.page_authority),
        "metric_log_traffic": _log1p10(m.traffic),
        "metric_log_domain_traffic": _log1p10(m.domain_traffic),
        "metric_log_outbound": _log1p10(m.outbound_links),
        "metric_log_internal": _log1p10(m.internal_links),
        "metric_spam_score": _value(m.spam_score),
        "metric_tool_spam": _value(m.tool_spam),
        "metric_sitewide": _value(m.sitewide),
        "metric_in_content": _value(m.in_content),
        "metric_link_image": _link_is(m.link_image, m.link_type, "image"),
        "metric_link_frame_form": _link_is(frame_form, m.link_type, "frame", "form"),
        "metric_link_redirect": _link_is(m.link_redirect, m.link_type, "redirect"),
        "metric_log_links_in_group": _log1p10(m.links_in_group),
        "metric_log_page_keywords": _log1p10(m.page_keywords),
        "metric_log_page_refdomains": _log1p10(m.page_referring_domains),
        "metric_http_ok": np.nan if m.http_code is None else float(200 <= m.http_code < 300),
        "metric_lost": _lost(m),
    }


def metric_columns(ms: Sequence[Metrics]) -> dict[str, np.ndarray]:
    """:func:`metric_features` of a batch, one float64 array per feature (equal, tested): the
    export-only scorer reads them for every row of a chunk, and columns skip the per-row dict of 18
    values that the feature block would then take apart again."""
    nan = math.nan
    log10 = math.log10

    def plain(values: list[float | None]) -> np.ndarray:
        return np.array(values, dtype=np.float64)  # None -> NaN

    def log1p10(values: list[float | None]) -> np.ndarray:
        return np.array([nan if x is None or x < 0 else log10(1.0 + x) for x in values], dtype=np.float64)

    return {
        "metric_domain_authority": plain([m.domain_authority for m in ms]),
        "metric_page_authority": plain([m.page_authority for m in ms]),
        "metric_log_traffic": log1p10([m.traffic for m in ms]),
        "metric_log_domain_traffic": log1p10([m.domain_traffic for m in ms]),
        "metric_log_outbound": log1p10([m.outbound_links for m in ms]),
        "metric_log_internal": log1p10([m.internal_links for m in ms]),
        "metric_spam_score": plain([m.spam_score for m in ms]),
        "metric_tool_spam": plain([m.tool_spam for m in ms]),
        "metric_sitewide": plain([m.sitewide for m in ms]),
        "metric_in_content": plain([m.in_content for m in ms]),
        "metric_link_image": plain([_link_is(m.link_image, m.link_type, "image") for m in ms]),
        "metric_link_frame_form": plain([_link_is(_either(m.link_frame, m.link_form), m.link_type, "frame", "form")
                                         for m in ms]),
        "metric_link_redirect": plain([_link_is(m.link_redirect, m.link_type, "redirect") for m in ms]),
        "metric_log_links_in_group": log1p10([m.links_in_group for m in ms]),
        "metric_log_page_keywords": log1p10([m.page_keywords for m in ms]),
        "metric_log_page_refdomains": log1p10([m.page_referring_domains for m in ms]),
        "metric_http_ok": plain([None if m.http_code is None else float(200 <= m.http_code < 300) for m in ms]),
        "metric_lost": plain([_lost(m) for m in ms]),
    }


def _either(a: float | None, b: float | None) -> float | None:
    if a is None and b is None:
        return None
    return float(bool(a) or bool(b))


def _link_is(flag: float | None, link_type: str | None, *types: str) -> float:
    """A yes/no link property from the tool's flag column or, in Ahrefs, its link Type column
    (two columns saying the same thing in two tools' words, not one derived from another)."""
    if flag is not None:
        return float(flag >= 0.5)
    if link_type is not None:
        return _type_is(link_type, types)
    return np.nan


@functools.lru_cache(maxsize=1024)  # a tool's few link types, three questions each, on every row
def _type_is(link_type: str, types: tuple[str, ...]) -> float:
    return float(any(t in link_type for t in types))


def _lost(m: Metrics) -> float:
    """1 when the tool says the link is gone (Semrush Lost link, Ahrefs Lost date or Lost status)."""
    if m.lost is not None:
        return float(m.lost >= 0.5)
    if m.lost_date is not None or m.lost_reason is not None:
        return 1.0
    return np.nan


def _value(x: float | None) -> float:
    return np.nan if x is None else float(x)


def _log1p10(x: float | None) -> float:
    """log10(1 + x): counts spread over orders of magnitude; NaN when unknown or negative."""
    return np.nan if x is None or x < 0 else math.log10(1.0 + x)
