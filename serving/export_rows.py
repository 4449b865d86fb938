"""What reading an export gives: :class:`ExportRow` (one data row, its cells, and its canonical
record built from them on first use), :class:`ExportInfo` (what was recognised) or an
:class:`ExportFormatError`, and how a cell becomes a canonical value.

The canonical record is flat: the fields of ``features.records`` with the metrics keys at top level
(:data:`CANONICAL_FIELDS`), plus the pseudo-fields a tool's columns combine into (:data:`PSEUDO_FIELDS`,
see ``serving.export_layouts``).

Values: URLs are stripped (and ``host.tld/path`` without a scheme, as Moz writes them, gets
``http://``); text fields are kept as written and omitted when blank; numbers become
floats ("1,240", "35%", "true", "1"); dates become ISO ``YYYY-MM-DD`` (unreadable values are
omitted). ``rel`` is a space-separated string of ``nofollow ugc sponsored``; it is ``""`` when the
file says the link is followed and absent when the file says nothing about nofollow.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from features.errors import LinkqError
from features.records import (
    METRIC_DATE_FIELDS,
    METRIC_FIELDS,
    METRIC_TEXT_FIELDS,
    RECORD_FIELDS,
    LinkRecord,
    parse_date,
    parse_number,
)

TEXT_FIELDS = tuple(f for f in RECORD_FIELDS if f != "metrics")  # the record's own fields; metrics go flat
CANONICAL_FIELDS = TEXT_FIELDS + METRIC_FIELDS
_URL_FIELDS = frozenset({"source_url", "target_url"})
_DATE_FIELDS = frozenset(METRIC_DATE_FIELDS)
_METRIC_TEXT = frozenset(METRIC_TEXT_FIELDS)
_NUMBER_FIELDS = frozenset(METRIC_FIELDS) - _DATE_FIELDS - _METRIC_TEXT
_REL_FLAGS = ("nofollow", "ugc", "sponsored")
PSEUDO_FIELDS = ("rel:nofollow", "rel:ugc", "rel:sponsored", "rel:follow", "traffic:domain")
MAPPABLE_FIELDS = CANONICAL_FIELDS + PSEUDO_FIELDS


class ExportFormatError(LinkqError, ValueError):
    """The file cannot be read as a backlink export; the message says what was expected and found."""


class ExportRow:
    """One data row of an export.

    ``line_no`` is the 1-based physical line where the row starts; ``original`` holds the user's
    columns in file order (values as written); ``record`` the canonical fields (``None`` when the row
    is malformed, then ``error`` says why, prefixed with ``line N:``).

    Rows read from a CSV/TSV keep their cells and build ``original`` and ``record`` on first use
    (:meth:`from_cells`): batch scoring reads a file in one process and scores it in others, where
    ``serving.export_records.link_records`` builds a chunk's validated records from the rows' cells
    (:meth:`cell_values`) without the canonical dict. Rows compare and pickle by value.
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
        # (columns, cells, pairs) until ``original`` and ``record`` are built
        self._fields: tuple[list[str], list[str], tuple[tuple[int, str], ...]] | None = None

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
        """Split the line into its cells (``original`` and ``record`` wait until asked for: a CSV
        writer copying plain lines needs neither, and the scorer builds its record from the cells)."""
        if self._cells is not None:
            columns, cells, pairs, delimiter = self._cells
            if isinstance(cells, str):
                line = cells.rstrip("\r\n")
                self._line = (line, delimiter)
                fields = line.split(delimiter)
            else:
                fields = cells
            self._fields = (columns, fields, pairs)
            self._cells = None

    @property
    def original(self) -> dict[str, str]:
        self._materialise()
        if self._original is None and self._fields is not None:
            columns, fields, _ = self._fields
            self._original = dict(zip(columns, fields, strict=False))
            self._drop_fields()
        return self._original  # type: ignore[return-value]

    @property
    def record(self) -> dict[str, object] | None:
        self._materialise()
        if self._record is None and self._fields is not None:
            _, fields, pairs = self._fields
            self._record = _record_from_cells(fields, pairs)
            self._drop_fields()
        return self._record

    def _drop_fields(self) -> None:
        """Let the cells go once both ``original`` and ``record`` are built from them."""
        if self._original is not None and self._record is not None:
            self._fields = None

    def link_record(self, tool: str | None = None) -> LinkRecord | None:
        """The row's validated record, built straight from its cells: ``parse_record`` of
        :attr:`record` with ``tool`` as its ``tool`` metric when the row names none (tested equal),
        or None when the row takes that general path. A chunk's rows are built together, column by
        column, by ``serving.export_records.link_records``; this is that for one row."""
        from .export_records import link_records

        return link_records([self], tool)[0]

    def cell_values(self) -> tuple[list[str], tuple[tuple[int, str], ...]] | None:
        """The row's cells (split on first use) and its file's (cell index, canonical field)
        pairs, for building its record from the cells; None for a row not read from cells or whose
        record is already built (``original`` and ``record`` are not built here)."""
        self._materialise()
        if self._fields is None:
            return None
        _, values, pairs = self._fields
        return values, pairs

    def partial_record(self, fields: frozenset[str]) -> dict[str, object] | None:
        """The canonical record's ``fields`` only, without building the rest or keeping anything (a
        pass that needs a few fields of every row: the profile pass reads 7 of ~30); equal to
        ``record`` restricted to ``fields`` (tested). None for a malformed row."""
        if self._cells is None:
            rec = self.record
            return None if rec is None else {k: v for k, v in rec.items() if k in fields}
        _, cells, pairs, delimiter = self._cells
        plan, unique, width = _partial_plan(pairs, fields)
        if isinstance(cells, str):
            # only the cells up to the last one the plan reads (the rest of the line stays one
            # string): a profile pass reading 2 of Ahrefs' 40 cells splits the first 10
            values = cells.split(delimiter, width)
            if len(values) <= width:  # the last cell read is the line's last: without its line end
                values[-1] = values[-1].rstrip("\r\n")
        else:
            values = cells
        return _build_record(values, plan, first_wins=not unique)

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
        return (ExportRow, (self.line_no, self.original, self.record, self.error))

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
    if name in TEXT_FIELDS:
        return _K_TEXT
    if name in _METRIC_TEXT:
        return _K_METRIC_TEXT
    if name in _DATE_FIELDS:
        return _K_DATE
    if name in _NUMBER_FIELDS:
        return _K_NUMBER
    if name.startswith("rel:"):
        return _K_FLAG
    if name == "traffic:domain":
        return _K_DOMAIN_TRAFFIC
    return _K_IGNORE


