"""Patterns across one backlink profile (one export): evidence no single row shows.

Why: link schemes are seen across rows, not in one: the same generated page path on many unrelated
referring domains (``/domain-list-171`` on 20 sites, ``/nmedicine-net/`` on a network of ``.site``
domains), the same page title on many domains ("Where to buy aged domains and backlinks"), one
keyword anchor from many sites, site-wide runs, and a row's authority or traffic only means much
relative to the rest of the profile.

How it is used (one path for every engine): a pre-pass streams the export once through
:class:`ProfileBuilder` (``add`` per canonical record, ``build`` at the end); the resulting
:class:`ProfileStats` is small (see "Bounded size" below), is written with :meth:`ProfileStats.to_bytes`
and read back in every scoring process with :meth:`ProfileStats.from_bytes`; each row's evidence is then
a lookup, :meth:`ProfileStats.features`. For a batch given in one request, :func:`profile_of` builds the
stats from the batch itself.

Units and keys:
- a *referring domain* is the registrable domain of the source host, with the Public Suffix List's
  private section (so each ``*.blogspot.com`` or ``*.github.io`` site is its own domain, as it is its own
  site), from the bundled list snapshot only;
- a *path template* is the source URL's path, lower-cased, with every run of hexadecimal characters
  that starts with a digit (ids, dates, most hashes) replaced by ``0`` and the trailing ``/`` dropped;
  the query is ignored. A template without any letter (``/``, ``/0/0``) carries no evidence (NaN);
- a *title key* is the source title, lower-cased and whitespace-collapsed, without a trailing
  `` | Site`` / `` - Site`` part (sites append their own name, which would hide a shared title);
- an *anchor key* is the anchor text lower-cased, whitespace-collapsed, stripped of surrounding
  punctuation.
Keys are kept as stable 64-bit hashes (CRC-32 and Adler-32 of the UTF-8 bytes side by side), the
same in every process whatever ``PYTHONHASHSEED`` is.

Bounded size: the stats keep (a) the row count of each referring domain with at least 2 rows, (b) the
distinct-domain count of each path template / title / anchor key used by at least 2 domains, each
table capped at :data:`MAX_KEYS` entries (the largest counts are kept; 12 bytes an entry in the file:
at most ~10 MB in all, 1.9 MB for a generated 1M-row profile with 118k referring domains), and (c) per
metric at most :data:`EXACT_VALUES` distinct values with their mid-rank percentiles (exact), or, when
the profile has more distinct values, about :data:`SKETCH_POINTS` of them at evenly spaced ranks with
their exact shares below and at or below, interpolated in between (error below ~1/SKETCH_POINTS). A key absent from a table
that was never cut is exact (1 domain, 1 row); when a table was cut, an absent key's count is unknown
beyond "at most the smallest kept count" and its feature is NaN. The builder keeps 60 bytes a row in
flat buffers, folded every :data:`COMPACT_ROWS` rows into distinct (key, domain) pairs and (value,
count) histograms, plus memos per netloc and referring domain; no Python object per row.
"""

from __future__ import annotations

import functools
import io
import json
import re
import zipfile
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from .records import parse_number
from .source_kind import referring_site
from .urls import domain_label, netloc_hostname, registered_domain

MAX_KEYS = 200_000  # entries kept per count table (12 bytes each: 2.4 MB at most per table)
EXACT_VALUES = 4096  # distinct values of one metric kept exactly
SKETCH_POINTS = 1025  # values kept per metric when the profile has more distinct values
COMPACT_ROWS = 500_000  # rows between folds of the builder's per-row buffers (~34 MB of buffers)
_MEMO_MAX = 65_536  # raw titles / anchors memoised (per builder or stats object)
_SITES_MAX = 1 << 17  # netlocs memoised by a stats object (~250 bytes each at most)
FORMAT_VERSION = 1

# metric fields of the canonical record -> feature name
PCT_METRICS: dict[str, str] = {
    "page_authority": "prof_page_authority_pct",
    "domain_authority": "prof_domain_authority_pct",
    "traffic": "prof_traffic_pct",
    "outbound_links": "prof_outbound_pct",
}

# name -> (evidence fields it needs, unit and meaning); the single list of what this module gives
# The record fields the profile counts: features.pipeline.profile_view gives them from a record,
# ExportRow.partial_record(PROFILE_FIELDS) from an export row without building the rest.
PROFILE_FIELDS = frozenset({"source_url", "source_title", "anchor_text", "page_authority", "domain_authority",
                            "traffic", "outbound_links"})
