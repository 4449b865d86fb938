"""Batch scoring of backlink exports: ``linkq score INPUT... --out FILE``.

One call, :func:`score_files`, reads one or more exports (any format :mod:`serving.exports`
recognises), scores every row with the model and writes one table (.csv, .jsonl or .parquet, by the
output's extension): the user's original columns in their order, then ``score``, ``verdict``,
``reasons`` ("; "-joined), ``placement_zone``, ``status`` (and the scorer's other result fields, e.g.
``flags``), then with ``explain`` every feature in schema order. With several inputs a ``source_file``
column comes first and the rows of the files follow each other in the order given.

Guarantees:

* **No row is lost.** Every data row of every input appears exactly once, in input order, with a
  status: ``scored``, ``scored_without_page``, ``link_missing``, ``skipped: <why>`` (a Search Console
  row names only the linking page) or ``error: line N: <why>``. Rows read are counted against rows
  written before the output is published; a difference raises :class:`BatchIntegrityError`.
* **Bounded memory.** Inputs are streamed in chunks of ``chunk_rows`` rows; at most a few chunks are
  held at once (one with the local engine, two per worker with Dask), whatever the file size.
* **Resumable, atomic.** Each scored chunk is committed in ``<out>.parts/`` as a body (its rows,
  already in the output's format) and then a small JSON header (row count, line span, columns,
  counts for the summary), each written to a temporary name and renamed: a chunk is done once its
  header exists. ``state.json`` there records the inputs (path, size, mtime, hash of the first and
  last 64 KB) and every option that changes the output. ``resume=True`` re-reads the inputs (to
  reach the next chunk) but does not re-score a chunk that is done, and refuses to resume when the
  inputs or options changed. The output is a temporary file next to ``out``: for CSV and JSONL
  outputs the bodies are appended to it as the chunks are committed, in order (the file's size is
  checked against the bytes appended); for Parquet, or when a chunk brings columns the header does
  not have, the bodies are concatenated after the last chunk and the rows counted by reading the
  file back. It is renamed over ``out`` only if rows read = rows in the parts = rows in the file;
  the parts folder is then removed. An interrupted run leaves no new ``out`` (an older file of that
  name stays as it was).
* **Same output on every engine.** ``engine="dask"`` runs the same per-chunk function
  (:func:`process_chunk`) on a Dask cluster (an existing one at ``scheduler``, else a local one with
  ``workers`` processes of one thread); the model is loaded once per process (module-level cache)
  and parts are written and assembled by the calling process, so the bytes are the same.

Columns: an input column named like an output column (``score``, ``status``, ``source_file``, a
feature name with ``explain``) is kept, renamed ``"<name> (input)"``. The ``source_html`` column of a
canonical CSV/JSONL is used for scoring but not copied to the output (pages are megabytes). With
``explain``, ``placement_zone`` appears once (the result column, ``unknown`` without a page). JSON
lines carry the columns known in their chunk (JSONL inputs whose lines have other keys); CSV and
Parquet have every column of every input, empty where a row has none.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import functools
import gc
import hashlib
import io
import itertools
import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from features.schema import FEATURE_NAMES

from .exports import ExportInfo, ExportRow, parse_column_map, read_export

__all__ = [
    "BatchError",
    "BatchIntegrityError",
    "BatchOptions",
    "BatchSummary",
    "InputSummary",
    "OUTPUT_SUFFIXES",
    "estimate_rows",
    "output_columns",
    "process_chunk",
    "score_files",
]

OUTPUT_SUFFIXES = (".csv", ".jsonl", ".parquet")
ENGINES = ("local", "dask")
DEFAULT_CHUNK_ROWS = 5_000
AUTO_WORKERS_MIN_ROWS = 20_000  # below this, scoring in one process beats starting a pool
STATE_VERSION = 2  # 2: the profile pass (parts/profile.npz), brands and money
HIDDEN_FIELDS = frozenset({"source_html"})  # used for scoring, never copied to the output
GSC_NO_PAGE = "skipped: needs the source page (Search Console rows carry no anchor)"
GSC_NO_TARGET = "skipped: needs the target URL (Search Console rows name only the linking page)"
SOURCE_FILE = "source_file"
_EXPLAIN_FEATURES = tuple(f for f in FEATURE_NAMES if f != "placement_zone")
_FINGERPRINT_BYTES = 64 * 1024
_MAX_EXAMPLES = 5

ProgressCallback = Callable[[int, float], None]


class BatchError(ValueError):
    """The batch cannot run as asked (bad output name, options, or a resume that does not match)."""


class BatchIntegrityError(RuntimeError):
    """Rows read and rows written differ: the output is not published (the parts are kept)."""


# --------------------------------------------------------------------------------------------------
# options and summary


@dataclass(frozen=True)
class BatchOptions:
    """Everything ``linkq score`` can ask of a batch.

    ``column_map`` is the ``--map`` text (``"Their Column=source_url,..."``) or a mapping.
    ``pages`` / ``target_pages`` are folders with ``manifest.csv``; they (and the inputs) must be
    readable by the Dask workers at the same paths. ``workers``: with the local engine, the number
    of scoring processes (None: one per usable core for inputs of four chunks or more, else this
    process alone; see :func:`local_workers`); with Dask, the size of the local cluster (None: 2;
    ignored with ``scheduler``). ``models_dir`` defaults to ``$LINKQ_MODELS`` or ``models/``.
    """

    format: str = "auto"
    column_map: str | Mapping[str, str] | None = None
    model_id: str | None = None
    models_dir: Path | None = None
    pages: Path | None = None
    target_pages: Path | None = None
    engine: str = "local"
    scheduler: str | None = None
    workers: int | None = None
    explain: bool = False
    resume: bool = False
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    brands: tuple[str, ...] = ()  # the user's brand names: anchors naming them are brand anchors
    money: tuple[str, ...] = ()  # the user's money keywords: anchors holding them are money anchors

    def parsed_column_map(self) -> dict[str, str] | None:
        if self.column_map is None:
            return None
        if isinstance(self.column_map, str):
            return parse_column_map(self.column_map) or None
        return dict(self.column_map) or None


@dataclass(frozen=True)
class InputSummary:
    path: str
    format: str
    encoding: str
    rows: int


@dataclass(frozen=True)
class BatchSummary:
    """What a finished batch did; ``lines()`` is the short text for the terminal."""

    out: Path
    model_id: str
    engine: str
    inputs: tuple[InputSummary, ...]
    rows_in: int
    rows_out: int
    seconds: float  # wall time of the whole call
    startup_seconds: float  # of which loading the model / starting the cluster
    verdicts: dict[str, int]
    statuses: dict[str, int]  # scored, scored_without_page, link_missing, skipped, error
    weak_domains: list[tuple[str, int]]  # top 10 registered domains of weak links
    chunks: int
    chunks_resumed: int
    rows_resumed: int
    examples: list[str] = field(default_factory=list)  # first skipped / error rows, "file: status"
    target_pages_used: int = 0
    workers: int = 1  # scoring processes (local engine) or Dask workers asked for
    risks: dict[str, int] = field(default_factory=dict)  # risky / worthless among scored rows
    summary_path: Path | None = None  # the JSON summary written beside the output

    @property
    def ok(self) -> bool:
        return self.rows_in == self.rows_out

    @property
    def rows_per_s(self) -> float:
        """Rows processed by this run (resumed chunks excluded) per second, start-up excluded."""
        busy = self.seconds - self.startup_seconds
        return (self.rows_in - self.rows_resumed) / busy if busy > 0 else 0.0

    def lines(self) -> list[str]:
        resumed = f", {self.chunks_resumed} of {self.chunks} chunks resumed" if self.chunks_resumed else ""
        out = [
            f"model {self.model_id}: {self.rows_in} rows in, {self.rows_out} out in {self.seconds:.1f} s "
            f"(start-up {self.startup_seconds:.1f} s, then {self.rows_per_s:,.0f} rows/s; engine {self.engine}"
            f"{f' x{self.workers}' if self.workers > 1 else ''}{resumed}) -> {self.out}",
            "  inputs:   " + "; ".join(f"{i.path} ({i.format}, {i.rows} rows)" for i in self.inputs),
            "  verdicts: " + (", ".join(f"{k} {v}" for k, v in _by_count(self.verdicts)) or "none")
            + (" (" + ", ".join(f"{k} {v}" for k, v in _by_count(self.risks)) + ")" if self.risks else ""),
            "  status:   " + (", ".join(f"{k} {v}" for k, v in _by_count(self.statuses)) or "none"),
        ]
        if self.weak_domains:
            out.append("  weak referring domains: " + ", ".join(f"{d} ({n})" for d, n in self.weak_domains))
        if self.target_pages_used:
            out.append(f"  target pages used: {self.target_pages_used}")
        out += [f"  e.g. {e}" for e in self.examples]
        if not self.ok:
            out.append(f"  WARNING: {self.rows_in} rows read but {self.rows_out} written")
        return out


def _by_count(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def _estimate(inputs: Sequence[Path]) -> int | None:
    try:
        return estimate_rows(inputs)
    except OSError:
        return None


def estimate_rows(inputs: Sequence[Path], sample_bytes: int = 1 << 20) -> int | None:
    """A quick estimate of the data rows in ``inputs`` (for a progress bar's length): file size times
    the line density of the first MB. None when it cannot tell (a ZIP). Quoted multi-line values and
    preambles make it approximate; use it for display only."""
    total = 0.0
    for path in inputs:
        size = Path(path).stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(sample_bytes)
        if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
            return None
        utf16 = head.startswith((b"\xff\xfe", b"\xfe\xff"))
        newlines = head.count(b"\n\x00" if head.startswith(b"\xff\xfe") else b"\x00\n") if utf16 \
            else head.count(b"\n")
        if not head or not newlines:
            continue
        lines = newlines if len(head) >= size else newlines * size / len(head)
        total += max(0.0, lines - 1)  # the header line
    return round(total)


# --------------------------------------------------------------------------------------------------
# per-chunk work (runs in this process or on a Dask worker)


@dataclass(frozen=True)
class WorkSpec:
    """What a worker needs to score a chunk: plain values, identical on every worker."""

    model_dir: str
    pages: str | None
    target_pages: str | None
    explain: bool
    output: str  # ".csv", ".jsonl" or ".parquet": the part bodies are written in the output's format
    multi: bool  # several inputs: rows start with the source_file column
    profile: str | None = None  # the export's patterns (features.profile), written before scoring starts
    brands: tuple[str, ...] = ()  # the user's brand names (--brand)
    money: tuple[str, ...] = ()  # the user's money keywords (--money)


@dataclass(frozen=True)
class ChunkTask:
    spec: WorkSpec
    input_index: int
    chunk_index: int
    format: str  # the export format of the input (gsc rows are skipped without a target)
    label: str  # the input as given: source_file value and examples
    hidden: frozenset[str]  # original columns not copied to the output (source_html)
    rows: list[ExportRow]

    def __reduce__(self) -> tuple[object, ...]:
        # sent to a pool process or a Dask worker: rows in ExportRow's compact form
        return (_unpack_task, (self.spec, self.input_index, self.chunk_index, self.format, self.label,
                               self.hidden, ExportRow.pack(self.rows)))


def _unpack_task(spec: WorkSpec, input_index: int, chunk_index: int, format: str, label: str,
                 hidden: frozenset[str], packed: tuple[object, ...]) -> ChunkTask:
    return ChunkTask(spec, input_index, chunk_index, format, label, hidden, ExportRow.unpack(packed))


@dataclass(frozen=True)
class ChunkResult:
    input_index: int
    chunk_index: int
    header: dict[str, Any]  # rows, first_line, last_line, columns (original names), stats
    body: bytes  # the rows in the output's format (no header): CSV text, JSON lines or an Arrow stream


_SCORERS: dict[str, Any] = {}
_PAGES: dict[str, Any] = {}
_TARGETS: OrderedDict[tuple[str, str], tuple[str, str] | None] = OrderedDict()
_MAX_TARGETS = 10_000
_TARGET_TEXT_CHARS = 5_000  # target_text is read up to 1,500 characters (features.topical); margin


def _env() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def get_scorer(model_dir: str) -> Any:
    """The Scorer for a model folder, loaded once per process (each Dask worker keeps its own)."""
    folder = Path(model_dir)
    key = f"{model_dir}\x00{(folder / 'metadata.json').stat().st_mtime_ns}"  # a retrained model reloads
    scorer = _SCORERS.get(key)
    if scorer is None:
        _env()
        from .scoring import Scorer

        _SCORERS.clear()
        scorer = _SCORERS[key] = Scorer.load(str(folder), folder.parent)
    return scorer


def _pages(folder: str | None) -> Any:
    if folder is None:
        return None
    got = _PAGES.get(folder)
    if got is None:
        from features.pages import PagesDir

        got = _PAGES[folder] = PagesDir(Path(folder))
    return got


class _ChunkPages:
    """A page source for one chunk that returns the same string for the same URL.

    features.pipeline parses each page once per batch, keyed by a content hash that it caches by the
    string's id(); a fresh string per record (PagesDir.get reads the file again) is freed after its
    record and its id reused, so the same page was parsed up to 5 times per chunk. Holding the strings
    for the chunk (up to ``max_chars``) keeps the ids stable and each page is read and parsed once.
    """

    def __init__(self, inner: Any, max_chars: int = 200_000_000) -> None:
        self.inner = inner
        self.index = getattr(inner, "index", None)
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


def _has_page(pages: Any, url: str) -> bool:
    if pages is None:
        return False
    index = getattr(pages, "index", None)
    if index is not None:
        from features.urls import url_key

        key = url_key(url)
        return key is not None and key in index
    return pages.get(url) is not None


def _target_page(folder: str, url: str) -> tuple[str, str] | None:
    """(title, main text) of the user's own page at ``url``, parsed once per process."""
    from features.urls import url_key

    key = (folder, url_key(url) or url)
    if key in _TARGETS:
        _TARGETS.move_to_end(key)
        return _TARGETS[key]
    got: tuple[str, str] | None = None
    try:
        html = _pages(folder).get(url)
        if html is not None:
            from features.page import parse_page

            page = parse_page(html, url)
            got = (page.title or "", (page.main_text or "")[:_TARGET_TEXT_CHARS])
    except ValueError:  # PageError (binary, too large, missing file) or an unparsable page
        got = None
    _TARGETS[key] = got
    while len(_TARGETS) > _MAX_TARGETS:
        _TARGETS.popitem(last=False)
    return got


def _fill_target(record: dict[str, object], folder: str) -> tuple[dict[str, object], bool]:
    """The record with target_title / target_text filled from the user's page when missing."""
    if record.get("target_title") and record.get("target_text"):
        return record, False
    url = record.get("target_url")
    if not isinstance(url, str) or not url.strip():
        return record, False
    got = _target_page(folder, url)
    if got is None:
        return record, False
    title, text = got
    filled = dict(record)
    if not record.get("target_title") and title.strip():
        filled["target_title"] = title
    if not record.get("target_text") and text.strip():
        filled["target_text"] = text
    return (filled, True) if filled != record else (record, False)


def _score_records(scorer: Any, records: list[dict[str, object]], pages: Any, spec: WorkSpec) -> list[dict]:
    """Scorer.score for a chunk; if the chunk as a whole fails, row by row so that one row cannot
    take its neighbours down."""
    if not records:
        return []
    kw = {"explain": spec.explain, "profile": get_profile(spec.profile), "brands": spec.brands, "money": spec.money}
    try:
        return scorer.score(records, pages, **kw)
    except Exception:  # noqa: BLE001 - fall back to single rows, each with its own error
        out = []
        for rec in records:
            try:
                out.extend(scorer.score([rec], pages, **kw))
            except Exception as exc:  # noqa: BLE001
                out.append({"status": f"error: internal: {type(exc).__name__}: {exc}"})
        return out


def _with_line(status: str, line_no: int) -> str:
    if status.startswith("error: ") and not status.startswith("error: line "):
        return f"error: line {line_no}: {status[7:]}"
    return status


def _status_group(status: str) -> str:
    return status.split(":", 1)[0] if ":" in status else status


def _cell(v: object) -> object:
    if v is None or isinstance(v, str | bool | int):
        return v
    if isinstance(v, float):
        return None if math.isnan(v) else v
    if isinstance(v, list | tuple):
        return "; ".join(str(x) for x in v)
    try:  # numpy scalars
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(v)
    return None if math.isnan(f) else f


_STANDARD_FIELDS = ("score", "verdict", "risk", "reasons", "placement_zone", "status", "flags")


def _joined(v: object) -> object:
    """A list result ("reasons", "flags") as one cell; anything else as :func:`_cell` has it."""
    return "; ".join(v) if type(v) is list and all(type(x) is str for x in v) else _cell(v)


def _feature_cell(v: object) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else float(f"{f:.7g}")  # float32 values, written without noise


@functools.lru_cache(maxsize=16384)
def _netloc_domain(netloc: str) -> str:
    from features.urls import registered_domain

    return registered_domain("http://" + netloc + "/")


def _domain(url: str) -> str:
    """Registered domain of a URL (cached by host: exports repeat domains)."""
    rest = url.split("://", 1)[1] if "://" in url[:12] else url
    netloc = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return _netloc_domain(netloc.lower())


def result_fields() -> tuple[str, ...]:
    """The scorer's result columns (score, verdict, reasons, placement_zone, status, ...)."""
    from .result_fields import RESULT_FIELDS

    return tuple(RESULT_FIELDS)


def _reserved(fields: Sequence[str], explain: bool, multi: bool) -> frozenset[str]:
    return frozenset([*fields, *(_EXPLAIN_FEATURES if explain else ()), *((SOURCE_FILE,) if multi else ())])


def _out_name(column: str, reserved: frozenset[str]) -> str:
    """An input column named like an output column is kept as '<name> (input)'."""
    return f"{column} (input)" if column in reserved else column


def output_columns(originals: Sequence[str], fields: Sequence[str], explain: bool, multi: bool) -> list[str]:
    """Final column names: [source_file], the originals (clashes renamed), results, [features]."""
    reserved = _reserved(fields, explain, multi)
    return ([SOURCE_FILE] if multi else []) + [_out_name(c, reserved) for c in originals] + list(fields) + (
        list(_EXPLAIN_FEATURES) if explain else [])


def _arrow_types(columns: Sequence[str], n_head: int, fields: Sequence[str]) -> list[Any]:
    """Parquet types: inputs and text results as strings, score and features as float64."""
    import pyarrow as pa

    n_fields = len(fields)
    types = [pa.string()] * n_head
    types += [pa.float64() if f == "score" else pa.string() for f in fields]
    types += [pa.float64()] * (len(columns) - n_head - n_fields)
    return types


def _encode_body(output: str, names: list[str], n_head: int, fields: Sequence[str],
                 rows: list[list[object]], prefixes: list[str | None] | None = None) -> bytes:
    """Rows (values in ``names`` order) in the output's format, without a header.

    ``prefixes[i]``, when not None, is row i's first ``n_head`` values already as CSV text (see
    ``ExportRow.csv_cells``): only the rest of the row is encoded."""
    if not rows:
        return b""
    if output == ".csv":
        buf = io.StringIO()
        if prefixes is None or not any(prefixes):
            csv.writer(buf).writerows(rows)  # None is written as an empty cell
            return buf.getvalue().encode("utf-8")
        return _encode_csv_with_prefixes(rows, n_head, prefixes).encode("utf-8")
    if output == ".jsonl":
        dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
        return "".join([dumps(dict(zip(names, r, strict=True))) + "\n" for r in rows]).encode("utf-8")
    import pyarrow as pa

    types = _arrow_types(names, n_head, fields)
    arrays = [pa.array(col, type=t) for col, t in zip(zip(*rows, strict=True), types, strict=True)]
    sink = pa.BufferOutputStream()
    table = pa.Table.from_arrays(arrays, names=names)
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


_COLLECT_EVERY = 5  # chunks between full collections (~7 ms each with warm caches)
_CHUNKS_SCORED = itertools.count(1)  # in this process (each pool process has its own)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Python's cyclic GC off while a chunk is scored, back on (and due) after it.

    Why: a chunk allocates ~100 container objects per row (records, feature dicts, results), so the
    collector runs every few rows and each run walks the caches that have grown (word ids, tree
    contributions, per-host features): measured 16% of the CPU of export-only scoring. Chunk
    objects are freed by reference counting; the few cycles (pandas internals) are collected
    right after the chunk.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            # Every few chunks, collect the cycles, then move what survives (model, caches) out of
            # the collector's sight: later collections (e.g. while the next chunk is unpickled) then
            # walk only new objects, not the ~10^6 cache entries (measured: 2.3 -> 0.3 us per row
            # to unpack a chunk). Frozen objects are still freed when their reference count drops.
            if next(_CHUNKS_SCORED) % _COLLECT_EVERY == 1:
                gc.collect()
                gc.freeze()
            gc.enable()


def _encode_csv_with_prefixes(rows: list[list[object]], n_head: int, prefixes: list[str | None]) -> str:
    """CSV text of ``rows`` where rows with a prefix get it for their first ``n_head`` cells
    (their first ``n_head`` values are not read); the same text ``csv.writer`` gives for the whole
    rows (tested)."""
    buf = io.StringIO()
    csv.writer(buf).writerows([r[n_head:] for r in rows])
    tails: list[str] | None = buf.getvalue().split("\r\n")
    if len(tails) != len(rows) + 1:  # a value held a line break: each row's tail on its own
        tails = None
    one = io.StringIO()
    writer = csv.writer(one)
    out: list[str] = []
    for i, (row, prefix) in enumerate(zip(rows, prefixes, strict=True)):
        if prefix is not None and tails is not None:
            out.append(f"{prefix},{tails[i]}\r\n")
            continue
        one.seek(0)
        one.truncate()
        writer.writerow(row if prefix is None else row[n_head:])
        out.append(one.getvalue() if prefix is None else f"{prefix},{one.getvalue()}")
    return "".join(out)


TOOL_OF_FORMAT = {"ahrefs": "ahrefs", "ahrefs_awt": "ahrefs", "semrush": "semrush", "semrush_legacy": "semrush",
                  "semrush_audit": "semrush", "majestic": "majestic", "moz": "moz", "gsc": "gsc"}


def process_chunk(task: ChunkTask) -> ChunkResult:
    """Score one chunk of export rows; the same function for the local and the Dask engine."""
    with _gc_paused():
        return _process_chunk(task)


def _process_chunk(task: ChunkTask) -> ChunkResult:
    spec = task.spec
    scorer = get_scorer(spec.model_dir)
    pages = _ChunkPages(_pages(spec.pages)) if spec.pages else None
    fields = result_fields()
    rows = task.rows
    n = len(rows)
    statuses: list[str | None] = [None] * n
    todo: list[int] = []
    records: list[dict[str, object]] = []
    target_used = 0
    for i, row in enumerate(rows):
        if row.error is not None or row.record is None:
            statuses[i] = f"error: {row.error or f'line {row.line_no}: unreadable row'}"
            continue
        rec = row.record
        tool = TOOL_OF_FORMAT.get(task.format)
        if tool is not None and "tool" not in rec:  # which tool's scales the metrics are on
            rec["tool"] = tool
        if task.format == "gsc" and not rec.get("target_url"):
            statuses[i] = GSC_NO_TARGET if _has_page(pages, str(rec.get("source_url") or "")) else GSC_NO_PAGE
            continue
        if spec.target_pages is not None:
            rec, used = _fill_target(rec, spec.target_pages)
            target_used += used
        todo.append(i)
        records.append(rec)
    results: list[dict | None] = [None] * n
    for i, res in zip(todo, _score_records(scorer, records, pages, spec), strict=True):
        results[i] = res

    seen: dict[str, None] = {}
    merged: list[list[str]] = []  # shared column lists already merged (rows of one file share one)
    for row in rows:
        shared = row.shared_columns
        if shared is not None:
            if any(shared is m for m in merged):
                continue
            merged.append(shared)
        for k in shared if shared is not None else row.original:
            if k not in task.hidden:
                seen.setdefault(k, None)
    cols = tuple(seen)
    plain = [m for m in merged if tuple(m) == cols]  # rows with these columns copy their values as they are
    reserved = _reserved(fields, spec.explain, spec.multi)
    head = [SOURCE_FILE] if spec.multi else []
    names = head + [_out_name(c, reserved) for c in cols] + list(fields) + (
        list(_EXPLAIN_FEATURES) if spec.explain else [])
    lead = [task.label] if spec.multi else []
    verdicts: Counter[str] = Counter()
    risks: Counter[str] = Counter()
    status_counts: Counter[str] = Counter()
    weak: Counter[str] = Counter()
    examples: list[str] = []
    out_rows: list[list[object]] = []
    standard = tuple(fields) == _STANDARD_FIELDS
    fast_csv = spec.output == ".csv" and not lead and bool(cols)  # copy the user's cells as they are
    prefixes: list[str | None] = []
    for i, row in enumerate(rows):
        res = results[i] or {}
        status = statuses[i] or _with_line(str(res.get("status") or "error: not scored"), row.line_no)
        group = _status_group(status)
        status_counts[group] += 1
        if group in ("error", "skipped") and len(examples) < _MAX_EXAMPLES:
            examples.append(f"{task.label}: {status}")
        verdict = res.get("verdict")
        if verdict:
            verdicts[str(verdict)] += 1
            if res.get("risk"):
                risks[str(res["risk"])] += 1
            if verdict == "weak" and row.record is not None:
                src = row.record.get("source_url")
                if isinstance(src, str) and src:
                    weak[_domain(src)] += 1
        shared = row.shared_columns
        same = any(shared is m for m in plain) if shared is not None else tuple(row.original) == cols
        prefix = row.csv_cells() if fast_csv and same else None
        if prefix is not None:  # the user's cells are copied as one text: not needed one by one
            values: list[object] = [None] * len(cols)
        else:
            orig = row.original
            values = lead + (list(orig.values()) if same else [orig.get(c) for c in cols])
        if fast_csv:
            prefixes.append(prefix)
        if standard:  # the usual result columns, each read the way _cell would
            score = res.get("score")
            values += [None if score is None or score != score else score, res.get("verdict"), res.get("risk"),
                       _joined(res.get("reasons")), res.get("placement_zone"), status, _joined(res.get("flags"))]
        else:
            for f in fields:
                values.append(status if f == "status" else _cell(res.get(f)))
        if spec.explain:
            feats = res.get("features") or {}
            values.extend(_feature_cell(feats.get(f)) for f in _EXPLAIN_FEATURES)
        out_rows.append(values)
    header = {
        "rows": n,
        "first_line": rows[0].line_no if rows else None,
        "last_line": rows[-1].line_no if rows else None,
        "columns": list(cols),
        "fields": list(fields),
        "stats": {
            "verdicts": dict(verdicts),
            "risks": dict(risks),
            "statuses": dict(status_counts),
            "weak_domains": dict(weak),
            "examples": examples,
            "target_pages_used": target_used,
        },
    }
    body = _encode_body(spec.output, names, len(head) + len(cols), fields, out_rows,
                        prefixes if fast_csv else None)
    return ChunkResult(task.input_index, task.chunk_index, header, body)


def _keep_freed_memory() -> None:
    """Ask glibc's malloc to keep and reuse freed memory in this process instead of returning
    every large block to the kernel: each chunk allocates and frees the same tens of MB of numpy
    arrays, and mapping them afresh cost ~1.5 us per row of page faults (measured: 1.2 -> 0.2
    faults per row; peak memory unchanged). A no-op where glibc is not the C library."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 256 * 2**20)  # M_MMAP_THRESHOLD: blocks below 256 MB come from the heap
        libc.mallopt(-1, 512 * 2**20)  # M_TRIM_THRESHOLD: keep up to 512 MB of free heap
    except (OSError, AttributeError):
        pass


def tune_scoring_process() -> None:
    """Set up a process that does nothing but score chunks (a local pool process, a worker of the
    Dask cluster linkq starts): one thread (LightGBM's and torch's OpenMP would otherwise start one
    per core in every process and oversubscribe), freed memory kept (:func:`_keep_freed_memory`).

    scikit-learn is made unimportable, as if it were not installed: LightGBM imports it (and
    SciPy's stats) only to offer its scikit-learn API, which scoring never uses, at ~70 MB per
    process. LightGBM supports running without it; nothing in ``features`` or ``serving`` uses it.
    """
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["MKL_NUM_THREADS"] = "1"
    _keep_freed_memory()
    if "lightgbm" not in sys.modules:
        sys.modules.setdefault("sklearn", None)  # type: ignore[assignment]


_PROFILES: dict[str, Any] = {}


def get_profile(path: str | None) -> Any:
    """The export's ProfileStats from its file, read once per process (None: no profile pass)."""
    if path is None:
        return None
    got = _PROFILES.get(path)
    if got is None:
        from features.profile import ProfileStats

        _PROFILES.clear()  # one export at a time per process
        got = _PROFILES[path] = ProfileStats.from_bytes(Path(path).read_bytes())
    return got


def profile_chunk(rows: list[ExportRow]) -> Any:
    """The profile counts of one chunk (a ProfileBuilder, merged in the reading process): the first
    pass over an export, run by the same engine as the scoring."""
    from features.profile import ProfileBuilder

    return ProfileBuilder().add_all(row.record for row in rows)


def _build_profile(engine: Any, inputs: Sequence[Path], opts: BatchOptions, column_map: dict[str, str] | None,
                   path: Path) -> None:
    """One pass over every input (all the rows of this run are one profile), in the engine's
    processes, merged here and written to ``path`` (atomically: a resumed run reuses it)."""
    from features.profile import ProfileBuilder

    total = ProfileBuilder()
    for p in inputs:
        _, chunks = read_export(p, opts.format, column_map, opts.chunk_rows)
        for part in engine.map(profile_chunk, chunks):
            total.merge(part)
    _atomic_write(path, total.build().to_bytes())


def _pool_worker(spec: WorkSpec) -> None:
    """Initializer of a local pool process: tuned for scoring, then the model loaded."""
    tune_scoring_process()
    warm_worker(spec)


def warm_worker(spec: WorkSpec) -> str:
    """Load the model (and open the page folders) in this process; returns the model id."""
    scorer = get_scorer(spec.model_dir)
    _pages(spec.pages)
    _pages(spec.target_pages)
    return str(scorer.model.model_id)


# --------------------------------------------------------------------------------------------------
# engines: ordered map of tasks to results, with a bounded number in flight


@dataclass(frozen=True)
class _Done:
    """A chunk already committed by an interrupted run (resume): passed through in order."""

    input_index: int
    chunk_index: int
    rows: int


def _ordered(items: Iterable[ChunkTask | _Done], submit: Callable[[ChunkTask], Any],
             slots: int) -> Iterator[ChunkResult | _Done]:
    """Submit tasks as futures with at most ``slots`` in flight; yield results in input order
    (``_Done`` items pass through in their place). Pending futures are cancelled on exit."""
    pending: deque[Any] = deque()
    in_flight = 0
    try:
        for item in items:
            if isinstance(item, _Done):
                pending.append(item)
            else:
                pending.append(submit(item))
                in_flight += 1
            while pending and (isinstance(pending[0], _Done) or in_flight >= slots):
                head = pending.popleft()
                if not isinstance(head, _Done):
                    in_flight -= 1
                    head = head.result()
                yield head
        while pending:
            head = pending.popleft()
            yield head if isinstance(head, _Done) else head.result()
    finally:
        for f in pending:
            if not isinstance(f, _Done):
                f.cancel()


def usable_cores() -> int:
    """CPU cores this process may run on (the affinity mask, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def local_workers(requested: int | None, estimated_rows: int | None, chunk_rows: int) -> int:
    """Scoring processes for the local engine: ``requested`` if given; else one per usable core
    (at most 8) for inputs of at least 20,000 rows and two chunks, else 1, in this process
    (starting the processes costs ~2-4 s, about what one process needs for 20,000 export rows)."""
    if requested is not None:
        if requested < 1:
            raise BatchError(f"workers must be at least 1, got {requested}")
        return requested
    if estimated_rows is None or estimated_rows < max(AUTO_WORKERS_MIN_ROWS, 2 * chunk_rows):
        return 1
    return min(8, usable_cores())


class _LocalEngine:
    """Chunks scored in this process (``workers == 1``) or in a pool of ``workers`` processes, each
    loading the model once; results are taken in input order, two chunks per process in flight."""

    name = "local"

    def __init__(self, spec: WorkSpec, workers: int = 1) -> None:
        self.spec = spec
        self.workers = workers
        self._pool: Any = None

    def __enter__(self) -> _LocalEngine:
        if self.workers > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # spawn: a fresh interpreter, safe whatever threads this process runs (fork is not)
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_pool_worker, initargs=(self.spec,))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def start(self) -> None:
        if self._pool is None:
            warm_worker(self.spec)
            return
        # every process loads the model in its initializer; wait for them, surfacing load errors now
        for f in [self._pool.submit(warm_worker, self.spec) for _ in range(self.workers)]:
            f.result()

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        """``fn`` of each item, in order, in the pool's processes (here without a pool)."""
        if self._pool is None:
            yield from map(fn, items)
            return
        yield from _ordered(items, lambda item: self._pool.submit(fn, item), 2 * self.workers)

    def run(self, items: Iterable[ChunkTask | _Done]) -> Iterator[ChunkResult | _Done]:
        if self._pool is None:
            for item in items:
                yield item if isinstance(item, _Done) else process_chunk(item)
            return
        yield from _ordered(items, lambda task: self._pool.submit(process_chunk, task), 2 * self.workers)


class _DaskEngine:
    """Chunks as Dask futures, at most two per worker in flight, results taken in input order."""

    name = "dask"

    def __init__(self, spec: WorkSpec, scheduler: str | None, workers: int) -> None:
        self.spec = spec
        self.scheduler = scheduler
        self.workers = workers
        self._stack = contextlib.ExitStack()
        self.client: Any = None

    def __enter__(self) -> _DaskEngine:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise BatchError(
                "the dask engine needs Dask, an optional extra: pip install 'linkq[dask]'"
            ) from exc
        import logging

        try:
            if self.scheduler:
                self.client = self._stack.enter_context(Client(self.scheduler, timeout="30s"))
            else:
                if self.workers < 1:
                    raise BatchError(f"workers must be at least 1, got {self.workers}")
                cluster = self._stack.enter_context(
                    LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                 dashboard_address=":0", silence_logs=logging.ERROR)
                )
                self.client = self._stack.enter_context(Client(cluster))
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def start(self) -> None:
        if not self.client.scheduler_info().get("workers"):
            self.client.wait_for_workers(1, timeout=120)
        if not self.scheduler:
            # our own cluster's processes are tuned like the local pool's: Dask's nanny starts them
            # with MALLOC_TRIM_THRESHOLD_=65536, which hands freed memory back to the kernel after
            # every chunk (measured: 147 -> 99 us of CPU per row). A cluster given by address is
            # left as its owner set it up (the README says how to start workers for linkq).
            self.client.run(tune_scoring_process)
        self.client.run(warm_worker, self.spec)  # load the model in every worker, in parallel

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        """``fn`` of each item, in order, on the cluster's workers."""
        slots = 2 * max(1, len(self.client.scheduler_info().get("workers", {})))
        yield from _ordered(items, lambda item: self.client.submit(fn, item, pure=False), slots)

    def run(self, items: Iterable[ChunkTask | _Done]) -> Iterator[ChunkResult | _Done]:
        slots = 2 * max(1, len(self.client.scheduler_info().get("workers", {})))
        yield from _ordered(items, lambda task: self.client.submit(process_chunk, task, pure=False), slots)


# --------------------------------------------------------------------------------------------------
# parts folder, state, fingerprints


def _file_fingerprint(path: Path) -> dict[str, object]:
    st = path.stat()
    h = hashlib.sha256()
    with path.open("rb") as fh:
        h.update(fh.read(_FINGERPRINT_BYTES))
        if st.st_size > 2 * _FINGERPRINT_BYTES:
            fh.seek(-_FINGERPRINT_BYTES, os.SEEK_END)
        h.update(fh.read(_FINGERPRINT_BYTES))
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "sha256_ends": h.hexdigest()[:32]}


