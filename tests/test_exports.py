"""serving.exports: SEO tools' backlink exports -> canonical link rows.

Fixtures live in tests/fixtures/exports/ (a few rows each, written to mimic the real layouts; the
UTF-16 Ahrefs file and the Search Console ZIP were generated with a small Python snippet).
"""

from __future__ import annotations

import json
import random
import shutil
import zipfile
from pathlib import Path

import pytest

from features.profile import LEAN_PROFILE_FIELDS, PROFILE_FIELDS
from features.records import LinkRecord, RecordError, parse_record
from serving.exports import (
    ALIASES,
    FORMATS,
    GSC_LINKING_PAGE,
    MAPPABLE_FIELDS,
    ExportFormatError,
    ExportInfo,
    ExportRow,
    detect_format,
    parse_column_map,
    read_export,
)

FIX = Path(__file__).parent / "fixtures" / "exports"


def read_all(path: Path, **kwargs: object) -> tuple[ExportInfo, list[ExportRow]]:
    info, chunks = read_export(path, **kwargs)  # type: ignore[arg-type]
    return info, [row for chunk in chunks for row in chunk]


def records(path: Path, **kwargs: object) -> list[dict[str, object]]:
    _, rows = read_all(path, **kwargs)
    assert all(r.error is None for r in rows), [r.error for r in rows]
    return [r.record for r in rows if r.record is not None]


