"""Reading canonical record files (JSONL, CSV) and writing result tables (CSV, JSONL, Parquet).

Rows keep every input column; readers never drop a row: an unreadable line
becomes a row with ``_error`` set, so it comes back in the output with its line
number. Writers are atomic (temp file + rename): a partial file never looks
finished.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

csv.field_size_limit(sys.maxsize)


def read_records(path: Path) -> Iterator[dict[str, object]]:
    """Rows of a .jsonl/.json-lines or .csv file of canonical records, in file order."""
    path = Path(path)
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        with path.open(encoding="utf-8-sig") as fh:
            for no, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield {"_error": f"line {no}: invalid JSON ({exc.msg})", "_line": no}
                    continue
                if not isinstance(obj, dict):
                    yield {"_error": f"line {no}: expected a JSON object", "_line": no}
                    continue
                yield obj
        return
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            # an empty CSV cell is unknown, not an empty value (rel '' would mean "followed")
            yield {k: (None if v == "" else v) for k, v in row.items()}


def _cell(v: object) -> object:
    if isinstance(v, list | tuple):
        return "; ".join(str(x) for x in v)
    if isinstance(v, dict):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, float) and v != v:
        return ""
    return "" if v is None else v


def write_rows(path: Path, rows: Sequence[dict[str, object]], columns: Sequence[str] | None = None) -> None:
    """Write rows to .csv, .jsonl or .parquet (by extension), atomically."""
    path = Path(path)
    cols = list(columns) if columns is not None else _columns(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        suffix = path.suffix.lower()
        if suffix == ".jsonl":
            with open(tmp, "w", encoding="utf-8") as fh:
                for r in rows:
                    fh.write(json.dumps({c: json_safe(r.get(c)) for c in cols}, ensure_ascii=False, default=str,
                                        allow_nan=False) + "\n")
        elif suffix == ".parquet":
            import pandas as pd

            pd.DataFrame([{c: _cell(r.get(c)) for c in cols} for r in rows], columns=cols).astype(str).to_parquet(tmp)
        elif suffix == ".csv":
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(cols)
                for r in rows:
                    w.writerow([defuse(_cell(r.get(c))) for c in cols])
        else:
            raise ValueError(f"output must end in .csv, .jsonl or .parquet, got {path.name!r}")
        umask_mode(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def text_table(rows: Sequence[dict[str, object]], cols: Sequence[str], width: int = 60) -> list[str]:
    """``rows`` as aligned text columns for a terminal, led by their ``id`` (else ``target_url``)
    column: floats to 3 significant digits (NaN blank), None blank, cells cut to ``width`` characters."""
    key = next((k for k in ("id", "target_url") if rows and k in rows[0]), None)
    cols = ([key] if key else []) + list(cols)

    def fmt(v: object) -> str:
        return ("" if v != v else f"{v:.3g}") if isinstance(v, float) else str(v if v is not None else "")

    table = [[fmt(r.get(c))[:width] for c in cols] for r in rows]
    widths = [max([len(c)] + [len(t[i]) for t in table]) for i, c in enumerate(cols)]
    return ["  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)) for line in [cols, *table]]


def umask_mode(path: Path | str) -> None:
    """Give a file made by ``mkstemp`` (always 0600) the mode a plain ``open`` would: 0666 less the
    process's umask, so outputs are shared as the user's other files are."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


def json_safe(value: object) -> object:
    """``value`` with NaN and infinities as None (strict JSON: jq, browsers and most parsers refuse
    bare NaN tokens), through lists and dicts."""
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def write_text_atomic(path: Path, text: str) -> None:
    """Write a UTF-8 text file atomically (temp file + rename), with the mode the umask gives."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        umask_mode(tmp)  # mkstemp makes 0600; reports and disavow files are meant to be shared
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _columns(rows: Sequence[dict[str, object]]) -> list[str]:
    cols: dict[str, None] = {}
    for r in rows:
        for k in r:
            cols.setdefault(k, None)
    return list(cols)


# A cell a spreadsheet would run as a formula: it starts with = + - @ (or a tab or CR before one),
# unless it is a plain number ("-5", "+3.2"). Such cells get a leading apostrophe in CSV output
# (Excel, LibreOffice and Google Sheets show the text and run nothing); JSONL and Parquet keep values.
_FORMULA_START = frozenset("=+-@\t\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?%?")


def defuse(value: object) -> object:
    """``value`` as a CSV cell that no spreadsheet runs as a formula (see :data:`_FORMULA_START`)."""
    if (type(value) is str and value and value[0] in _FORMULA_START and value not in _SIGNS
            and not _NUMBER.fullmatch(value)):
        return "'" + value
    return value


_SIGNS = frozenset({"+", "-"})  # a lone sign runs nothing: Majestic's flag columns are written so