def _folder_fingerprint(folder: Path | None) -> dict[str, object] | None:
    if folder is None:
        return None
    manifest = Path(folder) / "manifest.csv"
    st = manifest.stat() if manifest.is_file() else None
    return {"path": str(Path(folder).resolve()), "manifest_size": st.st_size if st else None,
            "manifest_mtime_ns": st.st_mtime_ns if st else None}


def _model_fingerprint(model_dir: Path) -> dict[str, object]:
    meta = (model_dir / "metadata.json").read_bytes()
    return {"model_id": model_dir.name, "metadata_sha256": hashlib.sha256(meta).hexdigest()[:32]}


def _part_stem(input_index: int, chunk_index: int) -> str:
    return f"part-{input_index:05d}-{chunk_index:07d}"


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _commit_part(parts: Path, res: ChunkResult) -> None:
    """Body first, then the header: a part exists (is committed) once its .json header exists."""
    stem = _part_stem(res.input_index, res.chunk_index)
    _atomic_write(parts / f"{stem}.body", res.body)
    _atomic_write(parts / f"{stem}.json", json.dumps(res.header, ensure_ascii=False).encode("utf-8"))


def _read_header(parts: Path, stem: str) -> dict[str, Any] | None:
    path = parts / f"{stem}.json"
    if not path.is_file() or not (parts / f"{stem}.body").is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None