# What a lean profile counts (``ProfileBuilder(lean=True)``): only the evidence the worth score reads
# (the generated-path network and the page-authority percentile); its other features are NaN.
LEAN_PROFILE_FIELDS = frozenset({"source_url", "page_authority"})
LEAN_METRICS = ("page_authority",)
PROFILE_FEATURES: dict[str, tuple[tuple[str, ...], str]] = {
    "prof_domain_rows": (("source_url",), "rows of the profile from this row's referring domain (count)"),
    "prof_domain_share": (("source_url",), "those rows as a share of the profile's rows (0..1)"),
    "prof_path_domains": (("source_url",),
                          "distinct referring domains whose source path has this row's path template "
                          "(count; NaN for a template without letters, e.g. a home page)"),
    "prof_template_domains": (("source_url",),
                              "prof_path_domains when the template is a short generated name (see "
                              "generated_template), else 0 (count; NaN for a template without letters)"),
    "prof_title_domains": (("source_url", "source_title"),
                           "distinct referring domains whose source title has this row's title key "
                           "(count; NaN without a title)"),
    "prof_anchor_domains": (("source_url", "anchor_text"),
                            "distinct referring domains using this row's anchor key (count; NaN without "
                            "anchor text)"),
    "prof_anchor_share": (("source_url", "anchor_text"),
                          "those domains as a share of the profile's referring domains (0..1; NaN "
                          "without anchor text)"),
    "prof_page_authority_pct": (("page_authority",),
                                "mid-rank of the row's page authority among the profile's known values "
                                "(0..1; NaN when either is unknown)"),
    "prof_domain_authority_pct": (("domain_authority",), "the same for domain authority (0..1)"),
    "prof_traffic_pct": (("traffic",), "the same for traffic (0..1)"),
    "prof_outbound_pct": (("outbound_links",), "the same for the source page's external links (0..1)"),
    "prof_domain_topic_mismatch": (("source_url", "source_title"),
                                   "1 when no word of 4+ letters of the title occurs in the source's "
                                   "domain name and no 4+ letter part of the name occurs in the title, "
                                   "else 0 (a cheap sign of a repurposed expired domain; NaN without "
                                   "a title)"),
}
FEATURE_NAMES: tuple[str, ...] = tuple(PROFILE_FEATURES)

_NAN = float("nan")
_KINDS = ("path", "title", "anchor")
_LEAN_REST = (float("nan"),) * (len(PCT_METRICS) - 1)  # the metrics after page_authority, not counted
_LEAN_COUNTED = frozenset({"domain", "path", *LEAN_METRICS})
_DIGIT = re.compile(r"[0-9]")
_HEX_TOKEN = re.compile(r"[0-9][0-9a-f]*")
_TITLE_TAIL = (" | ", " - ", " – ", " — ", " :: ", " « ", " » ")
_PUNCT = " \t\r\n\"'`.,;:!?()[]{}<>«»“”‘’|/\\-–—_*#"
_WORD = re.compile(r"[^\W\d_]{4,}")


def stable_hash(text: str) -> int:
    """A 64-bit hash of ``text``, the same in every process (Python's ``hash`` is salted per process)."""
    b = text.encode("utf-8", "surrogatepass")
    return zlib.crc32(b) << 32 | zlib.adler32(b)


def _key_hash(text: str) -> int:
    """:func:`stable_hash` as a signed 64-bit integer (for ``array('q')`` and int64 arrays), never 0
    (0 marks "not memoised")."""
    b = text.encode("utf-8", "surrogatepass")
    h = zlib.crc32(b) << 32 | zlib.adler32(b)
    if h >= 1 << 63:
        h -= 1 << 64
    return h or 1


@functools.lru_cache(maxsize=1 << 17)  # a Public Suffix lookup costs ~8 us; hosts repeat
def _site_of_host(host: str) -> tuple[str, str]:
    """(referring site, its brand-bearing label) of a lower-case host without ``www.``
    (``features.source_kind.referring_site``: the one definition of a site; a user's space on a
    hosting platform, ``someone.wordpress.com``, is its own site, named by its user's label as the
    suffix list already names ``someone.blogspot.com``)."""
    site = referring_site(host)
    return site, (domain_label(host) if site == registered_domain(host) else site.split(".", 1)[0])


# scheme (any "://" within the first 12 characters, the first one) or "//"; netloc up to the first
# "/?#"; path up to the first "?#"
_SOURCE_CUT = re.compile(r"(?:.{0,9}?://|//)?([^/?#]*)([^?#]*)", re.S)


