"""Instructions executed per export row (valgrind's cachegrind): a measure of CPU work that, unlike
wall or CPU time, does not move with a shared machine's noise, so two versions can be compared to a
percent or two in one run each.

Three workloads on a generated Ahrefs export (``bench_batch.write_export``), each run twice in a
fresh process under ``valgrind --tool=cachegrind --cache-sim=no``; the difference of the two counts
divided by the rows is printed:

* ``profile``: the lean profile pass (``serving.batch_profile.build_profile``) in one process, over
  ``--profile-rows`` rows;
* ``scoring``: ``serving.table.score_rows`` (record, features, worth score, reasons, CSV text) over
  ``--rows`` rows, in chunks of 5,000, set up as ``bench_table`` does (lean profile built, caches
  warmed; the rows read afresh in both runs, so reading is not counted, as in ``bench_table``), with
  Python's cyclic collector off as the engines have it while a chunk is scored (with it on, its
  passes over the caches were ~7% of the instructions counted, 730,300 against 679,300 a row, a cost
  real runs do not pay);
* ``run``: the whole command a user runs, ``linkq score EXPORT --out FILE --workers 1`` (reading, the
  profile pass, scoring, writing the parts and the output), over ``--run-rows`` and three times as
  many rows: the difference is what a row costs once the run has started, and the rest of the
  smaller run is the start-up. Any checkout with ``linkq_cli.py`` can be measured so, older versions
  included (``--workloads run --vs <checkout>``), which the two workloads above cannot.

The first two run once with the workload and once without it (imports, model loading, reading the
rows).

Instructions are not time (cache misses and branch mispredictions are not counted), but for this
interpreter-bound code they track it. They are not exactly repeatable either: two identical
checkouts measured side by side differed by up to 0.4% on the scoring workload (with the hash seed
fixed; the cyclic collector runs at other moments when the imported code differs), so read a
change under ~0.5% as no change. Needs ``valgrind`` (Debian: ``apt-get install valgrind``);
under it Python runs ~50x slower: the default sizes take ~4 minutes on 2 cores for the first two
workloads and ~3 more a checkout for ``run`` (the runs go two
at a time). ``--vs OTHER_TREE`` measures another checkout too and prints the ratios.

Run: ``.venv/bin/python bench/bench_instructions.py [--rows 10000] [--profile-rows 200000] [--run-rows 20000]
[--workloads profile,scoring,run] [--vs ../linkq-old]``.
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


# the whole command, run by ``python -c`` in the measured tree; argv: export, output file
RUN = r"""
import sys
sys.argv = ["linkq", "score", sys.argv[1], "--out", sys.argv[2], "--workers", "1"]
import linkq_cli
linkq_cli.main()
"""


def counted(tree: Path, script: str, args: list[str], name: str, tmp: Path) -> int:
    """Instructions of one process (``I refs`` of cachegrind's summary) running ``script`` in ``tree``."""
    out = tmp / f"cg.{os.getpid()}.{tree.name}.{name}"
    env = dict(os.environ, PYTHONPATH=str(tree), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               BENTOML_DO_NOT_TRACK="True", PYTHONHASHSEED="0")
    proc = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", f"--cachegrind-out-file={out}", sys.executable,
         "-c", script, *args],
        capture_output=True, text=True, env=env, cwd=tree, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"{tree} {name}: {proc.stderr[-2000:]}")
    m = re.search(r"I\s+refs:\s+([\d,]+)", proc.stderr)
    if m is None:
        raise RuntimeError(f"no instruction count in cachegrind's output:\n{proc.stderr[-2000:]}")
    return int(m.group(1).replace(",", ""))


def instructions(tree: Path, export: Path, rows: int, workload: str, run: bool, tmp: Path) -> int:
    """Instructions of the ``profile`` or ``scoring`` workload in ``tree``, with or without its work."""
    name = f"{workload}.{int(run)}"
    return counted(tree, WORKLOAD, [str(export), str(rows), workload, "1" if run else "0",
                                    str(tmp / f"{name}.{tree.name}.npz"), str(REPO / "bench")], name, tmp)


def per_row(tree: Path, export: Path, rows: int, workload: str, tmp: Path) -> float:
    with ThreadPoolExecutor(2) as pool:  # the two runs side by side: valgrind uses one core
        on, off = pool.map(lambda run: instructions(tree, export, rows, workload, run, tmp), (True, False))
    return (on - off) / rows


def whole_run(tree: Path, small: Path, large: Path, rows: int, tmp: Path) -> tuple[float, float]:
    """(instructions a row once started, instructions of the start-up) of ``linkq score`` in ``tree``:
    ``small`` holds ``rows`` rows, ``large`` three times as many, the first ``rows`` of them the same."""
    def one(export: Path) -> int:
        return counted(tree, RUN, [str(export), str(tmp / f"scored.{tree.name}.{export.stem}.csv")],
                       f"run.{export.stem}", tmp)

    with ThreadPoolExecutor(2) as pool:
        few, many = pool.map(one, (small, large))
    row = (many - few) / (2 * rows)
    return row, few - row * rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=10_000, help="rows scored")
    ap.add_argument("--profile-rows", type=int, default=200_000, help="rows of the profile pass")
    ap.add_argument("--run-rows", type=int, default=20_000, help="rows of the smaller whole run (the larger: 3x)")
    ap.add_argument("--workloads", default="profile,scoring,run", help="which of profile, scoring, run")
    ap.add_argument("--vs", type=Path, help="another linkq checkout, measured the same way")
    args = ap.parse_args()
    sys.path.insert(0, str(REPO / "bench"))
    from bench_batch import write_export

    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = set(workloads) - {"profile", "scoring", "run"}
    if unknown:
        ap.error(f"unknown workloads: {', '.join(sorted(unknown))}")
    sizes = {"profile": args.profile_rows, "scoring": args.rows, "run": args.run_rows}
    trees = [REPO] + ([args.vs.resolve()] if args.vs else [])
    got: dict[tuple[Path, str], float] = {}
    with tempfile.TemporaryDirectory(prefix="linkq-bench-ir-") as name:
        tmp = Path(name)
        if "profile" in workloads or "scoring" in workloads:
            export = write_export("ahrefs", tmp / "ahrefs.tsv", max(args.rows, args.profile_rows))
            for t in trees:
                for w in ("profile", "scoring"):
                    if w in workloads:
                        got[(t, w)] = per_row(t, export, sizes[w], w, tmp)
        if "run" in workloads:
            small = write_export("ahrefs", tmp / "run_small.tsv", args.run_rows)
            large = write_export("ahrefs", tmp / "run_large.tsv", 3 * args.run_rows)
            for t in trees:
                got[(t, "run")], got[(t, "start-up")] = whole_run(t, small, large, args.run_rows, tmp)
    rows = [(w, f"{sizes[w]:,}") for w in ("profile", "scoring", "run") if w in workloads]
    if "run" in workloads:
        rows.append(("start-up", "in all"))  # instructions of the whole start-up, not a row's
    print("| workload | rows | " + " | ".join(f"{t} (instructions a row)" for t in trees)
          + (" | ratio |" if args.vs else " |"))
    print("|---|---:|" + "---:|" * (len(trees) + (1 if args.vs else 0)))
    for w, n in rows:
        cells = " | ".join(f"{got[(t, w)]:,.0f}" for t in trees)
        ratio = f" | {got[(trees[0], w)] / got[(trees[1], w)]:.3f}" if args.vs else ""
        print(f"| {w} | {n} | {cells}{ratio} |")


if __name__ == "__main__":
    main()
