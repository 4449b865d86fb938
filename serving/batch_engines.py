"""Batch engines: chunks of export rows in, scored chunks out, in input order.

:func:`process_chunk` is the one per-chunk function (export rows -> ``serving.table.score_rows``
with the chunk's pages); :class:`LocalEngine` runs it in this process or a pool of processes,
:class:`DaskEngine` on a Dask cluster. The model is loaded once per process (:func:`get_scorer`)
and the page sources opened once per process (``features.pages.shared_pages``).
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from features.pages import BatchPages, shared_pages, shared_target_pages

from .batch_options import BatchError
from .exports import ExportRow
from .table import ScoreFn, TableSpec, score_rows
from .tuning import die_with_parent, gc_paused, offline_env, tune_scoring_process


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


def get_scorer(model_dir: str) -> Any:
    """The Scorer for a model folder, loaded once per process (each Dask worker keeps its own)."""
    folder = Path(model_dir)
    key = f"{model_dir}\x00{(folder / 'metadata.json').stat().st_mtime_ns}"  # a retrained model reloads
    scorer = _SCORERS.get(key)
    if scorer is None:
        offline_env()
        from .scoring import Scorer

        _SCORERS.clear()
        scorer = _SCORERS[key] = Scorer.load(str(folder), folder.parent)
    return scorer


_PROFILES: dict[str, Any] = {}


def get_profile(path: str | None) -> Any:
    """The export's ProfileStats from its file, read once per process (None: no profile pass)."""
    if path is None:
        return None
    st = Path(path).stat()
    key = f"{path}\x00{st.st_mtime_ns}\x00{st.st_size}"  # a later run may write another profile at that path
    got = _PROFILES.get(key)
    if got is None:
        from features.profile import ProfileStats

        _PROFILES.clear()  # one export at a time per process
        got = _PROFILES[key] = ProfileStats.from_bytes(Path(path).read_bytes())
    return got


def process_chunk(task: ChunkTask, score: ScoreFn | None = None) -> ChunkResult:
    """Score one chunk of export rows; the same function for the local and the Dask engine.

    ``score(records, profile)`` (in-process only) replaces the model of ``task.spec`` (the HTTP
    service passes its scoring queue); ``profile`` is the whole export's (``features.profile``)."""
    with gc_paused():
        return _process_chunk(task, score)


def _process_chunk(task: ChunkTask, score: ScoreFn | None) -> ChunkResult:
    spec = task.spec
    pages = BatchPages(shared_pages(spec.pages)) if spec.pages else None
    profile = get_profile(spec.profile)
    if score is None:
        scorer = get_scorer(spec.model_dir)

        def score(records: list[dict[str, object]]) -> list[dict]:
            return scorer.score(records, pages, explain=spec.explain, profile=profile, brands=spec.brands,
                                money=spec.money)
    else:
        given = score

        def score(records: list[dict[str, object]]) -> list[dict]:
            return given(records, profile)  # type: ignore[call-arg]

    targets = shared_target_pages(spec.target_pages) if spec.target_pages else None
    header, body = score_rows(task.rows, score, TableSpec(spec.output, spec.explain, spec.multi),
                              format=task.format, label=task.label, hidden=task.hidden, pages=pages,
                              targets=targets)
    return ChunkResult(task.input_index, task.chunk_index, header, body)


def _pool_worker(spec: WorkSpec) -> None:
    """Initializer of a local pool process: dies with its parent, tuned for scoring, then the model loaded."""
    die_with_parent()
    tune_scoring_process()
    warm_worker(spec)


def warm_worker(spec: WorkSpec) -> str:
    """Load the model (and open the page sources) in this process; returns the model id."""
    scorer = get_scorer(spec.model_dir)
    shared_pages(spec.pages)
    shared_pages(spec.target_pages)
    return str(scorer.model.model_id)


# --------------------------------------------------------------------------------------------------
# engines: ordered map of tasks to results, with a bounded number in flight


