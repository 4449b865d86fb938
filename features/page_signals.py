"""Page signals: how the source page looks as a whole, its URL, and export metrics.

Text and link measures need the page HTML (NaN without it); URL shape, domain
lists and export metrics work from the record alone.
"""

from __future__ import annotations

import functools
import math
import re

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
        "src_spam_listed": float(lists.is_spam(source_url)),
        "tgt_spam_listed": float(lists.is_spam(target_url)),
    }
    if source_title is not None:
        out["page_title_chars"] = float(len(source_title))
    return out


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
    """Export metrics, normalised (NaN when the export does not have them)."""

    return {
        "metric_domain_authority": _value(m.domain_authority),
        "metric_page_authority": _value(m.page_authority),
        "metric_log_traffic": _log1p10(m.traffic),
        "metric_log_outbound": _log1p10(m.outbound_links),
        "metric_spam_score": _value(m.spam_score),
        "metric_sitewide": _value(m.sitewide),
    }


def _value(x: float | None) -> float:
    return np.nan if x is None else float(x)


def _log1p10(x: float | None) -> float:
    """log10(1 + x): counts spread over orders of magnitude; NaN when unknown or negative."""
    return np.nan if x is None or x < 0 else math.log10(1.0 + x)
