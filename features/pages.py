"""Page sources: where a record's source page HTML comes from when it is not inline.

The one page path of every command (``linkq features``, ``score``, ``train``, ``evaluate``), every
batch engine (one process, the pool, Dask) and the HTTP service. :func:`open_pages` decides by what
the path is:

* nothing: :class:`NoPages`, every record relies on its inline ``source_html`` (the HTTP service,
  canonical records that carry their page);
* a folder: :class:`PagesDir`, saved pages indexed by ``manifest.csv`` (columns ``url,file``;
  ``file`` relative to the folder, ``.html`` or ``.html.gz``, any encoding the page declares);
* a file: :class:`CachedPages`, the SQLite page cache ``linkq fetch`` writes
  (:mod:`features.page_cache`, which stores and reads pages and imports nothing from here).

Pages are matched to ``source_url`` after URL normalisation (``features.urls.url_key``). Room for
another kind (a WARC file) is one more class with ``get`` / ``has`` / ``status`` / ``fingerprint``
and one more branch in :func:`open_pages`.

Memos live here too, not in the callers: :func:`shared_pages` (a source opened once per process,
for pool and Dask workers), :class:`BatchPages` (each page read once per batch, as one string) and
:class:`TargetPages` (the title and main text of the user's own target pages, parsed once).
"""

from __future__ import annotations

import csv
import gzip
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .html_text import BinaryContent, decode_html
from .page_cache import OK, PageCache, PageEntry, UnusablePage, entry_html, entry_status
from .records import MAX_HTML_BYTES
from .urls import url_key

__all__ = [
    "BatchPages",
    "CachedPages",
    "NoPages",
    "PageError",
    "PageSource",
    "PagesDir",
    "TargetPages",
    "open_pages",
    "read_page_file",
    "shared_pages",
    "shared_target_pages",
]


class PageError(ValueError):
    """A page exists in the source but cannot be used (binary, too large, unreadable, fetched as a 404)."""


class PageSource(Protocol):
    """What the feature pipeline and the batch engines ask of a page source."""

    def get(self, url: str) -> str | None:
        """Decoded HTML of the page at ``url``; None if the source does not have it; PageError if it
        has it but the page cannot be used."""
        ...

    def has(self, url: str) -> bool:
        """Whether the source holds a usable page for ``url`` (without reading it when it can)."""
        ...

    def status(self, url: str) -> str | None:
        """What scoring should report about the page beyond its links (``"noindex"``), or None."""
        ...

    def fingerprint(self) -> dict[str, object] | None:
        """Plain values that change when the source's pages change (a resumed batch compares them)."""
        ...


@dataclass(frozen=True)
class NoPages:
    """No saved pages: every record relies on its inline ``source_html``, if any."""

    def get(self, url: str) -> str | None:
        return None

    def has(self, url: str) -> bool:
        return False

    def status(self, url: str) -> str | None:
        return None

    def fingerprint(self) -> dict[str, object] | None:
        return None


