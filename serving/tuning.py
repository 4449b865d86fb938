"""Process tuning for scoring, in one place: how many scoring processes, what each one is set up
with (one thread, freed memory kept, scikit-learn kept out, offline model loading) and Python's
collector paused while a chunk is scored. Each trick says why and what it measured where it lives;
the batch engines (one process, the pool, Dask) call these and nothing else does process tuning.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.abc
import itertools
import os
import signal
import sys
import threading
from collections.abc import Iterator

AUTO_WORKERS_MIN_ROWS = 20_000  # below this, scoring in one process beats starting a pool


def offline_env() -> None:
    """Model loading never reaches for the network (the embedding models are files on disk)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


_COLLECT_EVERY = 5  # chunks between full collections (~7 ms each with warm caches)
_CHUNKS_SCORED = itertools.count(1)  # in this process (each pool process has its own)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
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


def keep_freed_memory() -> None:
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
    per core in every process and oversubscribe), freed memory kept (:func:`keep_freed_memory`),
    LightGBM imported without scikit-learn (:func:`hide_sklearn_from_lightgbm`).
    """
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["MKL_NUM_THREADS"] = "1"
    keep_freed_memory()
    hide_sklearn_from_lightgbm()


class _SklearnHiddenFromLightGBM(importlib.abc.MetaPathFinder):
    """An import finder that refuses ``sklearn`` to LightGBM's import and to no one else."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "sklearn":
            frame = sys._getframe(1)
            while frame is not None:
                if frame.f_globals.get("__name__") == "lightgbm.compat":
                    raise ImportError("scikit-learn is not offered to LightGBM in a linkq scoring process")
                frame = frame.f_back  # type: ignore[assignment]
        return None


def hide_sklearn_from_lightgbm() -> None:
    """When LightGBM is imported in this process (now or later), it does not import scikit-learn.

    Why: LightGBM imports scikit-learn (and with it SciPy's stats) when it is imported, only to
    offer its scikit-learn API, which linkq never uses (it trains and predicts with ``lightgbm.train``
    and ``Booster``): ~0.7 s of start-up and ~65 MB per process. Measured on ``linkq score`` of a
    7,236-row Semrush export in one process (7 alternating pairs of whole runs): 4.44 -> 3.64 s wall
    (median), peak RSS 376 -> 313 MB, the same output. LightGBM supports running without it.
    Anything else may still import scikit-learn (the training metrics do), but this process's
    LightGBM has no working scikit-learn API (``LGBMClassifier``): so only linkq's own processes call
    this (the scoring processes and the ``linkq`` command), never the library on import. Nothing is
    imported here: a run that never loads LightGBM (the reading process of a pool) pays nothing.
    """
    if not any(isinstance(f, _SklearnHiddenFromLightGBM) for f in sys.meta_path):
        sys.meta_path.insert(0, _SklearnHiddenFromLightGBM())


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
    from .batch_options import BatchError  # here: the command line imports this module for every command

    if requested is not None:
        if requested < 1:
            raise BatchError(f"workers must be at least 1, got {requested}")
        return requested
    if estimated_rows is None or estimated_rows < max(AUTO_WORKERS_MIN_ROWS, 2 * chunk_rows):
        return 1
    return min(8, usable_cores())


@contextlib.contextmanager
def interrupt_on_sigterm() -> Iterator[None]:
    """SIGTERM (kill, a supervisor) ends a run as Ctrl-C does: KeyboardInterrupt, so the partial
    output is removed, the pool's processes are shut down and the user is told how to resume.
    Only from the main thread (signal handlers can be set nowhere else)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def die_with_parent() -> None:
    """A pool process gets SIGTERM when the process that started it dies, even by SIGKILL (Linux
    ``PR_SET_PDEATHSIG``): no ~300 MB scoring process is left behind by a killed ``linkq score``.
    The signal comes when the *thread* that started the process ends: pool processes must be
    started by the main thread (``LocalEngine.__enter__``), never by a helper thread that submits."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
