"""A backlink profile report from a scored file: one self-contained HTML page and a JSON summary.

``linkq score`` writes one row per link with the user's export columns followed by ``score``,
``verdict``, ``reasons``, ``placement_zone``, ``status`` and ``flags``. People reading that table want
pictures, not 10,000 rows: how the scores are spread, which referring sites send weak links, whether the
anchor texts look natural, when links arrived, and - most of all - which weak links are merely
*worthless* (Google ignores them) and which are *risky* (manipulation signals: disavow candidates).

Design choices:

* The scored file is read with :func:`serving.exports.read_export`, so every format ``linkq score``
  accepts (Ahrefs, Semrush, Majestic, Moz, canonical CSV/JSONL) works here with its canonical fields;
  Parquet is converted to CSV first. The linkq columns are taken from the row's original columns.
* :func:`build_summary` does all the counting and returns plain JSON-able data; the HTML is rendered from
  that summary alone, so the page and ``--json`` can never disagree.
* The page has no scripts and no external resources: CSS is inline and the charts are SVG drawn here,
  so it opens offline, in a mail attachment or an archive years later. Every value from the data is
  HTML-escaped, and referring URLs are shown as text, never as clickable links (they are often spam).
* "Natural" anchor mixes, spike and concentration thresholds are rules of thumb, stated as such in the
  page and kept as module constants below.
"""

from __future__ import annotations

import contextlib
import functools
import html
import json
import math
import statistics
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import tldextract

from features.anchor import COMMERCIAL, anchor_features
from features.html_text import norm_text
from features.recordio import write_text_atomic
from features.urls import host_of, url_key
from serving.exports import ExportFormatError, ExportInfo, ExportRow, read_export
from serving.result_fields import FLAG_RULES, FLAG_WORDS

__all__ = [
    "ANCHOR_CLASSES",
    "REFERENCE_MIX",
    "ScoredFileError",
    "ScoredLink",
    "build_summary",
    "classify_anchor",
    "display_host",
    "host_to_ascii",
    "is_risky",
    "open_scored",
    "render_html",
    "risk_flags_of",
    "site_of",
    "write_report",
]

REPORT_VERSION = 1
VERDICTS = ("strong", "review", "weak")
VERDICT_COLORS = {"strong": "#2f9e6b", "review": "#e8a33d", "weak": "#d64545"}

# Anchor classes, in the order they are shown (see classify_anchor for the order they are checked in).
ANCHOR_CLASSES = ("brand", "naked_url", "generic", "image", "partial", "exact", "other")
ANCHOR_LABELS = {
    "brand": "Brand", "naked_url": "Naked URL", "generic": "Generic", "image": "Image",
    "partial": "Partial match", "exact": "Exact match", "other": "Other",
}
# Rule of thumb for a natural profile (varies by niche; not a Google number): mostly brand and URL anchors.
REFERENCE_MIX = {
    "brand": 0.35, "naked_url": 0.20, "generic": 0.15, "image": 0.05, "partial": 0.10, "exact": 0.03,
    "other": 0.12,
}
PARTIAL_MIN_SHARE = 0.5  # at least half of the anchor's words are the target's keywords
MONEY_ANCHOR_LIMIT = 0.20  # exact + partial match anchors above this share look built, not earned
COMMERCIAL_ANCHOR_LIMIT = 0.05  # one commercial anchor text above this share of all anchors ...
COMMERCIAL_ANCHOR_MIN_LINKS = 3  # ... and used by at least this many links
HOMEPAGE_LIMIT = 0.75  # more links than this to the homepage: deep pages get little
SPIKE_FACTOR = 3.0  # a month with more than 3x the median of the months before it ...
SPIKE_MIN_LINKS = 10  # ... and at least 10 new links
SPIKE_WINDOW = 12  # months of history the median is taken over
SPIKE_MIN_HISTORY = 3  # months of history needed before a month can be a spike
TOP_DOMAINS = 15
TOP_WEAK_DOMAINS = 15
TOP_TARGETS = 12
TOP_ANCHORS = 12
MAX_CHART_MONTHS = 120

# Flags that describe the target (the user's own site), not the linking page: never a reason to disavow it.
NON_SOURCE_FLAGS = frozenset({"spam_target"})
FLAG_TEXT = {**FLAG_WORDS, "sitewide": "site-wide link (files scored by linkq before 0.2)"}
ZONE_ORDER = ("main_content", "comments", "navigation", "header", "footer", "sidebar", "link_list", "not_found",
              "unknown")
ZONE_LABELS = {
    "main_content": "Main content", "comments": "Comments", "navigation": "Navigation", "header": "Header",
    "footer": "Footer", "sidebar": "Sidebar", "link_list": "Link list", "not_found": "Link not found",
    "unknown": "Unknown (no page)",
}
REL_CLASSES = ("followed", "nofollow", "ugc", "sponsored", "unknown")
REL_LABELS = {"followed": "Followed", "nofollow": "Nofollow", "ugc": "UGC", "sponsored": "Sponsored",
              "unknown": "Unknown"}
REL_COLORS = {"followed": "#2f9e6b", "nofollow": "#7b8794", "ugc": "#9f86c0", "sponsored": "#d64545",
              "unknown": "#cbd2d9"}

# Feature columns (``linkq score --explain``) read when present: risk flags, rel and image links.
_FLAG_FEATURES = ("rel_sponsored", "src_spam_listed", "tgt_spam_listed", "anchor_overoptimised",
                  "metric_sitewide", "metric_spam_score", "page_spam_words")
_REL_FEATURES = ("rel_nofollow", "rel_ugc", "rel_sponsored")
_BLANKS = frozenset({"", "nan", "none", "null", "nat"})


class ScoredFileError(ValueError):
    """The file is not a readable scored file; the message says what was found and what to do."""


@dataclass(frozen=True)
class ScoredLink:
    """One row of a scored file, reduced to what the report and the disavow file need.

    ``verdict`` is None for rows that were not scored (skipped, errors); ``rel`` is None when the file
    does not say whether the link is followed; ``flags`` are the manipulation signals (the ``flags``
    column, plus those the ``--explain`` feature columns show).
    """

    line_no: int
    source_url: str | None
    target_url: str | None
    anchor_text: str | None
    rel: str | None
    first_seen: str | None
    score: float | None
    verdict: str | None
    reasons: tuple[str, ...]
    zone: str
    status: str
    flags: tuple[str, ...]
    is_image: bool = False
    model_id: str | None = None


# --------------------------------------------------------------------------------------------------
# domains: one normal form (IDNA ASCII) for grouping, comparing and disavowing


@functools.cache
def _psl() -> tldextract.TLDExtract:
    # Private suffixes (blogspot.com, github.io, ...) count as public ones so that one spam blog on a
    # hosting platform is one site, not the whole platform. Bundled list only: never fetched.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)


@functools.lru_cache(maxsize=65536)
def host_to_ascii(host: str) -> str | None:
    """Lower-case IDNA (punycode) form of a host name, without ``www.`` and a trailing dot.

    ``bücher.example`` and ``XN--BCHER-KVA.example`` both give ``xn--bcher-kva.example``, so a unicode
    allow-list entry matches a punycode URL and vice versa. None when a label cannot be encoded.
    """
    host = host.strip().rstrip(".").lower()
    if not host:
        return None
    labels: list[str] = []
    for label in host.split("."):
        if not label:
            return None
        if label.isascii():
            labels.append(label)
            continue
        try:
            import idna  # IDNA 2008 + UTS 46 (as registries use); installed with httpx

            labels.append(idna.encode(label, uts46=True).decode("ascii"))
        except ImportError:  # pragma: no cover - httpx always brings idna
            labels.append(label.encode("idna").decode("ascii"))
        except (ValueError, UnicodeError):
            try:
                labels.append(label.encode("idna").decode("ascii"))  # IDNA 2003 is more lenient
            except UnicodeError:
                return None
    ascii_host = ".".join(labels)
    return ascii_host[4:] if ascii_host.startswith("www.") else ascii_host


@functools.lru_cache(maxsize=65536)
def display_host(ascii_host: str) -> str:
    """The readable (unicode) form of a punycode host, for people; unchanged when not punycode."""
    if "xn--" not in ascii_host:
        return ascii_host
    try:
        import idna

        return idna.decode(ascii_host)
    except (ImportError, ValueError, UnicodeError):
        try:
            return ascii_host.encode("ascii").decode("idna")
        except UnicodeError:
            return ascii_host


def site_of(url_or_host: str) -> str:
    """The referring site of a URL: its registered domain in IDNA form ('' when there is no host).

    Registered domain, not host, because link sellers spread links over subdomains of one site;
    private suffixes count, so ``spam.blogspot.com`` is its own site. IP addresses and hosts without a
    known suffix are returned whole.
    """
    host = host_of(url_or_host) if ("/" in url_or_host or ":" in url_or_host) else url_or_host
    return _site_of_host(host) if host else ""


