"""serving.disavow: only risky weak links, merged without duplicates, allow-list respected, Google's limits.

The fixture (tests/fixtures/report/ahrefs_scored.csv, made by generate.py there) declares which links
are weak with manipulation flags; the expected entries below are read off that declaration.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import idna
import pytest

from features.disavow import parse_disavow
from features.recordio import write_rows
from features.urls import url_key
from serving.disavow import (
    MAX_BYTES,
    MAX_LINES,
    MAX_URL_CHARS,
    DisavowError,
    build_disavow,
    parse_allowlist,
    summary_lines,
)
from serving.report import display_host, host_to_ascii, site_of

FIXTURES = Path(__file__).parent / "fixtures" / "report"
AHREFS = FIXTURES / "ahrefs_scored.csv"
CANONICAL = FIXTURES / "canonical_scored.csv"
DAY = date(2026, 9, 30)

# best-seo-links.xyz (paid + money_anchor) is marked rel=sponsored: it passes nothing, so it is not listed.
PAID_SPONSORED = "best-seo-links.xyz"
RISKY_DOMAINS = {
    "casino-bonus-news.top",  # spam_source + spam_vocabulary
    "spinlinkhub.net",  # sitewide + money_anchor, on two subdomains
    "linkfarm-directory.info",  # spam_source + tool_spam_score
    "xn--bcher-laufen-dlb.de",  # bücher-laufen.de, spam_source (written in unicode in the export)
    "xn--lufer-treff-l8a.com",  # läufer-treff.com, spam_source + spam_vocabulary (punycode in the export)
}
# runwriters.net also sends a strong link: only its 4 spam profile pages are listed, not the domain.
RUNWRITERS_SPAM = {
    "https://runwriters.net/u/cheapshoes123", "https://runwriters.net/u/cheapshoes123/about",
    "https://runwriters.net/u/shoedeals99", "https://runwriters.net/u/shoedeals99/posts",
}


def _rows(path: Path = AHREFS) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _key(url: str) -> str:
    """url_key with the host in punycode, computed here with the idna package (not the code under test)."""
    key = url_key(url)
    assert key
    host, _, rest = key.partition("/")
    return idna.encode(host, uts46=True).decode() + "/" + rest


def _build(tmp_path: Path, name: str = "disavow.txt", **kw) -> tuple[dict, str]:
    out = tmp_path / name
    summary = build_disavow(kw.pop("scored", AHREFS), out, today=DAY, **kw)
    return summary, out.read_text(encoding="utf-8")


def _scored_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    cols = ["source_url", "target_url", "anchor_text", "score", "verdict", "flags"]
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, cols)
        w.writeheader()
        for r in rows:
            w.writerow({"target_url": "https://shop.example.com/", "anchor_text": "buy shoes", "score": "0.05",
                        "verdict": "weak", "flags": "spam_source"} | r)
    return path


# ---------------------------------------------------------------------------------------------- candidates


def test_domain_level_lists_exactly_the_risky_sites(tmp_path):
    summary, text = _build(tmp_path)
    parsed = parse_disavow(text)
    assert parsed.domains == RISKY_DOMAINS
    assert parsed.urls == {_key(u) for u in RUNWRITERS_SPAM}
    assert summary["domains_added"] == 5 and summary["urls_added"] == 4
    assert summary["candidate_links"] == 33 and summary["candidate_sites"] == 6
    assert summary["skipped_not_live_or_followed"] == 10  # the rel=sponsored links of best-seo-links.xyz
    assert "  10 risky weak links left out: lost, or nofollow / ugc / sponsored (they pass nothing, so there is " \
           "nothing to disavow)" in summary_lines(summary)  # the score summary counted them as risky
    assert not parsed.covers(f"https://{PAID_SPONSORED}/anything")
    assert set(summary["sites_as_urls"]) == {"runwriters.net"}
    assert not parsed.covers("https://runwriters.net/essays/why-i-run-trails")  # its strong link
    assert parsed.covers("https://news.spinlinkhub.net/anything")  # domain: covers subdomains


def test_file_has_dated_comments_and_reasons_per_group(tmp_path):
    _, text = _build(tmp_path, model_id="linkq-test-1")
    lines = text.splitlines()
    assert lines[0] == "# linkq disavow, 2026-09-30, from ahrefs_scored.csv, model linkq-test-1"
    i = lines.index("domain:casino-bonus-news.top")
    assert lines[i - 1].startswith("# spam_source + spam_vocabulary: the source domain is on a public spam list")
    assert "# bücher-laufen.de" in lines  # the readable name next to the punycode entry
    assert text.endswith("\n") and "\r" not in text
    assert all(line.isascii() for line in lines if not line.startswith("#"))


def test_url_level_parses_back_to_every_risky_linking_page(tmp_path):
    summary, text = _build(tmp_path, level="url")
    expected = {_key(r["Referring page URL"]) for r in _rows()
                if r["verdict"] == "weak" and r["flags"] and r["Sponsored"].lower() != "true"}
    assert len(expected) == 33
    parsed = parse_disavow(text)
    assert parsed.domains == set()
    assert parsed.urls == expected
    assert summary["urls_added"] == 33
    # the unicode path is percent-encoded, the host punycoded; url_key reads it back to the same page
    assert any(line.startswith("https://xn--bcher-laufen-dlb.de/b%C3%BCcher") for line in text.splitlines())


def test_weak_links_without_flags_are_never_listed(tmp_path):
    for level in ("domain", "url"):
        _, text = _build(tmp_path, name=f"{level}.txt", level=level)
        parsed = parse_disavow(text)
        harmless = [r for r in _rows() if r["verdict"] == "weak" and not r["flags"]]
        assert len(harmless) == 32  # nofollow forum, ugc comments, footer, navigation, link missing
        for r in harmless:
            assert not parsed.covers(r["Referring page URL"]), r["Referring page URL"]
        for r in _rows():
            if r["verdict"] in ("strong", "review"):  # incl. the review link flagged 'sitewide'
                assert not parsed.covers(r["Referring page URL"]), r["Referring page URL"]


def test_min_risk_is_the_number_of_distinct_flags(tmp_path):
    summary, text = _build(tmp_path, min_risk=2)
    parsed = parse_disavow(text)
    # bücher-laufen.de (spam_source) and the runwriters pages (money_anchor) have one flag only
    assert parsed.domains == RISKY_DOMAINS - {"xn--bcher-laufen-dlb.de"}
    assert parsed.urls == set()
    assert summary["candidate_links"] == 26
    assert "min-risk: 2 (weak links with at least 2 manipulation signals)" in text
    assert parse_disavow(_build(tmp_path, name="3.txt", min_risk=3)[1]).domains == set()


@pytest.mark.parametrize("kw", [{"min_risk": 0}, {"min_risk": -1}, {"min_risk": True}, {"level": "host"}])
def test_bad_options_are_refused(tmp_path, kw):
    with pytest.raises(DisavowError):
        _build(tmp_path, **kw)
    assert not (tmp_path / "disavow.txt").exists()


def test_explain_columns_give_flags_when_the_file_has_no_flags_column(tmp_path):
    summary, text = _build(tmp_path, scored=CANONICAL)
    parsed = parse_disavow(text)
    # src_spam_listed + page_spam_words >= 5; sponsored-coffee-deals.biz (rel_sponsored + anchor_overoptimised)
    # is marked sponsored: it passes nothing and is not listed
    assert parsed.domains == {"spam-kaffee.xyz"}
    assert not parsed.covers("https://sponsored-coffee-deals.biz/")
    assert not parsed.covers("https://toolflagged-blog.net/10/article-1")  # tool spam score 45 < 60
    assert not parsed.covers("https://espressoforum.net/4/article-1")  # weak nofollow forum, no signals
    assert summary["model_id"] == "linkq-20260901-ab12cd"  # from the file's model_id column
    assert "model linkq-20260901-ab12cd" in text.splitlines()[0]


def test_spam_target_alone_does_not_make_a_link_risky(tmp_path):
    scored = _scored_csv(tmp_path / "s.csv", [
        {"source_url": "https://blog.neutral-site.com/a", "flags": "spam_target"},
        {"source_url": "https://paid-links.net/b", "flags": "money_anchor; spam_target"},
    ])
    _, text = _build(tmp_path, scored=scored)
    # one risky link and nothing against the site itself: its page is listed, not the domain
    assert parse_disavow(text).urls == {"paid-links.net/b"} and parse_disavow(text).domains == set()


def test_jsonl_and_parquet_scored_files_give_the_same_entries(tmp_path):
    rows = _rows()
    cols = list(rows[0])
    expected = parse_disavow(_build(tmp_path)[1])
    for suffix in (".jsonl", ".parquet"):
        path = tmp_path / f"scored{suffix}"
        write_rows(path, rows, cols)
        parsed = parse_disavow(_build(tmp_path, name=f"d{suffix}.txt", scored=path)[1])
        assert (parsed.domains, parsed.urls) == (expected.domains, expected.urls), suffix


def test_an_unscored_export_is_refused_with_a_clear_message(tmp_path):
    with pytest.raises(DisavowError, match="not a scored file.*linkq score"):
        build_disavow(Path(__file__).parent / "fixtures" / "exports" / "generic.csv", tmp_path / "d.txt")
    assert not (tmp_path / "d.txt").exists()


# ---------------------------------------------------------------------------------------------- merge


EXISTING = """\ufeff# Disavow file for trailpeak.com, kept by the agency
# 2025-02: cleanup after the penalty

