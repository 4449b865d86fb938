"""Read SEO tools' backlink exports (Ahrefs, Semrush, Majestic, Moz, Search Console, CSV, JSONL).

Every file becomes a stream of :class:`ExportRow` chunks: the user's original columns (kept for
output, untouched) plus a flat canonical record (the fields of ``features.records`` with the metrics
keys at top level). The format is recognised from the bytes and the header, never from the file name.

Reading rules, in short:

* Bytes: UTF-16 with a BOM (Ahrefs), UTF-8 with or without a BOM, UTF-16 without a BOM (by its NUL
  pattern), otherwise cp1252. A UTF-8 file with stray cp1252 bytes (anywhere, the first lines
  included) decodes each invalid byte as cp1252 and everything else as UTF-8; the file is read as
  cp1252 as a whole only when its first 256 KB hold at least 3 invalid bytes and more invalid bytes
  than UTF-8 sequences. ``ExportInfo.decoding.replaced_bytes`` counts the bytes so read (and a
  warning names the count). Binary files (images, PDF, XLS/XLSX, NUL bytes) are refused.
* Layout: the header is the line, among the first ``MAX_PREAMBLE_LINES`` non-blank lines, with the most
  known column names (so Moz's preamble is skipped); the delimiter is the one of ``,`` ``;`` TAB that
  makes it so. A ZIP (Search Console) is searched for its per-link table.
* Rows: a quoted field may span lines (Ahrefs titles). A quote that is never closed would swallow the
  rest of the file in a plain CSV reader; here, when a multi-line record does not come out with the
  header's field count (exactly, when one of its lines is by itself a complete well-formed row), or
  its closing quote is followed by text instead of a delimiter, or the record grows past
  ``MAX_RECORD_LINES`` lines, only its first line is reported as an error row and reading restarts
  on the line after it. So every data row of the file appears exactly once, in file order, with the
  1-based physical line number where it starts. Blank lines (or lines of bare delimiters) are skipped.
* Columns map to canonical fields through the single :data:`ALIASES` table (lower-cased header ->
  field); the first column that maps to a field wins, later ones stay in ``original`` only. A few
  pseudo-fields combine columns: ``rel:nofollow`` / ``rel:ugc`` / ``rel:sponsored`` (boolean columns
  building ``rel``), ``rel:follow`` (inverted: Moz "Followable") and ``traffic:domain`` (an old name
  for ``domain_traffic``; a domain's traffic is never used as the page's).
* Values: URLs are stripped (and ``host.tld/path`` without a scheme, as Moz writes them, gets
  ``http://``); text fields are kept as written and omitted when blank; numbers become
  floats ("1,240", "35%", "true", "1"); dates become ISO ``YYYY-MM-DD`` (unreadable values are
  omitted). ``rel`` is a space-separated string of ``nofollow ugc sponsored``; it is ``""`` when the
  file says the link is followed and absent when the file says nothing about nofollow.

Choice of metrics: each column keeps its meaning (see ``features.records.METRIC_FIELDS``). A domain
measure (Ahrefs DR, Moz DA, Semrush AS) is ``domain_authority``; a page measure (Ahrefs UR, Semrush
Page ascore, Moz PA) is ``page_authority``; Majestic's ``SourceTrustFlow`` is the Trust Flow of the
linking URL, so a page measure too, and ``SourceCitationFlow`` (a volume measure, not a quality one)
is kept only in ``original``. Ahrefs' ``Is spam`` is a yes/no (``tool_spam``), not a 0-100 score, so
it is not ``spam_score``. A metric the file does not have is absent, never filled from another.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import functools
import io
import itertools
import json
import logging
import math
import re
import sys
import zipfile
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, NamedTuple

from features.errors import LinkqError
from features.records import METRIC_DATE_FIELDS, METRIC_FIELDS, METRIC_TEXT_FIELDS, parse_date, parse_number

log = logging.getLogger(__name__)

__all__ = [
    "ALIASES",
    "FORMATS",
    "ExportFormatError",
    "ExportInfo",
    "ExportRow",
    "detect_format",
    "parse_column_map",
    "read_export",
]

FORMATS = (
    "ahrefs",
    "ahrefs_awt",
    "semrush",
    "semrush_legacy",
    "semrush_audit",
    "majestic",
    "moz",
    "gsc",
    "csv",
    "jsonl",
)

SAMPLE_BYTES = 256 * 1024  # read to recognise encoding, header and format
MAX_PREAMBLE_LINES = 30  # non-blank lines searched for the header (Moz has 6 before it)
MAX_RECORD_LINES = 100  # a quoted field spanning more lines than this is taken as an unclosed quote
MAX_RECORD_CHARS = 64 * 2**20  # a multi-line quoted record longer than this is taken as an unclosed quote

TEXT_FIELDS = (
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
)
CANONICAL_FIELDS = TEXT_FIELDS + METRIC_FIELDS
_URL_FIELDS = frozenset({"source_url", "target_url"})
_DATE_FIELDS = frozenset(METRIC_DATE_FIELDS)
_METRIC_TEXT = frozenset(METRIC_TEXT_FIELDS)
_NUMBER_FIELDS = frozenset(METRIC_FIELDS) - _DATE_FIELDS - _METRIC_TEXT
_REL_FLAGS = ("nofollow", "ugc", "sponsored")
PSEUDO_FIELDS = ("rel:nofollow", "rel:ugc", "rel:sponsored", "rel:follow", "traffic:domain")
MAPPABLE_FIELDS = CANONICAL_FIELDS + PSEUDO_FIELDS

# ONE table: lower-cased header (whitespace collapsed) -> canonical field or pseudo-field.
# To support a renamed column, add a line here; nothing else needs to change.
ALIASES: dict[str, str] = {
    # canonical names map to themselves (generic CSV / JSONL)
    **{name: name for name in CANONICAL_FIELDS},
    # source page
    "source url": "source_url",  # Semrush, Majestic
    "sourceurl": "source_url",  # Majestic API
    "referring page url": "source_url",  # Ahrefs
    "referring page": "source_url",
    "url": "source_url",  # Moz
    "url from": "source_url",
    "linking page": "source_url",  # Search Console "Latest links" / "More sample links"
    "página de enlace": "source_url",  # Search Console, Spanish (verified in a real export)
    # Search Console translations below are best guesses, not verified against real exports:
    "página de link": "source_url",  # Portuguese
    "page avec lien": "source_url",  # French
    "page de lien": "source_url",  # French
    "verlinkende seite": "source_url",  # German
    "pagina che rimanda": "source_url",  # Italian
    "pagina di collegamento": "source_url",  # Italian
    "linkende pagina": "source_url",  # Dutch
    "דף מקשר": "source_url",  # Hebrew
    # target page
    "target url": "target_url",  # Ahrefs, Semrush, Majestic, Moz
    "targeturl": "target_url",  # Majestic API
    "link url": "target_url",  # Ahrefs, pre-2022
    "url to": "target_url",
    # anchor and context
    "anchor": "anchor_text",  # Ahrefs, Semrush
    "anchor text": "anchor_text",  # Majestic, Moz
    "anchortext": "anchor_text",  # Majestic API
    "link anchor": "anchor_text",  # Ahrefs, pre-2022
    "left context": "context_left",  # Ahrefs
    "textpre": "context_left",  # Ahrefs, pre-2022
    "right context": "context_right",  # Ahrefs
    "textpost": "context_right",  # Ahrefs, pre-2022
    "referring page title": "source_title",  # Ahrefs
    "source title": "source_title",  # Semrush
    "title": "source_title",  # Moz
    # rel flags (booleans)
    "nofollow": "rel:nofollow",  # Ahrefs, Semrush
    "no follow": "rel:nofollow",
    "flagnofollow": "rel:nofollow",  # Majestic
    "only rel=nofollow": "rel:nofollow",  # Moz
    "ugc": "rel:ugc",  # Ahrefs, Semrush ("Ugc")
    "sponsored": "rel:sponsored",  # Ahrefs, Semrush
    "followable": "rel:follow",  # Moz, older layout
    # authority: a domain measure and a page measure, each on its tool's own scale
    "domain rating": "domain_authority",  # Ahrefs DR (domain)
    "dr": "domain_authority",
    "domain authority": "domain_authority",  # Moz DA (domain)
    "authority score": "domain_authority",  # Semrush AS (domain)
    "ur": "page_authority",  # Ahrefs UR (page)
    "url rating": "page_authority",  # Ahrefs, pre-2022
    "page authority": "page_authority",  # Moz PA
    "page ascore": "page_authority",  # Semrush (page)
    "page score": "page_authority",  # Semrush, legacy
    "sourcetrustflow": "page_authority",  # Majestic: Trust Flow of the linking URL (see the module docstring)
    # traffic and links of the source page
    "page traffic": "traffic",  # Ahrefs (page)
    "domain traffic": "domain_traffic",  # Ahrefs (domain): its own field, never used as page traffic
    "external links": "outbound_links",  # Ahrefs, Semrush
    "external links count": "outbound_links",  # Ahrefs, pre-2022
    "outbound links": "outbound_links",
    "internal links": "internal_links",  # Semrush
    "internal links count": "internal_links",  # Ahrefs, pre-2022
    "keywords": "page_keywords",  # Ahrefs: keywords the linking page ranks for
    "referring domains": "page_referring_domains",  # Ahrefs: domains linking to the linking page
    "referring page http code": "http_code",  # Ahrefs
    # the tool's own judgements of the link and the source
    "spam score": "spam_score",  # Moz
    "toxicity score": "spam_score",  # Semrush Backlink Audit
    "is spam": "tool_spam",  # Ahrefs (yes/no)
    "sitewide": "sitewide",  # Semrush
    "content": "in_content",  # Ahrefs: link is in the main content
    "type": "link_type",  # Ahrefs: text, image, redirect, frame, form
    "image": "link_image",  # Semrush
    "flagimagelink": "link_image",  # Majestic
    "frame": "link_frame",  # Semrush
    "flagframe": "link_frame",  # Majestic
    "form": "link_form",  # Semrush
    "flagredirect": "link_redirect",  # Majestic
    "links in group": "links_in_group",  # Ahrefs
    "platform": "platform",  # Ahrefs: wordpress, blogger, ...
    "page type": "page_type",  # Ahrefs
    # lost links
    "lost link": "lost",  # Semrush (true/false)
    "lost status": "lost_reason",  # Ahrefs
    "drop reason": "lost_reason",  # Ahrefs
    "lost": "lost_date",  # Ahrefs: the date the link was lost
    # dates
    "first seen": "first_seen",  # Ahrefs, Semrush
    "source first found date": "first_seen",  # Majestic
    "firstindexeddate": "first_seen",  # Majestic API
    "last seen": "last_seen",  # Ahrefs, Semrush
    "source crawl date": "last_seen",  # Majestic
    "lastseendate": "last_seen",  # Majestic API
    "last crawled": "last_seen",  # Search Console
    "último rastreo": "last_seen",  # Search Console, Spanish
    "último rastreamento": "last_seen",  # Portuguese (unverified)
    "dernière exploration": "last_seen",  # French (unverified)
    "zuletzt gecrawlt": "last_seen",  # German (unverified)
    "ultima scansione": "last_seen",  # Italian (unverified)
    "laatst gecrawld": "last_seen",  # Dutch (unverified)
}

# Search Console "linking page" headers (each also in ALIASES): a file with one of them is a GSC link table.
GSC_LINKING_PAGE = frozenset(
    {
        "linking page",
        "página de enlace",
        "página de link",
        "page avec lien",
        "page de lien",
        "verlinkende seite",
        "pagina che rimanda",
        "pagina di collegamento",
        "linkende pagina",
        "דף מקשר",
    }
)
# Search Console summary tables (counts per site / per page): no per-link rows.
_GSC_SUMMARY_COLUMNS = frozenset(
    {"linking pages", "target pages", "incoming links", "linking sites", "top linking sites",
     "top linking text", "דפים מקשרים", "דפי יעד"}
)

# Key columns per format, as shown to the user when a file is not recognised.
FORMAT_KEYS: dict[str, str] = {
    "ahrefs": "Referring page URL, Target URL, Anchor, Domain rating, UR (UTF-16, tab-separated)",
    "ahrefs_awt": "Referring page title, Referring page URL, Domain rating, Target URL, Anchor",
    "semrush": "Page ascore, Source title, Source url, Target url, Anchor, Nofollow",
    "semrush_legacy": "Page score, Page trust score, Source url, Target url, Anchor",
    "semrush_audit": "Source url, Target url, Anchor, Toxicity Score, Toxic markers",
    "majestic": "Target URL, Source URL, Anchor Text, FlagNoFollow, SourceTrustFlow",
    "moz": "URL, Title, Anchor Text, Spam Score, Page Authority, Domain Authority, Target URL",
    "gsc": "Linking page (or a translation, e.g. 'Página de enlace'), Last crawled; or a ZIP of them",
    "csv": "source_url, target_url (canonical names), or any columns with --map",
    "jsonl": "one JSON object per line with source_url, target_url, ...",
}
_MAP_HINT = 'to read another layout, name its columns: --format csv --map "Their Column=source_url,Other=target_url"'

_BINARY_MAGIC = (
    (b"\x89PNG", "a PNG image"),
    (b"%PDF", "a PDF document"),
    (b"GIF8", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x1f\x8b", "a gzip archive (decompress it first)"),
    (b"\xd0\xcf\x11\xe0", "an old Excel/Office file (.xls): save it as CSV"),
    (b"BZh", "a bzip2 archive (decompress it first)"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"\x7fELF", "a program"),
    (b"SQLite format 3", "an SQLite database"),
)
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_FALLBACK_ERRORS = "linkq-cp1252-fallback"
_BLANK_CHARS = " \t\r\n\f\v\ufeff\u00a0"


class ExportFormatError(LinkqError, ValueError):
    """The file cannot be read as a backlink export; the message says what was expected and found."""


class ExportRow:
    """One data row of an export.

    ``line_no`` is the 1-based physical line where the row starts; ``original`` holds the user's
    columns in file order (values as written); ``record`` the canonical fields (``None`` when the row
    is malformed, then ``error`` says why, prefixed with ``line N:``).

    Rows read from a CSV/TSV keep their cells and build ``original`` and ``record`` on first use
    (:meth:`from_cells`): batch scoring reads a file in one process and scores it in others, and the
    canonical record (~10 us a row) is then built where it is scored. Rows compare and pickle by value.
    """

    __slots__ = ("line_no", "error", "_original", "_record", "_cells", "shared_columns", "_line", "_fields")

    def __init__(self, line_no: int, original: dict[str, str], record: dict[str, object] | None,
                 error: str | None = None) -> None:
        self.line_no = line_no
        self.error = error
        self._original: dict[str, str] | None = original
        self._record = record
        self._cells: tuple[list[str], list[str] | str, tuple[tuple[int, str], ...], str] | None = None
        # the file's column list (one object shared by its rows) when ``original`` has exactly
        # those keys in that order: lets a consumer handle a chunk's columns once, not per row
        self.shared_columns: list[str] | None = None
        self._line: tuple[str, str] | None = None  # (line without its end, delimiter): a plain line
        self._fields: tuple[list[str], list[str]] | None = None  # (columns, cells) until ``original`` is built

    @classmethod
    def from_cells(cls, line_no: int, columns: list[str], cells: list[str] | str,
                   pairs: tuple[tuple[int, str], ...], delimiter: str = ",") -> ExportRow:
        """A well-formed row given by its cells, or by its line when it has no quotes (then split
        on ``delimiter`` on first use: one string is cheaper to send to another process than 40);
        ``pairs`` maps cell index -> canonical field."""
        row = cls.__new__(cls)  # every slot set here: cheaper than __init__ (a million calls)
        row.line_no = line_no
        row.error = None
        row._original = None
        row._record = None
        row._cells = (columns, cells, pairs, delimiter)
        row.shared_columns = columns
        row._line = None
        row._fields = None
        return row

    def _materialise(self) -> None:
        """Split the line and build the record (``original`` waits until asked for: a CSV
        writer copying plain lines never needs it)."""
        if self._cells is not None:
            columns, cells, pairs, delimiter = self._cells
            if isinstance(cells, str):
                line = cells.rstrip("\r\n")
                self._line = (line, delimiter)
                fields = line.split(delimiter)
            else:
                fields = cells
            self._fields = (columns, fields)
            self._record = _record_from_cells(fields, pairs)
            self._cells = None

    @property
    def original(self) -> dict[str, str]:
        self._materialise()
        if self._original is None and self._fields is not None:
            columns, fields = self._fields
            self._original = dict(zip(columns, fields, strict=False))
            self._fields = None
        return self._original  # type: ignore[return-value]

    @property
    def record(self) -> dict[str, object] | None:
        self._materialise()
        return self._record

    def partial_record(self, fields: frozenset[str]) -> dict[str, object] | None:
        """The canonical record's ``fields`` only, without building the rest or keeping anything (a
        pass that needs a few fields of every row: the profile pass reads 7 of ~30); equal to
        ``record`` restricted to ``fields`` (tested). None for a malformed row."""
        if self._cells is None:
            rec = self.record
            return None if rec is None else {k: v for k, v in rec.items() if k in fields}
        _, cells, pairs, delimiter = self._cells
        values = cells.rstrip("\r\n").split(delimiter) if isinstance(cells, str) else cells
        plan = _partial_plan(pairs, fields)
        return _build_record(values, plan[0], first_wins=not plan[1])

    def csv_cells(self) -> str | None:
        """The original cells as one CSV text (comma-separated, as ``csv.writer`` writes them), when
        the row was a line without quotes whose cells need no quoting; else None. Lets a writer
        copy the user's cells instead of re-encoding them one by one."""
        self._materialise()
        if self._line is None:
            return None
        line, delimiter = self._line
        if delimiter == ",":
            return line  # split on commas, no quotes: each cell is written as it is
        if "," in line:
            return None
        return line.replace(delimiter, ",")

    def has_column(self, name: str) -> bool:
        """Whether ``name`` is one of this row's original columns (without building the row)."""
        return name in (self.shared_columns if self.shared_columns is not None else self.original)

    def __reduce__(self) -> tuple[object, ...]:
        if self._cells is not None:  # ship the cells, not the dicts (columns and pairs are shared)
            return (ExportRow.from_cells, (self.line_no, *self._cells))
        return (ExportRow, (self.line_no, self.original, self._record, self.error))

    @staticmethod
    def pack(rows: list[ExportRow]) -> tuple[object, ...]:
        """A compact, picklable form of a chunk of rows for sending to another process.

        Rows read from one file are usually all well-formed rows sharing one column list, kept as
        their line (or cells, for a line with quotes): they are packed as that list once plus
        their line numbers and lines/cells (flat lists pickle several times faster than one object
        per row); other chunks are kept as they are."""
        first = rows[0]._cells if rows else None
        if first is None:
            return ("rows", rows)
        columns, _, pairs, delimiter = first
        data: list[list[str] | str] = []
        for r in rows:
            c = r._cells
            if c is None or c[0] is not columns or c[2] is not pairs or c[3] != delimiter:
                return ("rows", rows)
            data.append(c[1])
        return ("lines", columns, pairs, delimiter, [r.line_no for r in rows], data)

    @staticmethod
    def unpack(packed: tuple[object, ...]) -> list[ExportRow]:
        """The rows of :meth:`pack`'s result."""
        if packed[0] == "rows":
            return packed[1]  # type: ignore[return-value]
        _, columns, pairs, delimiter, line_nos, texts = packed
        make = ExportRow.from_cells
        return [make(n, columns, t, pairs, delimiter)  # type: ignore[arg-type]
                for n, t in zip(line_nos, texts, strict=True)]  # type: ignore[call-overload]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ExportRow):
            return NotImplemented
        return (self.line_no, self.original, self.record, self.error) == (
            other.line_no, other.original, other.record, other.error)

    __hash__ = None  # type: ignore[assignment]  # mutable caches inside: compare, do not hash

    def __repr__(self) -> str:
        return f"ExportRow(line_no={self.line_no}, original={self.original!r}, record={self.record!r}, " \
               f"error={self.error!r})"


