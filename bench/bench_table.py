"""CPU per export row of one scoring process's work, in this process: the record built from the
cells and ``serving.table.score_rows`` (validation, features, worth score, reasons, CSV text),
export-only, without ``--explain``, as a pool process does it for each chunk.

The rows come from a generated Ahrefs export (``bench_batch.write_export``: the tool's UTF-16
layout, a few thousand referring domains). The export's lean profile is built first, as the reading
process would; each repetition reads its own ``--rows`` rows of the export (never rows an earlier
repetition scored: the URL, title and anchor memos are then as warm as an export's repeats make
them, not warm with the very rows measured: measured 2026-12-06, 2 alternating runs of 3 x 20,000
rows, 127 µs a row against 98-103 µs when every repetition re-scored the same rows), scores them in
chunks of ``--chunk`` rows and takes the process CPU time; the best of ``--repeat`` is printed with
the median, in µs per row. ``--vs OTHER_TREE`` runs the same measurement with another checkout of
linkq in alternating child processes and prints each pair's ratio (this tree / other): use it to
compare two versions on a shared, noisy machine.

Run: ``.venv/bin/python bench/bench_table.py [--rows 20000] [--repeat 4] [--vs ../linkq-old]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def scoring_setup(export: Path, rows: int, chunk: int, parts: int = 1) -> tuple[
        Callable[..., tuple[str, list]], Callable[[list], None]]:
    """Run in a process whose ``sys.path`` starts with the measured tree: (``load(part=0)``: the
    export's rows ``part * rows`` to ``(part + 1) * rows`` read afresh, with its format; ``score_all``:
    rows through ``score_rows`` in chunks of ``chunk``), with the model loaded, the lean profile of
    the first ``parts * rows`` rows built (as the reading process would) and the caches warmed on the
    first 300 rows."""
    from features.artifact import default_models_dir, resolve_model_dir
    from features.profile import LEAN_PROFILE_FIELDS, ProfileBuilder
    from serving.batch_engines import get_scorer
    from serving.exports import read_export
    from serving.table import TableSpec, score_rows

    def read(first: int, last: int) -> tuple[str, list]:
        info, chunks = read_export(export, "auto", None, chunk)
        got: list = []
        for c in chunks:
            got += c
            if len(got) >= last:
                break
        return info.format, got[first:last]

    def load(part: int = 0) -> tuple[str, list]:
        return read(part * rows, (part + 1) * rows)

    scorer = get_scorer(str(resolve_model_dir(default_models_dir()).resolve()))
    fmt, sample = read(0, parts * rows)
    builder = ProfileBuilder(lean=True)
    for r in sample:
        rec = r.partial_record(LEAN_PROFILE_FIELDS)
        if rec is not None:
            builder.add(rec)
    profile = builder.build()

    def score(records: list) -> list:
        return scorer.score(records, None, profile=profile)

    spec = TableSpec(".csv", False, False)

    def score_all(sample: list, fmt: str = fmt) -> None:
        for i in range(0, len(sample), chunk):
            score_rows(sample[i:i + chunk], score, spec, format=fmt, label="bench", hidden=frozenset())

    score_all(sample[:300])  # warm caches
    return load, score_all


def measure(tree: Path, export: Path, rows: int, chunk: int, repeat: int) -> dict[str, float]:
    """Run in a process whose ``sys.path`` starts with ``tree``: µs of CPU per row, best and median."""
    load, score_all = scoring_setup(export, rows, chunk, repeat)
    times = []
    gc.disable()
    for part in range(repeat):
        _, sample = load(part)
        start = time.process_time()
        score_all(sample)
        times.append(1e6 * (time.process_time() - start) / len(sample))
        gc.collect()
    return {"best_us_per_row": min(times), "median_us_per_row": statistics.median(times), "rows": len(sample)}


def child(tree: Path, export: Path, args: argparse.Namespace) -> dict[str, float]:
    """The measurement in a fresh process with ``tree`` first on the path (and its model)."""
    code = (f"import sys, json; sys.path.insert(0, {str(tree)!r}); sys.path.insert(1, {str(REPO / 'bench')!r}); "
            f"from bench_table import measure; from pathlib import Path; "
            f"print(json.dumps(measure(Path({str(tree)!r}), Path({str(export)!r}), {args.rows}, {args.chunk}, "
            f"{args.repeat})))")
    env = dict(os.environ, PYTHONPATH=str(tree), HF_HUB_OFFLINE="1", BENTOML_DO_NOT_TRACK="True")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tree,
                         check=True, timeout=1800)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=20_000, help="export rows scored per repetition")
    ap.add_argument("--chunk", type=int, default=5_000, help="rows per score_rows call (the batch's chunk)")
    ap.add_argument("--repeat", type=int, default=4, help="repetitions per process (best and median kept)")
    ap.add_argument("--vs", type=Path, help="another linkq checkout to compare with, in alternating processes")
    ap.add_argument("--pairs", type=int, default=3, help="with --vs: how many pairs of processes")
    args = ap.parse_args()
    sys.path.insert(0, str(REPO / "bench"))
    from bench_batch import write_export

    with tempfile.TemporaryDirectory(prefix="linkq-bench-table-") as tmp:
        export = write_export("ahrefs", Path(tmp) / "ahrefs.tsv", args.rows * args.repeat)
        if args.vs is None:
            got = child(REPO, export, args)
            print(f"{got['rows']} Ahrefs rows: {got['best_us_per_row']:.1f} µs of CPU a row (best), "
                  f"{got['median_us_per_row']:.1f} (median of {args.repeat})")
            return
        ratios = []
        for k in range(args.pairs):
            mine, other = child(REPO, export, args), child(args.vs.resolve(), export, args)
            ratios.append(mine["best_us_per_row"] / other["best_us_per_row"])
            print(f"pair {k + 1}: this tree {mine['best_us_per_row']:.1f} µs a row, {args.vs} "
                  f"{other['best_us_per_row']:.1f}: ratio {ratios[-1]:.3f}")
        print(f"median ratio (this / other): {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