@functools.lru_cache(maxsize=65536)  # keyed by host: exports repeat the same few thousand hosts
def _site_of_host(host: str) -> str:
    ascii_host = host_to_ascii(host)
    if not ascii_host:
        return ""
    ext = _psl()(ascii_host)
    if ext.domain and ext.suffix:
        return f"{ext.domain}.{ext.suffix}"
    return ascii_host


# --------------------------------------------------------------------------------------------------
# reading scored files


def _text(value: object) -> str:
    s = "" if value is None else str(value).strip()
    return "" if s.lower() in _BLANKS else s


def _float(value: object) -> float | None:
    s = _text(value)
    if not s:
        return None
    try:
        v = float(s)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _split_list(value: object) -> list[str]:
    """A list cell as ``linkq score`` writes it: ``a; b`` in CSV/Parquet, a JSON list in JSONL."""
    s = _text(value)
    if not s:
        return []
    if s.startswith("["):
        with contextlib.suppress(ValueError):
            items = json.loads(s)
            if isinstance(items, list):
                return [str(x).strip() for x in items if str(x).strip()]
    return [p.strip() for p in s.split("; ") if p.strip()]


def _is_parquet(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"PAR1"
    except OSError:
        return False


def _parquet_to_csv(src: Path, dst: Path) -> None:
    import pandas as pd

    try:
        frame = pd.read_parquet(src)
    except Exception as exc:  # pyarrow raises many types for a broken file
        raise ScoredFileError(f"{src}: cannot read this Parquet file: {exc}") from exc

    def cell(v: object) -> object:
        if hasattr(v, "tolist") and not isinstance(v, str | bytes):
            v = v.tolist()
        if isinstance(v, list | tuple):
            return "; ".join(str(x) for x in v)
        return v

    frame.astype(object).map(cell).to_csv(dst, index=False, encoding="utf-8")


@contextlib.contextmanager
def open_scored(path: Path) -> Iterator[tuple[ExportInfo, Iterator[ScoredLink]]]:
    """Open a file written by ``linkq score`` (CSV, JSONL or Parquet); yield its info and link stream.

    Raises :class:`ScoredFileError` when the file cannot be read or has no ``score``/``verdict``
    column (an unscored export: the message says to run ``linkq score`` first). Rows stream in file
    order, so memory does not grow with the file.
    """
    path = Path(path)
    with contextlib.ExitStack() as stack:
        source = path
        if _is_parquet(path):
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="linkq-scored-")))
            source = tmp / f"{path.stem}.csv"
            _parquet_to_csv(path, source)
        try:
            info, chunks = read_export(source)
        except ExportFormatError as exc:
            raise ScoredFileError(str(exc).replace(str(source), str(path))) from exc
        if not {"score", "verdict"} & set(info.columns):
            raise ScoredFileError(
                f"{path}: not a scored file (no 'score' or 'verdict' column; found {', '.join(info.columns[:12])}"
                f"{' ...' if len(info.columns) > 12 else ''}); run `linkq score` on the export first and pass "
                "the file it writes"
            )
        yield info, _links(info, chunks)


def _flag_rules(columns: Sequence[str]) -> tuple[tuple[str, str, float], ...]:
    if not any(c in columns for c in _FLAG_FEATURES):
        return ()
    return tuple(rule[:3] for rule in FLAG_RULES)


def _links(info: ExportInfo, chunks: Iterator[list[ExportRow]]) -> Iterator[ScoredLink]:
    columns = info.columns
    rules = _flag_rules(columns)
    lower = {c.lower(): c for c in reversed(columns)}
    image_col = next(((lower[k], k) for k in ("type", "image", "flagimagelink") if k in lower), None)
    rel_features = [c for c in _REL_FEATURES if c in columns]
    anchor_col = next((c for c, f in info.mapping.items() if f == "anchor_text"), None)
    try:
        for chunk in chunks:
            for row in chunk:
                yield _link(row, rules, image_col, rel_features, anchor_col)
    except ExportFormatError as exc:
        raise ScoredFileError(str(exc)) from exc


def _link(
    row: ExportRow,
    rules: Sequence[tuple[str, str, float]],
    image_col: tuple[str, str] | None,
    rel_features: Sequence[str],
    anchor_col: str | None,
) -> ScoredLink:
    o = row.original
    if row.record is None:
        return ScoredLink(row.line_no, None, None, None, None, None, None, None, (), "unknown",
                          f"error: {row.error or 'unreadable row'}", ())
    rec = row.record
    verdict = _text(o.get("verdict")).lower()
    verdict_or_none = verdict if verdict in VERDICTS else None
    score = _float(o.get("score"))
    if score is not None and not 0.0 <= score <= 1.0:
        score = None
    status = _text(o.get("status")) or ("scored" if verdict_or_none else "not scored")
    flags = [f.lower() for f in _split_list(o.get("flags"))]
    for name, feature, at_least in rules:
        v = _float(o.get(feature))
        if v is not None and v >= at_least:
            flags.append(name)
    rel = rec.get("rel")
    if rel is None and rel_features:
        values = {c: _float(o.get(c)) for c in rel_features}
        if any(v is not None for v in values.values()):
            rel = " ".join(c[4:] for c, v in values.items() if v is not None and v >= 0.5)
    is_image = (_float(o.get("anchor_is_image")) or 0.0) >= 0.5
    if image_col is not None:
        raw = _text(o.get(image_col[0])).lower()
        is_image = is_image or (raw.startswith("image") if image_col[1] == "type" else raw in ("true", "1", "+", "yes"))
    zone = _text(o.get("placement_zone")).lower() or "unknown"
    anchor = rec.get("anchor_text")
    if anchor is None and anchor_col is not None and anchor_col in o:
        anchor = ""  # the column exists, the cell is empty: an empty anchor, not an unknown one
    return ScoredLink(
        line_no=row.line_no,
        source_url=_text(rec.get("source_url")) or None,
        target_url=_text(rec.get("target_url")) or None,
        anchor_text=anchor if isinstance(anchor, str) else None,
        rel=rel if isinstance(rel, str) else None,
        first_seen=_text(rec.get("first_seen")) or None,
        score=score,
        verdict=verdict_or_none,
        reasons=tuple(_split_list(o.get("reasons"))),
        zone=zone if zone in ZONE_ORDER else "unknown",
        status=status,
        flags=tuple(dict.fromkeys(flags)),
        is_image=is_image,
        model_id=_text(o.get("model_id")) or None,
    )


def risk_flags_of(link: ScoredLink) -> tuple[str, ...]:
    """The link's manipulation flags that speak against the *linking* page (what disavow acts on)."""
    return tuple(f for f in link.flags if f not in NON_SOURCE_FLAGS)


def is_risky(link: ScoredLink, min_flags: int = 1) -> bool:
    """Weak with at least ``min_flags`` manipulation signals: a disavow candidate, not just worthless."""
    return link.verdict == "weak" and len(risk_flags_of(link)) >= min_flags


# --------------------------------------------------------------------------------------------------
# anchors


@functools.lru_cache(maxsize=65536)
def _classify(text: str, target_url: str) -> str:
    f = anchor_features(text, None, target_url, None)
    if f["anchor_naked_url"] >= 0.5:
        return "naked_url"
    if f["anchor_brand"] >= 0.5:
        return "brand"
    if f["anchor_generic"] >= 0.5:
        return "generic"
    if f["anchor_exact_match"] >= 0.5:
        return "exact"
    if f["anchor_partial_match"] >= PARTIAL_MIN_SHARE:
        return "partial"
    return "other"


def classify_anchor(anchor: str | None, target_url: str | None, is_image: bool = False) -> str | None:
    """One of :data:`ANCHOR_CLASSES` for an anchor text linking to ``target_url``; None when unknown.

    Uses ``features.anchor`` (the model's own anchor features) so the report and the scores agree on
    what counts as brand, generic or exact match. Image links are "image" whatever their alt text; an
    empty text anchor is "other". Partial match: at least half of the anchor's words are keywords of
    the target URL (exact match: the anchor *is* the target's slug or title).
    """
    if is_image:
        return "image"
    if anchor is None:
        return None
    text = " ".join(anchor.split())
    if not text:
        return "other"
    return _classify(text, target_url or "")


def _is_commercial(text: str) -> bool:
    return bool(COMMERCIAL.search(norm_text(text)))


# --------------------------------------------------------------------------------------------------
# summary


def _share(n: float, total: float) -> float:
    return round(n / total, 4) if total else 0.0


def _shares(counts: Mapping[str, int], total: int) -> dict[str, float]:
    return {k: _share(v, total) for k, v in counts.items()}


