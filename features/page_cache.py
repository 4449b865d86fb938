"""The embedded page cache: fetched source pages in one local SQLite file.

``linkq fetch`` (``serving.fetch``) writes one row per source URL, committed as
soon as the page is fetched, so an interrupted crawl keeps every page it got.
This module stores and reads pages only and imports nothing back from the page
sources: ``features.pages.CachedPages`` reads the same file as a ``PageSource``
for ``features``, ``score`` and ``train``, next to the saved-pages folder.

A row is keyed by ``features.urls.url_key`` of the requested URL (the same key
``PagesDir`` and the pipeline use) and records what happened: the outcome
(``ok``, ``page_gone``, ``not_html``, ...), the final URL after redirects, the
HTTP status, the response headers that matter for scoring, the error text and,
for usable HTML pages only, the body bytes as received (after transfer
decoding), zlib-compressed. Decoding to text happens on read, so the charset
logic can improve without re-crawling.

Concurrency: the file is in WAL mode, so any number of readers (threads or
processes) can read while one crawler writes. ``PageCache`` keeps one SQLite
connection per thread; it pickles as its path, so a page source can be handed
to worker processes. Nothing is opened at import time.
"""

from __future__ import annotations

import codecs
import contextlib
import re
import sqlite3
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import LinkqError
from .html_text import BinaryContent, decode_html, sniff_binary
from .records import MAX_HTML_BYTES
from .urls import url_key

SCHEMA_VERSION = 1  # PRAGMA user_version of a linkq page cache
CACHE_SUFFIXES = (".sqlite", ".sqlite3", ".db")  # what `--pages` treats as a cache file

# Outcomes of one fetch (the ``outcome`` column).
OK = "ok"  # 2xx HTML page; body stored
PAGE_GONE = "page_gone"  # 404 or 410: the page no longer exists
NOT_HTML = "not_html"  # 2xx but not an HTML page (content type or binary bytes); body not stored
TOO_LARGE = "too_large"  # body over the size limit; body not stored
HTTP_ERROR = "http_error"  # any other non-2xx final status (403, 451, 5xx after retries, ...)
FETCH_FAILED = "fetch_failed"  # no usable response: DNS, connection, TLS, timeout, robots.txt unreachable
ROBOTS_DISALLOWED = "robots_disallowed"  # robots.txt forbids the URL for our user agent
REDIRECT_LOOP = "redirect_loop"
TOO_MANY_REDIRECTS = "too_many_redirects"
ADDRESS_REFUSED = "address_refused"  # the host is (or resolves to) a non-public address; not requested
OUTCOMES = (OK, PAGE_GONE, NOT_HTML, TOO_LARGE, HTTP_ERROR, FETCH_FAILED, ROBOTS_DISALLOWED, REDIRECT_LOOP,
            TOO_MANY_REDIRECTS, ADDRESS_REFUSED)

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})