domain:best-seo-links.xyz
https://runwriters.net/u/shoedeals99
domain:old-pbn-network.info
http://spammy.example.org/page.html
domain:bücher-laufen.de
"""


def test_merge_keeps_the_users_file_and_adds_no_duplicates(tmp_path):
    existing = tmp_path / "existing.txt"
    existing.write_text(EXISTING, encoding="utf-8")
    summary, text = _build(tmp_path, merge=existing)
    lines = text.splitlines()
    # the user's file comes first, line for line (without the BOM)
    assert lines[:8] == EXISTING.lstrip("\ufeff").splitlines()
    parsed = parse_disavow(text)
    old = parse_disavow(EXISTING)
    assert old.domains <= parsed.domains and old.urls <= parsed.urls and set(old.comments) <= set(parsed.comments)
    entries = [x for x in lines if x and not x.startswith("#")]
    assert len(entries) == len(set(entries))
    assert entries.count("domain:best-seo-links.xyz") == 1
    assert "domain:xn--bcher-laufen-dlb.de" not in entries  # already there as domain:bücher-laufen.de
    assert "https://runwriters.net/u/shoedeals99" not in lines[8:]
    assert summary["existing_entries"] == 5
    assert summary["already_listed"] == 2  # bücher-laufen.de, /u/shoedeals99 (best-seo-links.xyz: sponsored)
    assert summary["domains_added"] == 4 and summary["urls_added"] == 3
    assert not any("--merge" in w for w in summary["warnings"])


def test_merging_the_output_again_changes_nothing(tmp_path):
    existing = tmp_path / "existing.txt"
    existing.write_text(EXISTING, encoding="utf-8")
    _, first = _build(tmp_path, "first.txt", merge=existing)
    (tmp_path / "first_copy.txt").write_text(first, encoding="utf-8")
    summary, second = _build(tmp_path, "second.txt", merge=tmp_path / "first_copy.txt")
    assert second == first
    assert summary["domains_added"] == summary["urls_added"] == 0


def test_merge_into_the_same_file(tmp_path):
    out = tmp_path / "disavow.txt"
    out.write_text(EXISTING, encoding="utf-8")
    build_disavow(AHREFS, out, merge=out, today=DAY)
    domains = {host_to_ascii(d) for d in parse_disavow(out.read_text(encoding="utf-8")).domains}
    assert domains >= RISKY_DOMAINS | {"old-pbn-network.info"}  # bücher-laufen.de stays in the user's spelling


def test_existing_file_that_is_not_utf8_is_refused(tmp_path):
    existing = tmp_path / "existing.txt"
    existing.write_bytes("domain:b\xfccher.example\n".encode("cp1252"))
    with pytest.raises(DisavowError, match="not UTF-8"):
        _build(tmp_path, merge=existing)


# ---------------------------------------------------------------------------------------------- allow-list


def test_allowlist_entries_are_never_listed(tmp_path):
    allow = tmp_path / "allow.txt"
    allow.write_text(
        "# sites we trust\n"
        "casino-bonus-news.top\n"
        "https://runwriters.net/u/shoedeals99   # a real fan, not spam\n"
        "domain:linkfarm-directory.info\n"
        "bücher-laufen.de\n"  # unicode spelling; the file writes punycode
        "*.läufer-treff.com\n",
        encoding="utf-8",
    )
    summary, text = _build(tmp_path, allow=allow)
    parsed = parse_disavow(text)
    assert parsed.domains == {"spinlinkhub.net"}
    assert parsed.urls == {_key(u) for u in RUNWRITERS_SPAM if u != "https://runwriters.net/u/shoedeals99"}
    assert summary["skipped_allowlist"] == 5  # 4 domains and 1 URL (its /posts sibling is still listed)
    for r in _rows():
        url = r["Referring page URL"]
        if any(d in url for d in ("casino-bonus-news", "linkfarm-directory", "bücher-laufen", "xn--lufer")):
            assert not parsed.covers(url)


def test_allowlisted_subdomain_turns_its_site_into_url_entries(tmp_path):
    allow = tmp_path / "allow.txt"
    allow.write_text("news.spinlinkhub.net\n", encoding="utf-8")
    summary, text = _build(tmp_path, allow=allow)
    parsed = parse_disavow(text)
    assert "spinlinkhub.net" not in parsed.domains  # domain:spinlinkhub.net would cover the allowed subdomain
    assert "spinlinkhub.net" in summary["sites_as_urls"]
    blog = {_key(r["Referring page URL"]) for r in _rows() if "blog.spinlinkhub.net" in r["Referring page URL"]}
    assert len(blog) == 5 and blog <= parsed.urls
    assert not any(u.startswith("news.spinlinkhub.net") for u in parsed.urls)


def test_allowlist_comments_out_the_users_own_entries(tmp_path):
    existing = tmp_path / "existing.txt"
    existing.write_text(EXISTING, encoding="utf-8")
    allow = tmp_path / "allow.txt"
    allow.write_text("old-pbn-network.info\nhttp://spammy.example.org/page.html\n", encoding="utf-8")
    summary, text = _build(tmp_path, merge=existing, allow=allow)
    parsed = parse_disavow(text)
    assert "old-pbn-network.info" not in parsed.domains
    assert not parsed.covers("http://spammy.example.org/page.html")
    assert "# linkq: removed, on the allow-list: domain:old-pbn-network.info" in text.splitlines()
    assert summary["existing_removed_by_allowlist"] == 2


def test_parse_allowlist_forms():
    allow = parse_allowlist(
        "# comment\n\nExample.COM\nwww.friend.org\nhttps://partner.net/\nhttps://blog.host.io/post?id=1 # ok\n"
        "domain:XN--BCHER-KVA.example\n*.wild.example.com\n"
    )
    assert allow.domains == {"example.com", "friend.org", "partner.net", "xn--bcher-kva.example",
                             "wild.example.com"}
    assert allow.blocks_url("http://sub.example.com/x")  # a domain covers subdomains and URLs
    assert allow.blocks_url("https://bücher.example/a")
    assert allow.blocks_url("http://blog.host.io/post?id=1&utm_source=x")
    assert not allow.blocks_url("http://blog.host.io/other")
    assert allow.inside("host.io") and not allow.blocks_domain("host.io")
    assert allow.blocks_domain("a.b.example.com") and not allow.blocks_domain("example.org")


# ---------------------------------------------------------------------------------------------- IDN


def test_unicode_and_punycode_domains_are_one_site(tmp_path):
    assert host_to_ascii("bücher.example") == host_to_ascii("XN--BCHER-KVA.example.") == "xn--bcher-kva.example"
    assert host_to_ascii("www.Bücher.example") == "xn--bcher-kva.example"
    assert display_host("xn--bcher-kva.example") == "bücher.example"
    assert site_of("https://shop.bücher-laufen.de/x") == "xn--bcher-laufen-dlb.de"
    scored = _scored_csv(tmp_path / "s.csv", [
        {"source_url": "https://bücher.example/spam-1"},
        {"source_url": "https://xn--bcher-kva.example/spam-2"},
        {"source_url": "https://Bücher.example/spam-1"},
    ])
    summary, text = _build(tmp_path, scored=scored)
    assert [x for x in text.splitlines() if x.startswith("domain:")] == ["domain:xn--bcher-kva.example"]
    assert summary["domains_added"] == 1
    _, text = _build(tmp_path, "u.txt", scored=scored, level="url")
    assert parse_disavow(text).urls == {"xn--bcher-kva.example/spam-1", "xn--bcher-kva.example/spam-2"}
    for spelling in ("xn--bcher-kva.example", "bücher.example", "https://BÜCHER.example/"):
        allow = tmp_path / "allow.txt"
        allow.write_text(spelling + "\n", encoding="utf-8")
        summary, text = _build(tmp_path, "a.txt", scored=scored, allow=allow)
        assert parse_disavow(text).domains == set() and parse_disavow(text).urls == set(), spelling
        assert summary["skipped_allowlist"] == 1


# ---------------------------------------------------------------------------------------------- limits


def test_more_than_100k_lines_is_refused_and_nothing_written(tmp_path):
    existing = tmp_path / "existing.txt"
    existing.write_text("".join(f"domain:p{i}.io\n" for i in range(MAX_LINES - 3)), encoding="utf-8")
    out = tmp_path / "disavow.txt"
    with pytest.raises(DisavowError, match=r"100,0\d\d lines; Google accepts at most 100,000"):
        build_disavow(AHREFS, out, merge=existing, today=DAY)
    assert not out.exists()
    # the same file without new entries fits: nothing is appended when everything is already listed
    small = tmp_path / "small.txt"
    small.write_text("".join(f"domain:p{i}.io\n" for i in range(MAX_LINES)), encoding="utf-8")
    empty = _scored_csv(tmp_path / "none.csv", [{"source_url": "https://ok.example.com/", "flags": ""}])
    summary = build_disavow(empty, out, merge=small, today=DAY)
    assert summary["lines"] == MAX_LINES


def test_more_than_2mb_is_refused(tmp_path):
    n = MAX_BYTES // 1_800 + 10  # lines of about 1,890 bytes: 2.1 MB
    rows = [{"source_url": f"https://spam{i}-links.net/" + "p" * 1_860, "flags": "spam_source"} for i in range(n)]
    scored = _scored_csv(tmp_path / "s.csv", rows)
    with pytest.raises(DisavowError, match="bytes; Google accepts at most 2 MB"):
        _build(tmp_path, scored=scored, level="url")
    assert not (tmp_path / "disavow.txt").exists()
    summary, text = _build(tmp_path, scored=scored, level="domain")  # grouped by site it fits
    assert summary["domains_added"] == n and len(text.encode()) < MAX_BYTES


def test_an_overlong_candidate_url_is_skipped_not_written(tmp_path):
    long_url = "https://paid-links.net/" + "a" * MAX_URL_CHARS
    ok_url = "https://paid-links.net/ok"
    scored = _scored_csv(tmp_path / "s.csv", [{"source_url": long_url}, {"source_url": ok_url}])
    summary, text = _build(tmp_path, scored=scored, level="url")
    assert summary["skipped_too_long"] == 1 and summary["urls_added"] == 1
    assert parse_disavow(text).urls == {"paid-links.net/ok"}
    assert max(len(x) for x in text.splitlines()) <= MAX_URL_CHARS
    assert any("2,048" in w for w in summary["warnings"])
    summary, text = _build(tmp_path, "d.txt", scored=scored, level="domain")  # the domain line covers it
    assert parse_disavow(text).domains == {"paid-links.net"} and summary["skipped_too_long"] == 0


def test_an_overlong_url_in_the_existing_file_is_refused(tmp_path):
    existing = tmp_path / "existing.txt"
    existing.write_text("https://x.example.com/" + "b" * MAX_URL_CHARS + "\n", encoding="utf-8")
    with pytest.raises(DisavowError, match="line 1 is a URL of 2,070 characters"):
        _build(tmp_path, merge=existing)


def test_summary_reports_size_and_warns_about_replacing(tmp_path):
    summary, text = _build(tmp_path, name="disavow.csv")
    assert summary["lines"] == len(text.splitlines())
    assert summary["bytes"] == len(text.encode("utf-8"))
    assert any(".txt" in w for w in summary["warnings"])
    assert any("--merge" in w for w in summary["warnings"])


def test_only_live_followed_links_are_listed_and_a_domain_only_when_its_rows_justify_it(tmp_path):
    """A lost, nofollow, ugc or sponsored link passes nothing: never listed. One keyword-anchor link on
    a forum is its page, not the forum's domain; two risky links or a site-wide flag make a domain line."""
    cols = ["source_url", "target_url", "anchor_text", "rel", "score", "verdict", "status", "flags"]
    rows = [
        ("https://forum-site.org/t/1", "", "scored_without_page", "money_anchor"),  # one risky page
        ("https://lost-site.net/a", "", "lost", "money_anchor"),
        ("https://nofollow-site.net/a", "nofollow", "scored_without_page", "money_anchor"),
        ("https://ugc-site.net/a", "ugc", "scored_without_page", "spam_anchor"),
        ("https://two-links.net/a", "", "scored_without_page", "money_anchor"),
        ("https://two-links.net/b", "", "scored_without_page", "spam_anchor"),
        ("https://network-site.info/domain-list-7", "", "scored_without_page", "network"),
    ]
    path = tmp_path / "s.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for url, rel, status, flags in rows:
            lost = status == "lost"
            w.writerow([url, "https://shop.example.com/", "cheap shoes", rel, "" if lost else "0.05",
                        "" if lost else "weak", status, flags])
    summary, text = _build(tmp_path, scored=path)
    parsed = parse_disavow(text)
    assert parsed.domains == {"two-links.net", "network-site.info"}
    assert parsed.urls == {"forum-site.org/t/1"}
    assert summary["skipped_not_live_or_followed"] == 2  # nofollow and ugc (the lost row is not weak)
    for url in ("https://lost-site.net/a", "https://nofollow-site.net/a", "https://ugc-site.net/a"):
        assert not parsed.covers(url)


