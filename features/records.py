"""The canonical link record, used by every part of linkq.

Whatever the source (JSONL, CSV, an SEO tool's export, an HTTP request), a row
becomes one ``LinkRecord``. Validation never raises for a bad row: it returns a
``RecordError`` with a message, so one bad row cannot stop a batch.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .html_text import BinaryContent, decode_html
from .urls import InvalidURL, check_url

MAX_HTML_BYTES = 5 * 1024 * 1024  # 5 MB: larger "pages" are dumps, not pages

RECORD_FIELDS = (
    "source_url",
    "target_url",
    "anchor_text",
    "rel",
    "source_html",
    "source_title",
    "context_left",
    "context_right",
    "target_title",
    "target_text",
    "metrics",
)

# Evidence an export (or a user's record) may give about a link, each on its tool's own scale; a
# field the export does not give stays None (unknown), never derived from another field. Scales:
# domain_authority 0-100 is a *domain* measure (Ahrefs DR, Moz DA, Semrush AS: not the same scale,
# and a hosting platform lends its DR to every user page on it); page_authority 0-100 is a *page*
# measure (Ahrefs UR, Semrush Page ascore, Moz PA, Majestic Source Trust Flow of the linking URL).
METRIC_FIELDS = (
    "domain_authority",  # 0-100 domain measure: Ahrefs DR, Moz DA, Semrush AS
    "page_authority",  # 0-100 page measure: Ahrefs UR, Semrush Page ascore, Moz PA, Majestic source TF
    "traffic",  # monthly organic visits of the source *page* (Ahrefs Page traffic)
    "domain_traffic",  # monthly organic visits of the source *domain* (Ahrefs Domain traffic)
    "outbound_links",  # external links on the source page
    "internal_links",  # internal links on the source page (Semrush)
    "spam_score",  # the tool's own spam score, 0-100 (Moz Spam Score, Semrush toxicity)
    "tool_spam",  # 1 if the tool marks the source as spam (Ahrefs "Is spam")
    "sitewide",  # 1 if the tool says the link is site-wide
    "in_content",  # 1 if the tool says the link is in the main content (Ahrefs "Content")
    "link_image",  # 1 image link, 0 not (Semrush Image, Majestic FlagImageLink)
    "link_frame",  # 1 link in a frame/iframe (Semrush Frame, Majestic FlagFrame)
    "link_form",  # 1 link is a form action (Semrush Form)
    "link_redirect",  # 1 the link is a redirect (Majestic FlagRedirect)
    "links_in_group",  # links the tool grouped with this one (Ahrefs "Links in group")
    "page_keywords",  # keywords the source page ranks for (Ahrefs "Keywords")
    "page_referring_domains",  # domains linking to the source page (Ahrefs "Referring domains")
    "http_code",  # HTTP status of the source page when the tool crawled it
    "lost",  # 1 if the tool marks the link lost / deleted (Semrush "Lost link")
    "first_seen",  # ISO date
    "last_seen",  # ISO date
    "lost_date",  # ISO date the tool saw the link disappear (Ahrefs "Lost")
    "link_type",  # text: the tool's link type (Ahrefs "Type": text, image, redirect, frame, form)
    "lost_reason",  # text: why the tool lists the link as lost (Ahrefs "Lost status" / "Drop reason")
    "platform",  # text: the source site's platform as the tool detected it (Ahrefs "Platform")
    "page_type",  # text: the tool's page type of the source (Ahrefs "Page type")
    "tool",  # text: which tool's scales the metrics are on (ahrefs, semrush, majestic, moz, gsc, ...)
)
METRIC_DATE_FIELDS = ("first_seen", "last_seen", "lost_date")
METRIC_TEXT_FIELDS = ("link_type", "lost_reason", "platform", "page_type", "tool")
METRIC_NUMBER_FIELDS = tuple(f for f in METRIC_FIELDS if f not in METRIC_DATE_FIELDS + METRIC_TEXT_FIELDS)


@dataclass(frozen=True)
class Metrics:
    """Export metrics, all optional; numbers are floats, dates ISO strings."""

    domain_authority: float | None = None
    page_authority: float | None = None
    traffic: float | None = None
    domain_traffic: float | None = None
    outbound_links: float | None = None
    internal_links: float | None = None
    spam_score: float | None = None
    tool_spam: float | None = None
    sitewide: float | None = None
    in_content: float | None = None
    link_image: float | None = None
    link_frame: float | None = None
    link_form: float | None = None
    link_redirect: float | None = None
    links_in_group: float | None = None
    page_keywords: float | None = None
    page_referring_domains: float | None = None
    http_code: float | None = None
    lost: float | None = None
    first_seen: str | None = None
    last_seen: str | None = None
    lost_date: str | None = None
    link_type: str | None = None
    lost_reason: str | None = None
    platform: str | None = None
    page_type: str | None = None
    tool: str | None = None


@dataclass(frozen=True)
class LinkRecord:
    """One backlink: where it is (source), where it points (target), what is known about it."""

    source_url: str
    target_url: str
    anchor_text: str | None = None
    rel: str | None = None
    source_html: str | None = None
    source_title: str | None = None
    context_left: str | None = None
    context_right: str | None = None
    target_title: str | None = None
    target_text: str | None = None
    metrics: Metrics = field(default_factory=Metrics)


@dataclass(frozen=True)
class RecordError:
    """Why a row could not become a record (shown to the user as ``error: <message>``)."""

    message: str


def _blank(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip())


def _text(v: object) -> str | None:
    if type(v) is str:  # the usual case, without _blank's checks
        return None if not v or v.isspace() else v
    if _blank(v):
        return None
    return str(v)


def _rel(v: object) -> str | None:
    """rel as given; '' means known and followed (exports say so explicitly), None means unknown."""
    if isinstance(v, str):
        return " ".join(v.split())
    return None


def parse_number(v: object) -> float | None:
    """Numbers as exports write them: '1,240', '1 240', '35%', 'true', '' -> float or None."""
    if type(v) is float:  # fast path: export readers hand over floats already
        return None if v != v else v
    if v is None:
        return None
    if _blank(v):
        return None
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, int | float):
        return float(v)
    s = str(v).strip().lower()
    if s in ("true", "yes", "y"):
        return 1.0
    if s in ("false", "no", "n"):
        return 0.0
    s = s.replace("\u00a0", "").replace(" ", "").rstrip("%")
    if s.count(",") and s.count(".") == 0 and all(len(p) == 3 for p in s.split(",")[1:]):
        s = s.replace(",", "")
    s = s.replace(",", ".") if s.count(",") == 1 and s.count(".") == 0 else s.replace(",", "")
    try:
        x = float(s)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}:[0-9]{2})?")


def _iso_date(s: str) -> str | None:
    """Fast path of ``parse_date`` for 'YYYY-MM-DD' and 'YYYY-MM-DD[T ]HH:MM:SS' (most exports):
    the result ``strptime`` would give with the first matching format, or None to let it decide."""
    if not _ISO_DATE.fullmatch(s):
        return None
    if len(s) > 10 and (int(s[11:13]) > 23 or int(s[14:16]) > 59 or int(s[17:19]) > 59):
        return None  # out of range for datetime: let the slow path decide (it returns None)
    try:
        return date.fromisoformat(s[:10]).strftime("%Y-%m-%d")
    except ValueError:
        return None


def parse_date(v: object) -> str | None:
    """Dates as exports write them -> ISO 'YYYY-MM-DD', or None when unreadable."""
    if v is None:
        return None
    if type(v) is str:
        return _date_text(v)
    if _blank(v):
        return None
    if isinstance(v, datetime | date):
        return v.strftime("%Y-%m-%d")
    return _date_text(str(v))


@functools.lru_cache(maxsize=4096)  # exports repeat the same few hundred dates on many rows
def _date_text(v: str) -> str | None:
    s = v.strip()
    if not s:
        return None
    fast = _iso_date(s)
    if fast is not None:
        return fast
    for fmt in ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y", "%b %d, %Y",
                "%d %b %Y", "%Y/%m/%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(s[: len(s)], fmt).strftime("%Y-%m-%d")
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(s.replace("Z", "+00:00")).strftime("%Y-%m-%d")
    except ValueError:
        return None


def parse_metrics(raw: Mapping[str, object]) -> Metrics:
    """Metrics from a nested ``metrics`` mapping or from flat top-level columns (a nested value wins)."""
    nested = raw.get("metrics")
    given: Mapping[str, object] = raw
    names = raw.keys() & _METRIC_KINDS  # the few a row gives, not all ~30 fields
    if isinstance(nested, Mapping):
        given = {k: raw[k] for k in names}
        given.update({k: nested[k] for k in nested.keys() & _METRIC_KINDS})
        names = given.keys()
    values: dict[str, object] = _NO_METRICS.copy()  # every field, in order: _frozen needs them all
    # numbers as the export readers give them (floats, not NaN) in one pass; the rest one by one
    plain = {k: v for k in names & _NUMBER_METRICS if type(v := given[k]) is float and v == v}
    values.update(plain)
    for name in names:
        if name in plain:
            continue
        v = given[name]
        if v is None:
            continue
        kind = _METRIC_KINDS[name]
        if kind == 0:
            values[name] = (v if v == v else None) if type(v) is float else parse_number(v)  # readers give floats
        elif kind == 1:
            values[name] = parse_date(v)
        else:
            text = _text(v)
            values[name] = None if text is None else _text_metric(text)
    return _frozen(Metrics, values)


def _squeeze(text: str) -> str:
    """A text metric as compared: spaces collapsed, at most 200 characters, lower case."""
    return " ".join(text.split())[:200].lower()


# a tool's link types, platforms and page types repeat on every row (short texts only: a hostile
# export's megabyte cell is not kept)
_metric_text = functools.lru_cache(maxsize=4096)(_squeeze)


def _text_metric(text: str) -> str:
    """A non-blank text metric as compared (:func:`_squeeze`), memoised when short."""
    return _metric_text(text) if len(text) <= 256 else _squeeze(text)


# (field, 0 number / 1 date / 2 text) in METRIC_FIELDS order
_METRIC_KINDS = {f: 1 if f in METRIC_DATE_FIELDS else 2 if f in METRIC_TEXT_FIELDS else 0 for f in METRIC_FIELDS}
_NUMBER_METRICS = frozenset(f for f, kind in _METRIC_KINDS.items() if kind == 0)
_NO_METRICS: dict[str, object] = dict.fromkeys(METRIC_FIELDS)  # copied: cheaper than fromkeys per row


def _frozen(cls: type, values: dict[str, object]) -> Any:
    """An instance of the frozen dataclass ``cls`` with ``values`` (every field, in order), as its
    ``__init__`` would make it without its per-field ``object.__setattr__`` calls: ~0.4 us instead of
    ~1 us, on a path that makes two per row of a million-row export (equality tested)."""
    obj = object.__new__(cls)
    object.__setattr__(obj, "__dict__", values)
    return obj


def parse_record(raw: Mapping[str, object], max_html_bytes: int = MAX_HTML_BYTES) -> LinkRecord | RecordError:
    """Validate one raw row into a LinkRecord, or say clearly why not."""
    if not isinstance(raw, Mapping):
        return RecordError(f"record must be an object, got {type(raw).__name__}")
    missing = [f for f in ("source_url", "target_url") if _blank(raw.get(f))]
    if missing:
        return RecordError(f"missing required field(s): {', '.join(missing)}")
    try:
        source_url = check_url(raw["source_url"])
    except InvalidURL as exc:
        return RecordError(f"source_url: {exc}")
    try:
        target_url = check_url(raw["target_url"])
    except InvalidURL as exc:
        return RecordError(f"target_url: {exc}")
    html_raw = raw.get("source_html")
    html: str | None = None
    if not _blank(html_raw):
        if not isinstance(html_raw, str | bytes):
            return RecordError(f"source_html must be text, got {type(html_raw).__name__}")
        size = len(html_raw)
        if isinstance(html_raw, str) and size * 4 > max_html_bytes:  # only then can UTF-8 exceed the limit
            size = len(html_raw.encode("utf-8", "replace"))
        if size > max_html_bytes:
            return RecordError(f"source_html is {size / 1e6:.1f} MB, over the {max_html_bytes / 1e6:.0f} MB limit")
        try:
            html = decode_html(html_raw)
        except BinaryContent as exc:
            return RecordError(f"source_html: {exc}")
    return _frozen(LinkRecord, {
        "source_url": source_url,
        "target_url": target_url,
        "anchor_text": _text(raw.get("anchor_text")),
        "rel": _rel(raw.get("rel")),
        "source_html": html,
        "source_title": _text(raw.get("source_title")),
        "context_left": _text(raw.get("context_left")),
        "context_right": _text(raw.get("context_right")),
        "target_title": _text(raw.get("target_title")),
        "target_text": _text(raw.get("target_text")),
        "metrics": parse_metrics(raw),
    })