def split_source(url: str) -> tuple[str, str]:
    """(netloc, path) of a URL (the query and fragment dropped), by one regex match: cheaper than
    ``urlsplit`` (and than string cuts: 0.7 vs 1.7 µs) on a path that runs twice per row of a
    million-row export (the profile pass and each row's look-up). Equal to the string cuts of
    :func:`_split_source_cuts` (tested)."""
    return _SOURCE_CUT.match(url).groups()  # type: ignore[union-attr,return-value]  # matches any string


def _split_source_cuts(url: str) -> tuple[str, str]:
    """:func:`split_source` by plain string cuts: its definition, kept for the equality test."""
    j = url.find("://", 0, 12)
    start = j + 3 if j >= 0 else (2 if url.startswith("//") else 0)
    end = len(url)
    for ch in "/?#":
        k = url.find(ch, start, end)
        if k >= 0:
            end = k
    netloc = url[start:end]
    path = url[end:]
    if "?" in path:
        path = path.split("?", 1)[0]
    if "#" in path:
        path = path.split("#", 1)[0]
    return netloc, path


def _netloc_site(netloc: str) -> tuple[str, str] | None:
    host = (netloc_hostname(netloc) if ("@" in netloc or ":" in netloc or "[" in netloc)
            else netloc.lower()) or ""
    host = host.rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    if not host or "." not in host:
        return None
    return _site_of_host(host)


def path_template(path: str) -> str | None:
    """The path with digit-led hex runs as ``0``, lower-case, no trailing ``/``; None without letters."""
    p = path.lower()
    if _DIGIT.search(p) is not None:  # most of the cost is the substitution: only when needed
        p = _HEX_TOKEN.sub("0", p)
    p = p.rstrip("/")
    return p if p.upper() != p else None  # a cased letter somewhere


# Words of a site's structure, not of a page: a template made of them alone (/page/0, /news/0,
# /index.php, /tag/0) repeats across unrelated sites by itself and says nothing.
STRUCTURE_WORDS = frozenset((
    "page", "pages", "news", "blog", "blogs", "post", "posts", "article", "articles", "category",
    "categories", "tag", "tags", "archive", "archives", "author", "authors", "index", "php", "html", "htm",
    "asp", "aspx", "amp", "feed", "rss", "search", "home", "about", "contact", "en", "fr", "de", "es",
    "it", "nl", "pt", "uk", "us", "www", "wp", "content", "uploads", "forum", "forums", "topic", "topics",
    "thread", "threads", "t", "p", "u", "user", "users", "member", "members", "profile", "profiles",
    "item", "items", "node", "view", "show", "share", "s", "a", "the", "partners", "partner",
    "partenaires", "liens", "links", "resources", "ressources", "recursos", "enlaces", "sponsors",
    "friends", "amis",
))
_LETTERS = re.compile(r"[a-z]+")


def generated_template(template: str | None) -> bool:
    """True for a path template whose last named segment is a short name (``/domain-list-0``,
    ``/nmedicine-net``, ``/website-list-0``): one or two words, not all structure words. A headline slug
    (three words or more) is a copied article, not a generated page; a structure-only path
    (``/page/0``, ``/tr-ct/news/0``) is every site's."""
    if template is None:
        return False
    segments = [seg for seg in template.split("/") if _LETTERS.search(seg)]
    if not segments:
        return False
    words = _LETTERS.findall(segments[-1])
    return 1 <= len(words) <= 2 and any(w not in STRUCTURE_WORDS for w in words)


def title_key(title: object) -> str | None:
    """Lower-case, whitespace-collapsed title without a trailing `` | Site`` part; None when empty."""
    if not isinstance(title, str):
        return None
    t = " ".join(title.lower().split())
    for sep in _TITLE_TAIL:
        i = t.rfind(sep)
        if i >= 12:
            t = t[:i]
            break
    return t or None


def anchor_key(anchor: object) -> str | None:
    """Lower-case, whitespace-collapsed anchor without surrounding punctuation; None when empty."""
    if not isinstance(anchor, str):
        return None
    a = " ".join(anchor.lower().split()).strip(_PUNCT)
    return a or None


def _metric_or_nan(value: object) -> float:
    v = _metric(value)
    return _NAN if v is None else v


def _metric(value: object) -> float | None:
    """A metric cell as a float: export readers give floats; other callers (HTTP) may give ints or
    text as exports write it ('1,240'), read by the records module's one number parser."""
    if type(value) is float:
        return None if value != value else value
    if isinstance(value, bool):
        return None
    return parse_number(value)