def write_csv(tmp_path: Path, text: str, name: str = "export.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


# ------------------------------------------------------------------------------------------------
# detection


@pytest.mark.parametrize(
    ("name", "fmt", "encoding", "delimiter", "header_line"),
    [
        ("ahrefs_utf16.tsv", "ahrefs", "utf-16", "\t", 1),
        ("ahrefs_utf8.csv", "ahrefs", "utf-8-sig", ",", 1),
        ("ahrefs_awt.csv", "ahrefs_awt", "utf-8", ",", 1),
        ("semrush.csv", "semrush", "utf-8", ",", 1),
        ("semrush_legacy.csv", "semrush_legacy", "utf-8", ",", 1),
        ("semrush_audit.csv", "semrush_audit", "utf-8", ",", 1),
        ("majestic.csv", "majestic", "utf-8", ",", 1),
        ("moz.csv", "moz", "utf-8", ",", 7),
        ("gsc_latest_links_es.csv", "gsc", "utf-8-sig", ";", 1),
        ("gsc_sample_links.csv", "gsc", "utf-8", None, 1),
        ("gsc_links.zip", "gsc", "utf-8-sig", ",", 1),
        ("generic.csv", "csv", "utf-8", ",", 1),
        ("cp1252.csv", "csv", "cp1252", ",", 1),
        ("links.jsonl", "jsonl", "utf-8", None, 0),
    ],
)
def test_detect_format(name: str, fmt: str, encoding: str, delimiter: str | None, header_line: int) -> None:
    info = detect_format(FIX / name)
    assert (info.format, info.encoding, info.delimiter, info.header_line) == (
        fmt, encoding, delimiter, header_line,
    )
    assert info.format in FORMATS


def test_detection_ignores_the_file_name(tmp_path: Path) -> None:
    misleading = tmp_path / "ahrefs-backlinks.tsv"
    shutil.copy(FIX / "semrush.csv", misleading)
    assert detect_format(misleading).format == "semrush"
    no_suffix = tmp_path / "download"
    shutil.copy(FIX / "ahrefs_utf16.tsv", no_suffix)
    assert detect_format(no_suffix).format == "ahrefs"


def test_detect_format_reports_columns_in_file_order_and_mapping() -> None:
    info = detect_format(FIX / "ahrefs_utf16.tsv")
    assert info.columns[:3] == ["Referring page title", "Referring page URL", "Language"]
    assert len(info.columns) == 37
    expected = {
        "Referring page URL": "source_url",
        "Target URL": "target_url",
        "Anchor": "anchor_text",
        "Referring page title": "source_title",
        "Left context": "context_left",
        "Right context": "context_right",
        "Domain rating": "domain_authority",
        "UR": "page_authority",
        "Page traffic": "traffic",
        "Domain traffic": "domain_traffic",
        "External links": "outbound_links",
        "Content": "in_content",
        "Nofollow": "rel:nofollow",
        "UGC": "rel:ugc",
        "Sponsored": "rel:sponsored",
        "First seen": "first_seen",
        "Last seen": "last_seen",
        # every column the tool gives is evidence (features.records.METRIC_FIELDS)
        "Platform": "platform",
        "Referring page HTTP code": "http_code",
        "Page type": "page_type",
        "Referring domains": "page_referring_domains",
        "Keywords": "page_keywords",
        "Type": "link_type",
        "Is spam": "tool_spam",
        "Lost status": "lost_reason",
        "Lost": "lost_date",
        "Links in group": "links_in_group",
    }
    assert info.mapping == expected
    assert list(info.mapping) == [c for c in info.columns if c in expected]  # file order


# ------------------------------------------------------------------------------------------------
# counts in = counts out, line numbers

EXPECTED_ROWS = {
    # file: (line numbers of the data rows, line numbers of the error rows)
    "ahrefs_utf16.tsv": ([2, 4, 5], []),  # row 1 spans lines 2-3 (a title with a newline)
    "ahrefs_utf8.csv": ([2, 4, 5], []),
    "ahrefs_awt.csv": ([2, 3], []),
    "semrush.csv": ([2, 3, 4], []),
    "semrush_legacy.csv": ([2, 3], []),
    "semrush_audit.csv": ([2, 3], []),
    "majestic.csv": ([2, 3, 4, 5, 6], [4]),
    "moz.csv": ([8, 9, 10], []),
    "gsc_latest_links_es.csv": ([2, 3, 4], []),
    "gsc_sample_links.csv": ([2, 3], []),
    "gsc_links.zip": ([2, 3], []),
    "generic.csv": ([2, 3, 5], []),  # row 2 spans lines 3-4
    "links.jsonl": ([1, 2, 3, 5, 6], [3, 5]),  # line 4 is blank
    "cp1252.csv": ([2], []),
    "duplicate_headers.csv": ([2], []),
    "header_only.csv": ([], []),
}


@pytest.mark.parametrize("name", sorted(EXPECTED_ROWS))
def test_every_data_row_comes_out_once_with_its_line_number(name: str) -> None:
    lines, errors = EXPECTED_ROWS[name]
    _, rows = read_all(FIX / name)
    assert [r.line_no for r in rows] == lines
    assert [r.line_no for r in rows if r.error] == errors
    for r in rows:
        assert (r.record is None) == (r.error is not None)
        if r.error:
            assert r.error.startswith(f"line {r.line_no}: ")


@pytest.mark.parametrize(
    "name",
    ["ahrefs_awt.csv", "semrush.csv", "semrush_legacy.csv", "semrush_audit.csv", "majestic.csv", "moz.csv",
     "gsc_latest_links_es.csv", "gsc_sample_links.csv", "cp1252.csv", "header_only.csv"],
)
def test_rows_out_equal_non_blank_lines_after_the_header(name: str) -> None:
    # these fixtures have one physical line per row, so the count can be checked independently
    info, rows = read_all(FIX / name)
    text = (FIX / name).read_bytes().decode(info.encoding)
    data_lines = [ln for ln in text.splitlines()[info.header_line :] if ln.strip()]
    assert len(rows) == len(data_lines)


def test_chunks_are_bounded_in_file_order_and_lazy() -> None:
    info, chunks = read_export(FIX / "majestic.csv", chunk_rows=2)
    assert not isinstance(chunks, list)
    sizes, lines = [], []
    for chunk in chunks:
        sizes.append(len(chunk))
        lines += [r.line_no for r in chunk]
    assert sizes == [2, 2, 1]
    assert lines == [2, 3, 4, 5, 6]
    assert info.format == "majestic"


def test_header_only_file_has_zero_rows_and_no_chunks() -> None:
    info, chunks = read_export(FIX / "header_only.csv")
    assert info.format == "semrush"
    assert list(chunks) == []


def test_many_rows_stream_in_chunks(tmp_path: Path) -> None:
    body = "".join(f"https://s{i}.example.org/,https://shop.example.com/,anchor {i}\n" for i in range(25_000))
    path = write_csv(tmp_path, "source_url,target_url,anchor_text\n" + body)
    _, chunks = read_export(path, chunk_rows=10_000)
    sizes, last = [], 0
    for chunk in chunks:
        sizes.append(len(chunk))
        assert chunk[0].line_no == last + 2 if last else chunk[0].line_no == 2
        last = chunk[-1].line_no - 1
    assert sizes == [10_000, 10_000, 5_000]
    assert last == 25_000


# ------------------------------------------------------------------------------------------------
# per format: mapping and normalisation


def test_ahrefs_utf16_multiline_title_rel_and_metrics() -> None:
    info, rows = read_all(FIX / "ahrefs_utf16.tsv")
    first, forum, partners = (r.record for r in rows)
    assert first is not None and forum is not None and partners is not None
    assert first["source_title"] == "Best running shoes\n2026\tbuyer's guide"
    assert first == {
        "source_title": "Best running shoes\n2026\tbuyer's guide",
        "source_url": "https://blog.example.org/running-shoes",
        "target_url": "https://shop.example.com/shoes",
        "anchor_text": "best trail shoes",
        "context_left": "We tested dozens of pairs. The ",
        "context_right": " held up after 500 km.",
        "domain_authority": 54.0,
        "page_authority": 23.0,
        "traffic": 310.0,
        "domain_traffic": 12000.0,
        "outbound_links": 42.0,
        "in_content": 1.0,
        "first_seen": "2025-11-02",
        "last_seen": "2026-09-20",
        "rel": "",  # the file says nofollow=false: known follow
        "platform": "blogs",
        "http_code": 200.0,
        "page_type": "article",
        "page_referring_domains": 35.0,
        "page_keywords": 12.0,
        "link_type": "text",
        "tool_spam": 0.0,
        "links_in_group": 1.0,
    }
    assert forum["rel"] == "nofollow ugc"
    assert forum["traffic"] == 0.0  # page traffic 0 is a value, not missing
    assert partners["rel"] == "sponsored"
    assert "traffic" not in partners and partners["domain_traffic"] == 5400.0  # never page traffic
    assert partners["in_content"] == 0.0
    assert "spam_score" not in partners and partners["tool_spam"] == 1.0  # "Is spam" is a yes/no
    assert rows[2].original["Is spam"] == "true"
    assert list(rows[0].original) == info.columns
    assert rows[0].original["Language"] == "en"


def test_ahrefs_utf8_resave_matches_utf16_and_keeps_extra_columns() -> None:
    info16, rows16 = read_all(FIX / "ahrefs_utf16.tsv")
    info8, rows8 = read_all(FIX / "ahrefs_utf8.csv")
    assert info8.columns == info16.columns + ["My notes"]
    assert rows8[0].record is not None and rows8[0].record["traffic"] == 1240.0  # "1,240"
    assert rows8[0].original["Page traffic"] == "1,240"
    for a, b in zip(rows16, rows8, strict=True):
        assert a.record is not None and b.record is not None
        assert {k: v for k, v in a.record.items() if k != "traffic"} == {
            k: v for k, v in b.record.items() if k != "traffic"
        }
    assert [r.original["My notes"] for r in rows8] == ["keep", "", "ask them, maybe"]


def test_ahrefs_webmaster_tools_variant() -> None:
    assert records(FIX / "ahrefs_awt.csv")[0] == {
        "source_title": "Trail news",
        "source_url": "https://news.example.org/trail",
        "domain_authority": 47.0,
        "target_url": "https://shop.example.com/trail",
        "anchor_text": "trail shoes",
    }


def test_semrush_current_19_columns() -> None:
    info, rows = read_all(FIX / "semrush.csv")
    assert len(info.columns) == 19
    tips, deals, guestbook = (r.record for r in rows)
    assert tips == {
        "page_authority": 38.0,
        "source_title": "Trail running tips",
        "source_url": "https://runblog.example.com/tips",
        "target_url": "https://shop.example.com/trail",
        "anchor_text": "trail shoes",
        "outbound_links": 15.0,
        "internal_links": 60.0,
        "sitewide": 0.0,
        "link_image": 0.0,
        "link_frame": 0.0,
        "link_form": 0.0,
        "lost": 0.0,
        "first_seen": "2025-04-03",
        "last_seen": "2026-09-21",
        "rel": "",
    }
    assert deals is not None and guestbook is not None
    assert deals["rel"] == "nofollow sponsored"
    assert deals["sitewide"] == 1.0
    assert deals["outbound_links"] == 1204.0  # "1,204"
    assert "anchor_text" not in deals  # blank anchor: omitted
    assert guestbook["rel"] == "nofollow ugc"
    assert rows[0].original["Text"] == "true"  # Semrush "Text" is a flag, not the anchor


def test_semrush_legacy_15_columns() -> None:
    info, rows = read_all(FIX / "semrush_legacy.csv")
    assert len(info.columns) == 15
    assert "Page trust score" not in info.mapping
    old, footer = (r.record for r in rows)
    assert old is not None and footer is not None
    assert old["page_authority"] == 5.0
    assert old["first_seen"] == "2019-03-15"  # "Mar 15, 2019"
    assert old["rel"] == ""
    assert footer["sitewide"] == 1.0


def test_semrush_backlink_audit() -> None:
    directory, club = records(FIX / "semrush_audit.csv")
    assert directory["spam_score"] == 84.0
    assert directory["rel"] == ""
    assert club["spam_score"] == 6.0
    assert club["rel"] == "nofollow"


def test_majestic_broken_row_does_not_swallow_its_neighbours() -> None:
    info, rows = read_all(FIX / "majestic.csv")
    assert [r.error is None for r in rows] == [True, True, False, True, True]
    broken = rows[2]
    assert broken.line_no == 4
    assert broken.error is not None and broken.error.startswith("line 4: unbalanced quotes")
    assert broken.original["Source URL"] == "https://broken.example.com/page"
    good = [r.record for r in rows if r.record]
    assert [g["source_url"] for g in good] == [
        "https://runners.example.org/links",
        "http://www.example.net/user@home/best trail.html",  # spaces and @ kept as written
        "https://deals.example.com/a",
        "https://blog.example.com/post",
    ]
    assert good[0] == {
        "target_url": "https://shop.example.com/",
        "source_url": "https://runners.example.org/links",
        "anchor_text": "shoes, boots and more",
        "last_seen": "2026-09-01",  # Source Crawl Date
        "first_seen": "2024-02-11",  # Source First Found Date
        "page_authority": 19.0,  # SourceTrustFlow: the Trust Flow of the linking URL, a page measure
        "rel": "",
    }
    assert good[1]["rel"] == "nofollow"  # FlagNoFollow "+"
    assert "SourceCitationFlow" not in info.mapping
    assert rows[0].original["SourceCitationFlow"] == "25"


def test_moz_preamble_is_skipped() -> None:
    info, rows = read_all(FIX / "moz.csv")
    assert info.header_line == 7
    assert info.columns[0] == "URL" and len(info.columns) == 15
    running, forum, spam = (r.record for r in rows)
    assert running == {
        "source_url": "http://blog.example.org/running",  # Moz writes URLs without a scheme
        "source_title": "Running blog",
        "anchor_text": "trail shoes",
        "spam_score": 1.0,
        "page_authority": 35.0,
        "domain_authority": 48.0,
        "target_url": "http://shop.example.com/trail",
        "rel": "",
    }
    assert forum is not None and spam is not None
    assert forum["rel"] == "nofollow"  # Only rel=nofollow: Yes
    assert forum["spam_score"] == 3.0  # "3%"
    assert rows[0].original["URL"] == "blog.example.org/running"  # original untouched


def test_gsc_spanish_semicolon_csv_has_no_target() -> None:
    info, rows = read_all(FIX / "gsc_latest_links_es.csv")
    assert info.columns == ["Página de enlace", "Último rastreo"]
    assert info.mapping == {"Página de enlace": "source_url", "Último rastreo": "last_seen"}
    assert [r.record for r in rows] == [
        {"source_url": "https://foro.ejemplo.es/hilo/123", "last_seen": "2026-09-28"},  # 28/09/2026
        {"source_url": "https://blog.ejemplo.es/zapatillas", "last_seen": "2026-09-15"},  # 15 sept 2026
        {"source_url": "https://ejemplo.es/buscar?q=a;b", "last_seen": "2026-09-01"},  # quoted ';'
    ]
    # the scoring layer gets a clear "no target" error from the canonical validator
    result = parse_record(rows[0].record or {})
    assert isinstance(result, RecordError) and "target_url" in result.message


def test_gsc_zip_reads_the_per_link_table() -> None:
    info, rows = read_all(FIX / "gsc_links.zip")
    assert info.table == "Table.csv"  # chosen by its header, not its name
    assert info.columns == ["Linking page", "Last crawled"]
    assert [r.record for r in rows] == [
        {"source_url": "https://runners.example.org/links", "last_seen": "2026-09-15"},
        {"source_url": "https://forum.example.net/t/881", "last_seen": "2026-09-02"},
    ]


def test_gsc_more_sample_links_single_column() -> None:
    info, rows = read_all(FIX / "gsc_sample_links.csv")
    assert info.columns == ["Linking page"] and info.delimiter is None
    assert [r.record for r in rows] == [
        {"source_url": "https://runners.example.org/links"},
        {"source_url": "https://forum.example.net/t/881"},
    ]


@pytest.mark.parametrize(
    "header",
    ["Linking page,Last crawled", "Página de enlace;Último rastreo", "Verlinkende Seite;Zuletzt gecrawlt",
     "Page avec lien;Dernière exploration"],
)
def test_gsc_headers_in_several_languages(tmp_path: Path, header: str) -> None:
    delim = ";" if ";" in header else ","
    path = write_csv(tmp_path, f"\ufeff{header}\r\nhttps://a.example.org/x{delim}\"Sep 15, 2026\"\r\n")
    info, rows = read_all(path)
    assert info.format == "gsc"
    assert rows[0].record == {"source_url": "https://a.example.org/x", "last_seen": "2026-09-15"}


def test_generic_csv_multiline_value_and_extra_column() -> None:
    info, rows = read_all(FIX / "generic.csv")
    assert "campaign" not in info.mapping
    post, listing, sponsored = (r.record for r in rows)
    assert post is not None and listing is not None and sponsored is not None
    assert "rel" not in post  # empty rel cell: unknown
    assert post["domain_authority"] == 40.0 and post["traffic"] == 1200.0
    assert rows[0].original["campaign"] == "spring"
    assert listing["context_left"] == "Line one\nline two,"
    assert listing["rel"] == "nofollow ugc"
    assert sponsored == {
        "source_url": "https://c.example.org/",
        "target_url": "https://shop.example.com/",
        "rel": "sponsored",
        "domain_authority": 7.5,
    }


def test_jsonl_bad_line_and_nested_metrics() -> None:
    info, rows = read_all(FIX / "links.jsonl")
    assert info.delimiter is None
    assert info.columns == ["source_url", "target_url", "anchor_text", "rel", "metrics"]
    first, second, bad, not_object, last = rows
    assert first.record == {
        "source_url": "https://a.example.org/post",
        "target_url": "https://shop.example.com/",
        "anchor_text": "shoes",
        "rel": "nofollow",
        "domain_authority": 40.0,
        "first_seen": "2026-01-02",
    }
    assert first.original["metrics"] == '{"domain_authority": 40, "first_seen": "2026-01-02"}'
    assert second.record is not None
    assert second.record["rel"] == "ugc nofollow"
    assert second.record["traffic"] == 1240.0 and second.record["sitewide"] == 1.0
    assert second.original["tags"] == '["x", 1]'
    assert bad.record is None and bad.error is not None and bad.error.startswith("line 3: invalid JSON")
    assert not_object.error == "line 5: expected a JSON object, got list"
    assert last.record == {"source_url": "https://d.example.org/", "target_url": "https://shop.example.com/"}
    assert last.original["anchor_text"] == ""


def test_records_are_accepted_by_the_canonical_validator() -> None:
    for name in ("ahrefs_utf16.tsv", "semrush.csv", "majestic.csv", "moz.csv", "generic.csv"):
        _, rows = read_all(FIX / name)
        for row in rows:
            if row.record is not None:
                assert isinstance(parse_record(row.record), LinkRecord), (name, row.line_no)


# ------------------------------------------------------------------------------------------------
# values


def test_numbers_booleans_and_dates(tmp_path: Path) -> None:
    text = (
        "source_url,target_url,domain_authority,sitewide,in_content,spam_score,first_seen\n"
        'https://a.example/,https://t.example/,"1,240",true,1,35%,Sep 15 2026\n'
        "https://b.example/,https://t.example/,7.5,false,0,n/a,15 sept. 2026\n"
        "https://c.example/,https://t.example/,,yes,,,2026-09-28T10:00:00Z\n"
        "https://d.example/,https://t.example/,nan,,,,09/28/2026\n"
        "https://e.example/,https://t.example/,12,,,,28.09.2026\n"
        "https://f.example/,https://t.example/,12,,,,not a date\n"
    )
    recs = records(write_csv(tmp_path, text))
    assert recs[0]["domain_authority"] == 1240.0
    assert recs[0]["sitewide"] == 1.0 and recs[0]["in_content"] == 1.0 and recs[0]["spam_score"] == 35.0
    assert recs[1]["domain_authority"] == 7.5
    assert recs[1]["sitewide"] == 0.0 and recs[1]["in_content"] == 0.0
    assert "spam_score" not in recs[1]  # unreadable: omitted
    assert "domain_authority" not in recs[2] and recs[2]["sitewide"] == 1.0
    assert "domain_authority" not in recs[3]
    assert [r.get("first_seen") for r in recs] == [
        "2026-09-15", "2026-09-15", "2026-09-28", "2026-09-28", "2026-09-28", None,
    ]
    assert all(isinstance(v, float) for r in recs for k, v in r.items() if k in ("sitewide", "spam_score"))


def test_rel_unknown_vs_follow(tmp_path: Path) -> None:
    text = (
        "Source url,Target url,Anchor,Nofollow,Ugc,Sponsored\n"
        "https://a.example/,https://t.example/,a,false,false,false\n"
        "https://b.example/,https://t.example/,b,TRUE,FALSE,TRUE\n"
        "https://c.example/,https://t.example/,c,,,\n"
        "https://d.example/,https://t.example/,d,,true,\n"
        "https://e.example/,https://t.example/,e,1,0,0\n"
    )
    recs = records(write_csv(tmp_path, text))
    assert [r.get("rel") for r in recs] == ["", "nofollow sponsored", None, "ugc", "nofollow"]


def test_moz_followable_column_inverts(tmp_path: Path) -> None:
    text = (
        "URL,Title,Anchor Text,Page Authority,Domain Authority,Number of Links,"
        "Number of Domains Linking to Domain,Followable,301,Origin,Target URL\n"
        "example.org/a,A,x,30,40,1,2,Yes,No,external,https://t.example/\n"
        "example.org/b,B,y,30,40,1,2,No,No,external,https://t.example/\n"
    )
    info, rows = read_all(write_csv(tmp_path, text))
    assert info.format == "moz"
    assert [r.record and r.record["rel"] for r in rows] == ["", "nofollow"]


# ------------------------------------------------------------------------------------------------
# encodings


def test_cp1252_file_is_decoded() -> None:
    (rec,) = records(FIX / "cp1252.csv")
    assert rec["anchor_text"] == "Café de la Straße"
    assert rec["source_title"] == "Prix: 5 €"


def test_utf8_file_with_a_stray_cp1252_byte_after_the_sample(tmp_path: Path) -> None:
    good = "".join(f"https://s{i}.example.org/,https://t.example/,ancre é {i}\n" for i in range(6000))
    data = ("source_url,target_url,anchor_text\n" + good).encode("utf-8")
    assert len(data) > 256 * 1024
    data += "https://last.example.org/,https://t.example/,Caf\xe9\n".encode("cp1252")
    path = tmp_path / "mixed.csv"
    path.write_bytes(data)
    info, rows = read_all(path)
    assert info.encoding == "utf-8"
    assert len(rows) == 6001
    assert rows[0].record is not None and rows[0].record["anchor_text"] == "ancre é 0"
    assert rows[-1].record is not None and rows[-1].record["anchor_text"] == "Café"


def test_utf16_without_bom(tmp_path: Path) -> None:
    text = "source_url\ttarget_url\r\nhttps://a.example/\thttps://t.example/\r\n"
    path = write_csv(tmp_path, text, encoding="utf-16-le")
    info, rows = read_all(path)
    assert (info.encoding, info.delimiter, info.format) == ("utf-16-le", "\t", "csv")
    assert rows[0].record == {"source_url": "https://a.example/", "target_url": "https://t.example/"}


# ------------------------------------------------------------------------------------------------
# quoting robustness


def test_unclosed_quote_on_the_last_line(tmp_path: Path) -> None:
    text = (
        "source_url,target_url,anchor_text\n"
        "https://a.example/,https://t.example/,ok\n"
        'https://b.example/,https://t.example/,"never closed\n'
    )
    _, rows = read_all(write_csv(tmp_path, text))
    assert [(r.line_no, r.error) for r in rows] == [
        (2, None), (3, "line 3: unbalanced quotes (a quoted field is never closed)"),
    ]


def test_unclosed_quote_followed_by_a_multiline_row(tmp_path: Path) -> None:
    text = (
        "source_url,target_url,anchor_text\n"
        'https://a.example/,https://t.example/,"broken\n'
        'https://b.example/,https://t.example/,"two\n'
        'lines"\n'
        "https://c.example/,https://t.example/,ok\n"
    )
    _, rows = read_all(write_csv(tmp_path, text))
    assert [r.line_no for r in rows] == [2, 3, 5]
    assert rows[0].error is not None and "unbalanced quotes" in rows[0].error
    assert rows[1].record is not None and rows[1].record["anchor_text"] == "two\nlines"
    assert rows[2].record is not None


def test_quote_inside_an_unquoted_field_is_read_leniently(tmp_path: Path) -> None:
    text = 'source_url,target_url,anchor_text\nhttps://a.example/,https://t.example/,5" screen\n'
    (rec,) = records(write_csv(tmp_path, text))
    assert rec["anchor_text"] == '5" screen'


def test_wrong_field_count_is_an_error_row(tmp_path: Path) -> None:
    text = (
        "source_url,target_url,anchor_text\n"
        "https://a.example/,https://t.example/,a,extra\n"
        "https://b.example/,https://t.example/\n"
        "https://c.example/,https://t.example/,c,,\n"  # trailing empty fields are tolerated
        ",,\n"  # a row of bare delimiters is blank
    )
    _, rows = read_all(write_csv(tmp_path, text))
    assert [(r.line_no, r.error) for r in rows] == [
        (2, "line 2: expected 3 fields, found 4"),
        (3, "line 3: expected 3 fields, found 2"),
        (4, None),
    ]
    assert rows[0].original["(extra 1)"] == "extra"


@pytest.mark.parametrize("seed", range(5))
def test_random_mix_of_good_multiline_and_broken_rows(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    lines = ["source_url,target_url,anchor_text,source_title"]
    expected: list[tuple[int, str, str]] = []
    for i in range(60):
        kind = rng.choice(["good", "good", "quoted", "multi", "broken", "stray", "blank"])
        start = len(lines) + 1
        src = f"https://s{i}.example/"
        if kind == "good":
            lines.append(f"{src},https://t.example/,anchor {i},title {i}")
        elif kind == "quoted":
            lines.append(f'{src},https://t.example/,"a, ""quoted"" {i}",title')
        elif kind == "multi":
            lines += [f'{src},https://t.example/,"first line {i}', 'second, line",title']
        elif kind == "broken":
            lines.append(f'{src},https://t.example/,"never closed {i},title')
        elif kind == "stray":
            lines.append(f'{src},https://t.example/,{i}" screen,title')
        else:
            lines.append("")
        if kind != "blank":
            expected.append((start, kind, src))
    path = write_csv(tmp_path, "\r\n".join(lines) + "\r\n")
    _, rows = read_all(path, chunk_rows=7)
    assert [r.line_no for r in rows] == [n for n, _, _ in expected]
    for row, (_, kind, src) in zip(rows, expected, strict=True):
        assert (row.error is not None) == (kind == "broken"), (row, kind)
        assert row.original["source_url"] == src
        if row.record is not None:
            assert row.record["source_url"] == src
            assert row.record["target_url"] == "https://t.example/"
        if kind == "multi":
            assert row.record is not None and "\n" in str(row.record["anchor_text"])


# ------------------------------------------------------------------------------------------------
# headers and column maps


def test_duplicate_headers_get_suffixes() -> None:
    info, rows = read_all(FIX / "duplicate_headers.csv")
    assert info.columns == ["source_url", "target_url", "Anchor", "Anchor (2)", "Notes", "Notes (2)",
                            "(column 7)"]
    assert info.mapping == {"source_url": "source_url", "target_url": "target_url", "Anchor": "anchor_text"}
    assert rows[0].original["Anchor (2)"] == "second anchor"
    assert rows[0].original["Notes (2)"] == "n2"
    assert rows[0].record is not None and rows[0].record["anchor_text"] == "first anchor"


def test_parse_column_map() -> None:
    assert parse_column_map("Their Column=source_url, Other=anchor_text") == {
        "Their Column": "source_url",
        "Other": "anchor_text",
    }
    assert parse_column_map('"Rel=attr"=rel, NF=rel:nofollow') == {"Rel=attr": "rel", "NF": "rel:nofollow"}
    assert parse_column_map("  ") == {}
    with pytest.raises(ExportFormatError, match="no '='"):
        parse_column_map("just a column")
    with pytest.raises(ExportFormatError, match="unknown field 'url'"):
        parse_column_map("Their=url")
    with pytest.raises(ExportFormatError, match="two columns"):
        parse_column_map("A=source_url,B=source_url")


def test_unrecognised_file_can_be_read_with_a_column_map() -> None:
    spec = "Linking URL=source_url,Links to=target_url,Link text=anchor_text,Trust=domain_authority"
    info, rows = read_all(FIX / "unknown.csv", format="csv", column_map=parse_column_map(spec))
    assert info.format == "csv" and info.delimiter == ";"
    assert info.mapping == {
        "Linking URL": "source_url",
        "Links to": "target_url",
        "Link text": "anchor_text",
        "Trust": "domain_authority",
    }
    assert rows[0].record == {
        "source_url": "https://a.example.org/",
        "target_url": "https://shop.example.com/",
        "anchor_text": "shoes",
        "domain_authority": 33.0,
    }
    # "auto" with a map also works, and names match case-insensitively
    info2, rows2 = read_all(FIX / "unknown.csv", column_map={"linking url": "source_url", "LINKS TO": "target_url"})
    assert info2.format == "csv" and len(rows2) == 2


def test_column_map_overrides_an_alias() -> None:
    info, rows = read_all(FIX / "semrush.csv", column_map={"Source title": "anchor_text"})
    assert info.mapping["Source title"] == "anchor_text"
    assert "Anchor" not in info.mapping
    assert rows[0].record is not None and rows[0].record["anchor_text"] == "Trail running tips"


def test_column_map_naming_a_missing_column() -> None:
    with pytest.raises(ExportFormatError, match="not in the file: 'Nope'"):
        read_export(FIX / "unknown.csv", format="csv", column_map={"Nope": "source_url"})


def test_aliases_table_is_consistent() -> None:
    for header, target in ALIASES.items():
        assert header == " ".join(header.lower().split()), header
        assert target in MAPPABLE_FIELDS, (header, target)
    for name in ("source_url", "target_url", "anchor_text", "rel", "domain_authority", "first_seen"):
        assert ALIASES[name] == name
    assert all(ALIASES[h] == "source_url" for h in GSC_LINKING_PAGE)


# ------------------------------------------------------------------------------------------------
# bad inputs: a clear ExportFormatError, never a traceback


def test_unrecognised_header_lists_expected_formats() -> None:
    with pytest.raises(ExportFormatError) as err:
        detect_format(FIX / "unknown.csv")
    message = str(err.value)
    for fmt in FORMATS:
        assert fmt in message
    assert "'Linking URL', 'Links to', 'Link text', 'Trust'" in message
    assert "Referring page URL" in message and "SourceTrustFlow" in message
    assert '--format csv --map "Their Column=source_url' in message


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "empty"),
        (b"\xef\xbb\xbf", "empty"),
        (b"\r\n  \n\t\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "PNG image"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "PDF"),
        (b"source_url,target_url\n\x00\x01\x02\x03binary\x00\x00\xff\xfe\xfd", "binary"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "xls"),
        (b'[{"source_url": "https://a.example/"}]', "JSON array"),
        (b"url\nhttps://a.example.org/\n", "only one column"),
        (b"Site,Linking pages,Target pages\nexample.org,\"1,240\",3\n", "no per-link"),
        (b"Source url,Anchor\nhttps://a.example/,x\n", "no column for target_url"),
    ],
)
def test_bad_inputs(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "upload.csv"
    path.write_bytes(content)
    with pytest.raises(ExportFormatError, match=match):
        read_export(path)


def test_one_column_fixture_and_gsc_summary_fixture() -> None:
    with pytest.raises(ExportFormatError, match="only one column"):
        detect_format(FIX / "one_column.csv")
    with pytest.raises(ExportFormatError, match="Search Console summary table"):
        detect_format(FIX / "gsc_top_linking_sites.csv")


def test_zip_without_link_table_and_xlsx(tmp_path: Path) -> None:
    summary = tmp_path / "links.zip"
    with zipfile.ZipFile(summary, "w") as zf:
        zf.write(FIX / "gsc_top_linking_sites.csv", "Latest links.csv")
    with pytest.raises(ExportFormatError, match="no table in this ZIP has per-link rows"):
        read_export(summary)
    xlsx = tmp_path / "links.zip2"
    with zipfile.ZipFile(xlsx, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(ExportFormatError, match="xlsx"):
        read_export(xlsx)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04" + b"not really a zip")
    with pytest.raises(ExportFormatError, match="broken ZIP"):
        read_export(broken)


def test_missing_file_directory_and_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ExportFormatError, match="cannot read"):
        read_export(tmp_path / "nope.csv")
    with pytest.raises(ExportFormatError, match="cannot read"):
        read_export(tmp_path)
    with pytest.raises(ExportFormatError, match="unknown format 'excel'"):
        read_export(FIX / "semrush.csv", format="excel")
    with pytest.raises(ValueError, match="chunk_rows"):
        read_export(FIX / "semrush.csv", chunk_rows=0)


def test_forced_format_on_a_matching_file() -> None:
    info, rows = read_all(FIX / "semrush_audit.csv", format="semrush")
    assert info.format == "semrush" and len(rows) == 2
    info, rows = read_all(FIX / "links.jsonl", format="jsonl")
    assert info.format == "jsonl" and len(rows) == 5


def test_jsonl_written_by_json_dumps_round_trips(tmp_path: Path) -> None:
    objs = [{"source_url": f"https://s{i}.example/", "target_url": "https://t.example/", "metrics": {"traffic": i}}
            for i in range(3)]
    path = tmp_path / "x.jsonl"
    path.write_text("\n".join(json.dumps(o) for o in objs) + "\n", encoding="utf-8")
    recs = records(path)
    assert [r["traffic"] for r in recs] == [0.0, 1.0, 2.0]


def test_quote_scanner_and_fallback_parser_agree_with_the_csv_module() -> None:
    import csv

    from serving.exports import _scan, _split_fields

    rng = random.Random(7)
    for _ in range(3000):
        text = "".join(rng.choice('ab,"" \t') for _ in range(rng.randrange(1, 14)))
        assert _split_fields(text, ",") == next(csv.reader([text])), text
        first = next(csv.reader([text + "\n", "X\n"]))
        assert _scan(text, ",", False)[0] == any("\n" in f for f in first), text


def test_field_larger_than_the_csv_module_limit(tmp_path: Path) -> None:
    big = "x" * 300_000
    text = f'source_url,target_url,anchor_text\nhttps://a.example/,https://t.example/,"{big}, ""q"""\n'
    text += "https://b.example/,https://t.example/,ok\n"
    recs = records(write_csv(tmp_path, text))
    assert recs[0]["anchor_text"] == big + ', "q"'
    assert recs[1]["anchor_text"] == "ok"


def test_import_does_no_work() -> None:
    import subprocess
    import sys

    code = (
        "import codecs, serving.exports\n"
        "try:\n    codecs.lookup_error('linkq-cp1252-fallback')\nexcept LookupError:\n    print('clean')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "clean"


def test_rows_pack_compactly_and_come_back_equal() -> None:
    """ExportRow.pack / unpack (how batch scoring ships a chunk to another process): same rows,
    same line numbers, lazily built records equal to the originals'."""
    import pickle

    packed_as_lines = 0
    for path in sorted(FIX.iterdir()):
        try:
            _, chunks = read_export(path, chunk_rows=4)
        except ExportFormatError:
            continue
        for chunk in chunks:
            packed = ExportRow.pack(chunk)
            packed_as_lines += packed[0] == "lines"
            back = ExportRow.unpack(pickle.loads(pickle.dumps(packed)))
            assert [r.line_no for r in back] == [r.line_no for r in chunk]
            assert back == chunk
    assert packed_as_lines >= 5
    assert ExportRow.unpack(ExportRow.pack([])) == []


def test_record_from_cells_equals_the_generic_record_builder() -> None:
    """The per-file record plan (_record_from_cells) gives _make_record's dict for every row of
    every fixture, and for cells that exercise each kind: blanks, '+'/'-' flags, thousands
    separators, percentages, infinities, localised dates, rel lists, domain traffic."""
    from serving import exports as ex

    checked = 0
    for path in sorted(FIX.iterdir()):
        try:
            _, chunks = read_export(path, "auto", None, 1000)
            rows = [r for chunk in chunks for r in chunk]
        except ExportFormatError:
            continue
        for r in rows:
            if r._cells is None:
                continue
            columns, cells, pairs, delimiter = r._cells
            fields = cells.rstrip("\r\n").split(delimiter) if isinstance(cells, str) else cells
            assert ex._record_from_cells(fields, pairs) == ex._make_record([(f, fields[i]) for i, f in pairs]), path
            checked += 1
    assert checked > 20
    names = ["source_url", "target_url", "anchor_text", "rel", "domain_authority", "traffic", "traffic:domain",
             "rel:nofollow", "rel:ugc", "rel:sponsored", "rel:follow", "first_seen", "unknown column"]
    pairs = tuple(enumerate(names))
    rng = random.Random(5)
    cells = ["", "  ", "+", "-", "true", "FALSE", "1,240", "35%", "inf", "nan", "-3", "x", "15 sept. 2026",
             "Sep 15, 2026", "2026-09-15 10:00", "nofollow, UGC", "example.com/p", " https://a.b/c ", "0", "1"]
    for _ in range(3000):
        fields = [rng.choice(cells) for _ in names]
        assert ex._record_from_cells(fields, pairs) == ex._make_record([(f, fields[i]) for i, f in pairs]), fields
    dup = ((0, "source_url"), (1, "source_url"), (2, "target_url"))  # two cells, one field: the first wins
    assert ex._record_from_cells(["", "https://a.b/", "https://c.d/"], dup)["source_url"] == "https://a.b/"


def _validated(row: ExportRow, tool: str | None) -> LinkRecord | RecordError | None:
    """The general path of the scorer: parse_record of the row's canonical dict, the tool added."""
    rec = row.record
    if rec is None:
        return None
    if tool and "tool" not in rec:
        rec = {**rec, "tool": tool}
    return parse_record(rec)


def test_a_link_record_built_from_the_cells_equals_the_validated_record() -> None:
    """ExportRow.link_record (the scorer's record, built straight from the cells) equals
    parse_record of the canonical dict for every row of every fixture export, with and without a
    tool name; where it declines (None), the general path decides."""
    from serving import exports as ex

    direct = declined = 0
    for path in sorted(FIX.iterdir()):
        for tool in (None, "Ahrefs"):
            try:
                _, chunks = read_export(path, "auto", None, 1000)
                fresh = [r for chunk in chunks for r in chunk]
                _, chunks = read_export(path, "auto", None, 1000)
                built = [r for chunk in chunks for r in chunk]
            except ExportFormatError:
                continue
            for a, b in zip(fresh, built, strict=True):
                got = a.link_record(tool)
                if got is None:
                    declined += 1
                    continue
                direct += 1
                assert got == _validated(b, tool), (path.name, b.line_no)
                assert a.record == b.record and a.original == b.original  # the row is unchanged by it
    assert direct > 40 and declined > 0
    # cells exercising each kind, blanks and a field given twice (the first usable cell wins)
    names = ["source_url", "target_url", "anchor_text", "rel", "domain_authority", "traffic", "traffic:domain",
             "domain_traffic", "rel:nofollow", "rel:ugc", "rel:sponsored", "rel:follow", "first_seen", "link_type",
             "platform", "anchor_text", "source_html", "unknown column"]
    cells = ["", "  ", "+", "-", "true", "FALSE", "1,240", "35%", "inf", "nan", "-3", "x", "15 sept. 2026",
             "Sep 15, 2026", "2026-09-15 10:00", "0099-01-02", "nofollow, UGC", "example.com/p", " https://a.b/c ",
             "//a.b/c", "https://localhost/", "https://nohost/", "ftp://a.b/", "0", "1", " Text  LINK ",
             "y" * 300, "https://a.example.org/x?q=1"]
    rng = random.Random(11)
    direct = 0
    for unique in (False, True):
        pairs = ex.CellPairs(enumerate(names[:15] if unique else names))
        columns = [f"c{i}" for i in range(len(names))]
        for _ in range(4000):
            fields = [rng.choice(cells) for _ in names]
            if rng.random() < 0.5:
                fields[0], fields[1] = "https://src.example.org/p", "https://you.example.com/"
            tool = rng.choice([None, "", "Moz", "SEMRUSH  Audit"])
            row = ExportRow.from_cells(2, columns, list(fields), pairs)
            got = row.link_record(tool)
            if got is not None:
                direct += 1
                assert got == _validated(ExportRow.from_cells(2, columns, list(fields), pairs), tool), fields
    assert direct > 1000


def test_a_chunk_of_rows_gets_the_records_each_row_gets_alone() -> None:
    """link_records builds a chunk's records column by column (each distinct cell converted once):
    row for row the record each row gets alone, for chunks mixing files, unreadable rows, rows whose
    canonical dict is already built, and random cells repeated across rows."""
    from serving import exports as ex
    from serving.export_records import link_records

    def rows_of(path: Path) -> list[ExportRow]:
        try:
            _, chunks = read_export(path, "auto", None, 1000)
            return [r for chunk in chunks for r in chunk]
        except ExportFormatError:
            return []

    paths = sorted(FIX.iterdir())
    mixed = [r for p in paths for r in rows_of(p)]
    alone = [r for p in paths for r in rows_of(p)]
    for r in mixed[::7]:
        assert r.record is not None or r.error is not None  # some rows built before, as a writer may
    for r in alone[::7]:
        assert r.record is not None or r.error is not None
    rng = random.Random(5)
    order = list(range(len(mixed)))
    rng.shuffle(order)  # rows of different files side by side
    for tool in (None, "Ahrefs"):
        got = link_records([mixed[k] for k in order], tool)
        want = [alone[k].link_record(tool) for k in order]
        assert got == want
        assert sum(g is not None for g in got) > 20 and any(r.error for r in mixed)
    # random cells of every kind, repeated across the rows of one chunk (the per-column memos)
    names = ["source_url", "target_url", "anchor_text", "rel", "page_authority", "traffic:domain", "domain_traffic",
             "rel:nofollow", "rel:follow", "first_seen", "platform", "tool", "anchor_text", "traffic:domain"]
    cells = ["", " ", "+", "-", "true", "no", "1,240", "35%", "nan", "x", "Sep 15, 2026", "0099-01-02",
             "nofollow, UGC", "example.com/p", "https://localhost/", " MOZ ", "0", "1", "Text  LINK"]
    for unique in (False, True):
        pairs = ex.CellPairs(enumerate(names[:12] if unique else names))
        columns = [f"c{i}" for i in range(len(names))]
        table = []
        for _ in range(3000):
            fields = [rng.choice(cells) for _ in names]
            if rng.random() < 0.7:
                fields[0], fields[1] = rng.choice(["https://a.example.org/p", "https://b.example.net/"]), \
                    "https://you.example.com/"
            table.append(fields)
        for tool in (None, "Semrush"):
            chunk = [ExportRow.from_cells(k + 2, columns, list(f), pairs) for k, f in enumerate(table)]
            got = link_records(chunk, tool)
            want = [ExportRow.from_cells(k + 2, columns, list(f), pairs).link_record(tool)
                    for k, f in enumerate(table)]
            assert got == want
            assert sum(g is not None for g in got) > 1000


def test_a_row_split_but_not_built_pickles_and_compares_with_its_record() -> None:
    """A row whose cells were split (for the scorer's record or the CSV writer) but whose canonical
    dict was never built still pickles, compares and unpacks with that record."""
    import pickle

    _, chunks = read_export(FIX / "semrush.csv", "auto", None, 1000)
    rows = [r for c in chunks for r in c]
    _, chunks = read_export(FIX / "semrush.csv", "auto", None, 1000)
    want = [(r.line_no, r.original, r.record) for c in chunks for r in c]
    for r in rows[::2]:
        assert r.link_record("semrush") is not None
    for r in rows[1::2]:
        r.csv_cells()
    back = pickle.loads(pickle.dumps(rows))
    assert [(r.line_no, r.original, r.record) for r in back] == want
    assert ExportRow.unpack(pickle.loads(pickle.dumps(ExportRow.pack(rows)))) == back


def test_plain_line_fast_path_gives_the_rows_of_the_general_path(tmp_path: Path, monkeypatch) -> None:
    """The reader turns plain lines into rows in a tight loop and hands anything else (quotes,
    blank lines, wrong cell counts, multi-line values, unclosed quotes) to the general cutter, then
    comes back: the rows (values, line numbers, errors) equal those of the general path alone."""
    from serving import exports as ex

    tricky = tmp_path / "tricky.tsv"
    tricky.write_text(
        "source_url\ttarget_url\tanchor_text\tnote\n"
        "https://a.example.org/1\thttps://shop.example.com/\tone\tplain\n"
        "\t\t\t\n"
        "https://a.example.org/2\thttps://shop.example.com/\t\"two\nlines\"\tquoted, multi-line\n"
        "https://a.example.org/3\thttps://shop.example.com/\tthree\n"
        "https://a.example.org/4\thttps://shop.example.com/\tfour\tplain again\n"
        "\n"
        "https://a.example.org/5\thttps://shop.example.com/\t\"never closed\tx\n"
        "https://a.example.org/6\thttps://shop.example.com/\tsix\tafter the bad quote\n"
        "https://a.example.org/7\thttps://shop.example.com/\tseven\ttoo\tmany\n"
        "https://a.example.org/8\thttps://shop.example.com/\teight\tlast, no line end",
        encoding="utf-8")
    blankish = tmp_path / "blankish.csv"  # lines of only whitespace (any, not just ASCII) and commas
    blankish.write_text(
        "source_url,target_url,anchor_text\n"
        "\xa0,,\n , ,\t\n,,\n\u2003,,\u3000\n"
        "https://a.example.org/1,https://shop.example.com/,one\n"
        "\u2003,,x\n"
        " https://a.example.org/2,https://shop.example.com/,lead space\n",
        encoding="utf-8")
    inputs = [tricky, blankish] + [p for p in sorted(FIX.iterdir()) if p.suffix in (".csv", ".tsv")]

    def rows_of(path: Path) -> list:
        try:
            _, chunks = read_export(path, "auto", None, 4)
        except ExportFormatError:
            return []
        return [(r.line_no, r.original, r.record, r.error) for chunk in chunks for r in chunk]

    fast = {p: rows_of(p) for p in inputs}
    general = ex._raw_rows
    monkeypatch.setattr(ex, "_raw_rows", lambda lines, d, n, plain=None: general(lines, d, n, None))
    for p in inputs:
        assert rows_of(p) == fast[p], p.name
    got = fast[tricky]
    assert [n for n, *_ in got] == [2, 4, 6, 7, 9, 10, 11, 12]
    assert got[2][3] and got[4][3] and got[5][3] is None and got[0][1]["note"] == "plain"  # lines 6, 9: errors


@pytest.mark.parametrize("name", sorted(p.name for p in FIX.iterdir() if p.suffix in (".csv", ".tsv", ".jsonl")))
def test_a_partial_record_equals_the_record_restricted_to_its_fields(name: str) -> None:
    """ExportRow.partial_record (the profile pass reads a few fields of every row) gives the fields
    of the full record, rel included, for every fixture export."""
    fields = frozenset({"source_url", "source_title", "anchor_text", "page_authority", "domain_authority",
                        "traffic", "outbound_links", "rel"})
    try:
        _, chunks = read_export(FIX / name)
        rows = [r for c in chunks for r in c]
    except ExportFormatError:
        pytest.skip("not an export")
    # the profile pass's sets, and each field alone: plans ending on any cell, the line's last included
    for want_fields in (fields, LEAN_PROFILE_FIELDS, PROFILE_FIELDS, *(frozenset({f}) for f in sorted(fields))):
        _, chunks = read_export(FIX / name)
        fresh = [r for c in chunks for r in c]  # rows whose record was never built
        for done, row in zip(rows, fresh, strict=True):
            full = done.record
            want = None if full is None else {k: v for k, v in full.items() if k in want_fields}
            assert row.partial_record(want_fields) == want


def test_a_partial_record_reads_a_last_column_without_its_line_end(tmp_path) -> None:
    """The partial record splits a plain line only up to the last cell it reads: when that cell is the
    line's last, its line end (CRLF here) is not part of the value."""
    path = tmp_path / "last.csv"
    path.write_bytes(b"Target URL,UR,Referring page URL,Anchor\r\nhttps://t.fr/,12,https://a.org/x,shoes\r\n"
                     b"https://t.fr/,,https://b.org/y,boots \r\n")
    fields = frozenset({"anchor_text", "page_authority"})
    _, chunks = read_export(path)
    rows = [r for c in chunks for r in c]
    got = [r.partial_record(fields) for r in rows]
    assert got == [{"page_authority": 12.0, "anchor_text": "shoes"}, {"anchor_text": "boots "}]
    assert got == [{k: v for k, v in r.record.items() if k in fields} for r in rows]
