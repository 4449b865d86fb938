"""Batch scoring of backlink exports: ``linkq score INPUT... --out FILE``.

One call, :func:`score_files`, reads one or more exports (any format :mod:`serving.exports`
recognises), scores every row with the model and writes one table (.csv, .jsonl or .parquet, by the
output's extension): the user's original columns in their order, then ``score``, ``verdict``,
``reasons`` ("; "-joined), ``placement_zone``, ``status`` (and the scorer's other result fields, e.g.
``flags``), then with ``explain`` every feature in schema order. With several inputs a ``source_file``
column comes first and the rows of the files follow each other in the order given.

This module is the entry (:func:`score_files`); the rooms around it: ``batch_options`` (options,
errors, the summary), ``table`` (export rows -> the scored table, shared with the HTTP service),
``batch_engines`` (the per-chunk function; this process, a pool, Dask), ``batch_parts`` (parts,
resume, assembling the file) and ``tuning`` (process tuning, in one place).

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

import dataclasses
import glob
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

from features.page_cache import CacheError
from features.pages import open_pages

from .batch_engines import (
    ChunkResult,
    ChunkTask,
    DaskEngine,
    Done,
    LocalEngine,
    WorkSpec,
    get_scorer,
    process_chunk,
)
from .batch_options import (
    DEFAULT_CHUNK_ROWS,
    ENGINES,
    OUTPUT_SUFFIXES,
    BatchError,
    BatchIntegrityError,
    BatchOptions,
    BatchSummary,
    InputSummary,
    ProgressCallback,
    estimate_or_none,
    estimate_rows,
)
from .batch_parts import (
    STATE_VERSION,
    StreamingAssembly,
    assemble,
    commit_part,
    file_fingerprint,
    model_fingerprint,
    part_stem,
    prepare_parts,
    read_header,
)
from .batch_profile import profile_beside, with_bom, write_summary
from .exports import read_export
from .table import MAX_EXAMPLES, ScoreFn, chunk_hidden, hidden_columns, output_columns, result_fields
from .tuning import local_workers, tune_scoring_process

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "BatchError",
    "BatchIntegrityError",
    "BatchOptions",
    "BatchSummary",
    "InputSummary",
    "OUTPUT_SUFFIXES",
    "estimate_rows",
    "get_scorer",
    "output_columns",
    "process_chunk",
    "score_files",
    "tune_scoring_process",
]


def score_files(
    inputs: Sequence[Path],
    out: Path,
    options: BatchOptions | None = None,
    progress: ProgressCallback | None = None,
    score: ScoreFn | None = None,
) -> BatchSummary:
    """Score every row of ``inputs`` into ``out`` (.csv, .jsonl or .parquet); see the module doc.

    ``score`` scores the records of each chunk instead of the model of ``options`` (which still
    names the model in the resume state and the summary), in this process (the local engine with
    one worker): the HTTP service passes its scoring queue, so ``POST /score_export`` runs this same
    engine and writes the same table as ``linkq score``.

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
    try:  # fails fast: a missing path, a folder without manifest, a file that is not a page cache
        page_sources = [open_pages(p) for p in (opts.pages, opts.target_pages)]
    except CacheError as exc:
        raise BatchError(str(exc)) from exc

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
        "inputs": [file_fingerprint(p) for p in inputs],
        "labels": labels,
        "format": opts.format,
        "column_map": sorted(column_map.items()) if column_map else None,
        "model": model_fingerprint(model_dir),
        "pages": page_sources[0].fingerprint(),
        "target_pages": page_sources[1].fingerprint(),
        "explain": opts.explain,
        "chunk_rows": opts.chunk_rows,
        "output": suffix,
        "fields": list(fields),
        "brands": list(opts.brands),
        "money": list(opts.money),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    prepare_parts(parts, state, opts.resume)
    for stale in out.parent.glob(f".{glob.escape(out.name)}.*.partial"):  # a killed run's half-written output
        stale.unlink(missing_ok=True)

    counts = [0] * len(inputs)
    stems: list[str] = []
    resumed = [0, 0]  # chunks, rows

    def items() -> Iterator[ChunkTask | Done]:
        for i, (info, chunks) in enumerate(plans):
            hidden = hidden_columns(info)
            for k, rows in enumerate(chunks):
                counts[i] += len(rows)
                stem = part_stem(i, k)
                stems.append(stem)
                h = read_header(parts, stem) if opts.resume else None
                if h is not None:
                    if (h["rows"], h["first_line"], h["last_line"]) != (len(rows), rows[0].line_no,
                                                                         rows[-1].line_no):
                        raise BatchError(f"cannot resume: {inputs[i]} no longer matches {stem}; "
                                         "run without --resume to start over")
                    resumed[0] += 1
                    resumed[1] += len(rows)
                    yield Done(i, k, len(rows))
                    continue
                yield ChunkTask(spec, i, k, info.format, labels[i], chunk_hidden(rows, hidden), rows)

    if score is not None:
        if opts.engine != "local" or opts.workers not in (None, 1):
            raise BatchError("a scoring function runs in this process: engine local, one worker")
        engine: LocalEngine | DaskEngine = LocalEngine(spec, 1, score)
    elif opts.engine == "local":
        n_workers = local_workers(opts.workers, estimate_or_none(inputs), opts.chunk_rows)
        engine = LocalEngine(spec, n_workers)
    else:
        engine = DaskEngine(spec, opts.scheduler, 2 if opts.workers is None else opts.workers)
    done_rows = 0
    known: dict[str, None] = {}  # the inputs' columns: the output's, unless a part brings others
    for info, _ in plans:
        hidden = hidden_columns(info)
        known.update((c, None) for c in info.columns if c not in hidden)
    stream = StreamingAssembly(out, list(known), fields, opts.explain, multi,
                                enabled=all(info.format != "jsonl" for info, _ in plans))
    try:
        with engine:
            reuse = opts.resume and profile_path.is_file()
            with profile_beside(inputs, opts, column_map, None if reuse else profile_path, engine.executor,
                                2 * engine.workers):
                engine.start()
            t_work = time.perf_counter()
            for res in engine.run(items()):
                if isinstance(res, ChunkResult):
                    commit_part(parts, res)
                    stream.add(res.header, res.body)
                    done_rows += res.header["rows"]
                else:
                    if stream.active:  # a chunk done by the interrupted run: its committed body
                        stem = part_stem(res.input_index, res.chunk_index)
                        h = read_header(parts, stem)
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
        h = read_header(parts, stem)
        if h is None:
            raise BatchIntegrityError(f"part {stem} is missing from {parts}; run again with --resume")
        headers.append(h)
    if streamed is not None:
        tmp, rows_out = streamed
    else:
        originals = dict(known)
        for h in headers:
            originals.update((c, None) for c in h["columns"] if c not in originals)
        tmp, rows_out = assemble(parts, stems, headers, out, list(originals), fields, opts.explain, multi)
    in_parts = sum(h["rows"] for h in headers)
    if not rows_in == in_parts == rows_out == done_rows:
        tmp.unlink(missing_ok=True)
        raise BatchIntegrityError(
            f"{rows_in} rows read, {in_parts} in the parts, {rows_out} in the assembled file: the output "
            f"was not written; the parts are kept in {parts}"
        )
    if opts.excel and suffix == ".csv":
        tmp = with_bom(tmp)
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
        examples.extend(st["examples"][: max(0, MAX_EXAMPLES - len(examples))])
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