@dataclass
class DecodeReport:
    """Filled in while a file is read: ``replaced_bytes`` is the number of bytes that were not valid
    UTF-8 in a UTF-8 file and were read as cp1252 instead (0 for other encodings)."""

    replaced_bytes: int = 0


@dataclass(frozen=True)
class ExportInfo:
    """What was recognised: format, encoding, delimiter, header and its mapping to canonical fields.

    ``mapping`` values are canonical field names or the pseudo-fields of :data:`PSEUDO_FIELDS`.
    ``delimiter`` is ``None`` for JSONL and for single-column files. ``header_line`` is the 1-based
    line of the header (0 for JSONL); ``table`` the member read when the file is a ZIP.
    """

    format: str
    encoding: str
    delimiter: str | None
    columns: list[str]
    mapping: dict[str, str]
    header_line: int = 1
    table: str | None = None
    decoding: DecodeReport = field(default_factory=DecodeReport, compare=False, repr=False)


# --------------------------------------------------------------------------------------------------
# public API


def parse_column_map(spec: str) -> dict[str, str]:
    """Parse ``'Their Column=source_url,Other=anchor_text'`` into ``{column: canonical field}``.

    Column names may contain ``=`` (the last one separates the field) and may be quoted; they may not
    contain commas. Fields must be canonical names or pseudo-fields (``rel:nofollow``, ...).
    """
    result: dict[str, str] = {}
    if not spec or not spec.strip():
        return result
    for part in spec.split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise ExportFormatError(f"--map entry {part.strip()!r} has no '=': expected 'Their Column=field'")
        column, target = part.rsplit("=", 1)
        column = column.strip().strip("\"'").strip()
        target = target.strip().strip("\"'").strip()
        if not column:
            raise ExportFormatError(f"--map entry {part.strip()!r} has an empty column name")
        if target not in MAPPABLE_FIELDS:
            raise ExportFormatError(
                f"--map entry {part.strip()!r}: unknown field {target!r}; fields are: {', '.join(MAPPABLE_FIELDS)}"
            )
        if target in result.values():
            raise ExportFormatError(f"--map maps two columns to {target!r}")
        result[column] = target
    return result


