"""The scorer's validated records for a chunk of export rows, built column by column.

Batch scoring turns every export row into a ``LinkRecord``. Built row by row from the cells (a
canonical dict, then its validation), that was the largest single step of export-only scoring:
167,700 instructions a row of a generated Ahrefs export (cachegrind, 20,000 rows in chunks of
5,000). A chunk's rows share their file's columns and plan, and an export's cells repeat (ratings,
dates, flags, link types, the target URLs): here the chunk's columns are made in one pass over its
rows, each distinct cell of a column converted once, and each row's record assembled from the
converted columns with C-level ``zip``, ``map`` and ``dict`` calls: 94,200 instructions a row, the
same records (measured 2026-12-06).

:func:`link_records` gives, row for row, the record of the general path: ``parse_record`` of the row's
canonical dict with ``tool`` as its ``tool`` metric when the row names none (tested equal on every
fixture export and on random cells of every kind), or None where that general path must decide (a
row not read from cells, a missing URL, one ``check_url`` would refuse or change, a page's HTML).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import repeat

from features.records import METRIC_FIELDS, LinkRecord, Metrics, _frozen, _text_metric, parse_date
from features.urls import InvalidURL, check_url

from .export_rows import (
    _K_DATE,
    _K_DOMAIN_TRAFFIC,
    _K_FLAG,
    _K_METRIC_TEXT,
    _K_NUMBER,
    _K_REL,
    _K_TEXT,
    _K_URL,
    CellPairs,
    ExportRow,
    _cell_plan,
    _flag,
    _number,
    _rel_from_flags,
    _to_date,
    _url,
)

__all__ = ["link_records"]

# the record's own fields that a cell can give, in LinkRecord's order (source_html declines the row)
_RECORD_TEXT = ("anchor_text", "source_title", "context_left", "context_right", "target_title", "target_text")
_TOOL = METRIC_FIELDS.index("tool")

Column = list[object]  # one converted value (None: blank or unreadable) per row of the group


def link_records(rows: Sequence[ExportRow], tool: str | None = None) -> list[LinkRecord | None]:
    """Each row's validated record (see the module's docstring), in order; ``tool`` names the
    export's tool for rows whose cells name none."""
    out: list[LinkRecord | None] = [None] * len(rows)
    groups: dict[int, tuple[object, list[int], list[list[str]]]] = {}  # id(pairs) -> rows of that plan
    for k, row in enumerate(rows):
        got = row.cell_values()
        if got is None:
            continue
        values, pairs = got
        group = groups.get(id(pairs))
        if group is None:
            group = groups[id(pairs)] = (pairs, [], [])
        group[1].append(k)
        group[2].append(values)
    for pairs, at, cells in groups.values():
        # (one pass over the rows makes every column: ~2x cheaper than a pass per column, measured)
        for k, rec in zip(at, _records(_transposed(cells), len(cells), pairs, tool), strict=True):  # type: ignore[arg-type]
            out[k] = rec
    return out


def _transposed(rows: list[list[str]]) -> Callable[[int], Sequence[str]]:
    """Column i of rows of cells (each row has at least the header's cells)."""
    columns = list(zip(*rows, strict=False))  # (extra blank cells beyond the header are never read)
    return columns.__getitem__


def _memo(convert: Callable[[str], object]) -> Callable[[Sequence[str]], Column]:
    """A column converter: ``convert`` once per distinct non-blank cell of the column, None for a
    blank one (empty or whitespace only, as ``_build_record`` skips them); the lookups run in C."""
    def column(cells: Sequence[str]) -> Column:
        value = {cell: None if not cell or cell.isspace() else convert(cell) for cell in set(cells)}
        return list(map(value.__getitem__, cells))
    return column


def _texts(cells: Sequence[str]) -> Column:
    """A text column as ``_build_record`` keeps it: the cell as written, None when blank (most
    cells of a title or context column are distinct: no memo)."""
    return [cell if cell and not cell.isspace() else None for cell in cells]


def _rel_words(raw: str) -> str | None:
    """rel words as ``_build_record`` reads them: commas are spaces, lower case, one space apart."""
    words = " ".join(" ".join(t.lower() for t in raw.replace(",", " ").split()).split())
    return words or None


def _date(raw: str) -> str | None:
    iso = _to_date(raw)
    return None if iso is None else parse_date(iso)