def _metrics_of(record: Mapping[str, object]) -> Mapping[str, object]:
    nested = record.get("metrics")
    return nested if isinstance(nested, Mapping) else record


class ProfileBuilder:
    """Streams a profile's canonical records (``add``) into :class:`ProfileStats` (``build``).

    Per row it appends to flat ``array`` buffers: the referring domain's index, three 64-bit key
    hashes (path template, title, anchor; 0 = none) and four metric values (NaN = unknown); every
    ``compact_rows`` rows they are folded into distinct (key, domain) pairs and (value, count)
    histograms, so memory follows distinct keys and values, not rows. Referring domains are memoised
    per netloc, title and anchor hashes per raw text (bounded memos). Records whose source URL has no
    host are skipped (they have no referring domain); they get NaN from :meth:`ProfileStats.features`.
    """

    def __init__(self, compact_rows: int = COMPACT_ROWS, lean: bool = False) -> None:
        """``lean``: count only the source URL and page authority (:data:`LEAN_PROFILE_FIELDS`), what
        the worth score reads: the pass over a million-row export costs about half (the titles and
        anchors are not hashed); the stats then say NaN for the title, anchor and other percentile
        features, which only ``--explain`` shows."""
        self.rows = 0
        self.lean = lean
        self._compact_rows = max(1, compact_rows)
        self._netlocs: dict[str, int] = {}  # netloc -> domain index (-1: no host)
        self._domains: dict[str, int] = {}  # referring domain -> index
        self._domain_rows: list[int] = []
        self._row_dom = array("i")
        self._row_keys = array("q")  # 3 per row, in _KINDS order
        self._row_values = array("d")  # 4 per row, in PCT_METRICS order
        # folded state: distinct (key hash, domain) pairs per kind and (value, count) per metric
        self._pairs = {k: (np.empty(0, np.int64), np.empty(0, np.int32)) for k in _KINDS}
        self._hist = {m: (np.empty(0, np.float64), np.empty(0, np.int64)) for m in PCT_METRICS}
        # raw title / anchor -> key hash (0: no key); both repeat across rows. Cleared when full,
        # which costs only recomputation.
        self._title_memo: dict[str, int] = {}
        self._anchor_memo: dict[str, int] = {}

    def _domain_index(self, netloc: str) -> int:
        site = _netloc_site(netloc)
        if site is None:
            d = -1
        else:
            d = self._domains.get(site[0], -1)
            if d < 0:
                d = self._domains[site[0]] = len(self._domains)
                self._domain_rows.append(0)
        self._netlocs[netloc] = d
        return d

    @staticmethod
    def _text_hash(memo: dict[str, int], text: str, key_of: Callable[[object], str | None]) -> int:
        key = key_of(text)
        h = 0 if key is None else _key_hash(key)
        if len(memo) >= _MEMO_MAX:
            memo.clear()
        memo[text] = h
        return h

    def _text_key(self, memo: dict[str, int], text: object, key_of: Callable[[object], str | None]) -> int:
        """The key hash of a title or anchor (0: none), memoised per raw text."""
        if type(text) is not str:
            return 0
        h = memo.get(text)
        return self._text_hash(memo, text, key_of) if h is None else h

    def add(self, record: Mapping[str, object]) -> None:
        """Count one canonical record (a dict as ``ExportRow.record`` gives; metrics flat, or nested
        under ``metrics``)."""
        get = record.get
        url = get("source_url")
        if type(url) is not str:
            return
        netloc, path = split_source(url.strip())
        d = self._netlocs.get(netloc)
        if d is None:
            d = self._domain_index(netloc)
        if d < 0:
            return
        self._domain_rows[d] += 1
        self._row_dom.append(d)
        tpl = path_template(path)
        keys = self._row_keys
        keys.append(0 if tpl is None else _key_hash(tpl))
        values = self._row_values
        if self.lean:  # no title or anchor keys, page authority the only metric
            keys.append(0)
            keys.append(0)
            m = get("metrics")
            v = (m.get if m is not None and isinstance(m, Mapping) else get)("page_authority")
            values.append(v if type(v) is float else _NAN if v is None else _metric_or_nan(v))
            values.extend(_LEAN_REST)
        else:
            keys.append(self._text_key(self._title_memo, get("source_title"), title_key))
            keys.append(self._text_key(self._anchor_memo, get("anchor_text"), anchor_key))
            m = get("metrics")
            mget = m.get if m is not None and isinstance(m, Mapping) else get
            for name in PCT_METRICS:
                v = mget(name)
                values.append(v if type(v) is float else _NAN if v is None else _metric_or_nan(v))
        self.rows += 1
        if self.rows % self._compact_rows == 0:
            self._compact()

    def add_all(self, records: Iterable[Mapping[str, object] | None]) -> ProfileBuilder:
        """``add`` each record, skipping ``None`` (malformed export rows); returns ``self``."""
        for r in records:
            if r is not None:
                self.add(r)
        return self

    def merge(self, *others: ProfileBuilder) -> ProfileBuilder:
        """Add everything ``others`` counted (builders fed other rows of the same export, e.g. in
        other processes or Dask partitions; builders pickle); returns ``self``. The stats are the same
        as one builder fed all rows (tested). Many builders at once cost one sort of their pairs, not
        one per builder."""
        self._compact()
        keys: dict[str, list[np.ndarray]] = {k: [self._pairs[k][0]] for k in _KINDS}
        doms: dict[str, list[np.ndarray]] = {k: [self._pairs[k][1]] for k in _KINDS}
        hists = {m: [self._hist[m]] for m in PCT_METRICS}
        for other in others:
            if other.lean != self.lean:
                raise ValueError("a lean profile builder merges only with lean ones")
            other._compact()
            remap = np.empty(len(other._domains), dtype=np.int32)
            for name, j in other._domains.items():
                d = self._domains.get(name, -1)
                if d < 0:
                    d = self._domains[name] = len(self._domains)
                    self._domain_rows.append(0)
                self._domain_rows[d] += other._domain_rows[j]
                remap[j] = d
            for netloc, j in other._netlocs.items():
                self._netlocs.setdefault(netloc, -1 if j < 0 else int(remap[j]))
            for kind in _KINDS:
                keys[kind].append(other._pairs[kind][0])
                doms[kind].append(remap[other._pairs[kind][1]])
            for m in PCT_METRICS:
                hists[m].append(other._hist[m])
            self.rows += other.rows
        for kind in _KINDS:
            self._pairs[kind] = _distinct_pairs(np.concatenate(keys[kind]), np.concatenate(doms[kind]))
        for m in PCT_METRICS:
            vals, counts = zip(*hists[m], strict=True)
            self._hist[m] = _merge_hist(np.concatenate(vals), np.concatenate(counts),
                                        np.empty(0), np.empty(0, np.int64))
        return self

    def __getstate__(self) -> dict[str, object]:
        """What another process needs to merge this builder: the folded counts, not the per-row buffers
        (folded first) nor the memos (a cache; ~10x the counts' bytes on a 20,000-row batch)."""
        self._compact()
        state = dict(self.__dict__)
        state["_netlocs"], state["_title_memo"], state["_anchor_memo"] = {}, {}, {}
        return state

    def build(self, max_keys: int = MAX_KEYS, exact_values: int = EXACT_VALUES,
              sketch_points: int = SKETCH_POINTS) -> ProfileStats:
        """The profile's stats (the builder can keep adding afterwards)."""
        self._compact()
        names = list(self._domains)
        counts = np.asarray(self._domain_rows, dtype=np.int64)
        hashes = np.asarray([_key_hash(n) for n in names], dtype=np.int64)
        keep = counts >= 2
        tables = {"domain": _table(hashes[keep], counts[keep], max_keys)}
        for kind in _KINDS:
            k, c = np.unique(self._pairs[kind][0], return_counts=True)  # pairs are distinct
            tables[kind] = _table(k[c >= 2], c[c >= 2].astype(np.int64), max_keys)
        pct = {m: _percentiles(*self._hist[m], exact_values, sketch_points) for m in PCT_METRICS}
        counted = _LEAN_COUNTED if self.lean else None
        return ProfileStats(rows=self.rows, domains=len(names), tables=tables, pct=pct, counted=counted)

    def _compact(self) -> None:
        """Fold the per-row buffers into distinct (key, domain) pairs and (value, count) histograms
        (runs every ``compact_rows`` rows and in ``build``; the stats are the same whenever it runs:
        tested)."""
        if not self._row_dom:
            return
        doms = np.frombuffer(self._row_dom, dtype=np.int32).copy()
        keys = np.frombuffer(self._row_keys, dtype=np.int64).reshape(-1, len(_KINDS)).copy()
        values = np.frombuffer(self._row_values, dtype=np.float64).reshape(-1, len(PCT_METRICS)).copy()
        self._row_dom, self._row_keys, self._row_values = array("i"), array("q"), array("d")
        for j, kind in enumerate(_KINDS):
            col = keys[:, j]
            has = col != 0
            k0, d0 = self._pairs[kind]
            self._pairs[kind] = _distinct_pairs(np.concatenate((k0, col[has])), np.concatenate((d0, doms[has])))
        for j, m in enumerate(PCT_METRICS):
            col = values[:, j]
            col = col[~np.isnan(col)]
            if not col.size:
                continue
            self._hist[m] = _merge_hist(*self._hist[m], col, np.ones(col.size, dtype=np.int64))


