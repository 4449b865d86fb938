"""No cell of a scored CSV starts a spreadsheet formula (CSV injection): the user's cells and linkq's own."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from serving.batch import BatchOptions, score_files
from serving.table import defuse

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