# kind -> converter of a column of raw cells (texts and URLs as ``_build_record`` keeps them)
_CONVERT: dict[int, Callable[[Sequence[str]], Column]] = {
    _K_NUMBER: _memo(_number),
    _K_DOMAIN_TRAFFIC: _memo(_number),
    _K_TEXT: _texts,
    _K_METRIC_TEXT: _memo(_text_metric),
    _K_URL: _memo(_url),
    _K_DATE: _memo(_date),
    _K_FLAG: _memo(_flag),
    _K_REL: _memo(_rel_words),
}


def _merge(parts: list[tuple[Column, bool]]) -> Column:
    """One field given by several columns, in plan order: a value replaces the one already taken
    only when its column says so (``True``); a blank or unreadable cell never does."""
    merged, _ = parts[0]
    for values, replaces in parts[1:]:
        if replaces:
            merged = [m if v is None else v for m, v in zip(merged, values, strict=True)]
        else:
            merged = [v if m is None else m for m, v in zip(merged, values, strict=True)]
    return merged


def _records(column: Callable[[int], Sequence[str]], n: int, pairs: CellPairs | tuple[tuple[int, str], ...],
             tool: str | None) -> list[LinkRecord | None]:
    """The records of ``n`` rows that share one plan (``pairs``); ``column(i)`` gives their cells
    of column i."""
    plan, unique = pairs.plan if type(pairs) is CellPairs else _cell_plan(pairs)
    first_wins = not unique
    fields: dict[str, list[tuple[Column, bool]]] = {}
    flags: dict[str, list[tuple[Column, bool]]] = {}
    for i, name, kind in plan:
        convert = _CONVERT.get(kind)
        if convert is None:  # a column no field reads
            continue
        values = convert(column(i))
        if kind == _K_FLAG:  # the file's last readable flag wins
            flags.setdefault(name[4:], []).append((values, True))
        elif kind == _K_DOMAIN_TRAFFIC:  # only where the row gives no domain traffic of its own
            fields.setdefault("domain_traffic", []).append((values, False))
        else:
            fields.setdefault(name, []).append((values, not first_wins))
    col = {name: _merge(parts) for name, parts in fields.items()}
    nothing: Column = [None] * n
    if flags:  # rel from the flag columns where no rel column gives it
        named = {name: _merge(parts) for name, parts in flags.items()}
        keys = tuple(named)
        by_flags = {combo: _rel_from_flags({k: v for k, v in zip(keys, combo, strict=True) if v is not None})
                    for combo in set(zip(*named.values(), strict=True))}
        from_flags = [by_flags[c] for c in zip(*named.values(), strict=True)]
        col["rel"] = _merge([(from_flags, False), (col["rel"], True)]) if "rel" in col else from_flags
    metrics = [col.get(name, nothing) for name in METRIC_FIELDS]
    if tool:  # the export's tool where the row names none
        named_tool = _text_metric(tool)
        metrics[_TOOL] = [named_tool if t is None else t for t in metrics[_TOOL]]
    sources, targets = col.get("source_url", nothing), col.get("target_url", nothing)
    html = col.get("source_html", nothing)
    rel = col.get("rel", nothing)
    texts = [col.get(name, nothing) for name in _RECORD_TEXT]
    usable = list(map(_usable, sources, targets, html))
    metric_dicts = map(dict, map(zip, repeat(METRIC_FIELDS), zip(*metrics, strict=True)))
    out: list[LinkRecord | None] = []
    append = out.append
    for ok, src, tgt, link_rel, (anchor, title, left, right, t_title, t_text), metric_dict in zip(
            usable, sources, targets, rel, zip(*texts, strict=True), metric_dicts, strict=True):
        if not ok:
            append(None)
            continue
        append(_frozen(LinkRecord, {
            "source_url": src,
            "target_url": tgt,
            "anchor_text": anchor,
            "rel": link_rel,
            "source_html": None,
            "source_title": title,
            "context_left": left,
            "context_right": right,
            "target_title": t_title,
            "target_text": t_text,
            "metrics": _frozen(Metrics, metric_dict),
        }))
    return out


def _usable(src: object, tgt: object, page: object) -> bool:
    """Whether a row's record is built here: both URLs given and taken by ``check_url`` as they
    are (memoised there: target URLs repeat), no page HTML."""
    return src is not None and tgt is not None and page is None and _kept(src) and _kept(tgt)


def _kept(url: object) -> bool:
    """Whether ``check_url`` takes the URL as it is (memoised there: target URLs repeat)."""
    try:
        return check_url(url) == url
    except InvalidURL:
        return False
