"""Instructions executed per export row (valgrind's cachegrind): a measure of CPU work that, unlike
wall or CPU time, does not move with a shared machine's noise, so two versions can be compared to a
percent or two in one run each.

Two workloads on a generated Ahrefs export (``bench_batch.write_export``), each run twice in a fresh
process under ``valgrind --tool=cachegrind --cache-sim=no``, once with the workload and once
without it (imports, model loading, reading the rows); the difference divided by the rows is
printed:

* ``profile``: the lean profile pass (``serving.batch_profile.build_profile``) in one process, over
  ``--profile-rows`` rows;
* ``scoring``: ``serving.table.score_rows`` (record, features, worth score, reasons, CSV text) over
  ``--rows`` rows, in chunks of 5,000, set up as ``bench_table`` does (lean profile built, caches
  warmed; the rows read afresh in both runs, so reading is not counted, as in ``bench_table``), with
  Python's cyclic collector off as the engines have it while a chunk is scored (with it on, its
  passes over the caches were ~7% of the instructions counted, 730,300 against 679,300 a row, a cost
  real runs do not pay).

Instructions are not time (cache misses and branch mispredictions are not counted), but for this
interpreter-bound code they track it. They are not exactly repeatable either: two identical
checkouts measured side by side differed by up to 0.4% on the scoring workload (with the hash seed
fixed; the cyclic collector runs at other moments when the imported code differs), so read a
change under ~0.5% as no change. Needs ``valgrind`` (Debian: ``apt-get install valgrind``);
under it Python runs ~50x slower: the default sizes take ~4 minutes on 2 cores (the runs go two
at a time). ``--vs OTHER_TREE`` measures another checkout too and prints the ratios.

Run: ``.venv/bin/python bench/bench_instructions.py [--rows 10000] [--profile-rows 200000] [--vs ../linkq-old]``.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# the workload, run by ``python -c`` in the measured tree; argv: export, rows, workload, with it (0/1),
# the profile file, this repository's bench folder
WORKLOAD = r"""
import sys
from pathlib import Path
export, rows, workload, run = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
if workload == "profile":
    from serving.batch_options import BatchOptions
    from serving.batch_profile import build_profile
    from serving.exports import read_export
    read_export(export, "auto", None, 5000)  # imports and the format's plan, in both runs
    if run:
        build_profile([export], BatchOptions(), None, Path(sys.argv[5]))
else:
    sys.path.insert(1, sys.argv[6])  # this repository's bench folder: bench_table's set-up
    from bench_table import scoring_setup
    load, score_all = scoring_setup(export, rows, 5000)
    sample = load()[1]  # read afresh (a row keeps its record once built) in both runs
    import gc
    gc.disable()  # as the engines do while a chunk is scored (serving.tuning.gc_paused)
    if run:
        score_all(sample)
"""


def instructions(tree: Path, export: Path, rows: int, workload: str, run: bool, tmp: Path) -> int:
    """Instructions of one process (``I refs`` of cachegrind's summary) running the workload in ``tree``."""
    out = tmp / f"cg.{os.getpid()}.{tree.name}.{workload}.{int(run)}"
    env = dict(os.environ, PYTHONPATH=str(tree), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               BENTOML_DO_NOT_TRACK="True", PYTHONHASHSEED="0")
    proc = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", f"--cachegrind-out-file={out}", sys.executable,
         "-c", WORKLOAD, str(export), str(rows), workload, "1" if run else "0", str(tmp / f"{out.name}.npz"),
         str(REPO / "bench")],
        capture_output=True, text=True, env=env, cwd=tree, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"{tree} {workload}: {proc.stderr[-2000:]}")
    m = re.search(r"I\s+refs:\s+([\d,]+)", proc.stderr)
    if m is None:
        raise RuntimeError(f"no instruction count in cachegrind's output:\n{proc.stderr[-2000:]}")
    return int(m.group(1).replace(",", ""))


def per_row(tree: Path, export: Path, rows: int, workload: str, tmp: Path) -> float:
    with ThreadPoolExecutor(2) as pool:  # the two runs side by side: valgrind uses one core
        on, off = pool.map(lambda run: instructions(tree, export, rows, workload, run, tmp), (True, False))
    return (on - off) / rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=10_000, help="rows scored")
    ap.add_argument("--profile-rows", type=int, default=200_000, help="rows of the profile pass")
    ap.add_argument("--vs", type=Path, help="another linkq checkout, measured the same way")
    args = ap.parse_args()
    sys.path.insert(0, str(REPO / "bench"))
    from bench_batch import write_export

    trees = [REPO] + ([args.vs.resolve()] if args.vs else [])
    with tempfile.TemporaryDirectory(prefix="linkq-bench-ir-") as name:
        tmp = Path(name)
        export = write_export("ahrefs", tmp / "ahrefs.tsv", max(args.rows, args.profile_rows))
        got = {(t, w): per_row(t, export, n, w, tmp) for t in trees
               for w, n in (("profile", args.profile_rows), ("scoring", args.rows))}
    print("| workload | rows | " + " | ".join(f"{t} (instructions a row)" for t in trees)
          + (" | ratio |" if args.vs else " |"))
    print("|---|---:|" + "---:|" * (len(trees) + (1 if args.vs else 0)))
    for w, n in (("profile", args.profile_rows), ("scoring", args.rows)):
        cells = " | ".join(f"{got[(t, w)]:,.0f}" for t in trees)
        ratio = f" | {got[(trees[0], w)] / got[(trees[1], w)]:.3f}" if args.vs else ""
        print(f"| {w} | {n:,} | {cells}{ratio} |")


if __name__ == "__main__":
    main()
