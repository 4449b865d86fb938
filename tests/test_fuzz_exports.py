"""Property tests of the export readers (hypothesis; 200 examples per target in the "ci" profile).

Whatever the bytes, ``read_export`` either refuses the file with ExportFormatError or yields rows,
never another exception; for a table written by a real CSV writer (any delimiter, quoting, line end,
encoding, cells with quotes, delimiters, line breaks, stray cp1252 bytes or 200 KB of text) every
data row comes back exactly once, in order, with its cells. Generated text leaves out control
characters other than tab and line breaks: a file with NUL bytes or many control characters is
refused as binary, by design (tests/test_exports.py).
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path

from hypothesis import assume, example, given
from hypothesis import strategies as st

from serving.exports import ExportFormatError, ExportRow, read_export

HEADER = ["source_url", "target_url", "anchor_text", "Notes"]
BIG = "long anchor text " * 12_000  # ~200 KB: over the csv module's default 128 KB field limit

cell_text = st.one_of(
    st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=40),
    st.text(alphabet=st.sampled_from(list('ab ,;\t"\'\r\n=+-@é€') + ["\u2028", "\x85"]), max_size=30),
)


def read_rows(data: bytes, suffix: str = ".csv", **kw: object) -> list[ExportRow] | None:
    """All rows of ``data`` as a file, or None when it is refused with ExportFormatError."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"export{suffix}"
        path.write_bytes(data)
        try:
            _, chunks = read_export(path, chunk_rows=7, **kw)  # type: ignore[arg-type]
            return [r for c in chunks for r in c]
        except ExportFormatError:
            return None


@given(st.binary(max_size=3000))
@example(b"source_url,target_url\n\"https://a.example/,x\n")
@example(b"\xef\xbb\xbf{\"source_url\": 1}\n[]\n{")
def test_random_bytes_never_crash_the_reader(data: bytes) -> None:
    rows = read_rows(data)
    if rows is not None:
        assert all(isinstance(r.line_no, int) and r.line_no >= 1 for r in rows)
        for r in rows:
            assert r.record is not None or r.error  # a row is either readable or says why


@given(
    rows=st.lists(st.lists(cell_text, min_size=2, max_size=2), min_size=1, max_size=12),
    delimiter=st.sampled_from([",", ";", "\t"]),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]),
    line_end=st.sampled_from(["\r\n", "\n"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
    big=st.integers(0, 15),  # 0: the first row's anchor gets BIG appended (one example in 16)
)
# Found by the long profile: a quoted value whose middle line looks like a complete row (";,,,") was cut
# into three rows.
@example(rows=[["", "\r;,,,\r"]], delimiter=",", quoting=csv.QUOTE_MINIMAL, line_end="\r\n", encoding="utf-8", big=1)
def test_every_written_row_comes_back_once_with_its_cells(rows: list[list[str]], delimiter: str, quoting: int,
                                                          line_end: str, encoding: str, big: int) -> None:
    table = [[f"https://s{i}.example.org/p", "https://t.example/", a, n] for i, (a, n) in enumerate(rows)]
    if big == 0:
        table[0][2] += BIG
    # Python's writer leaves a lone CR unquoted when the line end is LF: a malformed file, not a test of the reader.
    assume(not (quoting == csv.QUOTE_MINIMAL and line_end == "\n" and any("\r" in c for t in table for c in t)))
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter=delimiter, quoting=quoting, lineterminator=line_end)
    writer.writerow(HEADER)
    writer.writerows(table)
    try:
        data = buf.getvalue().encode(encoding)
    except UnicodeEncodeError:
        assume(False)
        return
    got = read_rows(data)
    assert got is not None
    assert [r.original.get("source_url") for r in got] == [t[0] for t in table]
    assert len({r.line_no for r in got}) == len(got) and [r.line_no for r in got] == sorted(r.line_no for r in got)
    for r, t in zip(got, table, strict=True):
        if r.error is None:
            assert [r.original[c] for c in HEADER] == t
        else:  # the only refusal a well-formed file may meet: a quoted field over MAX_RECORD_LINES lines
            assert "unbalanced quotes" in r.error and sum(c.count("\n") + c.count("\r") for c in t) > 100


@given(st.lists(cell_text, min_size=1, max_size=10), st.data())
def test_truncated_and_mixed_encoding_files_keep_every_complete_line(anchors: list[str], data: st.DataObject) -> None:
    if data.draw(st.integers(0, 15)) == 0:
        anchors[0] += BIG
    header = b"source_url,target_url,anchor_text\n"
    raw = bytearray(header)
    for i, a in enumerate(anchors):
        clean = bytearray(a.replace('"', "").replace("\r", " ").replace("\n", " ").replace(",", " ").encode())
        for pos in data.draw(st.lists(st.integers(0, len(clean)), max_size=2)):  # stray cp1252 bytes
            clean[pos:pos] = data.draw(st.sampled_from([b"\x80", b"\x93", b"\xe9", b"\xff", b"\xc3"]))
        raw += f"https://s{i}.example.org/,https://t.example/,".encode() + clean + b"\n"
    cut = data.draw(st.integers(len(header), len(raw)))
    got = read_rows(bytes(raw[:cut]))
    assert got is not None
    complete = raw[:cut].count(b"\n") - 1  # data lines that end before the cut
    assert complete <= len(got) <= complete + 1
    assert [r.original.get("source_url") for r in got[:complete]] == [f"https://s{i}.example.org/"
                                                                     for i in range(complete)]


json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | cell_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
json_record = st.dictionaries(
    st.sampled_from(["source_url", "target_url", "anchor_text", "rel", "target_text", "metrics", "Domain Rating",
                     "first_seen", "x"]) | st.text(max_size=10),
    json_value, max_size=6)


@given(st.lists(st.one_of(json_record, json_value, st.text(st.characters(exclude_categories=("Cc", "Cs")),
                                                                     max_size=30)), min_size=1, max_size=10))
def test_every_jsonl_line_comes_back_once(items: list[object]) -> None:
    lines = [json.dumps(x) if not isinstance(x, str) else x.replace("\n", " ").replace("\r", " ")
             for x in items]
    lines = ["{}"] + lines  # starts like JSONL, so it is read as JSONL
    data = "\n".join(lines).encode("utf-8")
    got = read_rows(data, suffix=".jsonl", format="jsonl")
    assert got is not None
    expected = [i + 1 for i, line in enumerate(lines) if line.strip()]
    assert [r.line_no for r in got] == expected