def _prepare_parts(parts: Path, state: dict[str, Any], resume: bool) -> bool:
    """Create or reuse the parts folder; True when it holds an interrupted run to resume."""
    state_file = parts / "state.json"
    if parts.exists() and resume and state_file.is_file():
        try:
            old = json.loads(state_file.read_text(encoding="utf-8"))
        except ValueError:
            old = None
        if old != state:
            raise BatchError(_resume_mismatch(old, state, parts))
        for tmp in parts.glob(".*.tmp"):
            tmp.unlink()
        return True
    if parts.exists():
        shutil.rmtree(parts)
    parts.mkdir(parents=True)
    _atomic_write(state_file, (json.dumps(state, indent=1, sort_keys=True) + "\n").encode("utf-8"))
    return False


def _resume_mismatch(old: dict[str, Any] | None, new: dict[str, Any], parts: Path) -> str:
    if not isinstance(old, dict):
        return f"cannot resume: {parts}/state.json is unreadable; run without --resume to start over"
    changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    what = ", ".join("the input files" if k == "inputs" else k for k in changed)
    return (f"cannot resume: {what} changed since the interrupted run ({parts}); "
            "run without --resume to start over")


# --------------------------------------------------------------------------------------------------
# assembling the final file


def _assemble(parts: Path, stems: list[str], headers: list[dict[str, Any]], out: Path, originals: list[str],
              fields: tuple[str, ...], explain: bool, multi: bool) -> tuple[Path, int]:
    """Concatenate the part bodies into a temporary file next to ``out``; returns it and the number
    of rows it holds, counted by reading it back. The caller renames it over ``out``."""
    suffix = out.suffix.lower()
    columns = output_columns(originals, fields, explain, multi)
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        if suffix == ".csv":
            _assemble_csv(parts, stems, headers, tmp, columns, originals, multi)
        elif suffix == ".jsonl":
            with tmp.open("wb") as fh:
                for stem in stems:
                    with (parts / f"{stem}.body").open("rb") as src:
                        shutil.copyfileobj(src, fh, 1 << 20)
                fh.flush()
                os.fsync(fh.fileno())
        else:
            _assemble_parquet(parts, stems, tmp, columns, fields, explain)
        return tmp, _count_rows(tmp, suffix)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class _StreamingAssembly:
    """Writes the output while the run goes, so that its end only renames a file.

    Each committed part (in input order, resumed ones read back from the parts folder) is appended
    to a temporary file next to ``out``; the rows are those the part's header counts, and the file
    is checked at the end to hold exactly the header line plus every body appended (its size on
    disk), instead of being assembled and read back after the last chunk (~5 s per million rows
    during which the scoring processes would sit idle). A CSV needs its columns up front: those of
    the inputs. A part with other columns (JSON lines with other keys, the ``(extra N)`` cells of a
    row with too many fields) or a Parquet output turns streaming off; the parts are then assembled
    at the end as before.
    """

    def __init__(self, out: Path, originals: list[str], fields: tuple[str, ...], explain: bool,
                 multi: bool, enabled: bool) -> None:
        self.suffix = out.suffix.lower()
        self.originals = originals
        self.active = enabled and self.suffix in (".csv", ".jsonl")
        self.rows = 0
        self.size = 0
        self.tmp: Path | None = None
        self._fh: Any = None
        if not self.active:
            return
        fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent)
        self.tmp = Path(name)
        self._fh = os.fdopen(fd, "wb")
        if self.suffix == ".csv":
            buf = io.StringIO()
            csv.writer(buf).writerow(output_columns(originals, fields, explain, multi))
            self._write(buf.getvalue().encode("utf-8"))

    def _write(self, data: bytes) -> None:
        self._fh.write(data)
        self.size += len(data)

    def add(self, header: dict[str, Any], body: bytes) -> None:
        if not self.active:
            return
        if self.suffix == ".csv" and header["columns"] != self.originals:
            self.discard()
            return
        self._write(body)
        self.rows += header["rows"]

    def finish(self) -> tuple[Path, int] | None:
        """(the complete temporary file, its rows), or None when streaming was turned off."""
        if not self.active or self.tmp is None:
            return None
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        self._fh = None
        if self.tmp.stat().st_size != self.size:
            self.tmp.unlink(missing_ok=True)
            raise BatchIntegrityError(f"{self.tmp} holds {self.tmp.stat().st_size} bytes, {self.size} were written")
        return self.tmp, self.rows

    def discard(self) -> None:
        self.active = False
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)


