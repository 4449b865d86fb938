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

How columns map to canonical fields, per tool, is in ``serving.export_layouts`` (the one alias table
and the format signatures); how a cell becomes a canonical value, and the row type, in
``serving.export_rows``.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import json
import logging
import re
import sys
import zipfile
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, NamedTuple

from .export_layouts import (
    _GSC_SUMMARY_COLUMNS,
    _MAP_HINT,
    ALIASES,
    FORMAT_KEYS,
    FORMATS,
    GSC_LINKING_PAGE,
    _apply_user_map,
    _auto_mapping,
    _classify,
    _norm,
    parse_column_map,
)
from .export_rows import MAPPABLE_FIELDS, CellPairs, ExportFormatError, ExportInfo, ExportRow, _make_record
from .export_rows import _record_from_cells as _record_from_cells  # noqa: F401  (tests reach it here)

log = logging.getLogger(__name__)

__all__ = [
    "ALIASES",
    "FORMATS",
    "GSC_LINKING_PAGE",
    "MAPPABLE_FIELDS",
    "ExportFormatError",
    "ExportInfo",
    "ExportRow",
    "detect_format",
    "parse_column_map",
    "read_export",
]

SAMPLE_BYTES = 256 * 1024  # read to recognise encoding, header and format
MAX_PREAMBLE_LINES = 30  # non-blank lines searched for the header (Moz has 6 before it)
MAX_RECORD_LINES = 100  # a quoted field spanning more lines than this is taken as an unclosed quote
MAX_RECORD_CHARS = 64 * 2**20  # a multi-line quoted record longer than this is taken as an unclosed quote

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


# --------------------------------------------------------------------------------------------------
# public API


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
                # (a line whose first character is neither whitespace nor the delimiter is not blank:
                # the test that costs a call and a copy of the line runs only on the others)
                if ('"' in text or text.count(delimiter) + 1 != ncols
                        or ((text[:1] == delimiter or not text[:1] or text[:1].isspace())
                            and _is_blank(text, delimiter))):
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
