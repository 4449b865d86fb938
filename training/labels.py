"""A user's labels, read from where users keep them, with every unusable row named.

Where labels live (``linkq train --labels FILE``, repeatable, tools mixed):

- any export linkq scores (Ahrefs, Semrush, Majestic, Moz, Search Console; read by
  ``serving.exports.read_export``, so the same columns mean the same thing) with an added ``label``
  column (also read: ``user_label``, ``verdict_user``; any case), or canonical CSV / JSONL records
  (``source_url``, ``target_url``, ... and ``label``); ``linkq label`` writes such a file;
- a Google disavow file plus the export it was made from (``--disavow`` and ``--export``): every
  export row the file covers is a ``disavow`` label; the others are ``keep`` with ``--rest strong``,
  else unlabelled.

Which value trains which axis (:data:`LABEL_VALUES`):

| value (any case) | worth (strong vs worthless) | risk (risky vs not) |
|---|---|---|
| strong, keep, good, 1, yes, true | 1 | 0 |
| neutral (harmless, worth little) | not used | 0 |
| weak | 0 | 0 |
| risky, disavow | 0 | 1 |
| bad, 0, no, false | 0 | unknown |
| empty cell | unlabelled: skipped, counted | |

The worth axis is what ``linkq train`` fits (the factor weights); ``neutral`` rows stay out of it,
as in ``make eval`` (strong vs weak+risky). The risk axis is read and reported (the risk flags are
rules, not weights: ``linkq train`` reports how many risky labels they catch).

A label's identity is :func:`label_hash`: sha256 of the normalised source and target URLs, so a
model's metadata can say which links it trained on without keeping the URLs.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from features.disavow import parse_disavow
from features.errors import LinkqError
from features.source_kind import referring_site_of_url

LABEL_COLUMNS = ("label", "user_label", "verdict_user")

# value -> (worth, risk); None = this label says nothing on that axis
LABEL_VALUES: dict[str, tuple[int | None, int | None]] = {
    "strong": (1, 0), "keep": (1, 0), "good": (1, 0), "1": (1, 0), "yes": (1, 0), "true": (1, 0),
    "neutral": (None, 0),
    "weak": (0, 0),
    "risky": (0, 1), "disavow": (0, 1),
    "bad": (0, None), "0": (0, None), "no": (0, None), "false": (0, None),
}


class LabelError(LinkqError, ValueError):
    """Labels that cannot be read or cannot train anything; the message says why and where."""


@dataclass(frozen=True)
class Problem:
    """One unusable row (or file): where it is and why it is not used."""

    file: str
    line: int  # 1-based physical line; 0 for the whole file
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


@dataclass
class LabelledRow:
    """One labelled link: where it came from, its canonical record, its value on each axis."""

    file: str
    line: int
    value: str
    worth: int | None
    risk: int | None
    record: dict[str, object]
    hash: str
    domain: str


@dataclass
class LabelFile:
    """The rows of one labels file: every readable record (the profile is the whole file) and which
    of them carry a usable label (``labelled``: index into ``records`` -> label)."""

    path: Path
    kind: str
    format: str
    records: list[dict[str, object]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    labelled: dict[int, LabelledRow] = field(default_factory=dict)
    unlabelled: int = 0


def parse_label(value: object) -> tuple[int | None, int | None] | None:
    """(worth, risk) of a label cell; None when the value is not a known label."""
    s = "" if value is None else str(value).strip().lower()
    if s in LABEL_VALUES:
        return LABEL_VALUES[s]
    try:
        f = float(s)
    except ValueError:
        return None
    return LABEL_VALUES["1"] if f == 1.0 else LABEL_VALUES["0"] if f == 0.0 else None


def normalise_url(url: str) -> str:
    """URL as a label key: trimmed, scheme and host lower-cased, fragment and trailing slash dropped,
    ``www.`` kept (a different host can be a different site)."""
    s = url.strip()
    try:
        p = urlsplit(s)
    except ValueError:
        return s.lower()
    path = p.path.rstrip("/")
    return urlunsplit((p.scheme.lower(), p.netloc.lower(), path, p.query, ""))


def label_hash(source_url: str, target_url: str) -> str:
    """sha256 (hex) of the normalised source and target URLs, tab-separated."""
    key = normalise_url(source_url) + "\t" + normalise_url(target_url)
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _label_column(columns: Iterable[str]) -> str | None:
    by_lower = {c.strip().lower(): c for c in columns}
    return next((by_lower[c] for c in LABEL_COLUMNS if c in by_lower), None)


def _rows(path: Path) -> tuple[str, list[str], Iterator[tuple[int, dict[str, str], dict | None, str | None]]]:
    """(format, columns, rows as (line, original cells, record or None, error)) of any readable file."""
    from serving.exports import ExportFormatError, read_export
    from serving.table import TOOL_OF_FORMAT

    try:
        info, chunks = read_export(path)
    except ExportFormatError as exc:
        raise LabelError(f"{path}: {exc}") from exc
    tool = TOOL_OF_FORMAT.get(info.format)

    def gen() -> Iterator[tuple[int, dict[str, str], dict | None, str | None]]:
        for chunk in chunks:
            for row in chunk:
                rec = row.record
                if rec is not None and tool is not None and "tool" not in rec:
                    rec = {**rec, "tool": tool}  # which tool's scales the metrics are on, as scoring does
                yield row.line_no, row.original, rec, row.error

    return info.format, list(info.columns), gen()


def _usable_record(rec: dict | None, error: str | None) -> str | None:
    """Why a row's record cannot be featurised (None: it can)."""
    if rec is None:
        return re.sub(r"^line \d+: ", "", error or "unreadable row")
    for name in ("source_url", "target_url"):
        v = rec.get(name)
        if not isinstance(v, str) or not v.strip():
            return f"no {name}"
    return None