def _is_homepage(key: str | None) -> bool:
    return bool(key) and key.endswith("/") and key.count("/") == 1 and "?" not in key  # type: ignore[union-attr]


def _month(iso: str | None) -> str | None:
    if not iso or len(iso) < 7 or iso[4] != "-":
        return None
    y, m = iso[:4], iso[5:7]
    return f"{y}-{m}" if y.isdigit() and m.isdigit() and 1 <= int(m) <= 12 else None


def _month_range(first: str, last: str) -> list[str]:
    y, m = int(first[:4]), int(first[5:7])
    out: list[str] = []
    while (y, m) <= (int(last[:4]), int(last[5:7])):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _spikes(counts: Sequence[int]) -> list[float | None]:
    """Per month: the ratio to the median of the preceding months when the month is a spike, else None.

    A spike is ``count >= SPIKE_MIN_LINKS`` and ``count > SPIKE_FACTOR * median`` of up to
    ``SPIKE_WINDOW`` preceding months, with at least ``SPIKE_MIN_HISTORY`` of them (a new site's first
    months cannot be judged). The ratio is ``inf`` when the median is 0.
    """
    out: list[float | None] = []
    for i, n in enumerate(counts):
        history = counts[max(0, i - SPIKE_WINDOW): i]
        if len(history) < SPIKE_MIN_HISTORY or n < SPIKE_MIN_LINKS:
            out.append(None)
            continue
        med = statistics.median(history)
        out.append((n / med if med else math.inf) if n > SPIKE_FACTOR * med else None)
    return out


class _Acc:
    """Streaming counters over the links of one file (memory grows with sites and pages, not rows)."""

    def __init__(self) -> None:
        self.rows = 0
        self.scored = 0
        self.status: Counter[str] = Counter()
        self.status_messages: Counter[str] = Counter()
        self.verdicts: Counter[str] = Counter()
        self.scores: list[float] = []
        self.hist = {v: [0] * 20 for v in VERDICTS}
        self.domains: dict[str, Counter[str]] = defaultdict(Counter)
        self.anchor_classes: Counter[str] = Counter()
        self.anchor_unknown = 0
        self.anchor_texts: Counter[str] = Counter()
        self.anchor_text_class: dict[str, str] = {}
        self.anchor_text_shown: dict[str, str] = {}
        self.rel: Counter[str] = Counter()
        self.rel_tokens: Counter[str] = Counter()
        self.zones: Counter[str] = Counter()
        self.targets: dict[str, Counter[str]] = defaultdict(Counter)
        self.target_shown: dict[str, str] = {}
        self.target_domains: dict[str, set[str]] = defaultdict(set)
        self.target_sites: Counter[str] = Counter()
        self.months: dict[str, Counter[str]] = defaultdict(Counter)
        self.undated = 0
        self.flags: Counter[str] = Counter()
        self.weak = _WeakAcc()
        self.model_ids: Counter[str] = Counter()

    def add(self, link: ScoredLink) -> None:
        self.rows += 1
        kind = link.status.split(":", 1)[0].strip() or "unknown"
        self.status[kind] += 1
        if ":" in link.status:
            self.status_messages[link.status[:160]] += 1
        if link.model_id:
            self.model_ids[link.model_id] += 1
        if link.verdict is None:
            return
        v = link.verdict
        self.scored += 1
        self.verdicts[v] += 1
        if link.score is not None:
            self.scores.append(link.score)
            self.hist[v][min(19, int(link.score * 20))] += 1
        site = site_of(link.source_url) if link.source_url else ""
        self.domains[site or "(no source URL)"][v] += 1
        cls = classify_anchor(link.anchor_text, link.target_url, link.is_image)
        if cls is None:
            self.anchor_unknown += 1
        else:
            self.anchor_classes[cls] += 1
            if link.anchor_text and link.anchor_text.strip() and not link.is_image:
                key = norm_text(link.anchor_text)
                self.anchor_texts[key] += 1
                self.anchor_text_class.setdefault(key, cls)
                self.anchor_text_shown.setdefault(key, " ".join(link.anchor_text.split()))
        tokens = set((link.rel or "").lower().replace(",", " ").split())
        for t in ("nofollow", "ugc", "sponsored"):
            if t in tokens:
                self.rel_tokens[t] += 1
        if link.rel is None:
            self.rel["unknown"] += 1
        else:
            self.rel[next((t for t in ("sponsored", "ugc", "nofollow") if t in tokens), "followed")] += 1
        self.zones[link.zone] += 1
        if link.target_url:
            key = url_key(link.target_url) or link.target_url
            self.targets[key][v] += 1
            self.target_shown.setdefault(key, link.target_url)
            if site:
                self.target_domains[key].add(site)
            self.target_sites[site_of(link.target_url)] += 1
        month = _month(link.first_seen)
        if month:
            self.months[month][v] += 1
        else:
            self.undated += 1
        for f in link.flags:
            self.flags[f] += 1
        self.weak.add(link, site)


class _WeakAcc:
    """Per referring site: weak links, risky ones, and the evidence to show for them."""

    def __init__(self) -> None:
        self.links = 0
        self.risky_links = 0
        self.flags: Counter[str] = Counter()
        self.sites: dict[str, dict[str, object]] = {}
        self.good: Counter[str] = Counter()  # strong/review links per site

    def add(self, link: ScoredLink, site: str) -> None:
        if link.verdict != "weak":
            self.good[site] += 1
            return
        self.links += 1
        risky = is_risky(link)
        self.risky_links += risky
        for f in risk_flags_of(link):
            self.flags[f] += 1
        s = self.sites.get(site)
        if s is None:
            s = self.sites[site] = {"weak": 0, "risky": 0, "flags": Counter(), "reasons": Counter(),
                                    "zones": Counter(), "example": None, "example_risky": False}
        s["weak"] += 1  # type: ignore[operator]
        s["risky"] += risky  # type: ignore[operator]
        s["flags"].update(risk_flags_of(link))  # type: ignore[union-attr]
        s["reasons"].update(r for r in link.reasons if r.startswith("-"))  # type: ignore[union-attr]
        s["zones"][link.zone] += 1  # type: ignore[index]
        if s["example"] is None or (risky and not s["example_risky"]):
            s["example"] = (link.source_url or "", link.anchor_text or "")
            s["example_risky"] = risky


def build_summary(scored_path: Path) -> dict:
    """Count everything the report shows; JSON-able, for other tools (``linkq report --json``).

    Charts and findings cover the *scored* rows; rows that were skipped or failed are counted under
    ``status``. Shares are fractions (0-1) rounded to 4 decimals. Raises :class:`ScoredFileError`.
    """
    scored_path = Path(scored_path)
    acc = _Acc()
    with open_scored(scored_path) as (info, links):
        for link in links:
            acc.add(link)
    return _finish(acc, scored_path, info)


def _finish(acc: _Acc, path: Path, info: ExportInfo) -> dict:
    scored = acc.scored
    summary: dict = {
        "report_version": REPORT_VERSION,
        "source": {"file": path.name, "format": info.format, "rows": acc.rows},
        "generated_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "model_id": acc.model_ids.most_common(1)[0][0] if acc.model_ids else None,
        "site": display_host(acc.target_sites.most_common(1)[0][0]) if acc.target_sites else None,
        "links": {"rows": acc.rows, "scored": scored, "unscored": acc.rows - scored},
        "status": dict(acc.status.most_common()),
        "status_messages": dict(acc.status_messages.most_common(10)),
        "verdicts": {v: acc.verdicts.get(v, 0) for v in VERDICTS},
        "verdict_shares": {v: _share(acc.verdicts.get(v, 0), scored) for v in VERDICTS},
        "score": {
            "mean": round(statistics.fmean(acc.scores), 4) if acc.scores else None,
            "median": round(statistics.median(acc.scores), 4) if acc.scores else None,
            "bins": [round(i / 20, 2) for i in range(21)],
            "histogram": acc.hist,
        },
        "flags": dict(acc.flags.most_common()),
    }
    summary["domains"] = {
        "count": len(acc.domains),
        "top": [
            {"domain": display_host(d), "links": sum(c.values()), **{v: c.get(v, 0) for v in VERDICTS}}
            for d, c in sorted(acc.domains.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))[:TOP_DOMAINS]
        ],
    }
    summary["anchors"] = _anchor_summary(acc)
    summary["rel"] = {
        "counts": {k: acc.rel.get(k, 0) for k in REL_CLASSES},
        "shares": {k: _share(acc.rel.get(k, 0), scored) for k in REL_CLASSES},
        "tokens": {t: acc.rel_tokens.get(t, 0) for t in ("nofollow", "ugc", "sponsored")},
    }
    summary["zones"] = {
        "counts": {z: acc.zones[z] for z in ZONE_ORDER if acc.zones.get(z)},
        "shares": {z: _share(acc.zones[z], scored) for z in ZONE_ORDER if acc.zones.get(z)},
    }
    summary["targets"] = _target_summary(acc)
    summary["monthly"] = _monthly_summary(acc)
    summary["weak"] = _weak_summary(acc)
    summary["alerts"] = _alerts(summary)
    return summary