# how a field is read from a cell (see _field_kind)
_K_URL, _K_REL, _K_TEXT, _K_FLAG, _K_IGNORE, _K_METRIC_TEXT, _K_DATE, _K_NUMBER, _K_DOMAIN_TRAFFIC = range(9)
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
        tuple[tuple[int, str, int], ...], bool, int]:
    """The record plan of ``pairs`` restricted to the pairs that build ``fields`` (rel from its flags),
    whether each field comes from one cell, and the number of leading cells the plan reads; kept on a
    file's CellPairs (one per file: hashing its ~40 pairs per row would cost more)."""
    if type(pairs) is CellPairs:
        cache = pairs.__dict__.setdefault("partial_plans", {})
        got = cache.get(fields)
        if got is None:
            got = cache[fields] = _restrict_plan(pairs, fields)
        return got
    return _restrict_plan(pairs, fields)


def _restrict_plan(pairs: tuple[tuple[int, str], ...], fields: frozenset[str]) -> tuple[
        tuple[tuple[int, str, int], ...], bool, int]:
    plan, unique = pairs.plan if type(pairs) is CellPairs else _cell_plan(pairs)
    want = set(fields)
    if "rel" in fields:
        want |= {f for f in PSEUDO_FIELDS if f.startswith("rel:")}
    kept = tuple(p for p in plan if p[1] in want)
    return kept, unique, max((p[0] for p in kept), default=-1) + 1


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
        if kind == _K_NUMBER:
            num = _number(raw)
            if num is not None:
                record[name] = num
        elif kind in (_K_TEXT, _K_METRIC_TEXT):
            record[name] = raw if type(raw) is str else str(raw)
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
    if flags is not None and "rel" not in record:  # without flags the file says nothing of rel
        rel = _rel_from_flags(flags)
        if rel is not None:
            record["rel"] = rel
    return record


def _rel_from_flags(flags: dict[str, bool]) -> str | None:
    """'nofollow ugc sponsored' subset; '' when the file says the link is followed; None when unknown."""
    nofollow = flags.get("nofollow")
    if nofollow is None and "follow" in flags:
        nofollow = not flags["follow"]
    return _rel_text(nofollow, bool(flags.get("ugc")), bool(flags.get("sponsored")))


@functools.lru_cache(maxsize=16)  # a few combinations, on every row of an export with rel flags
def _rel_text(nofollow: bool | None, ugc: bool, sponsored: bool) -> str | None:
    tokens = [t for t, on in zip(_REL_FLAGS[1:], (ugc, sponsored), strict=True) if on]
    if nofollow is None:
        return " ".join(tokens) if tokens else None
    return " ".join((["nofollow"] if nofollow else []) + tokens)

