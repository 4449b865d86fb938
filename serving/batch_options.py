"""What ``linkq score`` asks of a batch and what it answers: options, errors, the summary.

A leaf module (no model, no pages): the CLI, the HTTP service and the batch rooms import it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from features.errors import LinkqError

from .exports import parse_column_map

OUTPUT_SUFFIXES = (".csv", ".jsonl", ".parquet")
ENGINES = ("local", "dask")
DEFAULT_CHUNK_ROWS = 5_000

ProgressCallback = Callable[[int, float], None]


class BatchError(LinkqError, ValueError):
    """The batch cannot run as asked (bad output name, options, or a resume that does not match)."""


class BatchIntegrityError(LinkqError, RuntimeError):
    """Rows read and rows written differ: the output is not published (the parts are kept)."""


# --------------------------------------------------------------------------------------------------
# options and summary


@dataclass(frozen=True)
class BatchOptions:
    """Everything ``linkq score`` can ask of a batch.

    ``column_map`` is the ``--map`` text (``"Their Column=source_url,..."``) or a mapping.
    ``pages`` / ``target_pages`` are page sources (``features.pages.open_pages``: a folder with
    ``manifest.csv`` or a page cache from ``linkq fetch``); they (and the inputs) must be
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
    excel: bool = False  # CSV output with a UTF-8 byte order mark, so Excel reads non-ASCII text right

    @classmethod
    def with_terms(cls, brands: Sequence[str] = (), money: Sequence[str] = (), **fields: Any) -> BatchOptions:
        """Options with the brand names and money keywords as the user typed them (repeated or
        comma-separated, any case), normalised as scoring compares them."""
        from features.html_text import normalise_terms

        return cls(brands=normalise_terms(brands), money=normalise_terms(money), **fields)

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
        seen: dict[str, int] = {}  # the same message once, with how many of the examples it is
        for e in self.examples:
            seen[e] = seen.get(e, 0) + 1
        out += [f"  e.g. {e}" + (f" ({n} rows)" if n > 1 else "") for e, n in seen.items()]
        if not self.ok:
            out.append(f"  WARNING: {self.rows_in} rows read but {self.rows_out} written")
        return out


def preview_lines(out: Path, limit: int = 200) -> list[str]:
    """``linkq score --show``: the first ``limit`` rows of a written .csv/.jsonl output as text lines,
    with each row's leading reason (a Parquet output shows the header only)."""
    from features.recordio import read_records, text_table

    rows = list(read_records(out)) if out.suffix.lower() in (".csv", ".jsonl") else []
    for r in rows:
        r["reason"] = str(r.get("reasons") or "").split("; ")[0]
    return text_table(rows[:limit], ["score", "verdict", "placement_zone", "status", "reason"])


def _by_count(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def estimate_or_none(inputs: Sequence[Path]) -> int | None:
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