def _labelled(lf: LabelFile, line: int, value: str, axes: tuple[int | None, int | None],
              rec: dict[str, object]) -> None:
    src, tgt = str(rec["source_url"]), str(rec["target_url"])
    lf.labelled[len(lf.records) - 1] = LabelledRow(
        file=str(lf.path), line=line, value=value, worth=axes[0], risk=axes[1], record=rec,
        hash=label_hash(src, tgt), domain=referring_site_of_url(src))


def read_label_file(path: Path, problems: list[Problem]) -> LabelFile:
    """Every row of an export or canonical file with a label column; unusable rows go to ``problems``."""
    path = Path(path)
    fmt, columns, rows = _rows(path)
    col = _label_column(columns)
    if col is None:
        raise LabelError(f"{path}: no label column (add one named {' / '.join(LABEL_COLUMNS)}; values: "
                         f"strong / neutral / weak / risky, keep / disavow, good / bad, 1 / 0)")
    lf = LabelFile(path=path, kind="labels", format=fmt)
    for line, original, rec, error in rows:
        why = _usable_record(rec, error)
        cell = (original or {}).get(col)
        value = "" if cell is None else str(cell).strip()
        if why is not None:
            if value:
                problems.append(Problem(str(path), line, f"label {value!r} not used: {why}"))
            continue
        lf.records.append(rec)  # type: ignore[arg-type]
        lf.lines.append(line)
        if not value:
            lf.unlabelled += 1
            continue
        axes = parse_label(value)
        if axes is None:
            problems.append(Problem(str(path), line, f"unknown label {value!r} (expected strong / neutral / weak "
                                                     f"/ risky, keep / disavow, good / bad, 1 / 0)"))
            continue
        _labelled(lf, line, value, axes, rec)  # type: ignore[arg-type]
    return lf


def read_disavow_labels(disavow: Path, export: Path, rest: str, problems: list[Problem]) -> LabelFile:
    """The export's rows as labels: ``disavow`` where the disavow file covers the source, ``keep`` for
    the others when ``rest == 'strong'`` (else unlabelled, still part of the profile)."""
    d = parse_disavow(Path(disavow).read_text(encoding="utf-8-sig", errors="replace"))
    fmt, _, rows = _rows(Path(export))
    lf = LabelFile(path=Path(export), kind=f"export of disavow file {disavow}", format=fmt)
    for line, _, rec, error in rows:
        why = _usable_record(rec, error)
        if why is not None:
            problems.append(Problem(str(export), line, f"not used: {why}"))
            continue
        lf.records.append(rec)  # type: ignore[arg-type]
        lf.lines.append(line)
        if d.covers(str(rec["source_url"])):  # type: ignore[index]
            _labelled(lf, line, "disavow", LABEL_VALUES["disavow"], rec)  # type: ignore[arg-type]
        elif rest == "strong":
            _labelled(lf, line, "keep", LABEL_VALUES["keep"], rec)  # type: ignore[arg-type]
        else:
            lf.unlabelled += 1
    return lf


def drop_conflicts(files: list[LabelFile], problems: list[Problem]) -> None:
    """One label per link over all files: a repeat with the same worth value is dropped (named), a
    link labelled both worth having and worthless is dropped everywhere (named, both places)."""
    seen: dict[str, tuple[LabelFile, int]] = {}
    conflicted: set[str] = set()
    for lf in files:
        for i, row in list(lf.labelled.items()):
            first = seen.get(row.hash)
            if first is None:
                seen[row.hash] = (lf, i)
                continue
            other = first[0].labelled.get(first[1])
            where = f"{other.file}:{other.line}" if other else "an earlier row"
            if other is not None and other.worth != row.worth and None not in (other.worth, row.worth):
                conflicted.add(row.hash)
                problems.append(Problem(row.file, row.line, f"label {row.value!r} contradicts {other.value!r} at "
                                                            f"{where} for the same link: neither is used"))
            else:
                problems.append(Problem(row.file, row.line, f"the same link is already labelled at {where}: "
                                                            f"this repeat is not used"))
            del lf.labelled[i]
    for lf in files:
        for i, row in list(lf.labelled.items()):
            if row.hash in conflicted:
                del lf.labelled[i]


def read_labels(labels: Iterable[Path] = (), disavow: Path | None = None, export: Path | None = None,
                rest: str = "unlabelled") -> tuple[list[LabelFile], list[Problem]]:
    """All label files (each file's rows are one profile) and the problems found in them."""
    problems: list[Problem] = []
    files = [read_label_file(Path(p), problems) for p in labels]
    if disavow is not None or export is not None:
        if disavow is None or export is None:
            raise LabelError("--disavow and --export go together: the disavow file and the export it was made from")
        files.append(read_disavow_labels(Path(disavow), Path(export), rest, problems))
    if not files:
        raise LabelError("no labels given: pass --labels FILE (repeatable) or --disavow FILE --export FILE")
    drop_conflicts(files, problems)
    return files, problems


__all__ = ["LABEL_COLUMNS", "LABEL_VALUES", "LabelError", "LabelFile", "LabelledRow", "Problem", "label_hash",
           "normalise_url", "parse_label", "read_label_file", "read_labels"]
