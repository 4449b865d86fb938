"""No cell of a scored CSV starts a spreadsheet formula (CSV injection): the user's cells and linkq's own."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from features.recordio import defuse
from serving.batch import BatchOptions, score_files

HOSTILE = ["=HYPERLINK(\"http://evil.example/\",\"click\")", "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
           "-2+3+cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]


@pytest.mark.parametrize("value", HOSTILE)
def test_formula_looking_text_gets_an_apostrophe(value: str) -> None:
    assert defuse(value) == "'" + value


@pytest.mark.parametrize("value", ["-5", "+3.2", "-0,5", "12%", "plain text", "", "a=b", "1e-3", "-", "+"])
def test_numbers_and_plain_text_are_kept(value: str) -> None:
    assert defuse(value) == value


@pytest.mark.parametrize("plain_lines", [True, False])
def test_no_scored_csv_cell_starts_a_formula(tmp_path: Path, plain_lines: bool) -> None:
    """Anchors and titles from a stranger's export (plain lines copied by the fast path, or quoted
    cells) come out defused; numbers such as -5 stay numbers; linkq's own cells never start one."""
    src = tmp_path / "links.csv"
    rows = [["source_url", "target_url", "anchor_text", "source_title", "page_authority", "note"]]
    for i, text in enumerate(HOSTILE[:4]):
        cell = text.replace(",", ";").replace('"', "'") if plain_lines else text
        rows.append([f"https://blog{i}.example.org/p", "https://shop.example.com/", cell, cell, "-5", "ok"])
    with src.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    out = tmp_path / "scored.csv"
    score_files([src], out, BatchOptions())
    with out.open(encoding="utf-8", newline="") as fh:
        got = list(csv.reader(fh))
    for row in got[1:]:
        for cell in row:
            assert not cell or cell[0] not in "=+-@\t\r" or cell == "-5", row
        assert row[2].startswith("'") and row[3].startswith("'") and row[4] == "-5"


def test_outputs_follow_the_umask_and_json_is_strict(tmp_path: Path) -> None:
    """Scored files, their summary and `linkq features` output get the mode the umask gives (not
    mkstemp's 0600); JSON lines never hold a bare NaN token (null for unknown)."""
    import json
    import os

    from click.testing import CliRunner

    from linkq_cli import cli

    src = tmp_path / "links.csv"
    src.write_text("source_url,target_url,anchor_text\nhttps://a.example.org/p,https://b.example.com/,=1+1\n",
                   encoding="utf-8")
    old = os.umask(0o022)
    try:
        score_files([src], tmp_path / "s.csv", BatchOptions())
        res = CliRunner().invoke(cli, ["features", str(src), "--out", str(tmp_path / "f.jsonl")])
        assert res.exit_code == 0, res.output
        res = CliRunner().invoke(cli, ["features", str(src), "--out", str(tmp_path / "f.csv")])
        assert res.exit_code == 0, res.output
    finally:
        os.umask(old)
    for name in ("s.csv", "s.csv.summary.json", "f.jsonl", "f.csv"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644, name
    line = (tmp_path / "f.jsonl").read_text(encoding="utf-8").splitlines()[0]
    assert "NaN" not in line and json.loads(line)["sim_page_target"] is None
    with (tmp_path / "f.csv").open(encoding="utf-8", newline="") as fh:
        assert next(csv.DictReader(fh))["anchor_text"] == "'=1+1"


def test_excel_option_writes_a_byte_order_mark_and_the_same_rows(tmp_path: Path) -> None:
    src = tmp_path / "links.csv"
    src.write_text("source_url,target_url,anchor_text\nhttps://a.example.org/p,https://b.example.com/,café €\n",
                   encoding="utf-8")
    score_files([src], tmp_path / "plain.csv", BatchOptions())
    score_files([src], tmp_path / "excel.csv", BatchOptions(excel=True))
    plain, excel = (tmp_path / "plain.csv").read_bytes(), (tmp_path / "excel.csv").read_bytes()
    assert excel == b"\xef\xbb\xbf" + plain and not plain.startswith(b"\xef\xbb\xbf")
    assert not list(tmp_path.glob(".*.partial"))


def test_repeated_examples_are_printed_once_with_their_count() -> None:
    from serving.batch_options import BatchSummary, InputSummary

    s = BatchSummary(out=Path("o.csv"), model_id="m", engine="local", inputs=(InputSummary("a.csv", "gsc", "utf-8", 5),),
                     rows_in=5, rows_out=5, seconds=1.0, startup_seconds=0.5, verdicts={}, statuses={"skipped": 5},
                     weak_domains=[], chunks=1, chunks_resumed=0, rows_resumed=0, examples=["a.csv: skipped: x"] * 5)
    assert [line for line in s.lines() if "e.g." in line] == ["  e.g. a.csv: skipped: x (5 rows)"]