def _assemble_csv(parts: Path, stems: list[str], headers: list[dict[str, Any]], tmp: Path, columns: list[str],
                  originals: list[str], multi: bool) -> None:
    lead = 1 if multi else 0
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerow(columns)
        fh.flush()
        for stem, h in zip(stems, headers, strict=True):
            body = parts / f"{stem}.body"
            if h["columns"] == originals:  # the usual case: the part's rows are final as they are
                with body.open("rb") as src:
                    shutil.copyfileobj(src, fh.buffer, 1 << 20)
                fh.buffer.flush()
                continue
            position = [originals.index(c) for c in h["columns"]]  # inputs with other columns
            k = len(position)
            writer = csv.writer(fh)
            with body.open(encoding="utf-8", newline="") as src:
                for row in csv.reader(src):
                    mapped = [""] * len(originals)
                    for j, v in zip(position, row[lead: lead + k], strict=True):
                        mapped[j] = v
                    writer.writerow(row[:lead] + mapped + row[lead + k:])
            fh.flush()
        fh.flush()
        os.fsync(fh.fileno())


def _assemble_parquet(parts: Path, stems: list[str], tmp: Path, columns: list[str], fields: tuple[str, ...],
                      explain: bool) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    n_head = len(columns) - len(fields) - (len(_EXPLAIN_FEATURES) if explain else 0)
    types = _arrow_types(columns, n_head, fields)
    schema = pa.schema([pa.field(c, t) for c, t in zip(columns, types, strict=True)])
    with pq.ParquetWriter(str(tmp), schema, compression="zstd") as writer:
        for stem in stems:
            data = (parts / f"{stem}.body").read_bytes()
            if not data:
                continue
            table = pa.ipc.open_stream(pa.BufferReader(data)).read_all()
            have = set(table.column_names)
            arrays = [table.column(f.name).cast(f.type) if f.name in have else pa.nulls(table.num_rows, f.type)
                      for f in schema]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))