def _merge_hist(v0: np.ndarray, c0: np.ndarray, v1: np.ndarray,
                c1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two (value, count) histograms as one, values sorted and distinct."""
    uniq, inverse = np.unique(np.concatenate((v0, v1)), return_inverse=True)
    counts = np.bincount(inverse, weights=np.concatenate((c0, c1)), minlength=uniq.size)
    return uniq, counts.round().astype(np.int64)


def _distinct_pairs(keys: np.ndarray, doms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (key, domain) pairs, sorted by key then domain."""
    order = np.lexsort((doms, keys))
    k, d = keys[order], doms[order]
    new_pair = np.ones(k.size, dtype=bool)
    new_pair[1:] = (k[1:] != k[:-1]) | (d[1:] != d[:-1])
    return k[new_pair], d[new_pair]


def _table(keys: np.ndarray, counts: np.ndarray, max_keys: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(sorted keys, counts, floor): at most ``max_keys`` entries, the largest counts; ``floor`` is the
    largest count that may be missing (0 when nothing was cut)."""
    floor = 0
    if keys.size > max_keys:
        top = np.argsort(-counts, kind="stable")[:max_keys]
        floor = int(counts[top[-1]])
        keys, counts = keys[top], counts[top]
    order = np.argsort(keys)
    return keys[order].astype(np.int64), counts[order].astype(np.int64), floor


def _percentiles(uniq: np.ndarray, counts: np.ndarray, exact_values: int,
                 sketch_points: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sorted values, share of the profile's values below each, share at or below each) of a metric
    given as sorted distinct values and their counts; all of them when at most ``exact_values``, else
    about ``sketch_points`` of them at evenly spaced ranks (first and last included)."""
    if uniq.size == 0:
        return np.empty(0), np.empty(0), np.empty(0)
    n = float(counts.sum())
    upto = np.cumsum(counts)
    below = upto - counts
    if uniq.size > exact_values:
        # values at evenly spaced ranks (not evenly spaced among distinct values: ties weigh)
        ranks = np.linspace(0.0, n - 1.0, sketch_points)
        pick = np.searchsorted(upto, ranks, side="right")
        pick = np.unique(np.concatenate(([0], np.minimum(pick, uniq.size - 1), [uniq.size - 1])))
        uniq, below, upto = uniq[pick], below[pick], upto[pick]
    return uniq.astype(np.float64), below / n, upto / n


class ProfileStats:
    """What one profile says about each of its rows; see the module docstring for keys and bounds."""

    def __init__(self, rows: int, domains: int,
                 tables: dict[str, tuple[np.ndarray, np.ndarray, int]],
                 pct: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
                 counted: Iterable[str] | None = None) -> None:
        """``counted``: the key kinds and metrics the builder counted (None: all; a lean builder's
        stats say NaN for the others, not "seen once")."""
        self.counted = frozenset(counted) if counted is not None else None
        self.rows = rows
        self.domains = domains
        self.tables = tables
        self.pct = pct
        self._dicts: dict[str, dict[int, int]] | None = None
        self._pct_lists: dict[str, tuple[list[float], list[float], list[float]]] = {}
        self._pct_exact: list[tuple[str, str, dict[float, float]]] = []
        self._sites: dict[str, tuple[float, float, str] | None] = {}
        self._memos: dict[str, dict[object, tuple[float, str | None]]] = {"title": {}, "anchor": {}}
        self._templates: dict[str, tuple[float, float]] = {}

    # ---- file form
    def to_bytes(self) -> bytes:
        """The stats as one ``.npz`` byte string (no pickle): a JSON header and plain arrays; the same
        profile always gives the same bytes."""
        meta = {"version": FORMAT_VERSION, "rows": self.rows, "domains": self.domains,
                "floors": {k: t[2] for k, t in self.tables.items()}}
        if self.counted is not None:
            meta["counted"] = sorted(self.counted)
        arrays: dict[str, np.ndarray] = {"meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}
        for k, (keys, counts, _) in self.tables.items():
            arrays[f"{k}_keys"] = keys
            arrays[f"{k}_counts"] = counts.astype(np.uint32)
        for m, (vals, below, upto) in self.pct.items():
            arrays[f"{m}_values"] = vals
            arrays[f"{m}_below"] = below
            arrays[f"{m}_upto"] = upto
        # np.savez stamps each member with the current time; a fixed stamp makes the same profile
        # give the same bytes (files can be compared and hashed)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
            for name, arr in arrays.items():
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                with zf.open(info, "w", force_zip64=True) as fh:
                    np.lib.format.write_array(fh, np.ascontiguousarray(arr), allow_pickle=False)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> ProfileStats:
        """Read :meth:`to_bytes`'s output; raises ValueError on another format or version."""
        try:
            z = np.load(io.BytesIO(data), allow_pickle=False)
            meta = json.loads(bytes(z["meta"]).decode())
        except Exception as exc:  # noqa: BLE001 - any unreadable file is one clear error
            raise ValueError(f"not a linkq profile stats file: {exc}") from exc
        if meta.get("version") != FORMAT_VERSION:
            raise ValueError(f"profile stats version {meta.get('version')!r}, expected {FORMAT_VERSION}")
        tables = {k: (z[f"{k}_keys"].astype(np.int64), z[f"{k}_counts"].astype(np.int64), int(f))
                  for k, f in meta["floors"].items()}
        pct = {m: (z[f"{m}_values"], z[f"{m}_below"], z[f"{m}_upto"]) for m in PCT_METRICS}
        return cls(rows=int(meta["rows"]), domains=int(meta["domains"]), tables=tables, pct=pct,
                   counted=meta.get("counted"))

    def nbytes(self) -> int:
        """Bytes held by the arrays (the file is this plus a small header)."""
        return sum(t[0].nbytes + t[1].nbytes for t in self.tables.values()) + sum(
            sum(a.nbytes for a in arrays) for arrays in self.pct.values())

    # ---- lookups
    def _prepare(self) -> dict[str, dict[int, int]]:
        """Python dicts and lists for per-row lookups, built on first use (a few MB at most)."""
        if self._dicts is None:
            self._pct_lists = {m: (v.tolist(), b.tolist(), u.tolist()) for m, (v, b, u) in self.pct.items()}
            # kept value -> mid-rank percentile: a row's own value is found without a search; a
            # metric without values (none in the export, or not counted by a lean profile) is left
            # out: its percentile is NaN for every row, which features() leaves in place
            self._pct_exact = [(m, PCT_METRICS[m], {v: (b + u) / 2 for v, b, u in zip(*self._pct_lists[m],
                                                                                        strict=True)})
                               for m in PCT_METRICS if self._pct_lists[m][0]]
            self._dicts = {k: dict(zip(t[0].tolist(), t[1].tolist(), strict=True))
                           for k, t in self.tables.items()}
        return self._dicts

    def _count(self, kind: str, key: int) -> float:
        """Count of ``key`` in table ``kind``: exact, 1 when absent from an uncut table, NaN when
        absent from a cut one."""
        c = self._prepare()[kind].get(key)
        if c is not None:
            return float(c)
        return 1.0 if self.tables[kind][2] == 0 else _NAN

    def _site(self, netloc: str) -> tuple[float, float, str] | None:
        """(domain rows, their share, domain label) of a netloc, memoised; None without a host."""
        got = self._sites.get(netloc, False)
        if got is False:
            site = _netloc_site(netloc)
            if site is None:
                got = None
            else:
                rows = self._count("domain", _key_hash(site[0]))
                got = (rows, rows / self.rows, site[1])
            if len(self._sites) >= _SITES_MAX:
                self._sites.clear()
            self._sites[netloc] = got
        return got  # type: ignore[return-value]

    def _template(self, tpl: str) -> tuple[float, float]:
        """(prof_path_domains, prof_template_domains) of a path template, memoised (templates fold
        ids to 0, so they repeat across rows)."""
        got = self._templates.get(tpl)
        if got is None:
            n = self._count("path", _key_hash(tpl))
            got = (n, n if generated_template(tpl) else 0.0)
            if len(self._templates) >= _MEMO_MAX:
                self._templates.clear()
            self._templates[tpl] = got
        return got

    def _memo(self, kind: str, raw: object) -> tuple[float, str | None]:
        """(distinct domains, key) of a raw title or anchor, memoised (they repeat across rows)."""
        memo = self._memos[kind]
        got = memo.get(raw)
        if got is None:
            key = title_key(raw) if kind == "title" else anchor_key(raw)
            got = (_NAN, None) if key is None else (self._count(kind, _key_hash(key)), key)
            if len(memo) >= _MEMO_MAX:
                memo.clear()
            memo[raw] = got
        return got

    def percentile(self, metric: str, value: float) -> float:
        """Mid-rank percentile (0..1) of ``value`` among the profile's values of ``metric``; NaN when
        the profile has none. A value between two kept values lies above all values up to the lower one
        and below the upper one: exact when every value is kept; with a sketch, interpolated linearly
        between those two shares (off by less than the ranks between two kept values)."""
        self._prepare()
        vals, below, upto = self._pct_lists[metric]
        if not vals or value != value:
            return _NAN
        i = bisect_left(vals, value)
        if i < len(vals) and vals[i] == value:
            return (below[i] + upto[i]) / 2
        if i == 0:
            return 0.0
        if i == len(vals):
            return 1.0
        lo, hi = vals[i - 1], vals[i]
        return upto[i - 1] + (value - lo) / (hi - lo) * (below[i] - upto[i - 1])

    def features(self, record: Mapping[str, object]) -> dict[str, float]:
        """Per-row evidence (:data:`PROFILE_FEATURES`) for one canonical record; NaN where unknown."""
        return {name: col[0] for name, col in self.feature_columns((record,)).items()}

    def feature_columns(self, records: Sequence[Mapping[str, object]]) -> dict[str, list[float]]:
        """:meth:`features` of every record, one list per feature (the pipeline places them in its
        feature block as whole columns: no per-row dict of ~11 values to build and take apart)."""
        self._prepare()
        n = len(records)
        cols = {name: [_NAN] * n for name in FEATURE_NAMES}
        pct = [(name, cols[feat], exact) for name, feat, exact in self._pct_exact]
        dom_rows, dom_share = cols["prof_domain_rows"], cols["prof_domain_share"]
        path_doms, tpl_doms = cols["prof_path_domains"], cols["prof_template_domains"]
        title_doms, mismatch = cols["prof_title_domains"], cols["prof_domain_topic_mismatch"]
        anchor_doms, anchor_share = cols["prof_anchor_domains"], cols["prof_anchor_share"]
        lean = self.counted is not None  # a lean profile: no title or anchor counts
        for i, record in enumerate(records):
            get = record.get
            m = get("metrics")
            mget = m.get if m is not None and isinstance(m, Mapping) else get
            for name, col, exact in pct:
                v = mget(name)
                if v is None:
                    continue
                if type(v) is not float:
                    v = _metric(v)
                    if v is None:
                        continue
                elif v != v:
                    continue
                p = exact.get(v)
                col[i] = p if p is not None else self.percentile(name, v)
            url = get("source_url")
            if type(url) is not str or self.rows == 0:
                continue
            netloc, path = split_source(url.strip())
            site = self._site(netloc)
            if site is None:
                continue
            dom_rows[i], dom_share[i], label = site
            tpl = path_template(path)
            if tpl is not None:
                path_doms[i], tpl_doms[i] = self._template(tpl)
            if lean:
                continue
            title = get("source_title")
            if type(title) is str:
                count, key = self._memo("title", title)
                if key is not None:
                    title_doms[i] = count
                    mismatch[i] = topic_mismatch(label, key)
            anchor = get("anchor_text")
            if type(anchor) is str:
                count, key = self._memo("anchor", anchor)
                if key is not None:
                    anchor_doms[i] = count
                    anchor_share[i] = count / self.domains
        return cols


def topic_mismatch(label: str, title: str) -> float:
    """1.0 when the domain's name and its page title share nothing (no 4+ letter title word inside
    the name, no 4+ letter part of the name inside the title), else 0.0; NaN without a title."""
    if not title:
        return _NAN
    name = label.lower()
    flat = name.replace("-", "")
    for word in _WORD.findall(title):
        if word in flat:
            return 0.0
    squashed = title.replace(" ", "")
    for part in name.split("-"):
        if len(part) >= 4 and part in squashed:
            return 0.0
    return 1.0


def profile_of(records: Iterable[Mapping[str, object] | None]) -> ProfileStats:
    """The stats of a batch given in one request (the HTTP endpoint): the batch is the profile."""
    return ProfileBuilder().add_all(records).build()


def features_of_batch(records: list[Mapping[str, object] | None]) -> list[dict[str, float]]:
    """Each record's profile evidence with the batch as its profile (``None`` rows get all NaN)."""
    stats = profile_of(records)
    empty = dict.fromkeys(FEATURE_NAMES, _NAN)
    return [stats.features(r) if r is not None else dict(empty) for r in records]