@dataclass(frozen=True)
class Done:
    """A chunk already committed by an interrupted run (resume): passed through in order."""

    input_index: int
    chunk_index: int
    rows: int


def ordered(items: Iterable[ChunkTask | Done], submit: Callable[[ChunkTask], Any],
             slots: int) -> Iterator[ChunkResult | Done]:
    """Submit tasks as futures with at most ``slots`` in flight; yield results in input order
    (``Done`` items pass through in their place). Pending futures are cancelled on exit."""
    pending: deque[Any] = deque()
    in_flight = 0
    try:
        for item in items:
            if isinstance(item, Done):
                pending.append(item)
            else:
                pending.append(submit(item))
                in_flight += 1
            while pending and (isinstance(pending[0], Done) or in_flight >= slots):
                head = pending.popleft()
                if not isinstance(head, Done):
                    in_flight -= 1
                    head = head.result()
                yield head
        while pending:
            head = pending.popleft()
            yield head if isinstance(head, Done) else head.result()
    finally:
        for f in pending:
            if not isinstance(f, Done):
                f.cancel()


class LocalEngine:
    """Chunks scored in this process (``workers == 1``) or in a pool of ``workers`` processes, each
    loading the model once; results are taken in input order, two chunks per process in flight."""

    name = "local"

    def __init__(self, spec: WorkSpec, workers: int = 1, score: ScoreFn | None = None) -> None:
        self.spec = spec
        self.workers = workers
        self.score = score  # in this process only: replaces the model (the HTTP service's queue)
        self._pool: Any = None
        self._warming: list[Any] = []

    def __enter__(self) -> LocalEngine:
        if self.workers > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # spawn: a fresh interpreter, safe whatever threads this process runs (fork is not)
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_pool_worker, initargs=(self.spec,))
            # one warm-up task per process: the pool starts its processes now, from this thread (a
            # process started from a helper thread, e.g. by the profile pass submitting a batch,
            # would get its parent-death signal when that thread ends: tuning.die_with_parent)
            self._warming = [self._pool.submit(warm_worker, self.spec) for _ in range(self.workers)]
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    @property
    def executor(self) -> Any:
        """The pool of scoring processes (a ``concurrent.futures`` executor), None in this process:
        the profile pass counts batches there while the processes would otherwise wait."""
        return self._pool

    def start(self) -> None:
        if self._pool is None:
            if self.score is None:
                warm_worker(self.spec)
            return
        # every process loads the model in its initializer; wait for them, surfacing load errors now
        for f in self._warming:
            f.result()

    def run(self, items: Iterable[ChunkTask | Done]) -> Iterator[ChunkResult | Done]:
        if self._pool is None:
            for item in items:
                yield item if isinstance(item, Done) else process_chunk(item, self.score)
            return
        yield from ordered(items, lambda task: self._pool.submit(process_chunk, task), 2 * self.workers)


class DaskEngine:
    """Chunks as Dask futures, at most two per worker in flight, results taken in input order."""

    name = "dask"

    def __init__(self, spec: WorkSpec, scheduler: str | None, workers: int) -> None:
        self.spec = spec
        self.scheduler = scheduler
        self.workers = workers
        self._stack = contextlib.ExitStack()
        self.client: Any = None

    def __enter__(self) -> DaskEngine:
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

    @property
    def executor(self) -> Any:
        """The cluster as a ``concurrent.futures`` executor (Dask's ``ClientExecutor``): the profile
        pass counts batches on the workers, as with the local pool."""
        return self.client.get_executor(pure=False) if self.client is not None else None

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

    def run(self, items: Iterable[ChunkTask | Done]) -> Iterator[ChunkResult | Done]:
        slots = 2 * max(1, len(self.client.scheduler_info().get("workers", {})))
        yield from ordered(items, lambda task: self.client.submit(process_chunk, task, pure=False), slots)