# Statuses for scoring (``CachedPages.status`` and ``check_link``).
STATUS_OK = "ok"
STATUS_PAGE_GONE = "page_gone"
STATUS_NOINDEX = "noindex"
STATUS_LINK_MISSING = "link_missing"
STATUS_NOT_FETCHED = "not_fetched"
STATUS_FETCH_FAILED = "fetch_failed"  # always followed by ": <why>"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pages (
    key TEXT PRIMARY KEY,         -- features.urls.url_key(url)
    url TEXT NOT NULL,            -- the URL as requested
    final_url TEXT,               -- after redirects (NULL when no response)
    http_status INTEGER,          -- status of the last response (NULL when no response)
    outcome TEXT NOT NULL,        -- one of page_cache.OUTCOMES
    content_type TEXT,            -- media type, lower case, without parameters
    content_encoding TEXT,        -- Content-Encoding as sent (the stored body is already decoded)
    charset TEXT,                 -- charset parameter of Content-Type, if any
    last_modified TEXT,           -- Last-Modified as sent
    x_robots_tag TEXT,            -- X-Robots-Tag header lines joined with ', '
    noindex INTEGER NOT NULL DEFAULT 0,  -- 1 if X-Robots-Tag or <meta name=robots> says noindex
    fetched_at REAL NOT NULL,     -- Unix time (seconds, UTC) when the row was written
    error TEXT,                   -- why the page is not usable (NULL for ok)
    body_bytes INTEGER,           -- size of the body before compression, bytes
    body BLOB                     -- zlib-compressed body, only for outcome 'ok'
);
"""

_COLUMNS = ("url", "final_url", "http_status", "outcome", "content_type", "content_encoding", "charset",
            "last_modified", "x_robots_tag", "noindex", "fetched_at", "error", "body_bytes")


@dataclass(frozen=True)
class PageEntry:
    """One cached fetch result. ``body`` is the uncompressed page bytes (None unless outcome is ok
    and the body was asked for); ``fetched_at`` is Unix seconds (0 means "now" for ``put``)."""

    url: str
    outcome: str
    final_url: str | None = None
    http_status: int | None = None
    content_type: str | None = None
    content_encoding: str | None = None
    charset: str | None = None
    last_modified: str | None = None
    x_robots_tag: str | None = None
    noindex: bool = False
    fetched_at: float = 0.0
    error: str | None = None
    body_bytes: int | None = None
    body: bytes | None = None

    @property
    def key(self) -> str | None:
        return url_key(self.url)

    @property
    def transient(self) -> bool:
        """True when fetching again later may well succeed (connection trouble, 429, 5xx)."""
        if self.outcome == FETCH_FAILED:
            return True
        return self.outcome == HTTP_ERROR and (self.http_status == 429 or (self.http_status or 0) >= 500)

    def reason(self) -> str:
        """Why the page cannot be used, for messages (empty for ok)."""
        if self.outcome == OK:
            return ""
        return self.error or self.outcome.replace("_", " ")


class CacheError(LinkqError, ValueError):
    """The file is not a (compatible) linkq page cache."""


class PageCache:
    """A page cache file; see the module doc. Use ``PageCache.open(path)`` or as a context manager."""

    def __init__(self, path: Path | str, create: bool = True, compress_level: int = 6) -> None:
        self.path = Path(path)
        self.create = create
        self.compress_level = compress_level
        self._local = threading.local()
        self._lock = threading.Lock()
        self._conns: list[sqlite3.Connection] = []
        if not create and not self.path.is_file():
            raise FileNotFoundError(f"page cache {self.path} does not exist (run `linkq fetch` first)")
        if not create and self.path.stat().st_size == 0:  # SQLite would happily turn it into a database
            raise CacheError(f"{self.path} is empty, not a linkq page cache (run `linkq fetch` first)")
        self._check_schema()

    @classmethod
    def open(cls, path: Path | str, create: bool = True) -> PageCache:
        """Open (and with ``create``, create) the cache at ``path``; raises CacheError for other files."""
        return cls(path, create=create)

    # -- connections ----------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        if self.create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: no implicit transactions; every write below is its own explicit one.
        conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout = 30000")  # ms: wait for a concurrent writer, do not fail
            # WAL: readers never block the crawler and vice versa. NORMAL sync: a commit survives a crash
            # of this process; after power loss the last commits may be lost but the file stays sound.
            with contextlib.suppress(sqlite3.OperationalError):  # read-only file: read it as it is
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise CacheError(f"{self.path} is not a linkq page cache (SQLite says: {exc})") from exc
        self._local.conn = conn
        with self._lock:
            self._conns.append(conn)
        return conn

    def _check_schema(self) -> None:
        conn = self._connect()
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            raise CacheError(f"{self.path} is not a linkq page cache (SQLite says: {exc})") from exc
        if version > SCHEMA_VERSION:
            raise CacheError(f"{self.path} was written by a newer linkq (cache schema {version}, "
                             f"this version reads {SCHEMA_VERSION})")
        if version == SCHEMA_VERSION and "pages" in tables:
            return
        if tables:
            raise CacheError(f"{self.path} is an SQLite file but not a linkq page cache "
                             f"(tables: {', '.join(sorted(tables))})")
        if not self.create:
            raise CacheError(f"{self.path} is empty, not a linkq page cache (run `linkq fetch` first)")
        # Idempotent (IF NOT EXISTS), so two processes creating the same cache at once is harmless.
        conn.executescript(_SCHEMA + f"PRAGMA user_version = {SCHEMA_VERSION};")

    def close(self) -> None:
        """Close every connection this object opened (in any thread)."""
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.close()
        self._local = threading.local()

    def __enter__(self) -> PageCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, object]:
        # Connections do not cross processes: a pickled cache is its path, reopened lazily.
        return {"path": self.path, "create": self.create, "compress_level": self.compress_level}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__(state["path"], create=bool(state["create"]), compress_level=int(state["compress_level"]))  # type: ignore[misc,arg-type]

    def __repr__(self) -> str:
        return f"PageCache({str(self.path)!r})"

    # -- writing ----------------------------------------------------------------------------------

    def put(self, entry: PageEntry) -> None:
        """Insert or replace the row for ``entry.url`` and commit at once (one transaction per page,
        so a crash loses at most the page being written). A body is kept only for outcome ok."""
        key = entry.key
        if key is None:
            raise ValueError(f"not a web URL: {entry.url!r}")
        if entry.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {entry.outcome!r}; expected one of {', '.join(OUTCOMES)}")
        body = entry.body if entry.outcome == OK else None
        blob = zlib.compress(body, self.compress_level) if body is not None else None
        size = len(body) if body is not None else entry.body_bytes
        row = (key, entry.url, entry.final_url, entry.http_status, entry.outcome, entry.content_type,
               entry.content_encoding, entry.charset, entry.last_modified, entry.x_robots_tag, int(entry.noindex),
               entry.fetched_at or time.time(), entry.error, size, blob)
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(f"INSERT OR REPLACE INTO pages (key, {', '.join(_COLUMNS)}, body) "
                         f"VALUES ({', '.join('?' * (len(_COLUMNS) + 2))})", row)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    # -- reading ----------------------------------------------------------------------------------

    def get_entry(self, url: str, body: bool = True) -> PageEntry | None:
        """The cached row for ``url`` (matched by ``url_key``), with its body decompressed if asked."""
        key = url_key(url)
        if key is None:
            return None
        cols = ", ".join(_COLUMNS) + (", body" if body else "")
        row = self._connect().execute(f"SELECT {cols} FROM pages WHERE key = ?", (key,)).fetchone()
        return _entry(row, body) if row is not None else None

    def has(self, url: str) -> bool:
        key = url_key(url)
        if key is None:
            return False
        return self._connect().execute("SELECT 1 FROM pages WHERE key = ?", (key,)).fetchone() is not None

    def __contains__(self, url: object) -> bool:
        return isinstance(url, str) and self.has(url)

    def entries_by_key(self) -> dict[str, PageEntry]:
        """Every row without its body, by key (what the crawler needs to decide what to skip)."""
        cur = self._connect().execute(f"SELECT {', '.join(_COLUMNS)}, key FROM pages")
        return {row[-1]: _entry(row[:-1], False) for row in cur}

    def __iter__(self) -> Iterator[PageEntry]:
        """All rows in insertion order, without bodies (cheap even for large caches)."""
        cur = self._connect().execute(f"SELECT {', '.join(_COLUMNS)} FROM pages ORDER BY rowid")
        while rows := cur.fetchmany(500):
            for row in rows:
                yield _entry(row, False)

    def __len__(self) -> int:
        return int(self._connect().execute("SELECT COUNT(*) FROM pages").fetchone()[0])

    def counts(self) -> dict[str, int]:
        """Rows per outcome."""
        return dict(self._connect().execute("SELECT outcome, COUNT(*) FROM pages GROUP BY outcome").fetchall())


def _entry(row: tuple, with_body: bool) -> PageEntry:
    vals = dict(zip(_COLUMNS, row[: len(_COLUMNS)], strict=True))
    vals["noindex"] = bool(vals["noindex"])
    blob = row[len(_COLUMNS)] if with_body else None
    return PageEntry(**vals, body=zlib.decompress(blob) if blob is not None else None)  # type: ignore[arg-type]


# -- decoding and robots signals ------------------------------------------------------------------

_WHATWG_ALIASES = {"iso-8859-1": "cp1252", "latin-1": "cp1252", "latin1": "cp1252", "ascii": "cp1252",
                   "us-ascii": "cp1252"}


def decode_body(body: bytes, charset: str | None) -> str:
    """Page bytes -> text: a BOM wins, then the HTTP charset, then ``decode_html`` (meta, UTF-8, cp1252).
    Raises BinaryContent for bytes that are not text."""
    what = sniff_binary(body[:4096])
    if what:
        raise BinaryContent(f"content looks like {what}, not HTML")
    if charset and not body.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        name = _WHATWG_ALIASES.get(charset.strip().lower(), charset.strip())
        try:
            return body.decode(codecs.lookup(name).name)
        except (LookupError, UnicodeDecodeError):
            pass  # wrong or unknown label: fall back to what the document itself says
    return decode_html(body)


_XML_PROLOG = re.compile(r"\A\ufeff?\s*<\?xml[^>]*\?>")
_META_ROBOTS_HINT = re.compile(rb"<meta[^>]{0,400}?(?:robots|googlebot)", re.I)
_VALUED_DIRECTIVES = frozenset({"unavailable_after", "max-snippet", "max-image-preview", "max-video-preview"})
_AGENT_PREFIX = re.compile(r"^([a-z0-9_.-]+)\s*:\s*(.*)$")
NOINDEX_AGENTS = frozenset({"googlebot", "linkq"})  # agent-specific X-Robots-Tag lines that count for us


def header_noindex(values: Iterable[str]) -> bool:
    """True if an X-Robots-Tag value says noindex (or none) for all agents, Googlebot or linkq.

    Each header line is ``[agent:] directive, directive, ...``; an agent prefix applies to the
    directives after it on the same line (Google's rule)."""
    for value in values:
        agent: str | None = None
        for part in value.split(","):
            token = part.strip().lower()
            m = _AGENT_PREFIX.match(token)
            if m and m.group(1) not in _VALUED_DIRECTIVES:
                agent, token = m.group(1), m.group(2).strip()
            if token in ("noindex", "none") and (agent is None or agent in NOINDEX_AGENTS):
                return True
    return False


def meta_noindex(body: bytes) -> bool:
    """True if the page has ``<meta name="robots|googlebot" content="...noindex|none...">``
    (the rule ``features.page`` applies). Parses only pages that mention such a meta tag."""
    if not _META_ROBOTS_HINT.search(body):
        return False
    import lxml.html
    from lxml import etree

    try:
        # Parse bytes so that lxml honours the page's own encoding declaration (and an XML prolog).
        root = lxml.html.document_fromstring(body)
    except (etree.ParserError, ValueError):
        return False
    content = " ".join(
        (m.get("content") or "").lower() for m in root.iter("meta")
        if (m.get("name") or "").lower() in ("robots", "googlebot")
    )
    return "noindex" in content or "none" in content.split()


# -- one entry as page text ------------------------------------------------------------------------


class UnusablePage(ValueError):
    """A cached page that cannot be used as HTML: ``"<outcome>: <why> (<url>)"`` (a 404/410 gives
    ``"page_gone: ..."``); ``features.pages`` turns it into its ``PageError``."""


def entry_html(entry: PageEntry, max_bytes: int = MAX_HTML_BYTES) -> str:
    """Decoded HTML of a cached entry (its body must have been read); raises UnusablePage for an
    entry fetched but not usable (not ok, over ``max_bytes``, not text)."""
    if entry.outcome != OK:
        raise UnusablePage(f"{entry.outcome}: {entry.reason()} ({entry.url})")
    body = entry.body or b""
    if len(body) > max_bytes:
        raise UnusablePage(f"too_large: page is {len(body) / 1e6:.1f} MB, over the "
                           f"{max_bytes / 1e6:.0f} MB limit ({entry.url})")
    try:
        html = decode_body(body, entry.charset)
    except BinaryContent as exc:
        raise UnusablePage(f"not_html: {exc} ({entry.url})") from exc
    # XHTML's "<?xml ... encoding=...?>" prolog makes lxml refuse an already decoded str.
    return _XML_PROLOG.sub("", html, count=1)


def entry_status(entry: PageEntry) -> str | None:
    """What scoring reports about a cached page: ``"page_gone"``, ``"noindex"``,
    ``"fetch_failed: <why>"`` or None (fetched and fine)."""
    if entry.outcome == PAGE_GONE:
        return STATUS_PAGE_GONE
    if entry.outcome != OK:
        return f"{STATUS_FETCH_FAILED}: {entry.outcome}: {entry.reason()}"
    return STATUS_NOINDEX if entry.noindex else None


class LinkChecker:
    """``check(source_url, target_url)`` for many links: each source page is parsed once
    (an LRU of the last ``max_pages`` pages' link keys)."""

    def __init__(self, cache: PageCache | Path | str, max_pages: int = 256) -> None:
        self.cache = cache if isinstance(cache, PageCache) else PageCache(cache, create=False)
        self.max_pages = max_pages
        self._seen: OrderedDict[str, tuple[str | None, frozenset[str]]] = OrderedDict()

    def _page(self, source_url: str) -> tuple[str | None, frozenset[str]] | None:
        """(page status, keys of the page's links) or None when not cached."""
        key = url_key(source_url)
        if key is None:
            return None
        hit = self._seen.get(key)
        if hit is not None:
            self._seen.move_to_end(key)
            return hit
        entry = self.cache.get_entry(source_url, body=False)
        if entry is None:
            return None
        status = entry_status(entry)
        links: frozenset[str] = frozenset()
        if entry.outcome == OK:
            try:
                html = entry_html(self.cache.get_entry(source_url, body=True) or entry)
            except UnusablePage as exc:
                status = f"{STATUS_FETCH_FAILED}: {exc}"
            else:
                from .page import parse_page  # heavy import (lxml, trafilatura): only when checking

                try:
                    page = parse_page(html or "", entry.final_url or entry.url)
                    links = frozenset(lk.key for lk in page.links if lk.key)
                except ValueError:
                    links = frozenset()  # empty or unparseable page: it has no link to anything
        self._seen[key] = (status, links)
        if len(self._seen) > self.max_pages:
            self._seen.popitem(last=False)
        return status, links

    def check(self, source_url: str, target_url: str) -> str:
        """``not_fetched`` | ``page_gone`` | ``fetch_failed: <why>`` | ``link_missing`` | ``noindex`` | ``ok``,
        in that order of precedence (a noindex page that lost the link is ``link_missing``)."""
        got = self._page(source_url)
        if got is None:
            return STATUS_NOT_FETCHED
        status, links = got
        if status is not None and status != STATUS_NOINDEX:
            return status
        if (url_key(target_url) or "") not in links:
            return STATUS_LINK_MISSING
        return status or STATUS_OK


def check_link(cache: PageCache | Path | str, source_url: str, target_url: str) -> str:
    """Status of one backlink from the cache; see ``LinkChecker.check`` (use it for many links)."""
    return LinkChecker(cache, max_pages=1).check(source_url, target_url)