def _anchor_summary(acc: _Acc) -> dict:
    n = sum(acc.anchor_classes.values())
    counts = {c: acc.anchor_classes.get(c, 0) for c in ANCHOR_CLASSES}
    money = counts["exact"] + counts["partial"]
    top = []
    for key, links in acc.anchor_texts.most_common(TOP_ANCHORS):
        cls = acc.anchor_text_class[key]
        top.append({"text": acc.anchor_text_shown[key], "links": links, "share": _share(links, n), "class": cls,
                    "commercial": _is_commercial(key) and cls not in ("brand", "naked_url")})
    commercial = [
        {"text": acc.anchor_text_shown[key], "links": links, "share": _share(links, n)}
        for key, links in acc.anchor_texts.most_common()
        if links >= COMMERCIAL_ANCHOR_MIN_LINKS and n and links / n > COMMERCIAL_ANCHOR_LIMIT
        and acc.anchor_text_class[key] not in ("brand", "naked_url") and _is_commercial(key)
    ]
    return {
        "classified": n,
        "unknown": acc.anchor_unknown,
        "counts": counts,
        "shares": {c: _share(counts[c], n) for c in ANCHOR_CLASSES},
        "reference": dict(REFERENCE_MIX),
        "reference_note": "rule of thumb for a natural profile, not a Google number; varies by niche",
        "money_share": _share(money, n),
        "money_limit": MONEY_ANCHOR_LIMIT,
        "overoptimised": bool(n) and money / n > MONEY_ANCHOR_LIMIT,
        "commercial_over_limit": commercial,
        "commercial_limit": COMMERCIAL_ANCHOR_LIMIT,
        "top": top,
    }


def _target_summary(acc: _Acc) -> dict:
    total = sum(sum(c.values()) for c in acc.targets.values())
    home = sum(sum(c.values()) for k, c in acc.targets.items() if _is_homepage(k))
    rows = []
    for key, c in sorted(acc.targets.items(), key=lambda kv: (-sum(kv[1].values()), kv[0])):
        rows.append({"url": acc.target_shown[key], "links": sum(c.values()), **{v: c.get(v, 0) for v in VERDICTS},
                     "domains": len(acc.target_domains.get(key, ())), "homepage": _is_homepage(key)})
    return {
        "pages": len(rows),
        "links": total,
        "homepage_links": home,
        "homepage_share": _share(home, total),
        "homepage_limit": HOMEPAGE_LIMIT,
        "top": rows[:TOP_TARGETS],
        "need_links": [r for r in rows if r["strong"] == 0][:10],
    }


def _monthly_summary(acc: _Acc) -> dict:
    rule = {"factor": SPIKE_FACTOR, "min_links": SPIKE_MIN_LINKS, "window": SPIKE_WINDOW,
            "min_history": SPIKE_MIN_HISTORY}
    if not acc.months:
        return {"months": [], "spikes": [], "undated": acc.undated, "rule": rule}
    months = _month_range(min(acc.months), max(acc.months))
    counts = [sum(acc.months.get(m, Counter()).values()) for m in months]
    ratios = _spikes(counts)
    rows = []
    for m, n, r in zip(months, counts, ratios, strict=True):
        c = acc.months.get(m, Counter())
        rows.append({"month": m, "links": n, **{v: c.get(v, 0) for v in VERDICTS}, "spike": r is not None,
                     "ratio": None if r is None or math.isinf(r) else round(r, 2)})
    return {"months": rows, "spikes": [r["month"] for r in rows if r["spike"]], "undated": acc.undated, "rule": rule}


def _weak_summary(acc: _Acc) -> dict:
    w = acc.weak
    sites = []
    for site, s in w.sites.items():
        example = s["example"] or ("", "")
        sites.append({
            "domain": display_host(site),
            "domain_ascii": site,
            "kind": "risky" if s["risky"] else "worthless",
            "weak_links": s["weak"],
            "risky_links": s["risky"],
            "links": sum(acc.domains.get(site or "(no source URL)", Counter()).values()),
            "good_links": w.good.get(site, 0),
            "flags": [f for f, _ in s["flags"].most_common()],  # type: ignore[union-attr]
            "reasons": [r for r, _ in s["reasons"].most_common(3)],  # type: ignore[union-attr]
            "zone": s["zones"].most_common(1)[0][0],  # type: ignore[union-attr]
            "example_url": example[0],  # type: ignore[index]
            "example_anchor": example[1],  # type: ignore[index]
        })
    sites.sort(key=lambda s: (s["kind"] != "risky", -s["weak_links"], s["domain"]))
    risky_sites = sum(1 for s in sites if s["kind"] == "risky")
    return {
        "links": w.links,
        "risky_links": w.risky_links,
        "worthless_links": w.links - w.risky_links,
        "sites": len(sites),
        "risky_sites": risky_sites,
        "worthless_sites": len(sites) - risky_sites,
        "flags": dict(w.flags.most_common()),
        "top_sites": sites[:TOP_WEAK_DOMAINS],
    }


