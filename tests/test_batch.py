"""serving.batch: exports in, one scored table out; no row lost, resumable, atomic, same on Dask.

Uses the export fixtures in tests/fixtures/exports/, the saved pages in tests/fixtures/pages/ and the
real default model (models/CURRENT), loaded once per process by serving.batch's cache.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import shutil
from pathlib import Path

import pytest

import serving.batch as batch
import serving.batch_engines as engines
import serving.batch_parts as parts_mod
import serving.table as table
import serving.tuning as tuning
from features.schema import FEATURE_NAMES
from serving.batch import (
    BatchError,
    BatchIntegrityError,
    BatchOptions,
    score_files,
)
from serving.exports import ExportFormatError, ExportRow, read_export
from serving.scoring import RESULT_FIELDS
from serving.table import GSC_NO_PAGE, GSC_NO_TARGET

FIX = Path(__file__).parent / "fixtures" / "exports"
PAGES = Path(__file__).parent / "fixtures" / "pages"
SCIENCE_URL = "https://www.sciencealert.com/nasa-finds-water-plumes-above-the-surface-of-jupiter-s-icy-moon-europa"
EXPLAINED = [f for f in FEATURE_NAMES if f != "placement_zone"]
FIELDS = list(RESULT_FIELDS)
OK_STATUSES = {"scored", "scored_without_page", "link_missing"}

FORMAT_FIXTURES = [
    "ahrefs_utf16.tsv", "ahrefs_utf8.csv", "ahrefs_awt.csv", "semrush.csv", "semrush_legacy.csv",
    "semrush_audit.csv", "majestic.csv", "moz.csv", "gsc_latest_links_es.csv", "gsc_sample_links.csv",
    "gsc_links.zip", "generic.csv", "cp1252.csv", "links.jsonl", "duplicate_headers.csv",
]


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        return header, [dict(zip(header, row, strict=True)) for row in reader]


def export_rows(path: Path):
    info, chunks = read_export(path)
    return info, [row for chunk in chunks for row in chunk]


def write_links(path: Path, n: int, extra: dict[str, str] | None = None) -> Path:
    """A canonical CSV of n distinct links (row i has anchor 'anchor i')."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "source_url", "target_url", "anchor_text", "domain_authority", *(extra or {})])
        for i in range(n):
            w.writerow([f"L{i}", f"https://site{i % 7}.example.org/post-{i}", "https://shop.example.com/shoes",
                        f"anchor {i}", str(i % 90), *(extra or {}).values()])
    return path


# ------------------------------------------------------------------------------------------------
# every format: counts, order, original columns


@pytest.mark.parametrize("name", FORMAT_FIXTURES)
def test_every_row_comes_out_once_in_order_with_original_columns(name: str, tmp_path: Path) -> None:
    info, rows = export_rows(FIX / name)
    out = tmp_path / "scored.csv"
    summary = score_files([FIX / name], out)
    header, got = read_csv(out)
    originals = [c for c in info.columns if c != "source_html"]
    for row in rows:  # JSONL lines may carry keys the first line lacks, and bad rows "(extra N)" cells
        originals += [c for c in row.original if c not in originals]
    assert header == originals + FIELDS
    assert summary.rows_in == summary.rows_out == len(rows) == len(got)
    assert summary.ok and not (tmp_path / "scored.csv.parts").exists()
    for row, out_row in zip(rows, got, strict=True):
        assert [out_row[c] for c in row.original] == list(row.original.values())
        status = out_row["status"]
        assert status in OK_STATUSES or status == "lost" or status.startswith(("error: line ", "skipped: ")), status
        if status in OK_STATUSES:
            assert 0.0 <= float(out_row["score"]) <= 1.0
            assert out_row["verdict"] in ("strong", "review", "weak")
        else:
            assert out_row["score"] == "" and out_row["verdict"] == ""
    assert sum(summary.statuses.values()) == len(rows)
    assert sum(summary.verdicts.values()) == sum(v for k, v in summary.statuses.items() if k in OK_STATUSES)


def test_bad_rows_keep_their_line_numbers(tmp_path: Path) -> None:
    out = tmp_path / "m.csv"
    score_files([FIX / "majestic.csv", FIX / "links.jsonl"], out)
    _, got = read_csv(out)
    by_file = {}
    for r in got:
        by_file.setdefault(Path(r["source_file"]).name, []).append(r["status"])
    assert by_file["majestic.csv"][2] == "error: line 4: unbalanced quotes (a quoted field is never closed)"
    assert by_file["links.jsonl"][2].startswith("error: line 3: invalid JSON")
    assert by_file["links.jsonl"][3] == "error: line 5: expected a JSON object, got list"
    assert [s for s in by_file["majestic.csv"] if s.startswith("error")] == [by_file["majestic.csv"][2]]

    bad = tmp_path / "bad.csv"
    bad.write_text("source_url,target_url,anchor_text\nhttps://a.example.org/,https://shop.example.com/,ok\n"
                   "mailto:x@example.org,https://shop.example.com/,bad\n,https://shop.example.com/,none\n",
                   encoding="utf-8")
    score_files([bad], tmp_path / "bad_out.csv")
    _, got = read_csv(tmp_path / "bad_out.csv")
    assert got[0]["status"] == "scored_without_page"
    assert got[1]["status"].startswith("error: line 3: source_url:"), got[1]["status"]
    assert got[2]["status"] == "error: line 4: missing required field(s): source_url"