def read_page_file(path: Path, max_bytes: int = MAX_HTML_BYTES) -> str:
    """Read one saved page (.html or .html.gz) into text, refusing binary or oversize files."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                data = fh.read(max_bytes + 1)
        else:
            with path.open("rb") as fh:
                data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise PageError(f"cannot read page file {path.name}: {exc}") from exc
    if len(data) > max_bytes:
        raise PageError(f"page file {path.name} is over the {max_bytes / 1e6:.0f} MB limit")
    try:
        return decode_html(data)
    except BinaryContent as exc:
        raise PageError(f"page file {path.name}: {exc}") from exc


class PagesDir:
    """A folder of saved pages indexed by ``manifest.csv``."""

    def __init__(self, folder: Path, max_bytes: int = MAX_HTML_BYTES) -> None:
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        manifest = self.folder / "manifest.csv"
        if not manifest.is_file():
            raise FileNotFoundError(f"{self.folder} has no manifest.csv (columns: url,file)")
        self.index: dict[str, Path] = {}
        self._recent: OrderedDict[str, str] = OrderedDict()  # a few decoded pages: rows of one page come together
        with manifest.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or not {"url", "file"} <= set(reader.fieldnames):
                raise ValueError(f"{manifest} must have columns url,file; found {reader.fieldnames}")
            for row in reader:
                key = url_key(row["url"] or "")
                if key and row.get("file"):
                    self.index[key] = self.folder / row["file"]

    def get(self, url: str) -> str | None:
        key = url_key(url)
        path = self.index.get(key) if key else None
        if path is None:
            return None
        if key in self._recent:
            self._recent.move_to_end(key)
            return self._recent[key]
        # A manifest is a stranger's file too: "../", an absolute path or a symlink must not read outside.
        if not path.resolve().is_relative_to(self.folder.resolve()):
            raise PageError(f"manifest names {str(path)[:200]!r} for {url}, which is outside the pages folder")
        if not path.is_file():
            raise PageError(f"manifest names {path.name} for {url}, but the file is missing")
        html = read_page_file(path, self.max_bytes)
        self._recent[key] = html
        if len(self._recent) > 16:
            self._recent.popitem(last=False)
        return html

    def has(self, url: str) -> bool:
        key = url_key(url)
        return key is not None and key in self.index

    def status(self, url: str) -> str | None:
        return None  # a saved page says nothing about how it was served

    def fingerprint(self) -> dict[str, object] | None:
        manifest = self.folder / "manifest.csv"
        st = manifest.stat() if manifest.is_file() else None
        return {"path": str(self.folder.resolve()), "manifest_size": st.st_size if st else None,
                "manifest_mtime_ns": st.st_mtime_ns if st else None}

    def __repr__(self) -> str:
        return f"PagesDir({str(self.folder)!r})"


class CachedPages:
    """A ``PageSource`` over a page cache: decoded HTML for pages fetched OK, None for pages never
    fetched, ``PageError("<outcome>: <why>")`` for pages fetched but unusable (a 404/410 gives
    ``"page_gone: ..."``). ``status(url)`` says what scoring should report about the page."""

    def __init__(self, cache: PageCache | Path | str, max_bytes: int = MAX_HTML_BYTES) -> None:
        self.cache = cache if isinstance(cache, PageCache) else PageCache(cache, create=False)
        self.max_bytes = max_bytes

    def entry(self, url: str, body: bool = False) -> PageEntry | None:
        return self.cache.get_entry(url, body=body)

    def get(self, url: str) -> str | None:
        entry = self.cache.get_entry(url, body=True)
        if entry is None:
            return None
        try:
            return entry_html(entry, self.max_bytes)
        except UnusablePage as exc:
            raise PageError(str(exc)) from exc

    def has(self, url: str) -> bool:
        entry = self.cache.get_entry(url, body=False)
        return entry is not None and entry.outcome == OK

    def status(self, url: str) -> str | None:
        """``"page_gone"``, ``"noindex"``, ``"fetch_failed: <why>"`` or None (not cached, or fetched
        and fine). Link presence is ``page_cache.check_link``'s business."""
        entry = self.cache.get_entry(url, body=False)
        return entry_status(entry) if entry is not None else None

    def final_url(self, url: str) -> str | None:
        """Where the page really is after redirects (resolve relative links against this)."""
        entry = self.cache.get_entry(url, body=False)
        return entry.final_url if entry is not None else None

    def fingerprint(self) -> dict[str, object] | None:
        path = self.cache.path
        files = [path, path.with_name(path.name + "-wal")]  # a crawl in WAL mode may not have checkpointed
        stats = [f.stat() for f in files if f.is_file()]
        return {"path": str(path.resolve()), "sizes": [s.st_size for s in stats],
                "mtimes_ns": [s.st_mtime_ns for s in stats]}

    def __repr__(self) -> str:
        return f"CachedPages({str(self.cache.path)!r})"


def open_pages(path: Path | str | None) -> PageSource:
    """The page source at ``path``: a saved-pages folder (manifest.csv), a page cache file written by
    ``linkq fetch``, or (no path) inline ``source_html`` only. Raises FileNotFoundError for a missing
    path or a folder without manifest, ``page_cache.CacheError`` for a file that is not a cache."""
    if not path:
        return NoPages()
    path = Path(path)
    if path.is_dir():
        return PagesDir(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: give a folder with manifest.csv (url,file) or a page "
                                "cache written by `linkq fetch`")
    return CachedPages(path)


