"""Page sources: where a record's source page HTML comes from when it is not inline.

One mechanism for every command (``linkq features``, ``score``, ``train``): a
folder with ``manifest.csv`` (columns ``url,file``; ``file`` relative to the
folder, ``.html`` or ``.html.gz``, any encoding the page declares), matched to
``source_url`` after URL normalisation (``features.urls.url_key``).
"""

from __future__ import annotations

import csv
import gzip
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .html_text import BinaryContent, decode_html
from .records import MAX_HTML_BYTES
from .urls import url_key


class PageError(ValueError):
    """A page exists in the source but cannot be used (binary, too large, unreadable)."""


class PageSource(Protocol):
    def get(self, url: str) -> str | None:
        """Decoded HTML of the page at ``url``; None if the source does not have it."""
        ...


@dataclass(frozen=True)
class NoPages:
    """No saved pages: every record relies on its inline ``source_html``, if any."""

    def get(self, url: str) -> str | None:
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


def open_pages(path: Path | None) -> PageSource:
    """A saved-pages folder (manifest.csv) or a page cache file written by ``linkq fetch``."""
    if not path:
        return NoPages()
    path = Path(path)
    if path.is_dir():
        return PagesDir(path)
    from .page_cache import CachedPages  # lazy: page_cache imports this module

    return CachedPages(path)