def _n(n: int, word: str) -> str:
    """'1 site', '7 sites', '1,204 links'."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _pct(x: float) -> str:
    """'32%', '8.7%', '5%': one decimal only where it carries information (under 10%)."""
    v = x * 100
    return f"{v:.1f}%" if 0 < v < 10 and abs(v - round(v)) >= 0.05 else f"{v:.0f}%"


def _alerts(s: dict) -> list[dict[str, str]]:
    """Findings worth a look, most serious first; plain text (escaped when rendered)."""
    out: list[dict[str, str]] = []
    weak = s["weak"]
    if weak["risky_links"]:
        out.append({"kind": "risky", "severity": "high", "message": (
            f"{_n(weak['risky_links'], 'weak link')} from {_n(weak['risky_sites'], 'site')} "
            f"{'carries' if weak['risky_links'] == 1 else 'carry'} manipulation signals "
            f"({', '.join(weak['flags'])}): review them; they are the candidates for linkq disavow.")})
    for m in s["monthly"]["months"]:
        if m["spike"]:
            ratio = f"{m['ratio']:.1f}x" if m["ratio"] else "far above"
            out.append({"kind": "spike", "severity": "high", "message": (
                f"{m['month']}: {m['links']} new links, {ratio} the median of the months before "
                f"({m['weak']} of them weak). Sudden bursts are typical of bought links.")})
    a = s["anchors"]
    if a["overoptimised"]:
        out.append({"kind": "anchors", "severity": "high", "message": (
            f"Exact + partial match anchors are {_pct(a['money_share'])} of the profile "
            f"(rule of thumb: under {_pct(a['money_limit'])}). Keyword-rich anchors at this level look built.")})
    for c in a["commercial_over_limit"]:
        out.append({"kind": "commercial_anchor", "severity": "medium", "message": (
            f"The commercial anchor \u201c{c['text']}\u201d is used by {c['links']} links ({_pct(c['share'])}; "
            f"rule of thumb: no single money anchor above {_pct(a['commercial_limit'])}).")})
    t = s["targets"]
    if t["links"] and t["homepage_share"] > t["homepage_limit"]:
        out.append({"kind": "homepage", "severity": "medium", "message": (
            f"{_pct(t['homepage_share'])} of links point to the homepage; deep pages get little.")})
    if t["need_links"]:
        n = len(t["need_links"])
        out.append({"kind": "need_links", "severity": "info", "message": (
            f"{n} target page{'s' if n != 1 else ''} {'have' if n != 1 else 'has'} no strong link yet "
            "(see Target pages).")})
    return out


# --------------------------------------------------------------------------------------------------
# HTML


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: max(1, n - 1)] + "\u2026"


def _nice_ticks(top: float, n: int = 4) -> list[float]:
    if top <= 0:
        return [0.0, 1.0]
    raw = top / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    if step < 1 and top >= 1:
        step = 1.0
    ticks = [0.0]
    while ticks[-1] < top - 1e-9:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _num(x: float) -> str:
    return f"{x:.0f}" if float(x).is_integer() else f"{x:g}"


def _svg_open(width: int, height: int, label: str) -> str:
    return (f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'role="img" aria-label="{_e(label)}" xmlns="http://www.w3.org/2000/svg"><title>{_e(label)}</title>')


def _svg_vbars(
    label: str,
    x_labels: Sequence[str],
    stacks: Mapping[str, Sequence[int]],
    colors: Mapping[str, str],
    tooltips: Sequence[str],
    *,
    width: int = 1080,
    height: int = 280,
    gap: float = 0.25,
    edge_labels: Sequence[tuple[float, str]] | None = None,
    marks: Mapping[int, str] | None = None,
) -> str:
    """Vertical stacked bars (score histogram, links per month); ``marks`` puts a red note over a bar."""
    n = len(x_labels)
    left, right, top, bottom = 46, 12, 30, 42
    pw, ph = width - left - right, height - top - bottom
    totals = [sum(stacks[s][i] for s in stacks) for i in range(n)]
    ticks = _nice_ticks(max(totals) if totals else 1)
    ymax = ticks[-1] or 1
    out = [_svg_open(width, height, label)]
    for t in ticks:
        y = top + ph - ph * t / ymax
        out.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}"/>')
        out.append(f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_num(t)}</text>')
    slot = pw / max(n, 1)
    bw = max(1.0, slot * (1 - gap))
    every = max(1, math.ceil(n / max(1, pw // 58)))
    for i in range(n):
        x = left + slot * i + (slot - bw) / 2
        if marks and i in marks:
            out.append(f'<rect class="spikebg" x="{left + slot * i:.1f}" y="{top - 4}" width="{slot:.1f}" '
                       f'height="{ph + 4}"/>')
        out.append(f"<g><title>{_e(tooltips[i])}</title>")
        y = top + ph
        for s, values in stacks.items():
            v = values[i]
            if v <= 0:
                continue
            h = ph * v / ymax
            y -= h
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bw:.1f}" height="{h:.1f}" fill="{colors[s]}"/>')
        # an invisible full-height target so the tooltip works on empty and short bars too
        out.append(f'<rect x="{left + slot * i:.1f}" y="{top}" width="{slot:.1f}" height="{ph}" fill="transparent"/>')
        out.append("</g>")
        if marks and i in marks:
            out.append(f'<text class="mark" x="{x + bw / 2:.1f}" y="{max(12.0, y - 6):.1f}" '
                       f'text-anchor="middle">{_e(marks[i])}</text>')
        if edge_labels is None and i % every == 0:
            out.append(f'<text class="tick" x="{left + slot * (i + 0.5):.1f}" y="{top + ph + 16}" '
                       f'text-anchor="middle">{_e(x_labels[i])}</text>')
    for frac, text in edge_labels or ():
        out.append(f'<text class="tick" x="{left + pw * frac:.1f}" y="{top + ph + 16}" '
                   f'text-anchor="middle">{_e(text)}</text>')
    out.append(f'<line class="axis" x1="{left}" y1="{top + ph}" x2="{width - right}" y2="{top + ph}"/>')
    out.append("</svg>")
    return "".join(out)


def _svg_hbars(
    label: str,
    rows: Sequence[tuple[str, Mapping[str, int], str]],
    colors: Mapping[str, str],
    *,
    width: int = 1080,
    label_w: int = 250,
    bar_h: int = 18,
    row_colors: Sequence[str] | None = None,
    value_text: Sequence[str] | None = None,
) -> str:
    """Horizontal stacked bars, one row per (label, {series: value}, tooltip); the total at the end."""
    top, gap, axis = 6, 9, 22
    height = top + len(rows) * (bar_h + gap) + axis
    pw = width - label_w - 70
    totals = [sum(v.values()) for _, v, _ in rows]
    ticks = _nice_ticks(max(totals) if totals else 1)
    xmax = ticks[-1] or 1
    out = [_svg_open(width, height, label)]
    base = top + len(rows) * (bar_h + gap)
    for t in ticks:
        x = label_w + pw * t / xmax
        out.append(f'<line class="grid" x1="{x:.1f}" y1="{top - 2}" x2="{x:.1f}" y2="{base}"/>')
        out.append(f'<text class="tick" x="{x:.1f}" y="{base + 15}" text-anchor="middle">{_num(t)}</text>')
    max_chars = int((label_w - 12) / 6.8)
    for i, (name, values, tip) in enumerate(rows):
        y = top + i * (bar_h + gap)
        out.append(f"<g><title>{_e(tip)}</title>")
        out.append(f'<text class="label" x="{label_w - 10}" y="{y + bar_h * 0.72:.1f}" '
                   f'text-anchor="end">{_e(_clip(name, max_chars))}</text>')
        x = float(label_w)
        for s, v in values.items():
            if v <= 0:
                continue
            w = pw * v / xmax
            fill = row_colors[i] if row_colors else colors[s]
            out.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{fill}"/>')
            x += w
        shown = value_text[i] if value_text else _num(totals[i])
        out.append(f'<text class="value" x="{x + 6:.1f}" y="{y + bar_h * 0.72:.1f}">{_e(shown)}</text>')
        out.append("</g>")
    out.append(f'<line class="axis" x1="{label_w}" y1="{top - 2}" x2="{label_w}" y2="{base}"/>')
    out.append("</svg>")
    return "".join(out)


def _svg_anchor_mix(a: dict, *, width: int = 1080) -> str:
    """Your anchor mix (thick bars) against the rule-of-thumb natural mix (thin grey bars)."""
    label_w, row_h, top = 130, 40, 8
    height = top + len(ANCHOR_CLASSES) * row_h + 24
    pw = width - label_w - 150
    top_share = max([*a["shares"].values(), *a["reference"].values(), 0.01])
    ticks = [t / 100 for t in _nice_ticks(top_share * 100, 5)]
    xmax = ticks[-1] or 1
    out = [_svg_open(width, height, "Anchor text mix against a natural profile")]
    base = top + len(ANCHOR_CLASSES) * row_h
    for t in ticks:
        x = label_w + pw * t / xmax
        out.append(f'<line class="grid" x1="{x:.1f}" y1="{top - 2}" x2="{x:.1f}" y2="{base}"/>')
        out.append(f'<text class="tick" x="{x:.1f}" y="{base + 15}" text-anchor="middle">{t * 100:.0f}%</text>')
    money_hot = a["overoptimised"]
    for i, cls in enumerate(ANCHOR_CLASSES):
        y = top + i * row_h
        share, ref, n = a["shares"][cls], a["reference"][cls], a["counts"][cls]
        hot = money_hot and cls in ("exact", "partial")
        fill = "#d64545" if hot else "#3d6fb6"
        w, rw = pw * share / xmax, pw * ref / xmax
        tip = f"{ANCHOR_LABELS[cls]}: {n} links, {_pct(share)} (natural rule of thumb about {_pct(ref)})"
        out.append(f"<g><title>{_e(tip)}</title>")
        out.append(f'<text class="label" x="{label_w - 10}" y="{y + 15}" text-anchor="end">{_e(ANCHOR_LABELS[cls])}'
                   "</text>")
        out.append(f'<rect x="{label_w}" y="{y + 2}" width="{max(w, 0.0):.1f}" height="17" fill="{fill}"/>')
        out.append(f'<rect x="{label_w}" y="{y + 23}" width="{rw:.1f}" height="7" class="refbar"/>')
        out.append(f'<text class="value{" hot" if hot else ""}" x="{label_w + w + 6:.1f}" y="{y + 15}">'
                   f"{_pct(share)} ({n})</text>")
        out.append(f'<text class="tick" x="{label_w + rw + 6:.1f}" y="{y + 30}">natural \u2248 {_pct(ref)}</text>')
        out.append("</g>")
    out.append(f'<line class="axis" x1="{label_w}" y1="{top - 2}" x2="{label_w}" y2="{base}"/>')
    out.append("</svg>")
    return "".join(out)


def _svg_share_bar(label: str, counts: Mapping[str, int], labels: Mapping[str, str], colors: Mapping[str, str],
                   *, width: int = 520) -> str:
    """One 100% bar split into shares (follow / nofollow / ugc / sponsored / unknown)."""
    total = sum(counts.values())
    height = 58
    out = [_svg_open(width, height, label)]
    x = 0.0
    for k, n in counts.items():
        if n <= 0 or not total:
            continue
        w = width * n / total
        out.append(f'<g><title>{_e(f"{labels[k]}: {n} links ({_pct(n / total)})")}</title>'
                   f'<rect x="{x:.1f}" y="8" width="{w:.1f}" height="40" fill="{colors[k]}"/>')
        text = f"{labels[k]} {_pct(n / total)}"
        if w >= len(text) * 8 + 14:  # bold 12.5px text is about 8px a character
            out.append(f'<text class="inbar" x="{x + w / 2:.1f}" y="33" text-anchor="middle">{_e(text)}</text>')
        elif w >= 40:
            out.append(f'<text class="inbar" x="{x + w / 2:.1f}" y="33" text-anchor="middle">'
                       f"{_e(_pct(n / total))}</text>")
        out.append("</g>")
        x += w
    if not total:
        out.append(f'<rect x="0" y="8" width="{width}" height="40" fill="#eef1f4"/>')
    out.append("</svg>")
    return "".join(out)


def _legend(items: Iterable[tuple[str, str]]) -> str:
    return '<div class="legend">' + "".join(
        f'<span><i style="background:{c}"></i>{_e(t)}</span>' for t, c in items) + "</div>"


def _target_label(url: str, site: str | None, homepage: bool) -> str:
    host = host_of(url)
    try:
        from urllib.parse import urlsplit

        parts = urlsplit(url if "://" in url[:12] else "http://" + url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    except ValueError:
        path = url
    same = site and host_to_ascii(host) and site_of(host) == site_of(site)
    text = path if same else f"{display_host(host_to_ascii(host) or host)}{path}"
    return f"{text}  (homepage)" if homepage else text


def _flag_chips(flags: Iterable[str]) -> str:
    return "".join(f'<span class="chip" title="{_e(FLAG_TEXT.get(f, f))}">{_e(f)}</span>' for f in flags)


_CSS = """
:root{--ink:#1f2933;--muted:#616e7c;--line:#e4e7eb;--bg:#f3f5f7;--card:#fff;--red:#c53030;--green:#2f9e6b}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
 font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue","DejaVu Sans",Arial,sans-serif}
.wrap{max-width:1160px;margin:0 auto;padding:28px 24px 48px}
header.top{background:#1f2933;color:#fff;padding:26px 0 22px}
header.top .wrap{padding-top:0;padding-bottom:0}
header.top h1{margin:0 0 4px;font-size:26px;font-weight:650;letter-spacing:-.01em}
header.top p{margin:0;color:#cbd2d9}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(132px,1fr));gap:12px;margin:-2px 0 18px}
.kpi{background:var(--card);border-radius:10px;padding:14px 16px;box-shadow:0 1px 3px rgba(15,23,42,.08);
 border-top:4px solid #cbd2d9}
.kpi b{display:block;font-size:26px;line-height:1.15;font-weight:650}
.kpi span{color:var(--muted);font-size:12.5px}
.kpi.strong{border-top-color:#2f9e6b}.kpi.review{border-top-color:#e8a33d}.kpi.weak{border-top-color:#d64545}
.kpi.risky{border-top-color:#7f1d1d;background:#fff5f5}
section.card{background:var(--card);border-radius:12px;padding:20px 24px 22px;margin:18px 0;
 box-shadow:0 1px 3px rgba(15,23,42,.08)}
section.card h2{margin:0 0 4px;font-size:19px;font-weight:650}
.how{color:var(--muted);margin:0 0 14px;max-width:900px}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:18px}
.grid2 section.card{margin:0}
@media (max-width:900px){.grid2{grid-template-columns:1fr}}
svg.chart{display:block;width:100%;height:auto;overflow:visible}
svg.chart text{font-size:12px;fill:#3e4c59}
svg.chart text.label{font-size:12.5px;fill:#1f2933}
svg.chart text.value{font-size:12px;fill:#1f2933;font-weight:600}
svg.chart text.value.hot{fill:#c53030}
svg.chart text.tick{font-size:11px;fill:#7b8794}
svg.chart text.mark{font-size:12px;fill:#c53030;font-weight:700}
svg.chart text.inbar{font-size:12.5px;fill:#fff;font-weight:600}
svg.chart line.grid{stroke:#edf0f3;stroke-width:1}
svg.chart line.axis{stroke:#9aa5b1;stroke-width:1}
svg.chart rect.spikebg{fill:#fdecec}
svg.chart rect.refbar{fill:#9aa5b1}
.legend{display:flex;flex-wrap:wrap;gap:6px 16px;margin:0 0 10px;color:var(--muted);font-size:12.5px}
.legend i{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:6px;vertical-align:-1px}
.alerts{list-style:none;margin:0;padding:0}
.alerts li{padding:9px 12px 9px 14px;margin:0 0 8px;border-radius:6px;background:#f8fafc;border-left:4px solid #9aa5b1}
.alerts li.high{background:#fff5f5;border-left-color:#c53030}
.alerts li.medium{background:#fffaf0;border-left-color:#dd8a0b}
.alerts li.info{background:#f0f7ff;border-left-color:#3d6fb6}
.alerts li b{margin-right:6px}
.ok{color:var(--green);font-weight:600}
.split{display:grid;grid-template-columns:1fr 1fr;gap:14px;margin:4px 0 16px}
.split>div{border-radius:10px;padding:14px 16px}
.split .worthless{background:#f5f7fa;border:1px solid #e4e7eb}
.split .risky{background:#fff5f5;border:1px solid #f5c2c2}
.split h3{margin:0 0 4px;font-size:15px}
.split .big{font-size:24px;font-weight:650}
.split p{margin:6px 0 0;color:#3e4c59;font-size:13px}
table{border-collapse:collapse;width:100%;font-size:13px}
th{text-align:left;color:var(--muted);font-weight:600;border-bottom:2px solid var(--line);padding:6px 8px;
 white-space:nowrap}
td{border-bottom:1px solid var(--line);padding:7px 8px;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td code,.url{font:12px/1.4 "DejaVu Sans Mono",Menlo,Consolas,monospace;color:#3e4c59;word-break:break-all}
.badge{display:inline-block;border-radius:999px;padding:1px 9px;font-size:12px;font-weight:600;white-space:nowrap}
.badge.risky{background:#fde2e2;color:#9b1c1c}.badge.worthless{background:#eef1f4;color:#52606d}
.chip{display:inline-block;background:#fdecec;color:#9b1c1c;border-radius:4px;padding:0 6px;margin:0 4px 3px 0;
 font-size:11.5px;white-space:nowrap}
.muted{color:var(--muted)}
.warn{color:#9b1c1c}
ul.why{margin:0;padding-left:15px}
ul.why li{margin:0 0 2px}
table.weak{table-layout:fixed}
table.weak .url{margin-top:3px}
.small{font-size:12.5px}
ul.notes{margin:6px 0 0;padding-left:18px;color:#3e4c59}
ul.notes li{margin:3px 0}
footer{color:var(--muted);font-size:12px;text-align:center;margin-top:28px}
@media print{body{background:#fff}section.card,.kpi{box-shadow:none;border:1px solid #e4e7eb}
 header.top{background:#fff;color:#000;border-bottom:2px solid #000}header.top p{color:#333}}
"""


def render_html(s: dict) -> str:
    """The report page for a summary from :func:`build_summary` (pure function: summary in, HTML out)."""
    site = s.get("site") or "your site"
    scored = s["links"]["scored"]
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Backlink report: {_e(site)}</title>",
        f"<style>{_CSS}</style></head><body>",
        '<header class="top"><div class="wrap">',
        f"<h1>Backlink quality report: {_e(site)}</h1>",
        f"<p>{_e(s['source']['file'])} ({_e(s['source']['format'])}) &middot; {s['links']['rows']:,} rows &middot; "
        f"generated {_e(s['generated_at'].replace('T', ' ').replace('+00:00', ' UTC'))}"
        + (f" &middot; model {_e(s['model_id'])}" if s.get("model_id") else "")
        + "</p></div></header>",
        '<main class="wrap">',
        _kpis(s),
        _alerts_html(s),
    ]
    if scored:
        parts += [_score_section(s), _weak_section(s), _domains_section(s), _anchor_section(s),
                  '<div class="grid2">', _rel_section(s), _zone_section(s), "</div>",
                  _targets_section(s), _monthly_section(s)]
    parts += [_notes_section(s), "<footer>Generated by linkq. This page is self-contained: no scripts, no "
              "external resources; it opens offline.</footer>", "</main></body></html>"]
    return "\n".join(parts)


def _kpis(s: dict) -> str:
    scored, v, w = s["links"]["scored"], s["verdicts"], s["weak"]
    med = s["score"]["median"]
    cards = [
        ("", f"{scored:,}", f"links scored (of {s['links']['rows']:,} rows)"),
        ("", f"{s['domains']['count']:,}", "referring sites"),
        ("strong", f"{v['strong']:,}", f"strong ({_pct(s['verdict_shares']['strong'])})"),
        ("review", f"{v['review']:,}", f"review ({_pct(s['verdict_shares']['review'])})"),
        ("weak", f"{v['weak']:,}", f"weak ({_pct(s['verdict_shares']['weak'])})"),
        ("risky", f"{w['risky_links']:,}", f"risky weak links from {w['risky_sites']:,} sites"),
        ("", "-" if med is None else f"{med:.2f}", "median score"),
    ]
    return '<div class="kpis">' + "".join(
        f'<div class="kpi {c}"><b>{_e(big)}</b><span>{_e(small)}</span></div>' for c, big, small in cards) + "</div>"


def _alerts_html(s: dict) -> str:
    items = s["alerts"]
    head = '<section class="card"><h2>What needs attention</h2>'
    if not items:
        return head + ('<p class="ok">Nothing stands out: no risky weak links, no spikes, no over-optimised '
                       "anchors by the rules of thumb below.</p></section>")
    label = {"high": "Risk", "medium": "Check", "info": "Note"}
    lis = "".join(f'<li class="{_e(a["severity"])}"><b>{label.get(a["severity"], "Note")}</b>{_e(a["message"])}</li>'
                  for a in items)
    return head + f'<ul class="alerts">{lis}</ul></section>'


def _score_section(s: dict) -> str:
    h = s["score"]["histogram"]
    bins = s["score"]["bins"]
    tips = []
    for i in range(20):
        counts = ", ".join(f"{v} {h[v][i]}" for v in VERDICTS if h[v][i])
        tips.append(f"score {bins[i]:.2f}-{bins[i + 1]:.2f}: {sum(h[v][i] for v in VERDICTS)} links"
                    + (f" ({counts})" if counts else ""))
    chart = _svg_vbars("Score distribution by verdict", [f"{b:.2f}" for b in bins[:-1]], h, VERDICT_COLORS, tips,
                       gap=0.08, height=250, edge_labels=[(i / 10, f"{i / 10:.1f}") for i in range(11)])
    mean, median = s["score"]["mean"], s["score"]["median"]
    stats = f"Mean {'-' if mean is None else f'{mean:.2f}'}, median {'-' if median is None else f'{median:.2f}'}."
    return ('<section class="card"><h2>Score distribution</h2>'
            '<p class="how">The score is the probability that a link passes editorial value (0 = none, 1 = a '
            "real editorial recommendation); colours are the verdicts. A healthy profile has a hump on the right; "
            f"a tall pile at the left is links that do nothing for you. {stats}</p>"
            + _legend((v.capitalize(), VERDICT_COLORS[v]) for v in VERDICTS) + chart + "</section>")


def _weak_section(s: dict) -> str:
    w = s["weak"]

    def link_word(n: int) -> str:
        return "link" if n == 1 else "links"

    split = (
        '<div class="split"><div class="worthless"><h3>Worthless: ignored by Google</h3>'
        f'<div class="big">{w["worthless_links"]:,} <span class="muted small">{link_word(w["worthless_links"])} from '
        f'{_n(w["worthless_sites"], "site")}</span></div>'
        "<p>Weak links without manipulation signals: nofollow/ugc forum and comment links, footer, "
        "sidebar and directory links. They pass little or nothing, and they do not hurt you either: Google "
        "neutralises them. Leave them alone; do not disavow them.</p></div>"
        '<div class="risky"><h3>Risky: disavow candidates</h3>'
        f'<div class="big">{w["risky_links"]:,} <span class="muted small">{link_word(w["risky_links"])} from '
        f'{_n(w["risky_sites"], "site")}</span></div>'
        "<p>Weak links that carry a manipulation signal: paid placement (rel=sponsored), a spam-listed "
        "linking site, exact-match money anchors, site-wide links, a high spam score or spam vocabulary. They look "
        "like a link scheme; if you or an agency built them, put them in a disavow file (<code>linkq disavow"
        "</code>). Google says it ignores most spam on its own: disavow is for links that could earn a manual "
        "action, not routine clean-up.</p></div></div>"
    )
    if not w["top_sites"]:
        return ('<section class="card"><h2>Weak links: worthless or risky?</h2>' + split
                + '<p class="ok">No weak links.</p></section>')
    rows = []
    for d in w["top_sites"]:
        badge = ('<span class="badge risky">Risky: disavow candidate</span>' if d["kind"] == "risky"
                 else '<span class="badge worthless">Worthless: ignored</span>')
        badge += f'<div class="muted small">zone: {_e(ZONE_LABELS.get(d["zone"], d["zone"]).lower())}</div>'
        if d["kind"] == "risky" and d["good_links"]:
            badge += (f'<div class="small warn">+{d["good_links"]} strong/review link'
                      f'{"s" if d["good_links"] != 1 else ""}: disavow by URL</div>')
        reasons = "".join(f"<li>{_e(r.lstrip('-+ '))}</li>" for r in d["reasons"])
        reasons = f'<ul class="why">{reasons}</ul>' if reasons else '<span class="muted">-</span>'
        example = (f'<div class="url">{_e(_clip(d["example_url"], 140))}</div>'
                   + (f'<div class="muted small">anchor \u201c{_e(_clip(d["example_anchor"], 80))}\u201d</div>'
                      if d["example_anchor"] else ""))
        rows.append(
            f'<tr><td><b>{_e(d["domain"])}</b>{example}</td><td>{badge}</td>'
            f'<td class="n">{d["weak_links"]} / {d["links"]}</td><td>{_flag_chips(d["flags"]) or "-"}</td>'
            f'<td class="small">{reasons}</td></tr>')
    table = ('<table class="weak"><colgroup><col style="width:35%"><col style="width:17%"><col style="width:8%">'
             '<col style="width:14%"><col style="width:26%"></colgroup>'
             '<thead><tr><th>Referring site and an example link (not clickable)</th><th>Kind</th>'
             '<th class="n">Weak / all</th><th>Flags</th><th>Why weak (top reasons)</th></tr></thead><tbody>'
             + "".join(rows) + "</tbody></table>")
    more = w["sites"] - len(w["top_sites"])
    return ('<section class="card"><h2>Weak links: worthless or risky?</h2>'
            '<p class="how">Not every weak link is a problem. The model\'s flags separate the two kinds.</p>'
            + split + '<h3 style="margin:6px 0 8px;font-size:15px">Top weak referring sites</h3>'
            '<p class="how small">Risky sites first, then by number of weak links.'
            + (f" {more} more sites with weak links are in the scored file." if more > 0 else "") + "</p>"
            + table + "</section>")


def _domains_section(s: dict) -> str:
    top = s["domains"]["top"]
    rows = [(d["domain"], {v: d[v] for v in VERDICTS},
             f"{d['domain']}: {d['links']} links (strong {d['strong']}, review {d['review']}, weak {d['weak']})")
            for d in top]
    chart = _svg_hbars(f"Verdicts for the top {len(rows)} referring sites", rows, VERDICT_COLORS, label_w=240)
    return (f'<section class="card"><h2>Verdicts by referring site</h2><p class="how">The {len(rows)} sites that send '
            f"the most links (of {s['domains']['count']:,}), split by verdict. A site sending many links that are "
            "all weak is usually a directory, a forum or a link network.</p>"
            + _legend((v.capitalize(), VERDICT_COLORS[v]) for v in VERDICTS) + chart + "</section>")


def _anchor_section(s: dict) -> str:
    a = s["anchors"]
    if not a["classified"]:
        return ('<section class="card"><h2>Anchor text mix</h2><p class="muted">This export has no anchor texts.'
                "</p></section>")
    verdict = (f'<p><b style="color:#c53030">Over-optimised:</b> exact + partial match anchors are '
               f"{_pct(a['money_share'])} of the profile (rule of thumb: under {_pct(a['money_limit'])}).</p>"
               if a["overoptimised"] else
               f'<p class="ok">Exact + partial match anchors are {_pct(a["money_share"])} of the profile '
               f"(rule of thumb: under {_pct(a['money_limit'])}).</p>")
    hot = {c["text"] for c in a["commercial_over_limit"]}
    rows = "".join(
        f'<tr><td>{_e(_clip(t["text"], 90))}'
        + (' <span class="chip">money anchor over limit</span>' if t["text"] in hot else "")
        + f'</td><td>{_e(ANCHOR_LABELS[t["class"]])}</td><td class="n">{t["links"]}</td>'
        f'<td class="n">{_pct(t["share"])}</td></tr>' for t in a["top"])
    table = ('<table><thead><tr><th>Most used anchor texts</th><th>Class</th><th class="n">Links</th>'
             f'<th class="n">Share</th></tr></thead><tbody>{rows}</tbody></table>')
    return ('<section class="card"><h2>Anchor text mix</h2>'
            '<p class="how">Each anchor is classed from its text and the target URL (brand = the target\'s domain '
            "name, naked URL, generic such as \u201cclick here\u201d, image, partial match = at least half the words "
            "are the target page's keywords, exact match = the anchor is the page's keyword). Grey bars: a natural "
            "profile by rule of thumb (brand \u2248 35%, naked URL \u2248 20%, generic \u2248 15%, partial \u2248 10%, "
            "exact \u2248 3%): not a Google number, and it varies by niche. Earned links mostly name the brand or "
            "the URL; built links repeat the keywords the site wants to rank for.</p>"
            + verdict + _legend([("Your profile", "#3d6fb6"), ("Natural rule of thumb", "#9aa5b1"),
                                 ("Over the limit", "#d64545")])
            + _svg_anchor_mix(a) + table
            + (f'<p class="muted small">{a["unknown"]} links without anchor text in the export are not counted.</p>'
               if a["unknown"] else "")
            + "</section>")


def _rel_section(s: dict) -> str:
    r = s["rel"]
    counts = {k: r["counts"][k] for k in REL_CLASSES}
    chart = _svg_share_bar("Link attributes", counts, REL_LABELS, REL_COLORS)
    legend = _legend((f"{REL_LABELS[k]} {counts[k]:,}", REL_COLORS[k]) for k in REL_CLASSES if counts[k])
    t = r["tokens"]
    return ('<section class="card"><h2>Follow, nofollow, sponsored, UGC</h2>'
            '<p class="how">Each link once, by its strongest attribute (sponsored, then ugc, then nofollow). '
            "Nofollow, ugc and sponsored are hints Google may ignore; a natural profile has some of each.</p>"
            + chart + legend
            + f'<p class="muted small">Attribute counts (a link can have several): nofollow {t["nofollow"]:,}, '
            f'ugc {t["ugc"]:,}, sponsored {t["sponsored"]:,}.</p></section>')


def _zone_section(s: dict) -> str:
    z = s["zones"]["counts"]
    colors = {"main_content": "#2f9e6b", "not_found": "#cbd2d9", "unknown": "#cbd2d9"}
    rows = [(ZONE_LABELS[k], {"n": n}, f"{ZONE_LABELS[k]}: {n} links ({_pct(s['zones']['shares'][k])})")
            for k, n in z.items()]
    row_colors = [colors.get(k, "#7b8794") for k in z]
    values = [f"{n} ({_pct(s['zones']['shares'][k])})" for k, n in z.items()]
    chart = _svg_hbars("Where on the page the links sit", rows, {"n": "#7b8794"}, width=520, label_w=130,
                       bar_h=16, row_colors=row_colors, value_text=values)
    return ('<section class="card"><h2>Placement on the page</h2>'
            '<p class="how">Links inside the article text carry editorial weight; navigation, footer, sidebar and '
            "comment links are boilerplate that search engines discount.</p>" + chart + "</section>")


def _targets_section(s: dict) -> str:
    t = s["targets"]
    site = s.get("site")
    rows = [(_target_label(p["url"], site, p["homepage"]), {v: p[v] for v in VERDICTS},
             f"{p['url']}: {p['links']} links from {p['domains']} sites (strong {p['strong']}, review {p['review']}, "
             f"weak {p['weak']})") for p in t["top"]]
    if not rows:
        return ('<section class="card"><h2>Target pages</h2><p class="muted">This export has no target URLs.</p>'
                "</section>")
    chart = _svg_hbars("Links per target page", rows, VERDICT_COLORS, label_w=300)
    hp = t["homepage_share"]
    conc = (f'<p><b style="color:#c53030">Homepage concentration:</b> {_pct(hp)} of links point to the homepage '
            f"(rule of thumb: under {_pct(t['homepage_limit'])}).</p>" if hp > t["homepage_limit"] else
            f"<p>{_pct(hp)} of links point to the homepage (rule of thumb: under {_pct(t['homepage_limit'])}).</p>")
    if t["need_links"]:
        needs = "".join(
            f'<tr><td><span class="url">{_e(_clip(p["url"], 120))}</span></td><td class="n">{p["links"]}</td>'
            f'<td class="n">{p["review"]}</td><td class="n">{p["weak"]}</td></tr>' for p in t["need_links"])
        need = ('<h3 style="margin:14px 0 6px;font-size:15px">Pages that need links</h3>'
                '<p class="how small">Target pages with links but not a single strong one: candidates for outreach '
                "and content work.</p><table><thead><tr><th>Target page</th><th class=\"n\">Links</th>"
                f'<th class="n">Review</th><th class="n">Weak</th></tr></thead><tbody>{needs}</tbody></table>')
    else:
        need = '<p class="ok">Every target page has at least one strong link.</p>'
    return (f'<section class="card"><h2>Target pages</h2><p class="how">Which of your pages the links point to '
            f"({t['pages']:,} pages; top {len(rows)} shown), split by verdict.</p>"
            + _legend((v.capitalize(), VERDICT_COLORS[v]) for v in VERDICTS) + chart + conc + need + "</section>")


def _monthly_section(s: dict) -> str:
    m = s["monthly"]
    head = '<section class="card"><h2>New links per month</h2>'
    if not m["months"]:
        return head + '<p class="muted">The export has no first-seen dates.</p></section>'
    months = m["months"][-MAX_CHART_MONTHS:]
    cut = len(m["months"]) - len(months)
    stacks = {v: [x[v] for x in months] for v in VERDICTS}
    tips = [f"{x['month']}: {x['links']} new links (strong {x['strong']}, review {x['review']}, weak {x['weak']})"
            + (" - spike" if x["spike"] else "") for x in months]
    marks = {i: (f"spike {x['ratio']:.1f}x" if x["ratio"] else "spike") for i, x in enumerate(months) if x["spike"]}
    chart = _svg_vbars("New links per month by verdict", [x["month"] for x in months], stacks, VERDICT_COLORS, tips,
                       marks=marks, height=290)
    rule = m["rule"]
    spikes = (f'<p><b style="color:#c53030">Unnatural spike{"s" if len(m["spikes"]) > 1 else ""}:</b> '
              f"{_e(', '.join(m['spikes']))}. Check what was bought or built then.</p>" if m["spikes"]
              else '<p class="ok">No unnatural spikes.</p>')
    return (head + '<p class="how">When the links were first seen by the SEO tool, by verdict. Earned links arrive '
            f"steadily; a month with more than {rule['factor']:g}x the median of the {rule['window']} months before it "
            f"(and at least {rule['min_links']} links) is flagged as a spike (rule of thumb).</p>"
            + _legend((v.capitalize(), VERDICT_COLORS[v]) for v in VERDICTS) + chart + spikes
            + (f'<p class="muted small">{cut} earlier months are not drawn.</p>' if cut else "")
            + (f'<p class="muted small">{m["undated"]} scored links have no first-seen date.</p>'
               if m["undated"] else "") + "</section>")


def _notes_section(s: dict) -> str:
    status = "".join(f'<tr><td>{_e(k)}</td><td class="n">{n:,}</td></tr>' for k, n in s["status"].items())
    msgs = "".join(f'<tr><td class="small">{_e(k)}</td><td class="n">{n:,}</td></tr>'
                   for k, n in s["status_messages"].items())
    flags = ", ".join(f"{f} = {FLAG_TEXT.get(f, f)}" for f in FLAG_TEXT)
    return ('<section class="card"><h2>Rows and method</h2><div class="grid2" style="gap:24px"><div>'
            '<table><thead><tr><th>Status</th><th class="n">Rows</th></tr></thead><tbody>' + status + "</tbody></table>"
            + ('<table style="margin-top:10px"><thead><tr><th>Messages</th><th class="n">Rows</th></tr></thead>'
               f"<tbody>{msgs}</tbody></table>" if msgs else "")
            + '</div><div><ul class="notes small">'
            "<li>Verdicts and scores come from the linkq model; charts count scored rows only.</li>"
            f"<li>Manipulation flags: {_e(flags)}.</li>"
            "<li>Risky = weak and at least one flag about the linking page (spam_target describes your own "
            "site and is not counted).</li>"
            f"<li>Rules of thumb: exact + partial anchors under {_pct(MONEY_ANCHOR_LIMIT)}; no single commercial "
            f"anchor above {_pct(COMMERCIAL_ANCHOR_LIMIT)} (and {COMMERCIAL_ANCHOR_MIN_LINKS}+ links); homepage under "
            f"{_pct(HOMEPAGE_LIMIT)}; spike = month above {SPIKE_FACTOR:g}x the median of the previous "
            f"{SPIKE_WINDOW} months with {SPIKE_MIN_LINKS}+ links.</li>"
            "<li>Referring site = registered domain (subdomains grouped; blogspot.com-style hosts count as "
            "separate sites).</li></ul></div></div></section>")


def write_report(scored_path: Path, out_html: Path, summary_json: Path | None = None) -> dict:
    """Write the self-contained HTML report (and the JSON summary if asked); return the summary.

    Both files are written atomically, so a half-written report never looks finished.
    """
    summary = build_summary(Path(scored_path))
    write_text_atomic(Path(out_html), render_html(summary))
    if summary_json is not None:
        write_text_atomic(Path(summary_json), json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return summary