def detect_format(path: Path) -> ExportInfo:
    """Recognise an export from its bytes and header (never from its name); raise ExportFormatError."""
    return _plan(Path(path), "auto", None).info


def read_export(
    path: Path,
    format: str = "auto",
    column_map: dict[str, str] | None = None,
    chunk_rows: int = 10_000,
) -> tuple[ExportInfo, Iterator[list[ExportRow]]]:
    """Recognise ``path`` now (raising ExportFormatError) and return its info and a lazy row stream.

    The stream yields lists of up to ``chunk_rows`` rows, in file order; memory does not grow with the
    file. ``format`` forces a layout (one of :data:`FORMATS`); ``column_map`` (column -> field, see
    :func:`parse_column_map`) overrides or completes the automatic mapping.
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
    if format != "auto" and format not in FORMATS:
        raise ExportFormatError(f"unknown format {format!r}; expected 'auto' or one of: {', '.join(FORMATS)}")
    plan = _plan(Path(path), format, column_map)
    return plan.info, _chunks(_rows(plan), chunk_rows)


# --------------------------------------------------------------------------------------------------
# bytes: sources, encodings, binary detection


@dataclass(frozen=True)
class _Source:
    path: Path
    member: str | None = None  # ZIP member

    @property
    def label(self) -> str:
        return f"{self.path.name}:{self.member}" if self.member else str(self.path)

    @contextlib.contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        if self.member is None:
            with open(self.path, "rb") as fh:
                yield fh
        else:
            with zipfile.ZipFile(self.path) as zf, zf.open(self.member) as fh:
                yield fh

    def sample(self) -> tuple[bytes, bool]:
        with self.open() as fh:
            data = fh.read(SAMPLE_BYTES + 1)
        return data[:SAMPLE_BYTES], len(data) <= SAMPLE_BYTES


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: decode bytes that are not UTF-8 as cp1252 (mixed-encoding files)."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    return bytes(bad).decode("cp1252", errors="replace"), exc.end


def _register_fallback() -> None:
    try:
        codecs.lookup_error(_FALLBACK_ERRORS)
    except LookupError:
        codecs.register_error(_FALLBACK_ERRORS, _cp1252_fallback)


def _sniff_encoding(sample: bytes, label: str) -> tuple[str, str]:
    """Return (encoding, errors handler) for the bytes, or raise ExportFormatError for binary data."""
    if not sample:
        raise ExportFormatError(f"{label}: the file is empty (0 bytes); expected a backlink export")
    for magic, what in _BINARY_MAGIC:
        if sample.startswith(magic):
            raise ExportFormatError(f"{label}: this is {what}, not a backlink export (CSV, TSV, JSONL or ZIP)")
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", "replace"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", "replace"
    if b"\x00" in sample:
        even, odd = sample[0::2], sample[1::2]
        if len(sample) >= 16 and odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.02 * len(even):
            return "utf-16-le", "replace"
        if len(sample) >= 16 and even.count(0) > 0.4 * len(even) and odd.count(0) < 0.02 * len(odd):
            return "utf-16-be", "replace"
        raise ExportFormatError(
            f"{label}: binary data (NUL bytes), not a text export; save the export as CSV or TSV"
        )
    text = codecs.getincrementaldecoder("utf-8")("surrogateescape").decode(sample, final=False)
    if not text.isascii():
        invalid = len(_ESCAPED.findall(text))  # one escape per byte that is not UTF-8
        sequences = sum(1 for ch in text if ord(ch) > 0x7F) - invalid
        if invalid >= 3 and invalid > sequences:
            return "cp1252", "replace"
    _register_fallback()
    return "utf-8", _FALLBACK_ERRORS


_ESCAPED = re.compile("[\udc80-\udcff]")


class _InvalidUTF8Counter(io.BufferedIOBase):
    """Passes a binary stream through unchanged, counting the bytes that are not valid UTF-8 (those
    the fallback error handler reads as cp1252). A strict UTF-8 pass over valid bytes costs ~0.25 ms
    per MB; only a block with invalid bytes is decoded again to count them."""

    def __init__(self, raw: IO[bytes]) -> None:
        super().__init__()
        self._raw = raw
        self._pending = b""  # an incomplete UTF-8 sequence at the end of the last block
        self.invalid = 0

    def readable(self) -> bool:
        return True

    def _count(self, data: bytes) -> bytes:
        block = self._pending + data if self._pending else data
        final = not data
        try:
            _, used = codecs.utf_8_decode(block, "strict", final)
        except UnicodeDecodeError:
            text, used = codecs.utf_8_decode(block, "surrogateescape", final)
            self.invalid += len(_ESCAPED.findall(text))  # one escape per invalid byte
        self._pending = block[used:]
        return data

    def read(self, size: int | None = -1) -> bytes:
        return self._count(self._raw.read(-1 if size is None else size))

    def read1(self, size: int = -1) -> bytes:
        read1 = getattr(self._raw, "read1", None)
        return self._count(read1(size) if read1 is not None else self._raw.read(size))


def _decode_sample(sample: bytes, complete: bool, encoding: str, errors: str, label: str) -> str:
    text = codecs.getincrementaldecoder(encoding)(errors=errors).decode(sample, final=complete)
    controls = sum(1 for ch in text if (ord(ch) < 32 and ch not in "\t\r\n\f\v") or ch == "\x7f")
    if controls > max(2, len(text) // 100):
        raise ExportFormatError(f"{label}: binary data (control characters), not a text export")
    if not text.strip(_BLANK_CHARS):
        raise ExportFormatError(f"{label}: the file is empty (no header line); expected a backlink export")
    return text


def _text_stream(fh: IO[bytes], encoding: str, errors: str) -> io.TextIOWrapper:
    # newline="": lines split on \n, \r\n or \r, line endings kept (as the csv module wants them).
    return io.TextIOWrapper(fh, encoding=encoding, errors=errors, newline="")


# --------------------------------------------------------------------------------------------------
# layout: header line, delimiter, columns, format


def _norm(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").strip().strip('"').split()).lower()


def csv_reader(lines: Iterable[str], **fmt: object) -> Iterator[list[str]]:
    """``csv.reader`` without the csv module's 128 KB field limit: any field the CSV format allows
    (a 1 MB anchor, a page's text) is read. The limit is process-wide, so it is lifted here, in
    whatever process reads, rather than relying on some import having done it."""
    if csv.field_size_limit() < sys.maxsize:
        csv.field_size_limit(sys.maxsize)
    return csv.reader(lines, **fmt)  # type: ignore[arg-type]


def _split_line(line: str, delimiter: str) -> list[str]:
    line = line.rstrip("\r\n")
    if '"' not in line:
        return line.split(delimiter)
    try:
        return next(csv_reader([line], delimiter=delimiter), [])
    except csv.Error:
        return line.split(delimiter)


def _dedupe(names: list[str]) -> list[str]:
    """Header cells as column names, as written: blanks become '(column N)', repeats get ' (2)', ..."""
    out: list[str] = []
    seen: set[str] = set()
    for i, raw in enumerate(names, 1):
        name = raw.replace("\ufeff", "")
        name = name if name.strip() else f"(column {i})"
        candidate, k = name, 2
        while candidate in seen:
            candidate, k = f"{name} ({k})", k + 1
        seen.add(candidate)
        out.append(candidate)
    return out


@dataclass(frozen=True)
class _Layout:
    encoding: str
    errors: str
    delimiter: str | None  # None: single column, or JSONL
    header_line: int  # 0 for JSONL
    columns: list[str]
    jsonl: bool = False


def _sniff_layout(source: _Source, extra_known: frozenset[str], force_jsonl: bool = False) -> _Layout:
    sample, complete = source.sample()
    encoding, errors = _sniff_encoding(sample, source.label)
    text = _decode_sample(sample, complete, encoding, errors, source.label)
    lines = io.StringIO(text, newline="").readlines()
    if not complete and len(lines) > 1:
        lines.pop()  # possibly cut in the middle
    stripped = text.lstrip(_BLANK_CHARS)
    if force_jsonl or stripped.startswith("{"):
        return _Layout(encoding, errors, None, 0, _jsonl_columns(lines), jsonl=True)
    if stripped.startswith("["):
        raise ExportFormatError(
            f"{source.label}: this is a JSON array; expected JSONL (one JSON object per line) or CSV"
        )
    known = frozenset(ALIASES) | extra_known
    best: tuple[int, int, int, str | None] | None = None  # (score, cells, -line_no, delimiter)
    first: tuple[int, str] | None = None
    seen = 0
    for line_no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        seen += 1
        if seen > MAX_PREAMBLE_LINES:
            break
        if first is None:
            first = (line_no, line)
        if _norm(line.rstrip("\r\n")) in GSC_LINKING_PAGE | extra_known:
            cand = (1, 1, -line_no, None)
            best = cand if best is None or cand[:2] > best[:2] else best
            continue
        for delim in (",", ";", "\t"):
            cells = _split_line(line, delim)
            if len(cells) < 2:
                continue
            score = sum(1 for c in cells if _norm(c) in known)
            cand = (score, len(cells), -line_no, delim)
            if score >= 2 and (best is None or cand[:2] > best[:2]):
                best = cand
    if best is not None:
        line_no = -best[2]
        delimiter = best[3]
    else:
        if first is None:
            raise ExportFormatError(f"{source.label}: no header line found; expected a backlink export")
        line_no, line = first
        counts = {d: _count_outside_quotes(line, d) for d in (",", ";", "\t")}
        top = max(counts, key=lambda d: counts[d])
        delimiter = top if counts[top] > 0 else None
    header = lines[line_no - 1]
    cells = [header.rstrip("\r\n")] if delimiter is None else _split_line(header, delimiter)
    if delimiter is None:
        cells = [c.strip('"') for c in cells]
    return _Layout(encoding, errors, delimiter, line_no, _dedupe(cells))


def _count_outside_quotes(line: str, delimiter: str) -> int:
    return max(0, len(_split_line(line, delimiter)) - 1)


def _jsonl_columns(lines: list[str]) -> list[str]:
    for line in lines:
        if line.strip():
            try:
                obj = json.loads(line)
            except ValueError:
                return []
            return [str(k) for k in obj] if isinstance(obj, dict) else []
    return []


def _auto_mapping(columns: Iterable[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for col in columns:
        target = ALIASES.get(_norm(col))
        if target and target not in used:
            mapping[col] = target
            used.add(target)
    return mapping


def _apply_user_map(
    columns: list[str], mapping: dict[str, str], column_map: dict[str, str], label: str
) -> dict[str, str]:
    by_norm = {_norm(c): c for c in reversed(columns)}  # first column wins on a normalised clash
    resolved: dict[str, str] = {}
    missing: list[str] = []
    for theirs, target in column_map.items():
        col = theirs if theirs in columns else by_norm.get(_norm(theirs))
        if col is None:
            missing.append(theirs)
        else:
            resolved[col] = target
    if missing:
        raise ExportFormatError(
            f"{label}: --map names column(s) not in the file: {', '.join(map(repr, missing))}; "
            f"found header: {', '.join(map(repr, columns))}"
        )
    targets = set(resolved.values())
    merged = {c: f for c, f in mapping.items() if c not in resolved and f not in targets}
    merged.update(resolved)
    return {c: merged[c] for c in columns if c in merged}


def _classify(columns: list[str]) -> str | None:
    """The export format named by a header, or None."""
    names = {_norm(c) for c in columns}
    if names & GSC_LINKING_PAGE:
        return "gsc"
    if "referring page url" in names:
        awt = {"referring page title", "referring page url", "domain rating", "target url", "anchor"}
        return "ahrefs_awt" if names <= awt else "ahrefs"
    if "url rating" in names and ("link url" in names or "referring page title" in names):
        return "ahrefs"  # pre-2022 layout
    if "source url" in names or "sourceurl" in names:
        if "toxicity score" in names or "toxic markers" in names:
            return "semrush_audit"
        if "page ascore" in names:
            return "semrush"
        if "page score" in names or "page trust score" in names:
            return "semrush_legacy"
        if names & {"sourcetrustflow", "sourcecitationflow", "flagnofollow", "flagredirect"}:
            return "majestic"
        if "sitewide" in names and "source title" in names:
            return "semrush"
    if names & {"domain authority", "page authority", "only rel=nofollow", "followable"} and "url" in names:
        return "moz"
    mapped = set(_auto_mapping(columns).values())
    if {"source_url", "target_url"} <= mapped:
        return "csv"
    return None


def _unrecognised(label: str, layout: _Layout, reason: str) -> ExportFormatError:
    shown = ", ".join(repr(c) for c in layout.columns[:40]) + (" ..." if len(layout.columns) > 40 else "")
    delim = {None: "none", "\t": "tab"}.get(layout.delimiter, repr(layout.delimiter))
    expected = "\n".join(f"  {name:<15} {keys}" for name, keys in FORMAT_KEYS.items())
    return ExportFormatError(
        f"{label}: {reason}\nfound header (line {layout.header_line}, delimiter {delim}): {shown}\n"
        f"expected one of these formats (key columns):\n{expected}\n{_MAP_HINT}"
    )


@dataclass(frozen=True)
class _Plan:
    info: ExportInfo
    source: _Source
    layout: _Layout


def _plan(path: Path, format: str, column_map: dict[str, str] | None) -> _Plan:
    label = str(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise ExportFormatError(f"{label}: cannot read the file: {exc.strerror or exc}") from exc
    if head.startswith(_ZIP_MAGIC) and format != "jsonl":
        return _plan_zip(path, format, column_map)
    return _plan_source(_Source(path), format, column_map)


def _plan_source(source: _Source, format: str, column_map: dict[str, str] | None) -> _Plan:
    extra = frozenset(_norm(k) for k in (column_map or {}))
    layout = _sniff_layout(source, extra, force_jsonl=format == "jsonl")
    if layout.jsonl:
        if format not in ("auto", "jsonl"):
            raise _unrecognised(source.label, layout, f"this is JSONL, not {format}")
        mapping = _auto_mapping(layout.columns)
        info = ExportInfo("jsonl", layout.encoding, None, list(layout.columns), mapping, 0, source.member)
        return _Plan(info, source, layout)
    columns = layout.columns
    mapping = _auto_mapping(columns)
    if column_map:
        mapping = _apply_user_map(columns, mapping, column_map, source.label)
    detected = _classify(columns)
    fmt = format if format != "auto" else detected
    if fmt is None and column_map:
        fmt = "csv"
    if fmt is None:
        names = {_norm(c) for c in columns}
        if names & _GSC_SUMMARY_COLUMNS:
            raise _unrecognised(
                source.label, layout,
                "this is a Search Console summary table (counts per site or page), it has no per-link "
                "rows; export 'Latest links' or 'More sample links' from the Links report",
            )
        if len(columns) == 1:
            raise _unrecognised(
                source.label, layout,
                "only one column found and it is not a Search Console 'Linking page' column; a link needs "
                "at least a source and a target URL",
            )
        lacking = [f for f in ("source_url", "target_url") if f not in set(mapping.values())]
        if len(lacking) == 1:
            raise _unrecognised(source.label, layout, f"no column for {lacking[0]}; could not recognise the format")
        raise _unrecognised(source.label, layout, "could not recognise the export format")
    fields = set(mapping.values())
    required = ["source_url"] if fmt == "gsc" else ["source_url", "target_url"]
    missing = [f for f in required if f not in fields]
    if missing:
        raise _unrecognised(
            source.label, layout, f"no column for {', '.join(missing)} (format {fmt})"
        )
    info = ExportInfo(fmt, layout.encoding, layout.delimiter, list(columns), mapping, layout.header_line,
                      source.member)
    return _Plan(info, source, layout)


def _plan_zip(path: Path, format: str, column_map: dict[str, str] | None) -> _Plan:
    label = str(path)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ExportFormatError(f"{label}: a broken ZIP file: {exc}") from exc
    names = [i.filename for i in infos]
    if "[Content_Types].xml" in names or any(n.startswith("xl/") for n in names):
        raise ExportFormatError(f"{label}: this is an Excel workbook (.xlsx); export or save it as CSV")
    members = [i.filename for i in infos if not i.is_dir() and i.file_size > 0 and "__MACOSX" not in i.filename]
    if not members:
        raise ExportFormatError(f"{label}: the ZIP holds no files")
    candidates: list[tuple[int, int, _Plan]] = []
    found: list[str] = []
    for order, member in enumerate(members):
        source = _Source(path, member)
        try:
            plan = _plan_source(source, format, column_map)
        except ExportFormatError as exc:
            first = str(exc).splitlines()
            header = next((s for s in first if s.startswith("found header")), first[0])
            found.append(f"  {member}: {header}")
            continue
        fields = set(plan.info.mapping.values())
        rank = 0 if plan.info.format == "gsc" and "last_seen" in fields else 1 if plan.info.format == "gsc" else 2
        candidates.append((rank, order, plan))
        found.append(f"  {member}: {plan.info.format}")
    if not candidates:
        raise ExportFormatError(
            f"{label}: no table in this ZIP has per-link rows (a 'Linking page' column, or a known export); "
            "from Search Console export 'Latest links' or 'More sample links'.\ntables found:\n"
            + "\n".join(found) + f"\n{_MAP_HINT}"
        )
    return min(candidates, key=lambda c: (c[0], c[1]))[2]


# --------------------------------------------------------------------------------------------------
# rows: splitting text into records with exact line numbers


def _scan(text: str, delimiter: str, in_quotes: bool) -> tuple[bool, bool]:
    """Follow the csv module's (non-strict) quoting over one line.

    Returns (still inside a quoted field at the end, saw a quote inside an unquoted field).
    """
    i, n, stray = 0, len(text), False
    while True:
        if in_quotes:
            j = text.find('"', i)
            if j < 0:
                return True, stray
            if j + 1 < n and text[j + 1] == '"':
                i = j + 2
                continue
            in_quotes = False
            i = j + 1
            if i < n and text[i] not in "\r\n" and text[i] != delimiter:
                stray = True  # text right after a closing quote
            k = text.find(delimiter, i)
            if k < 0:
                return False, stray
            i = k + 1
        elif i < n and text[i] == '"':
            in_quotes = True
            i += 1
        else:
            k = text.find(delimiter, i)
            end = n if k < 0 else k
            if text.find('"', i, end) >= 0:
                stray = True
            if k < 0:
                return False, stray
            i = k + 1


def _parse_record(text: str, delimiter: str) -> list[str]:
    """Fields of one complete record, as the csv module (non-strict) reads them."""
    try:
        return next(csv_reader([text], delimiter=delimiter), [])
    except csv.Error:  # same rules, in Python
        return _split_fields(text.rstrip("\r\n"), delimiter)


def _split_fields(text: str, delimiter: str) -> list[str]:
    fields: list[str] = []
    i, n = 0, len(text)
    while True:
        if i < n and text[i] == '"':
            parts: list[str] = []
            i += 1
            while True:
                j = text.find('"', i)
                if j < 0:  # never closed: the rest of the text
                    parts.append(text[i:])
                    i = n
                    break
                parts.append(text[i:j])
                if j + 1 < n and text[j + 1] == '"':
                    parts.append('"')
                    i = j + 2
                    continue
                i = j + 1
                break
            k = text.find(delimiter, i)
            parts.append(text[i : n if k < 0 else k])  # text glued after the closing quote
            fields.append("".join(parts))
        else:
            k = text.find(delimiter, i)
            fields.append(text[i : n if k < 0 else k])
        if k < 0:
            return fields
        i = k + 1


def _is_blank(text: str, delimiter: str) -> bool:
    """Only whitespace and delimiters (a spreadsheet's empty row)."""
    rest = text.strip(delimiter + " \t\r\n")  # cheap: no copy of the line's middle
    if rest and not rest[0].isspace() and not rest[-1].isspace():
        return False  # ends on a character that is neither: surely not blank
    return not text.strip().replace(delimiter, "").strip()


class _RawRow(NamedTuple):
    line_no: int
    fields: list[str] | None  # None without an error: a line without quotes, not split yet
    error: str | None
    text: str


def _raw_rows(lines: Iterator[tuple[int, str]], delimiter: str, ncols: int,
              plain: tuple[list[str], tuple[tuple[int, str], ...]] | None = None) -> Iterator[_RawRow | ExportRow]:
    """Cut physical lines into records; an unclosed quote costs one error row, never its neighbours.

    With ``plain`` (the file's columns and cell -> field pairs), a line without quotes that has
    the ``ncols`` cells is yielded at once as an ``ExportRow`` holding the line (most lines of an
    export; ~1 us per line less than going through a ``_RawRow``)."""
    pending: deque[tuple[int, str]] = deque()

    def take() -> tuple[int, str] | None:
        return pending.popleft() if pending else next(lines, None)

    def complete_row(text: str) -> bool:
        if _is_blank(text, delimiter):
            return False
        if '"' not in text:
            return text.count(delimiter) + 1 == ncols
        open_end, stray = _scan(text, delimiter, False)
        if open_end or stray:
            return False
        return len(_parse_record(text, delimiter)) == ncols

    make = ExportRow.from_cells
    while True:
        if plain is not None and not pending:
            columns, pairs = plain
            for line_no, text in lines:
                if '"' in text or text.count(delimiter) + 1 != ncols or _is_blank(text, delimiter):
                    pending.append((line_no, text))  # the general path below takes it
                    break
                yield make(line_no, columns, text, pairs, delimiter)
        item = take()
        if item is None:
            return
        line_no, text = item
        if _is_blank(text, delimiter):
            continue
        if '"' not in text:
            yield _RawRow(line_no, None, None, text)  # plain: split by whoever needs the cells
            continue
        if not _scan(text, delimiter, False)[0]:
            yield _RawRow(line_no, _parse_record(text, delimiter), None, text)
            continue
        # A quoted field continues on the next line(s): a legitimate multi-line value or an unclosed quote.
        # A continuation line that is by itself a complete row usually means the quote was never
        # closed; the record is still taken when its quote closes cleanly with exactly the header's
        # field count (a quoted value whose middle line happens to look like a row).
        taken: list[tuple[int, str]] = []
        parts, size, ok, looks_like_rows = [text], len(text), False, False
        while True:
            nxt = take()
            if nxt is None:
                break
            looks_like_rows = looks_like_rows or complete_row(nxt[1])
            taken.append(nxt)
            parts.append(nxt[1])
            size += len(nxt[1])
            open_end, stray = _scan(nxt[1], delimiter, True)
            if not open_end:
                # A legitimate value closes with '"' then a delimiter or the line end; text glued to
                # the closing quote means the quote we followed was really another row's opening one.
                ok = not stray
                break
            if len(parts) > MAX_RECORD_LINES or size > MAX_RECORD_CHARS:
                break
        if ok:
            fields = _parse_record("".join(parts), delimiter)
            if len(fields) == ncols if looks_like_rows else _count_ok(fields, ncols):
                yield _RawRow(line_no, fields, None, "".join(parts))
                continue
        pending.extendleft(reversed(taken))
        yield _RawRow(line_no, None, f"line {line_no}: unbalanced quotes (a quoted field is never closed)", text)


def _count_ok(fields: list[str], ncols: int) -> bool:
    return len(fields) == ncols or (len(fields) > ncols and not any(f.strip() for f in fields[ncols:]))


def _original(columns: list[str], fields: list[str]) -> dict[str, str]:
    row = dict(zip(columns, fields, strict=False))
    for k, extra in enumerate(fields[len(columns) :], 1):
        row[f"(extra {k})"] = extra
    return row


def _rows(plan: _Plan) -> Iterator[ExportRow]:
    """The rows of the plan's file; counts (and reports) bytes read as cp1252 in a UTF-8 file."""
    layout = plan.layout
    with plan.source.open() as fh:
        counter = _InvalidUTF8Counter(fh) if layout.errors == _FALLBACK_ERRORS else None
        with _text_stream(counter or fh, layout.encoding, layout.errors) as stream:
            yield from _rows_of(plan, enumerate(stream, 1))
        if counter is not None and counter.invalid:
            plan.info.decoding.replaced_bytes = counter.invalid
            log.warning("%s: %d byte%s not valid UTF-8, read as cp1252 (each byte on its own; the rest as UTF-8)",
                        plan.source.label, counter.invalid, " was" if counter.invalid == 1 else "s were")


def _rows_of(plan: _Plan, lines: Iterator[tuple[int, str]]) -> Iterator[ExportRow]:
    """Rows from the numbered text lines of the plan's file."""
    layout, info = plan.layout, plan.info
    if layout.jsonl:
        yield from _jsonl_rows(lines)
        return
    for line_no, _ in lines:
        if line_no >= layout.header_line:
            break
    delimiter = layout.delimiter or "\x1f"  # single column: a delimiter that never occurs
    columns, ncols = info.columns, len(info.columns)
    pairs = CellPairs((columns.index(c), f) for c, f in info.mapping.items())
    for raw in _raw_rows(lines, delimiter, ncols, (columns, pairs)):
        if type(raw) is ExportRow:  # a plain line with its cells
            yield raw
            continue
        if raw.fields is None and raw.error is None:  # a line without quotes
            if raw.text.count(delimiter) + 1 == ncols:
                yield ExportRow.from_cells(raw.line_no, columns, raw.text, pairs, delimiter)
                continue
            raw = _RawRow(raw.line_no, raw.text.rstrip("\r\n").split(delimiter), None, raw.text)
        if raw.fields is None:
            fields = _parse_record(raw.text.rstrip("\r\n"), delimiter)
            yield ExportRow(raw.line_no, _original(columns, fields), None, raw.error)
            continue
        fields = raw.fields
        if not _count_ok(fields, ncols):
            yield ExportRow(
                raw.line_no, _original(columns, fields), None,
                f"line {raw.line_no}: expected {ncols} fields, found {len(fields)}",
            )
            continue
        yield ExportRow.from_cells(raw.line_no, columns, fields, pairs, delimiter)


def _jsonl_rows(lines: Iterable[tuple[int, str]]) -> Iterator[ExportRow]:
    for line_no, text in lines:
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except ValueError as exc:
            msg = getattr(exc, "msg", str(exc))
            col = getattr(exc, "colno", None)
            where = f" at column {col}" if col else ""
            yield ExportRow(line_no, {}, None, f"line {line_no}: invalid JSON ({msg}{where})")
            continue
        if not isinstance(obj, dict):
            yield ExportRow(
                line_no, {}, None, f"line {line_no}: expected a JSON object, got {type(obj).__name__}"
            )
            continue
        original = {
            str(k): v if isinstance(v, str) else "" if v is None else json.dumps(v, ensure_ascii=False)
            for k, v in obj.items()
        }
        pairs: list[tuple[str, object]] = []
        for key, value in obj.items():
            target = ALIASES.get(_norm(str(key)))
            if target:
                pairs.append((target, value))
        nested = obj.get("metrics")
        if isinstance(nested, dict):  # nested metrics win over top-level ones, as in features.records
            for key, value in nested.items():
                target = ALIASES.get(_norm(str(key)))
                if target:
                    pairs.append((target, value))
        yield ExportRow(line_no, original, _make_record(pairs, last_wins=True), None)


def _chunks(rows: Iterator[ExportRow], size: int) -> Iterator[list[ExportRow]]:
    rows = iter(rows)
    while chunk := list(itertools.islice(rows, size)):
        yield chunk


# --------------------------------------------------------------------------------------------------
# values


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _flag(value: object) -> bool | None:
    if isinstance(value, str) and value.strip() in ("+", "-"):
        return value.strip() == "+"
    num = _number(value)
    return None if num is None else num != 0


_MONTHS: dict[str, int] = {}
_MONTH_NAMES = (
    # en, es, pt, fr, de, it, nl: full names and usual abbreviations (matched without a trailing dot)
    ("january jan enero ene janeiro janvier janv januar jän gennaio gen januari", 1),
    ("february feb febrero fevereiro fev février févr fevr februar febbraio februari", 2),
    ("march mar marzo março mars märz mär maart mrt", 3),
    ("april apr abril abr avril avr aprile", 4),
    ("may mayo maio mai maggio mag mei", 5),
    ("june jun junio junho juin juni giugno giu", 6),
    ("july jul julio julho juillet juil juli luglio lug", 7),
    ("august aug agosto ago août aout augustus", 8),
    ("september sep sept septiembre setiembre setembro set septembre settembre", 9),
    ("october oct octubre outubro out octobre oktober okt ottobre ott", 10),
    ("november nov noviembre novembro novembre", 11),
    ("december dec diciembre dic dezembro dez décembre déc dezember dicembre", 12),
)
_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})\.?\s+(?:de\s+)?([^\W\d_]+)\.?,?\s+(?:de\s+)?(\d{4})\b")
_BARE_HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}(?::\d+)?(?:[/?#]|$)", re.IGNORECASE)
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:$|[T ]\d)")
_MONTH_DAY_YEAR = re.compile(r"^([^\W\d_]+)\.?\s+(\d{1,2}),?\s+(\d{4})\b")


def _month(name: str) -> int | None:
    if not _MONTHS:
        for names, number in _MONTH_NAMES:
            for n in names.split():
                _MONTHS[n] = number
    return _MONTHS.get(name.lower().rstrip("."))


_BOOL_CELLS = {w: v for words, v in (("true True TRUE yes Yes YES", 1.0), ("false False FALSE no No NO", 0.0))
               for w in words.split()}


def _number(value: object) -> float | None:
    """A float from an export cell ('54', '1,240', '35%', 'true'), or None."""
    if isinstance(value, str):
        word = _BOOL_CELLS.get(value)  # boolean columns, as parse_number reads them, without its detour
        if word is not None:
            return word
        try:
            num = float(value)
        except ValueError:
            return parse_number(value)
        return num if math.isfinite(num) else None
    return parse_number(value)


def _to_date(value: object) -> str | None:
    """Dates as exports write them (ISO, d/m/Y, 'Sep 15, 2026', '15 sept. 2026') -> 'YYYY-MM-DD'."""
    if _blank(value):
        return None
    if not isinstance(value, str):
        return parse_date(value)
    return _date_text(value.strip())


@functools.lru_cache(maxsize=4096)  # exports repeat the same dates on many rows
def _date_text(s: str) -> str | None:
    m = _ISO_DATE.match(s)
    if m:
        try:
            return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
        except ValueError:
            return None
    iso = parse_date(s)
    if iso is not None:
        return iso
    for pattern, order in ((_DAY_MONTH_YEAR, (0, 1, 2)), (_MONTH_DAY_YEAR, (1, 0, 2))):
        m = pattern.match(s)
        if m:
            groups = m.groups()
            day, month, year = (groups[i] for i in order)
            number = _month(month)
            if number is not None:
                try:
                    return date(int(year), number, int(day)).isoformat()
                except ValueError:
                    return None
    m = re.match(r"^(\d{1,2})/(\d{1,2})/(\d{4})\b", s)  # US m/d/Y when the day cannot be first
    if m:
        try:
            return date(int(m[3]), int(m[1]), int(m[2])).isoformat()
        except ValueError:
            return None
    head = s.split()[0] if s.split() else s
    return parse_date(head) if head != s else None


def _url(text: str) -> str:
    """Strip a URL; give 'host.tld/path' (Moz writes URLs without a scheme) an 'http://' scheme."""
    text = text.strip()
    if "://" not in text and _BARE_HOST.match(text):
        return "http://" + text
    return text


def _field_kind(name: str) -> int:
    """How :func:`_make_record` reads a field (resolved once per field name, not per cell)."""
    if name in _URL_FIELDS:
        return _K_URL
    if name == "rel":
        return _K_REL
    if name in TEXT_FIELDS or name in _METRIC_TEXT:
        return _K_TEXT
    if name in _DATE_FIELDS:
        return _K_DATE
    if name in _NUMBER_FIELDS:
        return _K_NUMBER
    if name.startswith("rel:"):
        return _K_FLAG
    if name == "traffic:domain":
        return _K_DOMAIN_TRAFFIC
    return _K_IGNORE


_K_URL, _K_REL, _K_TEXT, _K_DATE, _K_NUMBER, _K_FLAG, _K_DOMAIN_TRAFFIC, _K_IGNORE = range(8)
_KINDS: dict[str, int] = {}


def _make_record(pairs: Iterable[tuple[str, object]], last_wins: bool = False) -> dict[str, object]:
    """Canonical flat record from (field, raw value) pairs; blank or unreadable values are omitted.
    When several pairs name one field, the first usable value wins (the last with ``last_wins``)."""
    items = list(pairs)
    plan = tuple((i, name, _kind(name)) for i, (name, _) in enumerate(items))
    return _build_record([raw for _, raw in items], plan, first_wins=not last_wins)


def _kind(name: str) -> int:
    """:func:`_field_kind`, resolved once per field name."""
    kind = _KINDS.get(name)
    if kind is None:
        kind = _KINDS[name] = _field_kind(name)
    return kind


class CellPairs(tuple):
    """A file's (cell index, canonical field) pairs, shared by its rows, with the record plan
    made from them once per object (:attr:`plan`); pickles as the pairs alone."""

    @functools.cached_property
    def plan(self) -> tuple[tuple[tuple[int, str, int], ...], bool]:
        return _cell_plan(self)

    def __reduce__(self) -> tuple[object, ...]:
        return (CellPairs, (tuple(self),))


def _cell_plan(pairs: tuple[tuple[int, str], ...]) -> tuple[tuple[tuple[int, str, int], ...], bool]:
    """((cell index, field, kind) per pair, whether every field comes from one cell only)."""
    names = [f for _, f in pairs]
    return tuple((i, f, _kind(f)) for i, f in pairs), len(set(names)) == len(names)


def _partial_plan(pairs: tuple[tuple[int, str], ...], fields: frozenset[str]) -> tuple[
        tuple[tuple[int, str, int], ...], bool]:
    """The record plan of ``pairs`` restricted to the pairs that build ``fields`` (rel from its flags),
    kept on a file's CellPairs (one per file: hashing its ~40 pairs per row would cost more)."""
    if type(pairs) is CellPairs:
        cache = pairs.__dict__.setdefault("partial_plans", {})
        got = cache.get(fields)
        if got is None:
            got = cache[fields] = _restrict_plan(pairs, fields)
        return got
    return _restrict_plan(pairs, fields)


def _restrict_plan(pairs: tuple[tuple[int, str], ...], fields: frozenset[str]) -> tuple[
        tuple[tuple[int, str, int], ...], bool]:
    plan, unique = pairs.plan if type(pairs) is CellPairs else _cell_plan(pairs)
    want = set(fields)
    if "rel" in fields:
        want |= {f for f in PSEUDO_FIELDS if f.startswith("rel:")}
    return tuple(p for p in plan if p[1] in want), unique


def _record_from_cells(fields: list[str], pairs: tuple[tuple[int, str], ...]) -> dict[str, object]:
    """``_make_record`` of the (field, cell) pairs of one row of cells (tested equal); with
    :class:`CellPairs` the kinds are resolved once per file, and a file whose fields each come from
    one cell skips the check for a field already set."""
    plan, unique = pairs.plan if type(pairs) is CellPairs else _cell_plan(pairs)
    return _build_record(fields, plan, first_wins=not unique)


def _build_record(values: Sequence[object], plan: Iterable[tuple[int, str, int]],
                  first_wins: bool) -> dict[str, object]:
    """The record of ``values`` read by ``plan`` ((index into values, field, kind) triples, in
    order); ``first_wins``: a field already set keeps its value (else a later value replaces it)."""
    record: dict[str, object] = {}
    flags: dict[str, bool] | None = None
    domain_traffic: float | None = None
    for i, name, kind in plan:
        raw = values[i]
        if type(raw) is str:
            if not raw or raw.isspace():  # blank, as _blank() says
                continue
        elif raw is None or _blank(raw):
            continue
        if first_wins and name in record:
            continue
        if kind == _K_TEXT:
            record[name] = raw if type(raw) is str else str(raw)
        elif kind == _K_NUMBER:
            num = _number(raw)
            if num is not None:
                record[name] = num
        elif kind == _K_URL:
            record[name] = _url(str(raw))
        elif kind == _K_DATE:
            iso = _to_date(raw)
            if iso is not None:
                record[name] = iso
        elif kind == _K_FLAG:
            flag = _flag(raw)
            if flag is not None:
                if flags is None:
                    flags = {}
                flags[name[4:]] = flag
        elif kind == _K_DOMAIN_TRAFFIC:
            domain_traffic = _number(raw)
            if domain_traffic is not None and "domain_traffic" not in record:
                record["domain_traffic"] = domain_traffic
        elif kind == _K_REL:
            tokens = raw if isinstance(raw, list | tuple) else str(raw).replace(",", " ").split()
            rel = " ".join(str(t).strip().lower() for t in tokens if str(t).strip())
            if rel:
                record["rel"] = rel
    if "rel" not in record:
        rel = _rel_from_flags(flags or {})
        if rel is not None:
            record["rel"] = rel
    return record


def _rel_from_flags(flags: dict[str, bool]) -> str | None:
    """'nofollow ugc sponsored' subset; '' when the file says the link is followed; None when unknown."""
    nofollow = flags.get("nofollow")
    if nofollow is None and "follow" in flags:
        nofollow = not flags["follow"]
    tokens = [t for t in _REL_FLAGS[1:] if flags.get(t)]
    if nofollow is None:
        return " ".join(tokens) if tokens else None
    return " ".join((["nofollow"] if nofollow else []) + tokens)

