"""The scored table: export rows in, the rows of ``linkq score``'s output out.

One step, :func:`score_rows`, used by every batch engine (one process, the pool, Dask) and by the
HTTP service's ``POST /score_export``, so that both give the same table for the same file: which
rows go to the scorer (unreadable rows become ``error: line N: <why>``, Search Console rows without a
target are ``skipped``), the user's columns (``source_html`` hidden, a column named like an output
column kept as ``"<name> (input)"``), the result columns (``score, verdict, reasons,
placement_zone, status, flags``; list results joined with ``"; "``), with ``explain`` every feature
value, and the rows encoded in the output's format (CSV, JSON lines or an Arrow stream for
Parquet). :func:`output_columns` names the final columns for the process that writes the file.

This module stays light (no pandas, LightGBM or page parser): the process that reads the exports
and writes the output imports it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from features.pages import PageSource, TargetPages
from features.recordio import _FORMULA_START, defuse
from features.records import LinkRecord
from features.schema import FEATURE_NAMES

from .export_records import link_records
from .exports import ExportInfo, ExportRow

__all__ = [
    "GSC_NO_PAGE",
    "GSC_NO_TARGET",
    "HIDDEN_FIELDS",
    "SOURCE_FILE",
    "ScoreFn",
    "TableSpec",
    "chunk_hidden",
    "hidden_columns",
    "join_list",
    "output_columns",
    "result_fields",
    "score_rows",
    "split_list",
]

MAX_EXAMPLES = 5  # error / skipped rows quoted per chunk for the summary
LIST_SEPARATOR = "; "  # how a list result (reasons, flags) is written in one cell

ScoreFn = Callable[[list[dict[str, object] | LinkRecord]], list[dict]]
"""Scores records (canonical mappings, or export rows' validated records) in order:
``Scorer.score`` with the batch's pages and ``explain``, or the HTTP service's scoring queue."""


@dataclass(frozen=True)
class TableSpec:
    """How a table is written: ``output`` is ".csv", ".jsonl" or ".parquet"; ``multi``: several
    inputs, rows start with the ``source_file`` column (``label``)."""

    output: str = ".csv"
    explain: bool = False
    multi: bool = False


def join_list(values: Sequence[object]) -> str:
    """A list result as one cell (``"a; b"``)."""
    return LIST_SEPARATOR.join(str(x) for x in values)


def split_list(cell: str | None) -> list[str]:
    """A list cell back as a list: ``"a; b"`` as :func:`join_list` writes it, or a JSON list (JSON
    lines written by other tools); items stripped, an empty cell is no item."""
    s = (cell or "").strip()
    if s.startswith("["):
        with contextlib.suppress(ValueError):
            items = json.loads(s)
            if isinstance(items, list):
                return [str(x).strip() for x in items if str(x).strip()]
    return [p.strip() for p in s.split(LIST_SEPARATOR) if p.strip()]


HIDDEN_FIELDS = frozenset({"source_html"})  # used for scoring, never copied to the output
GSC_NO_PAGE = "skipped: needs the source page (Search Console rows carry no anchor)"
GSC_NO_TARGET = "skipped: needs the target URL (Search Console rows name only the linking page)"
SOURCE_FILE = "source_file"
EXPLAIN_FEATURES = tuple(f for f in FEATURE_NAMES if f != "placement_zone")


def score_isolated(score: ScoreFn, records: list[dict[str, object] | LinkRecord]) -> list[dict]:
    """``score`` for a chunk; if the chunk as a whole fails, row by row so that one row cannot
    take its neighbours down."""
    if not records:
        return []
    try:
        return score(records)
    except Exception:  # noqa: BLE001 - fall back to single rows, each with its own error
        out = []
        for rec in records:
            try:
                out.extend(score([rec]))
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
        return join_list(v)
    try:  # numpy scalars
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(v)
    return None if math.isnan(f) else f


_STANDARD_FIELDS = ("score", "verdict", "risk", "reasons", "placement_zone", "status", "flags")

# Which tool's scales an export's metrics are on (features.records.METRIC_FIELDS: "tool").
TOOL_OF_FORMAT = {"ahrefs": "ahrefs", "ahrefs_awt": "ahrefs", "semrush": "semrush", "semrush_legacy": "semrush",
                  "semrush_audit": "semrush", "majestic": "majestic", "moz": "moz", "gsc": "gsc"}


def _joined(v: object) -> object:
    """A list result ("reasons", "flags") as one cell; anything else as :func:`_cell` has it."""
    if type(v) is list:
        try:
            return LIST_SEPARATOR.join(v)  # a list of text (join refuses anything else)
        except TypeError:
            pass
    return _cell(v)


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
    from features.source_kind import referring_site
    from features.urls import host_of

    host = host_of("http://" + netloc + "/")
    return referring_site(host) if host else ""


def _domain(url: str) -> str:
    """Referring site of a URL (``features.source_kind.referring_site``; cached by host: exports
    repeat domains)."""
    rest = url.split("://", 1)[1] if "://" in url[:12] else url
    netloc = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return _netloc_domain(netloc.lower())


def result_fields() -> tuple[str, ...]:
    """The scorer's result columns (score, verdict, reasons, placement_zone, status, ...)."""
    from .result_fields import RESULT_FIELDS

    return tuple(RESULT_FIELDS)


def _reserved(fields: Sequence[str], explain: bool, multi: bool) -> frozenset[str]:
    return frozenset([*fields, *(EXPLAIN_FEATURES if explain else ()), *((SOURCE_FILE,) if multi else ())])


def _out_name(column: str, reserved: frozenset[str]) -> str:
    """An input column named like an output column is kept as '<name> (input)'."""
    return f"{column} (input)" if column in reserved else column


def output_columns(originals: Sequence[str], fields: Sequence[str], explain: bool, multi: bool) -> list[str]:
    """Final column names: [source_file], the originals (clashes renamed), results, [features]."""
    reserved = _reserved(fields, explain, multi)
    return ([SOURCE_FILE] if multi else []) + [_out_name(c, reserved) for c in originals] + list(fields) + (
        list(EXPLAIN_FEATURES) if explain else [])


def arrow_types(columns: Sequence[str], n_head: int, fields: Sequence[str]) -> list[Any]:
    """Parquet types: inputs and text results as strings, score and features as float64."""
    import pyarrow as pa

    n_fields = len(fields)
    types = [pa.string()] * n_head
    types += [pa.float64() if f == "score" else pa.string() for f in fields]
    types += [pa.float64()] * (len(columns) - n_head - n_fields)
    return types


# a line of plain cells (ExportRow.csv_cells) with such a cell: its cells are then written one by one
_FORMULA_IN_LINE = re.compile(r"(?:^|,)(?:[=@\t\r]|[+-](?!,|$))")
# what every such cell after the first shows: a comma and a formula character (a pattern that starts
# with a literal is searched ~10x faster than the one above, which tries every position)
_FORMULA_AFTER_COMMA = re.compile(r",[-=@+\t\r]")
_FORMULA_FIRST = frozenset("=@\t\r+-")


def _has_formula_cell(line: str) -> bool:
    """Whether a line of plain cells has a cell a spreadsheet would read as a formula
    (``_FORMULA_IN_LINE``; equal, tested): the exact pattern runs only on lines that may have one."""
    if not (line[:1] in _FORMULA_FIRST or _FORMULA_AFTER_COMMA.search(line)):
        return False
    return _FORMULA_IN_LINE.search(line) is not None


def _defused(rows: list[list[object]]) -> list[list[object]]:
    """Rows with every formula-looking text cell defused (rows without one are kept as they are)."""
    out = rows
    for i, row in enumerate(rows):
        if any(type(v) is str and v and v[0] in _FORMULA_START for v in row):
            if out is rows:
                out = list(rows)
            out[i] = [defuse(v) for v in row]
    return out


def _encode_body(output: str, names: list[str], n_head: int, fields: Sequence[str],
                 rows: list[list[object]], prefixes: list[str | None] | None = None) -> bytes:
    """Rows (values in ``names`` order) in the output's format, without a header.

    ``prefixes[i]``, when not None, is row i's first ``n_head`` values already as CSV text (see
    ``ExportRow.csv_cells``): row i then holds only the rest of its values."""
    if not rows:
        return b""
    if output == ".csv":
        if prefixes is None or not any(prefixes):
            return "".join(csv_lines(_defused(rows))).encode("utf-8")  # None is written as an empty cell
        return _encode_csv_with_prefixes(rows, prefixes).encode("utf-8")
    if output == ".jsonl":
        dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
        return "".join([dumps(dict(zip(names, r, strict=True))) + "\n" for r in rows]).encode("utf-8")
    import pyarrow as pa

    types = arrow_types(names, n_head, fields)
    arrays = [pa.array(col, type=t) for col, t in zip(zip(*rows, strict=True), types, strict=True)]
    sink = pa.BufferOutputStream()
    table = pa.Table.from_arrays(arrays, names=names)
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _csv_cell(v: object) -> str:
    """One value as ``csv.writer`` (excel dialect, minimal quoting) writes it: None empty, other
    values as ``str`` gives them, quoted when they hold a comma, a quote or a line break."""
    text = v if type(v) is str else "" if v is None else str(v)
    if '"' in text:
        return '"' + text.replace('"', '""') + '"'
    if "," in text or "\n" in text or "\r" in text:
        return '"' + text + '"'
    return text


def csv_lines(rows: list[list[object]]) -> list[str]:
    """Each row as the line ``csv.writer(...).writerow`` writes (``\\r\\n`` included): the same text
    (tested on arbitrary values), ~5x cheaper on the long reasons cells, whose every character
    the C writer inspects one by one (measured: 13 -> 2 us a row of results)."""
    out = []
    for row in rows:
        if len(row) == 1 and (row[0] is None or row[0] == ""):
            out.append('""\r\n')  # csv.writer's one empty field (a bare line would be no field)
        else:
            out.append(",".join([_csv_cell(v) for v in row]) + "\r\n")
    return out


def _encode_csv_with_prefixes(rows: list[list[object]], prefixes: list[str | None]) -> str:
    """CSV text of ``rows`` where a row with a prefix holds only its values after the user's
    cells, which the prefix gives as CSV text (already looked at for formulas); the same text
    ``csv.writer`` gives for the whole rows, formula cells defused (tested)."""
    lines = csv_lines(_defused(rows))
    return "".join([line if p is None else f"{p},{line}" for line, p in zip(lines, prefixes, strict=True)])


def score_rows(rows: list[ExportRow], score: ScoreFn, spec: TableSpec, *, format: str, label: str,
               hidden: frozenset[str], pages: PageSource | None = None,
               targets: TargetPages | None = None) -> tuple[dict[str, Any], bytes]:
    """Export rows -> the scored table's rows: ``(header, body)``.

    ``body`` is the rows in ``spec.output``'s format without a header line; ``header`` holds
    ``rows``, ``first_line`` / ``last_line`` (the input's line numbers), ``columns`` (the user's, in
    order, without ``hidden``), ``fields`` and ``stats`` (verdicts, statuses, weak referring domains,
    the first error / skipped rows as ``"<label>: <status>"``, target pages used) for the summary.
    ``format`` is the export's (Search Console rows without a target are skipped, naming whether
    ``pages`` has the linking page); ``targets`` fills target titles and texts.
    """
    fields = result_fields()
    n = len(rows)
    tool = TOOL_OF_FORMAT.get(format)
    statuses: list[str | None] = [None] * n
    todo: list[int] = []
    records: list[dict[str, object] | LinkRecord] = []
    sources: list[object] = [None] * n  # each scored row's source URL, for the weak domains
    direct = format != "gsc" and targets is None  # rows whose record needs nothing added but the tool
    links = link_records(rows, tool) if direct else [None] * n  # built from the cells, column by column
    target_used = 0
    for i, row in enumerate(rows):
        if row.error is None and direct:
            link = links[i]
            if link is not None:
                todo.append(i)
                records.append(link)
                sources[i] = link.source_url
                continue
        if row.error is not None or row.record is None:
            statuses[i] = f"error: {row.error or f'line {row.line_no}: unreadable row'}"
            continue
        rec = row.record
        if tool is not None and "tool" not in rec:
            rec["tool"] = tool
        if format == "gsc" and not rec.get("target_url"):
            has_page = pages is not None and pages.has(str(rec.get("source_url") or ""))
            statuses[i] = GSC_NO_TARGET if has_page else GSC_NO_PAGE
            continue
        if targets is not None:
            rec, used = targets.fill(rec)
            target_used += used
        todo.append(i)
        records.append(rec)
        sources[i] = rec.get("source_url")
    results: list[dict | None] = [None] * n
    for i, res in zip(todo, score_isolated(score, records), strict=True):
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
            if k not in hidden:
                seen.setdefault(k, None)
    cols = tuple(seen)
    plain = [m for m in merged if tuple(m) == cols]  # rows with these columns copy their values as they are
    reserved = _reserved(fields, spec.explain, spec.multi)
    head = [SOURCE_FILE] if spec.multi else []
    names = head + [_out_name(c, reserved) for c in cols] + list(fields) + (
        list(EXPLAIN_FEATURES) if spec.explain else [])
    lead = [label] if spec.multi else []
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
        if group in ("error", "skipped") and len(examples) < MAX_EXAMPLES:
            examples.append(f"{label}: {status}")
        verdict = res.get("verdict")
        if verdict:
            verdicts[str(verdict)] += 1
            if res.get("risk"):
                risks[str(res["risk"])] += 1
            if verdict == "weak":
                src = sources[i]
                if isinstance(src, str) and src:
                    weak[_domain(src)] += 1
        shared = row.shared_columns
        same = any(shared is m for m in plain) if shared is not None else tuple(row.original) == cols
        prefix = row.csv_cells() if fast_csv and same else None
        if prefix is not None and _has_formula_cell(prefix):
            prefix = None  # a cell to defuse: written one by one
        if prefix is not None:  # the user's cells are copied as one text: only the results follow
            values: list[object] = []
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
            values.extend(_feature_cell(feats.get(f)) for f in EXPLAIN_FEATURES)
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
    return header, body


def _chunk_has_column(rows: list[ExportRow], name: str) -> bool:
    """Whether a row of the chunk has column ``name``; rows sharing their file's column list
    (the usual chunk) are answered by one look at it."""
    first = rows[0].shared_columns if rows else None
    if first is not None and all(r.shared_columns is first for r in rows):
        return name in first
    return any(r.has_column(name) for r in rows)


def chunk_hidden(rows: list[ExportRow], base: frozenset[str]) -> frozenset[str]:
    """``base`` plus the hidden fields that rows of this chunk carry (JSON lines with ``source_html``)."""
    return base | frozenset(k for k in HIDDEN_FIELDS if _chunk_has_column(rows, k))


def hidden_columns(info: ExportInfo) -> frozenset[str]:
    """The export's columns that are used for scoring but never copied to the output."""
    return frozenset(c for c in info.columns
                     if c.strip().lower() in HIDDEN_FIELDS or info.mapping.get(c) in HIDDEN_FIELDS)