def test_search_console_rows_are_skipped_with_a_reason(tmp_path: Path) -> None:
    out = tmp_path / "gsc.csv"
    summary = score_files([FIX / "gsc_latest_links_es.csv"], out)
    _, got = read_csv(out)
    assert [r["status"] for r in got] == [GSC_NO_PAGE] * 3
    assert GSC_NO_PAGE == "skipped: needs the source page (Search Console rows carry no anchor)"
    assert [r["Página de enlace"] for r in got][0] == "https://foro.ejemplo.es/hilo/123"
    assert summary.statuses == {"skipped": 3} and summary.verdicts == {}
    assert any("skipped: needs the source page" in e for e in summary.examples)

    # with the linking page saved, the row still lacks its target: a different, precise reason
    pages = tmp_path / "pages"
    pages.mkdir()
    shutil.copy(PAGES / "14cc2a0c.html.gz", pages / "p.html.gz")
    (pages / "manifest.csv").write_text("url,file\nhttps://foro.ejemplo.es/hilo/123,p.html.gz\n", encoding="utf-8")
    score_files([FIX / "gsc_latest_links_es.csv"], out, BatchOptions(pages=pages))
    _, got = read_csv(out)
    assert [r["status"] for r in got] == [GSC_NO_TARGET, GSC_NO_PAGE, GSC_NO_PAGE]


# ------------------------------------------------------------------------------------------------
# several inputs, output formats, explain


def test_several_inputs_are_concatenated_with_a_source_file_column(tmp_path: Path) -> None:
    ins = [FIX / "semrush.csv", FIX / "ahrefs_utf16.tsv", FIX / "semrush_audit.csv"]
    out = tmp_path / "all.csv"
    summary = score_files(ins, out)
    header, got = read_csv(out)
    assert header[0] == "source_file" and header[-len(FIELDS):] == FIELDS
    assert [r["source_file"] for r in got] == [str(ins[0])] * 3 + [str(ins[1])] * 3 + [str(ins[2])] * 2
    assert [i.rows for i in summary.inputs] == [3, 3, 2] and summary.rows_out == 8
    assert [i.format for i in summary.inputs] == ["semrush", "ahrefs", "semrush_audit"]
    # shared column names are one column; each file's values land under its own names
    assert got[0]["Source url"] == "https://runblog.example.com/tips" and got[3]["Source url"] == ""
    assert got[3]["Referring page URL"] == "https://blog.example.org/running-shoes"
    assert got[6]["Toxicity Score"] == "84" and got[0]["Toxicity Score"] == ""
    header_single, _ = read_csv(score_files([ins[0]], tmp_path / "one.csv").out)
    assert "source_file" not in header_single


def test_parquet_and_jsonl_outputs_hold_the_same_rows(tmp_path: Path) -> None:
    import pandas as pd

    ins = [FIX / "semrush.csv", FIX / "links.jsonl"]
    score_files(ins, tmp_path / "o.csv", BatchOptions(explain=True))
    score_files(ins, tmp_path / "o.parquet", BatchOptions(explain=True))
    score_files(ins, tmp_path / "o.jsonl", BatchOptions(explain=True))
    header, rows = read_csv(tmp_path / "o.csv")
    pq = pd.read_parquet(tmp_path / "o.parquet")
    assert list(pq.columns) == header and len(pq) == len(rows) == 8
    assert str(pq["score"].dtype) == "float64" and str(pq["anchor_words"].dtype) == "float64"
    assert pq["status"].tolist() == [r["status"] for r in rows]
    scored = [i for i, r in enumerate(rows) if r["score"]]
    assert len(scored) >= 3 and pq["score"].round(4)[scored].tolist() == [float(rows[i]["score"]) for i in scored]
    lines = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 8
    assert [d["status"] for d in lines] == [r["status"] for r in rows]
    assert lines[0]["Source url"] == "https://runblog.example.com/tips" and isinstance(lines[0]["score"], float)
    assert isinstance(lines[0]["reasons"], str) and lines[0]["reasons"] == rows[0]["reasons"]