def _count_rows(path: Path, suffix: str) -> int:
    """Rows in a finished output file, read back (CSV records may span lines)."""
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(str(path)).metadata.num_rows)
    if suffix == ".jsonl":
        n = 0
        with path.open("rb") as fh:
            while block := fh.read(1 << 22):
                n += block.count(b"\n")
        return n
    with path.open(encoding="utf-8", newline="") as fh:
        return max(0, sum(1 for _ in csv.reader(fh)) - 1)


# --------------------------------------------------------------------------------------------------
# the entry point


def _chunk_has_column(rows: list[ExportRow], name: str) -> bool:
    """Whether a row of the chunk has column ``name``; rows sharing their file's column list
    (the usual chunk) are answered by one look at it."""
    first = rows[0].shared_columns if rows else None
    if first is not None and all(r.shared_columns is first for r in rows):
        return name in first
    return any(r.has_column(name) for r in rows)


def _hidden(info: ExportInfo) -> frozenset[str]:
    return frozenset(c for c in info.columns
                     if c.strip().lower() in HIDDEN_FIELDS or info.mapping.get(c) in HIDDEN_FIELDS)


def score_files(
    inputs: Sequence[Path],
    out: Path,
    options: BatchOptions | None = None,
    progress: ProgressCallback | None = None,
) -> BatchSummary:
    """Score every row of ``inputs`` into ``out`` (.csv, .jsonl or .parquet); see the module doc.

    ``progress(rows_done, rows_per_s)`` is called after each committed chunk (rows of resumed
    chunks included in ``rows_done``, not in the rate); an exception it raises stops the run like an
    interruption: committed chunks stay in ``<out>.parts/`` for ``resume=True``. Raises
    ExportFormatError for an input that is not a backlink export (before any work), BatchError for
    bad options or a resume whose inputs or options changed, FileNotFoundError for a missing model
    or page folder, BatchIntegrityError if rows read and rows written differ.
    """
    opts = options or BatchOptions()
    t0 = time.perf_counter()
    out = Path(out)
    inputs = [Path(p) for p in inputs]
    suffix = out.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise BatchError(f"output must end in {', '.join(OUTPUT_SUFFIXES)}; got {out.name!r}")
    if not inputs:
        raise BatchError("no input file given")
    if opts.engine not in ENGINES:
        raise BatchError(f"unknown engine {opts.engine!r}; choose one of {', '.join(ENGINES)}")
    if opts.scheduler and opts.engine != "dask":
        raise BatchError("a scheduler address is for the dask engine: add engine='dask' (--engine dask)")
    if opts.chunk_rows < 1:
        raise BatchError(f"chunk_rows must be at least 1, got {opts.chunk_rows}")
    for p in inputs:
        if p.resolve() == out.resolve():
            raise BatchError(f"the output {out} is also an input; choose another --out")
    for folder in (opts.pages, opts.target_pages):
        if folder is not None and not (Path(folder) / "manifest.csv").is_file():
            raise FileNotFoundError(f"{folder} has no manifest.csv (columns: url,file)")

    column_map = opts.parsed_column_map()
    plans = [read_export(p, opts.format, column_map, opts.chunk_rows) for p in inputs]  # fails fast

    from features.artifact import default_models_dir, resolve_model_dir

    models_dir = Path(opts.models_dir) if opts.models_dir else default_models_dir()
    model_dir = resolve_model_dir(models_dir, opts.model_id).resolve()
    multi = len(inputs) > 1
    parts = out.with_name(out.name + ".parts")
    profile_path = parts / "profile.npz"
    spec = WorkSpec(
        model_dir=str(model_dir),
        pages=str(Path(opts.pages).resolve()) if opts.pages else None,
        target_pages=str(Path(opts.target_pages).resolve()) if opts.target_pages else None,
        explain=opts.explain,
        output=suffix,
        multi=multi,
        profile=str(profile_path.resolve()),
        brands=tuple(opts.brands),
        money=tuple(opts.money),
    )
    fields = result_fields()
    labels = [str(p) for p in inputs]
    state = {
        "version": STATE_VERSION,
        "inputs": [_file_fingerprint(p) for p in inputs],
        "labels": labels,
        "format": opts.format,
        "column_map": sorted(column_map.items()) if column_map else None,
        "model": _model_fingerprint(model_dir),
        "pages": _folder_fingerprint(opts.pages),
        "target_pages": _folder_fingerprint(opts.target_pages),
        "explain": opts.explain,
        "chunk_rows": opts.chunk_rows,
        "output": suffix,
        "fields": list(fields),
        "brands": list(opts.brands),
        "money": list(opts.money),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    _prepare_parts(parts, state, opts.resume)

    counts = [0] * len(inputs)
    stems: list[str] = []
    resumed = [0, 0]  # chunks, rows

    def items() -> Iterator[ChunkTask | _Done]:
        for i, (info, chunks) in enumerate(plans):
            hidden = _hidden(info)
            for k, rows in enumerate(chunks):
                counts[i] += len(rows)
                stem = _part_stem(i, k)
                stems.append(stem)
                h = _read_header(parts, stem) if opts.resume else None
                if h is not None:
                    if (h["rows"], h["first_line"], h["last_line"]) != (len(rows), rows[0].line_no,
                                                                         rows[-1].line_no):
                        raise BatchError(f"cannot resume: {inputs[i]} no longer matches {stem}; "
                                         "run without --resume to start over")
                    resumed[0] += 1
                    resumed[1] += len(rows)
                    yield _Done(i, k, len(rows))
                    continue
                extra = frozenset(k for k in HIDDEN_FIELDS if _chunk_has_column(rows, k))
                yield ChunkTask(spec, i, k, info.format, labels[i], hidden | extra, rows)

    if opts.engine == "local":
        n_workers = local_workers(opts.workers, _estimate(inputs), opts.chunk_rows)
        engine: _LocalEngine | _DaskEngine = _LocalEngine(spec, n_workers)
    else:
        engine = _DaskEngine(spec, opts.scheduler, 2 if opts.workers is None else opts.workers)
    done_rows = 0
    known: dict[str, None] = {}  # the inputs' columns: the output's, unless a part brings others
    for info, _ in plans:
        hidden = _hidden(info)
        known.update((c, None) for c in info.columns if c not in hidden)
    stream = _StreamingAssembly(out, list(known), fields, opts.explain, multi,
                                enabled=all(info.format != "jsonl" for info, _ in plans))
    try:
        with engine:
            engine.start()
            if not (opts.resume and profile_path.is_file()):
                _build_profile(engine, inputs, opts, column_map, profile_path)
            t_work = time.perf_counter()
            for res in engine.run(items()):
                if isinstance(res, ChunkResult):
                    _commit_part(parts, res)
                    stream.add(res.header, res.body)
                    done_rows += res.header["rows"]
                else:
                    if stream.active:  # a chunk done by the interrupted run: its committed body
                        stem = _part_stem(res.input_index, res.chunk_index)
                        h = _read_header(parts, stem)
                        if h is None:
                            stream.discard()  # the end says which part is missing
                        else:
                            stream.add(h, (parts / f"{stem}.body").read_bytes())
                    done_rows += res.rows
                if progress is not None:
                    progress(done_rows, (done_rows - resumed[1]) / max(time.perf_counter() - t_work, 1e-9))
        streamed = stream.finish()
    except BaseException:
        stream.discard()
        raise

    rows_in = sum(counts)
    headers = []
    for stem in stems:
        h = _read_header(parts, stem)
        if h is None:
            raise BatchIntegrityError(f"part {stem} is missing from {parts}; run again with --resume")
        headers.append(h)
    if streamed is not None:
        tmp, rows_out = streamed
    else:
        originals = dict(known)
        for h in headers:
            originals.update((c, None) for c in h["columns"] if c not in originals)
        tmp, rows_out = _assemble(parts, stems, headers, out, list(originals), fields, opts.explain, multi)
    in_parts = sum(h["rows"] for h in headers)
    if not rows_in == in_parts == rows_out == done_rows:
        tmp.unlink(missing_ok=True)
        raise BatchIntegrityError(
            f"{rows_in} rows read, {in_parts} in the parts, {rows_out} in the assembled file: the output "
            f"was not written; the parts are kept in {parts}"
        )
    os.replace(tmp, out)
    shutil.rmtree(parts, ignore_errors=True)

    verdicts: Counter[str] = Counter()
    risks: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    weak: Counter[str] = Counter()
    examples: list[str] = []
    target_used = 0
    for h in headers:
        st = h["stats"]
        verdicts.update(st["verdicts"])
        risks.update(st.get("risks", {}))
        statuses.update(st["statuses"])
        weak.update(st["weak_domains"])
        examples.extend(st["examples"][: max(0, _MAX_EXAMPLES - len(examples))])
        target_used += st.get("target_pages_used", 0)
    summary = BatchSummary(
        out=out,
        model_id=model_dir.name,
        engine=opts.engine,
        inputs=tuple(InputSummary(labels[i], info.format, info.encoding, counts[i])
                     for i, (info, _) in enumerate(plans)),
        rows_in=rows_in,
        rows_out=rows_out,
        seconds=time.perf_counter() - t0,
        startup_seconds=t_work - t0,
        verdicts=dict(verdicts),
        statuses=dict(statuses),
        weak_domains=sorted(weak.items(), key=lambda kv: (-kv[1], kv[0]))[:10],
        chunks=len(stems),
        chunks_resumed=resumed[0],
        rows_resumed=resumed[1],
        examples=examples,
        target_pages_used=target_used,
        workers=engine.workers,
        risks=dict(risks),
    )
    return dataclasses.replace(summary, summary_path=write_summary(summary, inputs, opts, model_dir))


def linkq_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("linkq")
    except PackageNotFoundError:
        return "unknown"


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def write_summary(summary: BatchSummary, inputs: Sequence[Path], opts: BatchOptions, model_dir: Path) -> Path:
    """``<out>.summary.json`` beside the scored file: what made it (linkq version, model id and the
    sha256 of its files, the inputs' sha256 and rows, the options) and what it holds (verdicts, risk,
    statuses: lost links counted apart), so a scored file can be traced and compared later."""
    from datetime import UTC, datetime

    doc = {
        "scored_file": summary.out.name,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "linkq_version": linkq_version(),
        "model": {"id": summary.model_id,
                  "sha256": {f.name: _sha256(f) for f in sorted(model_dir.iterdir()) if f.is_file()}},
        "inputs": [{"path": str(p), "format": i.format, "encoding": i.encoding, "rows": i.rows,
                    "bytes": p.stat().st_size, "sha256": _sha256(p)} for p, i in zip(inputs, summary.inputs, strict=True)],
        "options": {"pages": str(opts.pages) if opts.pages else None, "explain": opts.explain,
                    "brands": list(opts.brands), "money": list(opts.money), "format": opts.format,
                    "engine": summary.engine},
        "rows_in": summary.rows_in,
        "rows_out": summary.rows_out,
        "verdicts": summary.verdicts,
        "risk": summary.risks,
        "statuses": summary.statuses,
    }
    path = summary.out.with_name(summary.out.name + ".summary.json")
    _atomic_write(path, (json.dumps(doc, indent=2) + "\n").encode("utf-8"))
    return path
