"""Golden scored files: every fixture export, scored by ``linkq score``'s engine, byte for byte.

The files in ``tests/golden/`` were written by the code of the day they were pinned; this test
re-scores each fixture export (``tests/fixtures/exports/`` and ``tests/golden/inputs/``) with the
shipped model and compares the output with its golden file byte for byte. Variants per export:

* ``plain``: export-only, as ``linkq score FILE --out X.csv``;
* ``pages``: with ``--pages tests/golden/pages`` (a saved-pages folder that maps every source URL of
  the fixtures to one of the two fixture pages, so rows come back ``link_missing``, ``scored`` or,
  for Search Console, skipped with the page present);
* ``explain``: with the pages, ``--target-pages tests/golden/target_pages`` and ``--explain`` (every
  feature value).

A change that moves code must leave these bytes as they are. A deliberate change of the output (a
new feature, a new model, another registered-domain rule) re-pins them in its own commit, saying
what moved::

    LINKQ_UPDATE_GOLDENS=1 python -m pytest -q tests/test_golden.py

With ``LINKQ_UPDATE_GOLDENS=1`` the test writes the files instead of comparing (and then passes);
review the diff before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from serving.batch import BatchOptions, score_files
from serving.exports import ExportFormatError, read_export

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
EXPORTS = HERE / "fixtures" / "exports"
PAGES = GOLDEN / "pages"
TARGET_PAGES = GOLDEN / "target_pages"
UPDATE = os.environ.get("LINKQ_UPDATE_GOLDENS", "") == "1"
VARIANTS = ("plain", "pages", "explain")


def _scorable(path: Path) -> bool:
    try:
        read_export(path)
    except ExportFormatError:
        return False  # not a backlink export (its refusal is tested in test_exports / test_batch)
    return True


INPUTS = sorted([p for p in EXPORTS.iterdir() if _scorable(p)] + sorted((GOLDEN / "inputs").iterdir()))


def variant_options(variant: str) -> BatchOptions:
    """What ``linkq score`` is given for a variant (one scoring process, as the CLI uses below 20,000 rows)."""
    if variant == "plain":
        return BatchOptions(workers=1)
    if variant == "pages":
        return BatchOptions(workers=1, pages=PAGES)
    return BatchOptions(workers=1, pages=PAGES, target_pages=TARGET_PAGES, explain=True)


def golden_path(export: Path, variant: str) -> Path:
    return GOLDEN / f"{export.name}.{variant}.csv"


def test_inputs_cover_every_fixture_format() -> None:
    formats = {read_export(p)[0].format for p in INPUTS}
    assert {"ahrefs", "ahrefs_awt", "semrush", "semrush_legacy", "semrush_audit", "majestic", "moz", "gsc", "csv",
            "jsonl"} <= formats


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("export", INPUTS, ids=lambda p: p.name)
def test_scored_output_is_byte_identical_to_its_golden_file(export: Path, variant: str, tmp_path: Path) -> None:
    out = tmp_path / "scored.csv"
    score_files([export], out, variant_options(variant))
    golden = golden_path(export, variant)
    if UPDATE:
        golden.write_bytes(out.read_bytes())
        return
    assert golden.is_file(), f"{golden} is missing: run with LINKQ_UPDATE_GOLDENS=1 to pin it"
    got, want = out.read_bytes(), golden.read_bytes()
    if got != want:
        got_lines, want_lines = got.decode().splitlines(), want.decode().splitlines()
        first = next((i for i, (a, b) in enumerate(zip(got_lines, want_lines, strict=False)) if a != b),
                     min(len(got_lines), len(want_lines)))
        pytest.fail(f"{export.name} ({variant}) differs from {golden.name} at line {first + 1}:\n"
                    f"  got:  {got_lines[first][:300] if first < len(got_lines) else '<end>'}\n"
                    f"  want: {want_lines[first][:300] if first < len(want_lines) else '<end>'}")


def test_the_linkq_score_command_writes_the_golden_files(tmp_path: Path) -> None:
    """The command is the engine's thin face: its output is the plain golden of each export."""
    from click.testing import CliRunner

    from linkq_cli import cli

    for export in INPUTS:
        out = tmp_path / f"{export.name}.csv"
        result = CliRunner().invoke(cli, ["score", str(export), "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert out.read_bytes() == golden_path(export, "plain").read_bytes(), export.name