_OPENED: dict[str, PageSource] = {}


def shared_pages(path: str | None) -> PageSource:
    """The source at ``path``, opened once per process (a pool process or a Dask worker opens it on
    its first chunk and keeps it: a manifest is read once, a cache connection is reused)."""
    if not path:
        return NoPages()
    got = _OPENED.get(path)
    if got is None:
        got = _OPENED[path] = open_pages(path)
    return got


class BatchPages:
    """A page source for one batch (a chunk) that returns the same string for the same URL.

    ``features.pipeline`` parses each page once per batch, keyed by a content hash that it caches by
    the string's id(); a fresh string per record (a file or a cache row read again) is freed after
    its record and its id reused, so the same page was parsed up to 5 times per chunk. Holding the
    strings for the batch (up to ``max_chars`` characters) keeps the ids stable and each page is read
    and parsed once. ``has`` and ``status`` are the inner source's.
    """

    def __init__(self, inner: PageSource, max_chars: int = 200_000_000) -> None:
        self.inner = inner
        self._html: dict[str, str | None] = {}
        self._chars = 0
        self._max = max_chars

    def get(self, url: str) -> str | None:
        if url in self._html:
            return self._html[url]
        html = self.inner.get(url)
        if html is None or self._chars + len(html) <= self._max:
            self._html[url] = html
            self._chars += len(html) if html else 0
        return html

    def has(self, url: str) -> bool:
        return self.inner.has(url)

    def status(self, url: str) -> str | None:
        return self.inner.status(url)

    def fingerprint(self) -> dict[str, object] | None:
        return self.inner.fingerprint()


_TARGET_TEXT_CHARS = 5_000  # target_text is read up to 1,500 characters (features.topical); margin


class TargetPages:
    """The user's own target pages: ``about(url)`` is (title, main text) of the page at ``url``,
    parsed once and kept for the last ``max_pages`` URLs (exports repeat their few targets)."""

    def __init__(self, source: PageSource, max_pages: int = 10_000) -> None:
        self.source = source
        self.max_pages = max_pages
        self._seen: OrderedDict[str, tuple[str, str] | None] = OrderedDict()

    def about(self, url: str) -> tuple[str, str] | None:
        key = url_key(url) or url
        if key in self._seen:
            self._seen.move_to_end(key)
            return self._seen[key]
        got: tuple[str, str] | None = None
        try:
            html = self.source.get(url)
            if html is not None:
                from .page import parse_page  # heavy import (lxml, trafilatura): only with target pages

                page = parse_page(html, url)
                got = (page.title or "", (page.main_text or "")[:_TARGET_TEXT_CHARS])
        except ValueError:  # PageError (binary, too large, missing file) or an unparsable page
            got = None
        self._seen[key] = got
        while len(self._seen) > self.max_pages:
            self._seen.popitem(last=False)
        return got

    def fill(self, record: dict[str, object]) -> tuple[dict[str, object], bool]:
        """The record with ``target_title`` / ``target_text`` filled from the user's page when missing;
        True when something was filled."""
        if record.get("target_title") and record.get("target_text"):
            return record, False
        url = record.get("target_url")
        if not isinstance(url, str) or not url.strip():
            return record, False
        got = self.about(url)
        if got is None:
            return record, False
        title, text = got
        filled = dict(record)
        if not record.get("target_title") and title.strip():
            filled["target_title"] = title
        if not record.get("target_text") and text.strip():
            filled["target_text"] = text
        return (filled, True) if filled != record else (record, False)


_TARGETS: dict[str, TargetPages] = {}


def shared_target_pages(path: str) -> TargetPages:
    """The user's target pages at ``path``, opened and memoised once per process."""
    got = _TARGETS.get(path)
    if got is None:
        got = _TARGETS[path] = TargetPages(shared_pages(path))
    return got
