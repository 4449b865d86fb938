"""The whole-export steps around the chunked scoring: the profile pass before it (patterns seen
only across all rows, ``features.profile``) and the summary written beside the scored file after it.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from .batch_options import BatchOptions, BatchSummary
from .batch_parts import _atomic_write
from .exports import read_export


class ProfileStopped(Exception):
    """The profile pass was asked to stop (the scoring engine failed to start): nothing written."""


def build_profile(inputs: Sequence[Path], opts: BatchOptions, column_map: dict[str, str] | None,
                  path: Path, stop: threading.Event | None = None) -> None:
    """One pass over every input (all the rows of this run are one profile), in this process: each
    row gives the fields the profile counts (``ExportRow.partial_record``: 2 without ``explain``, 7 with it; sending
    the rows to the scoring processes for this cost more than it saved: 35 s of start-up on a
    1M-row export). Written to ``path`` atomically, so a resumed run reuses it. ``stop``, once set,
    ends the pass at the next chunk with :class:`ProfileStopped`."""
    from features.profile import LEAN_PROFILE_FIELDS, PROFILE_FIELDS, ProfileBuilder

    # without --explain only what the score reads is counted (features.profile: LEAN_PROFILE_FIELDS)
    fields = PROFILE_FIELDS if opts.explain else LEAN_PROFILE_FIELDS
    total = ProfileBuilder(lean=not opts.explain)
    add = total.add
    for p in inputs:
        _, chunks = read_export(p, opts.format, column_map, opts.chunk_rows)
        for rows in chunks:
            if stop is not None and stop.is_set():
                raise ProfileStopped("the profile pass was stopped")
            for row in rows:
                rec = row.partial_record(fields)
                if rec is not None:
                    add(rec)
    _atomic_write(path, total.build().to_bytes())


@contextmanager
def profile_beside(inputs: Sequence[Path], opts: BatchOptions, column_map: dict[str, str] | None,
                   path: Path | None) -> Iterator[None]:
    """:func:`build_profile` in a thread while the body runs (the engine starting its scoring
    processes, each loading the model: a few seconds in which this process only waits), finished
    when the body ends; its error, if any, is raised then. Why: both are serial steps before the
    first chunk; side by side they take the longer of the two, not the sum (a 1M-row profile pass
    is ~10 s). If the body fails, the pass is stopped and waited for. ``path`` None: no pass."""
    if path is None:
        yield
        return
    stop = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            build_profile(inputs, opts, column_map, path, stop)
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