def test_explain_adds_every_feature_in_schema_order(tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    score_files([FIX / "ahrefs_utf8.csv"], out, BatchOptions(explain=True))
    header, rows = read_csv(out)
    assert header[-len(EXPLAINED):] == EXPLAINED
    assert header.count("placement_zone") == 1  # the result column; the feature is the same thing
    assert header[: -len(EXPLAINED)][-len(FIELDS):] == FIELDS
    assert float(rows[0]["anchor_words"]) == 3.0  # "best trail shoes"
    assert rows[0]["placement_main_prob"] == ""  # no page: unknown, not a made-up value
    assert float(rows[2]["rel_sponsored"]) == 1.0


def test_input_columns_named_like_output_columns_are_kept(tmp_path: Path) -> None:
    src = tmp_path / "rescore.csv"
    src.write_text("source_url,target_url,score,status\nhttps://a.example.org/,https://shop.example.com/,0.9,keep\n",
                   encoding="utf-8")
    header, rows = read_csv(score_files([src], tmp_path / "o.csv").out)
    assert header[:4] == ["source_url", "target_url", "score (input)", "status (input)"]
    assert rows[0]["score (input)"] == "0.9" and rows[0]["status (input)"] == "keep"
    assert rows[0]["status"] == "scored_without_page"


# ------------------------------------------------------------------------------------------------
# pages


def test_saved_pages_and_target_pages(tmp_path: Path, monkeypatch) -> None:
    import features.pipeline

    parsed = []
    real_parse = features.pipeline.parse_page
    monkeypatch.setattr(features.pipeline, "parse_page", lambda html, url: parsed.append(url) or real_parse(html, url))
    links = tmp_path / "links.csv"
    links.write_text(
        "source_url,target_url,anchor_text\n"
        f"{SCIENCE_URL},https://www.nature.com/articles/s41550-019-0933-6,a paper\n"
        f"{SCIENCE_URL},https://shop.example.com/not-linked,x\n"
        "https://elsewhere.example.org/,https://www.nature.com/articles/s41550-019-0933-6,paper\n",
        encoding="utf-8",
    )
    out = tmp_path / "o.csv"
    summary = score_files([links], out, BatchOptions(pages=PAGES, explain=True))
    _, rows = read_csv(out)
    assert [r["status"] for r in rows] == ["scored", "link_missing", "scored_without_page"]
    assert parsed == [SCIENCE_URL]  # two links on one saved page: read and parsed once
    assert rows[0]["placement_zone"] == "main_content"
    assert summary.target_pages_used == 0 and rows[0]["target_text_known"] == "0.0"

    # the user's own target pages give the target's title and text
    targets = tmp_path / "targets"
    targets.mkdir()
    with gzip.open(PAGES / "ba07d1e6.html.gz", "rb") as fh:
        (targets / "t.html").write_bytes(fh.read())
    (targets / "manifest.csv").write_text(
        "url,file\nhttps://www.nature.com/articles/s41550-019-0933-6,t.html\n", encoding="utf-8")
    summary = score_files([links], out, BatchOptions(pages=PAGES, target_pages=targets, explain=True))
    _, rows = read_csv(out)
    assert summary.target_pages_used == 2
    assert [r["target_text_known"] for r in rows] == ["1.0", "0.0", "1.0"]


# ------------------------------------------------------------------------------------------------
# resume and atomicity


class Stop(Exception):
    pass


def stop_after(chunks: int):
    calls = []

    def progress(rows_done: int, rate: float) -> None:
        calls.append(rows_done)
        if len(calls) >= chunks:
            raise Stop(f"interrupted after {chunks} chunks")

    return progress


def test_an_interrupted_run_resumes_without_redoing_finished_chunks(tmp_path: Path, monkeypatch) -> None:
    src = write_links(tmp_path / "links.csv", 45)
    opts = BatchOptions(chunk_rows=10)
    reference = tmp_path / "reference.csv"
    score_files([src], reference, opts)

    out = tmp_path / "out.csv"
    out.write_text("an older result\n", encoding="utf-8")
    with pytest.raises(Stop):
        score_files([src], out, opts, progress=stop_after(2))
    assert out.read_text(encoding="utf-8") == "an older result\n"  # never a partial file under the name
    parts = tmp_path / "out.csv.parts"
    committed = sorted(parts.glob("part-*.json"))
    assert len(committed) == 2
    mtimes = {p.name: p.stat().st_mtime_ns for p in parts.glob("part-*")}

    scored = []
    real = engines.process_chunk
    monkeypatch.setattr(engines, "process_chunk", lambda task, score=None: scored.append(task.chunk_index) or real(task, score))
    seen = []

    def progress(rows_done: int, rate: float) -> None:
        if not seen:  # the committed parts were not rewritten
            assert {p.name: p.stat().st_mtime_ns for p in parts.glob("part-*") if p.name in mtimes} == mtimes
        seen.append(rows_done)

    summary = score_files([src], out, BatchOptions(chunk_rows=10, resume=True), progress=progress)
    assert scored == [2, 3, 4]
    assert (summary.chunks, summary.chunks_resumed, summary.rows_resumed) == (5, 2, 20)
    assert seen == [10, 20, 30, 40, 45]
    assert out.read_bytes() == reference.read_bytes()
    assert not parts.exists()
    assert summary.rows_in == summary.rows_out == 45


def test_resume_refuses_changed_inputs_and_a_fresh_run_starts_over(tmp_path: Path) -> None:
    src = write_links(tmp_path / "links.csv", 25)
    out = tmp_path / "out.jsonl"
    with pytest.raises(Stop):
        score_files([src], out, BatchOptions(chunk_rows=10), progress=stop_after(1))
    with pytest.raises(BatchError, match="cannot resume: explain changed"):
        score_files([src], out, BatchOptions(chunk_rows=10, resume=True, explain=True))
    write_links(src, 26)
    with pytest.raises(BatchError, match="cannot resume: the input files changed"):
        score_files([src], out, BatchOptions(chunk_rows=10, resume=True))
    assert not out.exists()
    summary = score_files([src], out, BatchOptions(chunk_rows=10))  # without resume: from scratch
    assert summary.chunks_resumed == 0 and summary.rows_out == 26
    assert len(out.read_text(encoding="utf-8").splitlines()) == 26


def test_a_count_mismatch_never_publishes_the_output(tmp_path: Path, monkeypatch) -> None:
    src = write_links(tmp_path / "links.csv", 5)
    monkeypatch.setattr(parts_mod, "_count_rows", lambda path, suffix: 4)  # assembled at the end: Parquet
    with pytest.raises(BatchIntegrityError, match="5 rows read"):
        score_files([src], tmp_path / "o.parquet")
    assert not (tmp_path / "o.parquet").exists()
    assert (tmp_path / "o.parquet.parts").is_dir()  # kept for a look, or a --resume
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_a_part_lost_while_streaming_never_publishes_the_output(tmp_path: Path, monkeypatch) -> None:
    src = write_links(tmp_path / "links.csv", 5)
    real = parts_mod.StreamingAssembly.add
    calls: list[int] = []

    def lose_second(self, header, body) -> None:
        calls.append(header["rows"])
        if len(calls) != 2:
            real(self, header, body)

    monkeypatch.setattr(parts_mod.StreamingAssembly, "add", lose_second)
    with pytest.raises(BatchIntegrityError, match="5 rows read, 5 in the parts, 3 in the assembled file"):
        score_files([src], tmp_path / "o.csv", BatchOptions(chunk_rows=2))
    assert not (tmp_path / "o.csv").exists() and calls == [2, 2, 1]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_streamed_and_end_assembled_outputs_are_identical(tmp_path: Path) -> None:
    """CSV output is written while the run goes; a broken row with extra cells (a column the header
    does not know) switches to assembling at the end: both give what one pass would."""
    ins = [FIX / "majestic.csv", FIX / "ahrefs_utf16.tsv"]
    streamed = score_files(ins, tmp_path / "s.csv", BatchOptions(chunk_rows=2))
    flagged = []
    real = parts_mod.StreamingAssembly.discard

    def spy(self) -> None:
        flagged.append(True)
        real(self)

    whole = score_files(ins, tmp_path / "w.jsonl", BatchOptions(chunk_rows=2))
    assert streamed.rows_out == whole.rows_out
    header, rows = read_csv(tmp_path / "s.csv")
    lines = [json.loads(x) for x in (tmp_path / "w.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["score"] for r in rows] == ["" if x["score"] is None else str(x["score"]) for x in lines]
    parts_mod.StreamingAssembly.discard = spy  # type: ignore[method-assign]
    try:
        extra = tmp_path / "extra.csv"
        text = (FIX / "generic.csv").read_text(encoding="utf-8").splitlines()
        extra.write_text("\n".join([*text, text[-1] + ",surplus,cells"]) + "\n", encoding="utf-8")
        out = score_files([extra], tmp_path / "e.csv", BatchOptions(chunk_rows=2))
    finally:
        parts_mod.StreamingAssembly.discard = real  # type: ignore[method-assign]
    assert flagged and out.rows_out == len(export_rows(FIX / "generic.csv")[1]) + 1
    header, rows = read_csv(tmp_path / "e.csv")
    assert "(extra 1)" in header and rows[-1]["status"].startswith("error: line")


def test_progress_reports_rows_and_rate(tmp_path: Path) -> None:
    src = write_links(tmp_path / "links.csv", 23)
    calls = []
    summary = score_files([src], tmp_path / "o.csv", BatchOptions(chunk_rows=10),
                          progress=lambda n, rate: calls.append((n, rate)))
    assert [n for n, _ in calls] == [10, 20, 23] and all(rate > 0 for _, rate in calls)
    text = "\n".join(summary.lines())
    assert "23 rows in, 23 out" in text and "verdicts:" in text
    assert summary.rows_per_s > 0 and summary.seconds >= summary.startup_seconds
    assert batch.estimate_rows([src]) == 23 and batch.estimate_rows([FIX / "gsc_links.zip"]) is None
    assert batch.estimate_rows([FIX / "ahrefs_utf16.tsv"]) == 4  # 3 rows, one title spans two lines
    weak = summary.verdicts.get("weak", 0)
    assert sum(n for _, n in summary.weak_domains) == weak
    assert all(d.endswith(".example.org") or d == "example.org" for d, _ in summary.weak_domains)


# ------------------------------------------------------------------------------------------------
# bad inputs and options


def test_bad_inputs_fail_clearly_before_any_work(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    png = tmp_path / "export.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    out = tmp_path / "o.csv"
    with pytest.raises(ExportFormatError, match="empty"):
        score_files([empty], out)
    with pytest.raises(ExportFormatError, match="PNG image"):
        score_files([FIX / "semrush.csv", png], out)  # one bad input stops the batch before it starts
    with pytest.raises(ExportFormatError) as err:
        score_files([FIX / "unknown.csv"], out)
    assert "could not recognise the export format" in str(err.value)
    assert "expected one of these formats" in str(err.value) and "--map" in str(err.value)
    assert not out.exists() and not (tmp_path / "o.csv.parts").exists()

    # the same unknown file reads with a column map
    mapped = score_files([FIX / "unknown.csv"], out, BatchOptions(
        column_map="Linking URL=source_url,Links to=target_url,Link text=anchor_text"))
    assert mapped.rows_out == 2 and mapped.statuses == {"scored_without_page": 2}


def test_header_only_file_gives_an_empty_table(tmp_path: Path) -> None:
    out = tmp_path / "o.csv"
    summary = score_files([FIX / "header_only.csv"], out)
    header, rows = read_csv(out)
    assert rows == [] and summary.rows_in == summary.rows_out == 0
    assert header[:3] == ["Page ascore", "Source title", "Source url"] and header[-len(FIELDS):] == FIELDS
    import pandas as pd

    score_files([FIX / "header_only.csv"], tmp_path / "o.parquet")
    assert len(pd.read_parquet(tmp_path / "o.parquet")) == 0


def test_bad_options(tmp_path: Path) -> None:
    src = FIX / "semrush.csv"
    with pytest.raises(BatchError, match="output must end in"):
        score_files([src], tmp_path / "o.xlsx")
    with pytest.raises(BatchError, match="also an input"):
        score_files([tmp_path / "o.csv", src], tmp_path / "o.csv")
    with pytest.raises(BatchError, match="for the dask engine"):
        score_files([src], tmp_path / "o.csv", BatchOptions(scheduler="tcp://127.0.0.1:8786"))
    with pytest.raises(BatchError, match="unknown engine"):
        score_files([src], tmp_path / "o.csv", BatchOptions(engine="spark"))
    with pytest.raises(FileNotFoundError, match="manifest.csv"):
        score_files([src], tmp_path / "o.csv", BatchOptions(pages=tmp_path))
    with pytest.raises(FileNotFoundError, match="not found"):
        score_files([src], tmp_path / "o.csv", BatchOptions(model_id="no-such-model"))
    with pytest.raises(ExportFormatError, match="--map"):
        score_files([src], tmp_path / "o.csv", BatchOptions(column_map="Nope=source_url"))
    with pytest.raises(BatchError, match="workers must be at least 1"):
        score_files([src], tmp_path / "o.csv", BatchOptions(workers=0))


def test_dask_engine_without_dask_says_how_to_install(tmp_path: Path, monkeypatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_distributed(name, *args, **kwargs):
        if name == "distributed" or name.startswith("distributed."):
            raise ImportError("No module named 'distributed'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_distributed)
    with pytest.raises(BatchError, match=r"linkq\[dask\]"):
        score_files([FIX / "semrush.csv"], tmp_path / "o.csv", BatchOptions(engine="dask"))


# ------------------------------------------------------------------------------------------------
# Dask


@pytest.mark.slow
def test_dask_engine_gives_the_same_output_as_local(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    ins = [FIX / "majestic.csv", FIX / "links.jsonl", FIX / "ahrefs_utf16.tsv", FIX / "gsc_sample_links.csv"]
    local = score_files(ins, tmp_path / "local.csv", BatchOptions(chunk_rows=2, explain=True))
    dask = score_files(ins, tmp_path / "dask.csv", BatchOptions(chunk_rows=2, explain=True, engine="dask",
                                                                workers=2))
    assert (tmp_path / "dask.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()
    assert dask.rows_out == local.rows_out == 15 and dask.chunks == 9 and dask.engine == "dask"
    assert dask.statuses == local.statuses and dask.weak_domains == local.weak_domains


# ------------------------------------------------------------------------------------------------
# local engine with several processes


def test_output_rows_take_the_fast_path_for_the_scorer_fields() -> None:
    """_process_chunk writes the result cells directly only for the fields in this order: a change
    of RESULT_FIELDS must be mirrored there (else every row falls back to the generic cells)."""
    assert table._STANDARD_FIELDS == tuple(RESULT_FIELDS) == table.result_fields()


def test_local_workers_one_process_for_small_inputs_one_per_core_for_large() -> None:
    assert tuning.local_workers(3, None, 5000) == 3
    assert tuning.local_workers(None, None, 5000) == 1  # a ZIP: size unknown
    assert tuning.local_workers(None, 19_999, 5000) == 1
    assert tuning.local_workers(None, 45, 10) == 1
    assert tuning.local_workers(None, 20_000, 5000) == min(8, tuning.usable_cores())
    assert tuning.local_workers(None, 20_000, 50_000) == 1  # a single chunk


@pytest.mark.slow
def test_process_pool_gives_the_same_output_as_one_process(tmp_path: Path) -> None:
    ins = [FIX / "majestic.csv", FIX / "links.jsonl", FIX / "ahrefs_utf16.tsv", FIX / "gsc_sample_links.csv"]
    one = score_files(ins, tmp_path / "one.csv", BatchOptions(chunk_rows=2, explain=True, workers=1))
    pool = score_files(ins, tmp_path / "pool.csv", BatchOptions(chunk_rows=2, explain=True, workers=2))
    assert (tmp_path / "pool.csv").read_bytes() == (tmp_path / "one.csv").read_bytes()
    assert pool.rows_out == one.rows_out == 15 and pool.chunks == 9 and pool.workers == 2
    assert pool.statuses == one.statuses and pool.weak_domains == one.weak_domains
    assert "engine local x2" in pool.lines()[0]


@pytest.mark.slow
def test_process_pool_with_pages_and_a_resume(tmp_path: Path, monkeypatch) -> None:
    """Pages are opened in every process; an interruption mid-run keeps the committed chunks."""
    links = write_links(tmp_path / "links.csv", 12)
    out = tmp_path / "o.csv"
    seen: list[int] = []

    def stop(done: int, rate: float) -> None:
        seen.append(done)
        if done >= 6:
            raise KeyboardInterrupt

    opts = BatchOptions(chunk_rows=3, workers=2, pages=PAGES)
    with pytest.raises(KeyboardInterrupt):
        score_files([links], out, opts, progress=stop)
    assert not out.exists() and (tmp_path / "o.csv.parts").is_dir()
    summary = score_files([links], out, BatchOptions(chunk_rows=3, workers=2, pages=PAGES, resume=True))
    assert summary.rows_out == 12 and summary.chunks_resumed >= 2
    single = score_files([links], tmp_path / "single.csv", BatchOptions(chunk_rows=3, pages=PAGES, workers=1))
    assert out.read_bytes() == (tmp_path / "single.csv").read_bytes() and single.workers == 1


def test_copied_cells_give_the_bytes_csv_writer_gives(tmp_path: Path, monkeypatch) -> None:
    """Rows read from plain lines are written by copying the user's cells (ExportRow.csv_cells):
    the output must be byte for byte what encoding every cell with csv.writer gives."""
    tsv = tmp_path / "plain.tsv"
    tsv.write_text(
        "source_url\ttarget_url\tanchor_text\tnote\n"
        "https://a.example.org/x\thttps://shop.example.com/\tshoes\tplain cells\n"
        "https://b.example.org/y\thttps://shop.example.com/\tred, blue\ta comma: quoted\n"
        "https://c.example.org/z\thttps://shop.example.com/\t\t  spaces kept  \n"
        'https://d.example.org/w\thttps://shop.example.com/\t"quoted"\tthe line has quotes\n',
        encoding="utf-8")
    ins = [tsv, FIX / "semrush.csv", FIX / "ahrefs_utf16.tsv", FIX / "majestic.csv", FIX / "moz.csv",
           FIX / "generic.csv"]
    fast = [score_files([p], tmp_path / f"fast{i}.csv", BatchOptions(chunk_rows=3)) for i, p in enumerate(ins)]
    used = []
    real = ExportRow.csv_cells

    def spy(self):  # record which rows took the shortcut
        got = real(self)
        used.append(got is not None)
        return got

    monkeypatch.setattr(ExportRow, "csv_cells", spy)
    for i, p in enumerate(ins):
        score_files([p], tmp_path / f"spy{i}.csv", BatchOptions(chunk_rows=3))
    assert any(used) and not all(used)  # both paths exercised
    monkeypatch.setattr(ExportRow, "csv_cells", lambda self: None)
    for i, p in enumerate(ins):
        score_files([p], tmp_path / f"slow{i}.csv", BatchOptions(chunk_rows=3))
        assert (tmp_path / f"fast{i}.csv").read_bytes() == (tmp_path / f"slow{i}.csv").read_bytes(), p.name
    assert all(s.rows_out > 0 for s in fast)


def test_copied_cells_survive_a_result_value_with_a_line_break() -> None:
    """A result cell holding a line break (an error message) takes the row-by-row path: rows with
    copied cells still get them, and the text equals csv.writer on the full rows."""
    full = [["a", "b", "0.5", "ok"], ["c,d", "e", None, "error: two\nlines"], ["f", "g", "0.1", "x"]]
    prefixes = ["a,b", None, "f,g"]
    given = [r[2:] if p is not None else r for r, p in zip(full, prefixes, strict=True)]
    buf = io.StringIO()
    csv.writer(buf).writerows(full)
    assert table._encode_csv_with_prefixes(given, prefixes) == buf.getvalue()
    plain = [r for r in full if "\n" not in str(r[3])]
    buf = io.StringIO()
    csv.writer(buf).writerows(plain)
    assert table._encode_csv_with_prefixes([r[2:] for r in plain], ["a,b", "f,g"]) == buf.getvalue()


def test_formula_cells_are_defused_on_both_csv_paths() -> None:
    """A formula-looking cell is defused whether its row copies the user's cells as one prefix or is
    written cell by cell: the text equals csv.writer on the full rows with every cell defused."""
    from features.recordio import defuse

    full = [["a", "b", "=HYPERLINK(1)", "ok"], ["=cmd|x", "e", "0.5", "@SUM(1)"], ["f", "g", "0.1", "x"]]
    prefixes = ["a,b", None, "f,g"]
    given = [r[2:] if p is not None else r for r, p in zip(full, prefixes, strict=True)]
    want = io.StringIO()
    csv.writer(want).writerows([[defuse(v) for v in r] for r in full])
    assert table._encode_csv_with_prefixes(given, prefixes) == want.getvalue()
    assert table._encode_body(".csv", ["c1", "c2", "c3", "c4"], 2, ("c3", "c4"), full).decode() == want.getvalue()


def _network_export(path: Path) -> Path:
    """A generic CSV where six unrelated domains carry the same generated page path, one per chunk of
    two rows, between ordinary links: the pattern is only visible across chunks."""
    rows = []
    for i in range(6):
        rows.append({"source_url": f"https://site{i}-directory.info/domain-list-{100 + i}",
                     "target_url": "https://shop.example.com/", "anchor_text": "shop.example.com", "rel": ""})
        rows.append({"source_url": f"https://blog{i}.example.org/2024/post-{i}", "target_url": "https://shop.example.com/",
                     "anchor_text": "Shop Example", "rel": ""})
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.mark.parametrize("workers", [1, 2])
def test_patterns_are_seen_across_the_whole_export_in_every_engine(tmp_path: Path, workers: int) -> None:
    """The profile pass reads the whole file before scoring: a network spread over six chunks is
    flagged in each, with one process or a pool."""
    src = _network_export(tmp_path / "links.csv")
    out = tmp_path / "scored.csv"
    score_files([src], out, BatchOptions(chunk_rows=2, workers=workers))
    _, rows = read_csv(out)
    flags = [r["flags"] for r in rows]
    assert flags[0::2] == ["network"] * 6 and flags[1::2] == [""] * 6
    assert all("patterns: the same generated page path on 6 referring domains" in r["reasons"] for r in rows[0::2])
    # chunk by chunk, each chunk alone would not see it
    alone = tmp_path / "alone.csv"
    (tmp_path / "two.csv").write_text("".join(src.read_text(encoding="utf-8").splitlines(keepends=True)[:3]),
                                      encoding="utf-8")
    score_files([tmp_path / "two.csv"], alone, BatchOptions())
    assert read_csv(alone)[1][0]["flags"] == ""


def test_a_summary_beside_the_scored_file_names_model_version_and_input_hashes(tmp_path: Path) -> None:
    import hashlib

    out = tmp_path / "scored.csv"
    summary = score_files([FIX / "semrush.csv"], out, BatchOptions())
    doc = json.loads((tmp_path / "scored.csv.summary.json").read_text(encoding="utf-8"))
    assert summary.summary_path == tmp_path / "scored.csv.summary.json"
    assert doc["model"]["id"] == summary.model_id and "model.txt" in doc["model"]["sha256"]
    assert doc["linkq_version"] and doc["linkq_version"] != "unknown"
    assert doc["inputs"][0]["sha256"] == hashlib.sha256((FIX / "semrush.csv").read_bytes()).hexdigest()
    assert doc["rows_in"] == doc["rows_out"] == sum(doc["statuses"].values())
    assert doc["statuses"].get("lost", 0) >= 1  # lost links are counted apart


def test_a_killed_run_leaves_no_process_and_its_partial_output_is_cleaned(tmp_path: Path) -> None:
    """SIGTERM to `linkq score`: the run stops saying how to resume, no scoring process survives; a
    half-written output of a run killed outright (SIGKILL) is removed by the next run."""
    import os
    import signal
    import subprocess
    import sys
    import time

    stale = tmp_path / ".scored.csv.abc123.partial"
    stale.write_text("half", encoding="utf-8")
    big = tmp_path / "big.csv"
    body = "".join(f"https://s{i}.example.org/p,https://shop.example.com/,anchor {i}\n" for i in range(60_000))
    big.write_text("source_url,target_url,anchor_text\n" + body, encoding="utf-8")
    linkq = Path(sys.executable).parent / "linkq"
    proc = subprocess.Popen([str(linkq), "score", str(big), "--out", str(tmp_path / "scored.csv"), "--workers", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    children: set[int] = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not children:
        time.sleep(0.5)
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(proc.pid)], capture_output=True, text=True).stdout
        children = {int(p) for p in out.split()}
    assert not stale.exists()  # removed when the run started
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "--resume" in err
    time.sleep(1)
    alive = [p for p in children
             if os.path.exists(f"/proc/{p}") and "zombie" not in Path(f"/proc/{p}/status").read_text()]
    assert alive == []
    assert not list(tmp_path.glob(".scored.csv.*.partial"))


def test_a_second_run_to_the_same_output_uses_its_own_profile(tmp_path: Path) -> None:
    """The profile file of a run lives in <out>.parts: a later run to the same output in the same
    process (the HTTP service does so) must read its own, not a cached one."""
    out = tmp_path / "scored.csv"
    net = _network_export(tmp_path / "net.csv")
    score_files([net], out, BatchOptions(chunk_rows=2))
    assert read_csv(out)[1][0]["flags"] == "network"
    lone = tmp_path / "lone.csv"
    lone.write_text("source_url,target_url,anchor_text,rel\n"
                    "https://site0-directory.info/domain-list-100,https://shop.example.com/,shop.example.com,\n",
                    encoding="utf-8")
    score_files([lone], out, BatchOptions())
    assert read_csv(out)[1][0]["flags"] == ""


def test_csv_lines_equal_the_csv_writer() -> None:
    """The table's CSV lines are csv.writer's text for any row of output values: text with commas,
    quotes, line breaks, NUL and non-ASCII, None, floats, integers, booleans, one empty cell."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    value = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
             | st.text(alphabet=',"\r\n \x00;\té', max_size=8))

    @settings(max_examples=400, deadline=None)
    @given(st.lists(st.lists(value, max_size=7), max_size=5))
    def check(rows: list[list[object]]) -> None:
        buf = io.StringIO()
        csv.writer(buf).writerows(rows)
        assert "".join(table.csv_lines(rows)) == buf.getvalue()

    check()
    long_reason = "authority: UR 13, bottom 50% of this export (raises); source: forum 'a \"b\"' (lowers)" * 5
    buf = io.StringIO()
    csv.writer(buf).writerow([0.7459, "strong", "", long_reason, "unknown", "scored_without_page", ""])
    assert table.csv_lines([[0.7459, "strong", "", long_reason, "unknown", "scored_without_page", ""]]) == [buf.getvalue()]


def test_formula_cell_check_equals_its_exact_pattern() -> None:
    """The quick look for a formula cell in a line of plain cells says what the exact pattern says."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=1000, deadline=None)
    @given(st.text(alphabet=",=@\t\r+-a1 ", max_size=12))
    def check(line: str) -> None:
        assert table._has_formula_cell(line) == (table._FORMULA_IN_LINE.search(line) is not None)

    check()
    assert table._has_formula_cell("a,b,-") is False and table._has_formula_cell("a,-1,b") is True
    assert table._has_formula_cell("=1,b") is True and table._has_formula_cell("") is False


@pytest.mark.slow
def test_pool_processes_outlive_a_helper_thread_that_submits() -> None:
    """The profile pass submits batches to the pool from a helper thread; the pool's processes are
    started by the engine's own thread, so they do not get their parent-death signal when the
    helper thread ends (a process started by that thread would, and the pool would break)."""
    import threading

    from features.artifact import default_models_dir, resolve_model_dir

    spec = engines.WorkSpec(model_dir=str(resolve_model_dir(default_models_dir()).resolve()), pages=None,
                            target_pages=None, explain=False, output=".csv", multi=False)
    with engines.LocalEngine(spec, 2) as engine:
        got: list[int] = []
        helper = threading.Thread(target=lambda: got.append(engine.executor.submit(int, "1").result()))
        helper.start()
        helper.join()
        engine.start()
        assert got == [1]
        assert [f.result() for f in [engine.executor.submit(int, str(i)) for i in range(4)]] == [0, 1, 2, 3]