def test_a_users_space_on_a_platform_is_its_own_site_and_a_platform_is_never_a_domain_line(tmp_path):
    """Two spam blogs on wordpress.com (which the Public Suffix List does not list) are two sites, each
    its own domain: line; risky posts on medium.com, a platform many people publish on, are listed by
    URL however many there are: neither ``domain:wordpress.com`` nor ``domain:medium.com``, which would
    disavow every other user of the platform."""
    path = _scored_csv(tmp_path / "s.csv", [
        {"source_url": "https://cheap-pills.wordpress.com/2024/01/a", "flags": "money_anchor"},
        {"source_url": "https://cheap-pills.wordpress.com/2024/02/b", "flags": "money_anchor"},
        {"source_url": "https://blog.casino-deals.wordpress.com/post", "flags": "network"},
        {"source_url": "https://medium.com/@seller/buy-now-1", "flags": "money_anchor"},
        {"source_url": "https://medium.com/@seller/buy-now-2", "flags": "network"},
        {"source_url": "https://medium.com/@other/pills", "flags": "spam_source"},
    ])
    summary, text = _build(tmp_path, scored=path)
    parsed = parse_disavow(text)
    assert parsed.domains == {"cheap-pills.wordpress.com", "casino-deals.wordpress.com"}
    assert parsed.urls == {"medium.com/@seller/buy-now-1", "medium.com/@seller/buy-now-2", "medium.com/@other/pills"}
    assert "platform" in summary["sites_as_urls"]["medium.com"]
    assert not parsed.covers("https://honest-writer.wordpress.com/review")
    assert not parsed.covers("https://medium.com/@honest/review")
    assert site_of("https://blog.casino-deals.wordpress.com/post") == "casino-deals.wordpress.com"
    assert site_of("https://wordpress.com/tag/health") == "wordpress.com"


def test_the_format_module_matches_unicode_and_punycode_spellings_alike() -> None:
    """features.disavow is the one disavow format: training labels match a site however it is spelled."""
    d = parse_disavow("# old file\ndomain:bücher.example\nhttps://www.xn--caf-dma.example/menu\n")
    assert d.domains == {"xn--bcher-kva.example"}
    assert d.covers("https://shop.xn--bcher-kva.example/x") and d.covers("https://bücher.example/")
    assert d.covers("https://café.example/menu") and not d.covers("https://café.example/other")
    assert d.comments == ["# old file"]
