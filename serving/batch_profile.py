"""The whole-export steps around the chunked scoring: the profile pass before it (patterns seen
only across all rows, ``features.profile``) and the summary written beside the scored file after it.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .batch_options import BatchOptions, BatchSummary
from .batch_parts import _atomic_write
from .exports import read_export

if TYPE_CHECKING:
    from features.profile import ProfileBuilder


class ProfileStopped(Exception):
    """The profile pass was asked to stop (the scoring engine failed to start): nothing written."""


PROFILE_TASK_ROWS = 20_000  # rows of one batch counted in a scoring process (~1.5 MB of partial records)


def count_records(records: list[dict[str, object]], lean: bool) -> ProfileBuilder:
    """A builder fed one batch of partial records (run in a scoring process; the caller merges)."""
    from features.profile import ProfileBuilder

    return ProfileBuilder(lean=lean).add_all(records)


def build_profile(inputs: Sequence[Path], opts: BatchOptions, column_map: dict[str, str] | None,
                  path: Path, stop: threading.Event | None = None, executor: Executor | None = None,
                  in_flight: int = 4, task_rows: int = PROFILE_TASK_ROWS) -> None:
    """One pass over every input (all the rows of this run are one profile): of each row, the few
    fields the profile counts (``ExportRow.partial_record``: 2 without ``explain``, 7 with it).
    Written to ``path`` atomically, so a resumed run reuses it. ``stop``, once set, ends the pass at
    the next chunk with :class:`ProfileStopped`.

    ``executor`` (the engine's scoring processes: the local pool or the Dask workers): batches of ``task_rows`` partial
    records are counted there while this process reads on, at most ``in_flight`` at a time (two
    per process); a batch that finds them all busy (the processes still loading the model) is
    counted here. Why: counting is ~half of the pass, and one core idles once the model is loaded.
    A 1M-row Ahrefs pass beside the model loading, on a 2-core machine where reading the file alone
    takes ~4.2 s: 14.9-16.7 s counted here, 10.6-11.9 s so (alternating runs). Sending whole rows
    (their lines) instead costs more than it saves (~13 s): the scoring processes, sharing one core
    while this one reads, would each rebuild the rows. The builders merge into the same stats
    whoever counted what (tested)."""
    from features.profile import LEAN_PROFILE_FIELDS, PROFILE_FIELDS, ProfileBuilder

    # without --explain only what the score reads is counted (features.profile: LEAN_PROFILE_FIELDS)
    fields = PROFILE_FIELDS if opts.explain else LEAN_PROFILE_FIELDS
    total = ProfileBuilder(lean=not opts.explain)
    add = total.add
    pending: set[Future[ProfileBuilder]] = set()
    counted: list[ProfileBuilder] = []  # builders back from the pool, merged a few at a time
    batch: list[dict[str, object]] = []

    def collect(block: bool) -> None:
        if pending:
            done, _ = wait(pending, timeout=None if block else 0, return_when=FIRST_COMPLETED)
            for f in done:
                pending.discard(f)
                counted.append(f.result())
        if len(counted) >= 16:
            total.merge(*counted)
            counted.clear()

    def hand_over(records: list[dict[str, object]]) -> None:
        collect(block=False)
        if executor is None or len(pending) >= in_flight:
            for rec in records:
                add(rec)
        else:
            pending.add(executor.submit(count_records, records, total.lean))

    try:
        for p in inputs:
            _, chunks = read_export(p, opts.format, column_map, opts.chunk_rows)
            for rows in chunks:
                if stop is not None and stop.is_set():
                    raise ProfileStopped("the profile pass was stopped")
                for row in rows:
                    rec = row.partial_record(fields)
                    if rec is not None:
                        batch.append(rec)
                if len(batch) >= task_rows or executor is None:
                    hand_over(batch)
                    batch = []
        if batch:
            hand_over(batch)
        while pending:
            collect(block=True)
    except BaseException:
        for f in pending:
            f.cancel()
        raise
    total.merge(*counted)
    _atomic_write(path, total.build().to_bytes())


@contextmanager
def profile_beside(inputs: Sequence[Path], opts: BatchOptions, column_map: dict[str, str] | None,
                   path: Path | None, executor: Executor | None = None, in_flight: int = 4) -> Iterator[None]:
    """:func:`build_profile` in a thread while the body runs (the engine starting its scoring
    processes, each loading the model: a few seconds in which this process only waits), finished
    when the body ends; its error, if any, is raised then. Why: both are serial steps before the
    first chunk; side by side they take the longer of the two, not the sum (a 1M-row profile pass
    is ~10 s). If the body fails, the pass is stopped and waited for. ``path`` None: no pass.
    ``executor``, ``in_flight``: where batches are counted (see :func:`build_profile`)."""
    if path is None:
        yield
        return
    stop = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            build_profile(inputs, opts, column_map, path, stop, executor, in_flight)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread below
            failure.append(exc)

    worker = threading.Thread(target=run, name="linkq-profile", daemon=True)
    worker.start()
    try:
        yield
    except BaseException:
        stop.set()
        worker.join()
        raise
    worker.join()
    if failure:
        raise failure[0]


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
    doc = {
        "scored_file": summary.out.name,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "linkq_version": linkq_version(),
        "model": {"id": summary.model_id,
                  "sha256": {f.name: _sha256(f) for f in sorted(model_dir.iterdir()) if f.is_file()}},
        "inputs": [{"path": str(p), "format": i.format, "encoding": i.encoding, "rows": i.rows,
                    "bytes": p.stat().st_size, "sha256": _sha256(p)}
                   for p, i in zip(inputs, summary.inputs, strict=True)],
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


def with_bom(path: Path) -> Path:
    """``path``'s text with a UTF-8 byte order mark first, in a new file beside it (returned; ``path``
    is removed): Excel reads a CSV without one in the system's code page and mangles non-ASCII text.
    Opt-in (``--excel``): the mark is one more thing for other programs to skip."""
    import os
    import shutil
    import tempfile

    from features.recordio import umask_mode

    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    with os.fdopen(fd, "wb") as dst, path.open("rb") as src:
        dst.write(b"\xef\xbb\xbf")
        shutil.copyfileobj(src, dst, 1 << 20)
    umask_mode(name)
    path.unlink()
    return Path(name)
