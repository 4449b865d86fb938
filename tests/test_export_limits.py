"""Export reading at the edges: fields of any size in every mode (JSONL and CSV in, CSV/JSONL/Parquet
out, several inputs, ``resume``), and UTF-8 files with stray cp1252 bytes decoded byte by byte.

The csv module's field limit (128 KB) is process-wide and some imports lift it; each test here puts
it back to the default first, so it shows what a fresh ``linkq score`` process does.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from serving.batch import BatchOptions, score_files
from serving.exports import read_export

ANCHOR = "big anchor " * 95_000  # ~1 MB
TARGET_TEXT = "target page text, " * 9_200  # ~164 KB
DEFAULT_LIMIT = 131072


@pytest.fixture(autouse=True)
def default_csv_limit() -> Iterator[None]:
    before = csv.field_size_limit(DEFAULT_LIMIT)
    yield
    csv.field_size_limit(before)


def big_jsonl(path: Path) -> Path:
    rows = [
        {"id": "a", "source_url": "https://a.example/p", "target_url": "https://t.example/", "anchor_text": ANCHOR},
        {"id": "b", "source_url": "https://b.example/q", "target_url": "https://t.example/", "anchor_text": "guide",
         "target_text": TARGET_TEXT},
        {"id": "c", "source_url": "https://c.example/r", "target_url": "https://t.example/", "anchor_text": "ok"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def read_out(path: Path) -> list[dict]:
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_jsonl_with_a_1_mb_anchor_and_a_164_kb_target_text_scores_every_row(tmp_path: Path, suffix: str) -> None:
    src = big_jsonl(tmp_path / "big.jsonl")
    out = tmp_path / f"scored{suffix}"
    summary = score_files([src], out, BatchOptions(chunk_rows=1))
    assert summary.rows_in == summary.rows_out == 3
    rows = read_out(out)
    assert [r["id"] for r in rows] == ["a", "b", "c"]
    assert rows[0]["anchor_text"] == ANCHOR and rows[1]["target_text"] == TARGET_TEXT
    assert all(str(r["status"]).startswith("scored") for r in rows)


def test_big_fields_survive_an_interrupted_run_and_its_resume(tmp_path: Path) -> None:
    src = big_jsonl(tmp_path / "big.jsonl")
    reference = tmp_path / "reference.csv"
    score_files([src], reference, BatchOptions(chunk_rows=1))
    csv.field_size_limit(DEFAULT_LIMIT)
    out = tmp_path / "out.csv"

    class Stop(Exception):
        pass

    def stop(done: int, rate: float) -> None:
        raise Stop

    with pytest.raises(Stop):
        score_files([src], out, BatchOptions(chunk_rows=1), progress=stop)
    csv.field_size_limit(DEFAULT_LIMIT)
    summary = score_files([src], out, BatchOptions(chunk_rows=1, resume=True))
    assert summary.chunks_resumed == 1 and summary.rows_out == 3
    assert out.read_bytes() == reference.read_bytes()


def test_several_inputs_with_other_columns_and_big_cells(tmp_path: Path) -> None:
    first = big_jsonl(tmp_path / "big.jsonl")
    second = tmp_path / "more.csv"
    with second.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["source_url", "target_url", "anchor_text", "note"])
        w.writerow(["https://d.example/s", "https://t.example/", "multi\nline " + ANCHOR, "x"])
    out = tmp_path / "out.csv"
    summary = score_files([second, first], out, BatchOptions(chunk_rows=1))
    assert summary.rows_in == summary.rows_out == 4
    rows = read_out(out)
    assert rows[0]["anchor_text"] == "multi\nline " + ANCHOR and rows[1]["anchor_text"] == ANCHOR


def test_csv_export_with_a_quoted_multiline_field_over_1_mb(tmp_path: Path) -> None:
    value = "line one\n" + "x" * 1_500_000 + "\nlast, line"
    path = tmp_path / "export.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["source_url", "target_url", "anchor_text"])
        w.writerow(["https://a.example/", "https://t.example/", value])
        w.writerow(["https://b.example/", "https://t.example/", "after"])
    _, chunks = read_export(path)
    rows = [r for c in chunks for r in c]
    assert [r.error for r in rows] == [None, None]
    assert rows[0].record["anchor_text"] == value and rows[1].line_no == 5  # type: ignore[index]


# -- encodings ---------------------------------------------------------------------------------------------


def test_a_stray_cp1252_byte_on_the_first_data_line_is_read_alone(tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    data = (b"source_url,target_url,anchor_text\n"
            + "https://a.example/,https://t.example/,Caf\xe9\n".encode("cp1252")  # the stray byte: 0xE9
            + "https://b.example/,https://t.example/,Preis 5 € Straße\n".encode()
            + "https://c.example/,https://t.example/,naïve\n".encode())
    path = tmp_path / "mixed.csv"
    path.write_bytes(data)
    with caplog.at_level(logging.WARNING, logger="serving.exports"):
        info, chunks = read_export(path)
        rows = [r for c in chunks for r in c]
    assert info.encoding == "utf-8"
    assert [r.record["anchor_text"] for r in rows] == ["Café", "Preis 5 € Straße", "naïve"]  # type: ignore[index]
    assert info.decoding.replaced_bytes == 1
    assert "1 byte was not valid UTF-8" in caplog.text


def test_replaced_bytes_are_counted_across_the_file_and_a_cp1252_file_stays_cp1252(tmp_path: Path) -> None:
    good = "".join(f"https://s{i}.example.org/,https://t.example/,ancre é {i}\n" for i in range(6000))
    data = b"source_url,target_url,anchor_text\n" + "https://x.example/,https://t.example/,\u201cq\u201d\n".encode(
        "cp1252") + good.encode("utf-8") + "https://y.example/,https://t.example/,Caf\xe9\n".encode("cp1252")
    path = tmp_path / "mixed.csv"
    path.write_bytes(data)
    info, chunks = read_export(path)
    rows = [r for c in chunks for r in c]
    assert info.encoding == "utf-8" and len(rows) == 6002
    assert rows[0].record["anchor_text"] == "\u201cq\u201d" and rows[-1].record["anchor_text"] == "Café"  # type: ignore[index]
    assert rows[1].record["anchor_text"] == "ancre é 0"  # type: ignore[index]
    assert info.decoding.replaced_bytes == 3
    latin = tmp_path / "latin.csv"
    latin.write_bytes("source_url,target_url,anchor_text\nhttps://a.example/,https://t.example/,Crème brûlée à "
                      "Paris\n".encode("cp1252"))
    info, chunks = read_export(latin)
    assert info.encoding == "cp1252" and info.decoding.replaced_bytes == 0
    assert next(chunks)[0].record["anchor_text"] == "Crème brûlée à Paris"  # type: ignore[index]
