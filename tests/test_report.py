"""serving.report: the summary numbers, a self-contained escaped page, and a real browser rendering it.

Expected numbers come from the fixture's declaration (tests/fixtures/report/generate.py) or are
recounted here from the CSV with the csv module, not from the code under test.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

from features.recordio import write_rows
from serving.report import (
    ANCHOR_CLASSES,
    REFERENCE_MIX,
    ScoredFileError,
    build_summary,
    classify_anchor,
    render_html,
    summary_lines,
    write_report,
)

FIXTURES = Path(__file__).parent / "fixtures" / "report"
AHREFS = FIXTURES / "ahrefs_scored.csv"
CANONICAL = FIXTURES / "canonical_scored.csv"

# Every distinct anchor text of ahrefs_scored.csv and the class it must get (image links aside).
EXPECTED_CLASS = {
    "TrailPeak": "brand", "Trail Peak": "brand", "Sponsor: TrailPeak": "brand",
    "trailpeak.com": "naked_url", "www.trailpeak.com": "naked_url", "https://www.trailpeak.com/": "naked_url",
    "https://www.trailpeak.com/hydration-vests": "naked_url",
    "this article": "generic", "read more": "generic", "hier": "generic", "here": "generic", "website": "generic",
    "link": "generic",
    "trail running shoes": "exact", "hydration vests": "exact",
    "waterproof trail shoes": "partial", "women's running shoes": "partial", "choosing trail shoes": "partial",
    "trail shoes": "partial", "their vests": "partial", "buy trail running shoes": "partial",
    "best trail running shoes": "partial", "cheap trail running shoes": "partial",
    "their gait analysis": "other", "local gear shop": "other", "race vest": "other", "shop": "other",
    "our sponsor": "other", "Partner shop": "other", "ask in the shop": "other", "this shop": "other",
    "Shop": "other", "Gear": "other",
}


def _rows(path: Path = AHREFS) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _scored(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [r for r in rows if r["verdict"]]


@pytest.fixture(scope="module")
def ahrefs() -> dict:
    return build_summary(AHREFS)


@pytest.fixture(scope="module")
def canonical() -> dict:
    return build_summary(CANONICAL)


def _canonical_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    cols = ["source_url", "target_url", "anchor_text", "rel", "first_seen", "score", "verdict", "reasons",
            "placement_zone", "status", "flags"]
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, cols)
        w.writeheader()
        for i, r in enumerate(rows):
            w.writerow({"source_url": f"https://site{i % 7}.example.org/p{i}", "target_url": "https://shop.example.com/",
                        "anchor_text": "Example Shop", "rel": "", "score": "0.8", "verdict": "strong",
                        "placement_zone": "main_content", "status": "scored", "flags": ""} | r)
    return path


def _monthly_csv(path: Path, per_month: dict[str, int]) -> Path:
    rows = [{"first_seen": f"{m}-{1 + i % 28:02d}"} for m, n in per_month.items() for i in range(n)]
    return _canonical_csv(path, rows)


# ---------------------------------------------------------------------------------------------- numbers


def test_counts_by_verdict_and_status(ahrefs):
    rows = _rows()
    assert ahrefs["links"] == {"rows": 129, "scored": 126, "lost": 0, "unscored": 3}
    assert ahrefs["verdicts"] == dict(Counter(r["verdict"] for r in _scored(rows))) == {
        "strong": 32, "review": 19, "weak": 75}
    assert ahrefs["status"] == {"scored": 123, "link_missing": 3, "error": 2, "skipped": 1}
    assert ahrefs["verdict_shares"]["weak"] == round(75 / 126, 4)
    assert sum(sum(v) for v in ahrefs["score"]["histogram"].values()) == 126
    assert ahrefs["score"]["histogram"]["strong"][:14] == [0] * 14  # strong scores are all >= 0.71
    assert ahrefs["site"] == "trailpeak.com"
    assert ahrefs["domains"]["count"] == 22
    top = ahrefs["domains"]["top"][0]
    assert top == {"domain": "runnersforum.net", "links": 14, "strong": 0, "review": 0, "weak": 14}
    # subdomains are one site; the unicode site is shown in unicode
    domains = {d["domain"]: d for d in ahrefs["domains"]["top"]}
    assert domains["spinlinkhub.net"]["links"] == 10 and domains["trailrunningmag.com"]["links"] == 9


def test_weak_links_split_into_worthless_and_risky(ahrefs):
    w = ahrefs["weak"]
    rows = _scored(_rows())
    risky = [r for r in rows if r["verdict"] == "weak" and r["flags"]]
    assert (w["links"], w["risky_links"], w["worthless_links"]) == (75, len(risky), 75 - len(risky)) == (75, 43, 32)
    assert (w["risky_sites"], w["worthless_sites"]) == (7, 5)
    first = w["top_sites"][0]
    assert first["kind"] == "risky" and first["domain"] in ("best-seo-links.xyz", "spinlinkhub.net")
    kinds = [s["kind"] for s in w["top_sites"]]
    assert kinds == sorted(kinds, key=lambda k: k != "risky")  # risky sites first
    forum = next(s for s in w["top_sites"] if s["domain"] == "runnersforum.net")
    assert forum["kind"] == "worthless" and forum["flags"] == [] and forum["zone"] == "comments"
    assert forum["example_url"].startswith("https://runnersforum.net/t/")
    assert "- marked nofollow" in forum["reasons"]
    runwriters = next(s for s in w["top_sites"] if s["domain"] == "runwriters.net")
    assert runwriters["good_links"] == 1 and runwriters["risky_links"] == 4
    assert any(s["domain"] == "bücher-laufen.de" and s["domain_ascii"] == "xn--bcher-laufen-dlb.de"
               for s in w["top_sites"])
    assert ahrefs["flags"]["money_anchor"] == 24 and ahrefs["flags"]["sitewide"] == 11  # incl. one review link


def test_anchor_mix_matches_the_declared_classes(ahrefs):
    expected: Counter[str] = Counter()
    for r in _scored(_rows()):
        expected["image" if r["Type"] == "image" else EXPECTED_CLASS[r["Anchor"]]] += 1
    a = ahrefs["anchors"]
    assert a["counts"] == {c: expected.get(c, 0) for c in ANCHOR_CLASSES}
    assert a["counts"] == {"brand": 38, "naked_url": 27, "generic": 9, "image": 2, "partial": 33, "exact": 7,
                           "other": 10}
    assert a["classified"] == 126 and a["unknown"] == 0
    assert a["shares"]["partial"] == round(33 / 126, 4)
    assert a["money_share"] == round(40 / 126, 4) and a["overoptimised"] is True
    assert [c["text"] for c in a["commercial_over_limit"]] == [
        "buy trail running shoes", "best trail running shoes", "cheap trail running shoes"]
    assert a["reference"] == REFERENCE_MIX and abs(sum(REFERENCE_MIX.values()) - 1) < 1e-9
    assert "rule of thumb" in a["reference_note"]
    assert a["top"][0] == {"text": "TrailPeak", "links": 35, "share": round(35 / 126, 4), "class": "brand",
                           "commercial": False}


@pytest.mark.parametrize(("anchor", "target", "image", "cls"), [
    ("TrailPeak", "https://www.trailpeak.com/", False, "brand"),
    ("www.trailpeak.com", "https://www.trailpeak.com/", False, "naked_url"),
    ("Click here", "https://www.trailpeak.com/", False, "generic"),
    ("hydration vests", "https://www.trailpeak.com/hydration-vests", False, "exact"),
    ("buy trail running shoes", "https://www.trailpeak.com/trail-running-shoes", False, "partial"),
    ("buy trail running shoes", "https://www.trailpeak.com/", False, "other"),  # homepage: no page keywords
    ("nice photo", "https://www.trailpeak.com/", True, "image"),
    ("   ", "https://www.trailpeak.com/", False, "other"),
    (None, "https://www.trailpeak.com/", False, None),
])
def test_classify_anchor(anchor, target, image, cls):
    assert classify_anchor(anchor, target, image) == cls


def test_rel_zone_and_target_shares(ahrefs):
    rows = _scored(_rows())
    assert ahrefs["rel"]["counts"] == {"followed": 88, "nofollow": 8, "ugc": 20, "sponsored": 10, "unknown": 0}
    assert ahrefs["rel"]["tokens"] == {
        "nofollow": sum(r["Nofollow"] == "true" for r in rows), "ugc": sum(r["UGC"] == "true" for r in rows),
        "sponsored": sum(r["Sponsored"] == "true" for r in rows)}
    assert ahrefs["zones"]["counts"] == dict(Counter(r["placement_zone"] for r in rows))
    assert ahrefs["zones"]["counts"]["main_content"] == 32
    t = ahrefs["targets"]
    home = sum(r["Target URL"] == "https://www.trailpeak.com/" for r in rows)
    assert t["homepage_links"] == home == 64 and t["homepage_share"] == round(64 / 126, 4)
    assert [p["url"] for p in t["need_links"]] == ["https://www.trailpeak.com/sale"]
    assert t["top"][0]["homepage"] is True and t["pages"] == 6


def test_monthly_counts_and_the_2026_03_spike(ahrefs):
    m = ahrefs["monthly"]
    months = {x["month"]: x for x in m["months"]}
    recount = Counter(r["First seen"][:7] for r in _scored(_rows()))
    assert {k: v["links"] for k, v in months.items()} == dict(recount)
    assert m["months"][0]["month"] == "2025-01" and m["months"][-1]["month"] == "2026-06"
    assert m["spikes"] == ["2026-03"]
    assert months["2026-03"]["links"] == 31 and months["2026-03"]["weak"] == 29
    assert months["2026-03"]["ratio"] == round(31 / 6, 2)  # median of 2025-03 .. 2026-02 is 6
    assert months["2026-03"]["baseline"] == 6
    [spike] = [a for a in ahrefs["alerts"] if a["kind"] == "spike"]
    assert "2026-03" in spike["message"] and spike["severity"] == "high"  # 29 of its 31 new links are weak
    assert spike["message"].endswith("Sudden bursts are typical of bought links.")


def _spike_months(tmp_path: Path, name: str, per_month: dict[str, int]) -> dict:
    return build_summary(_monthly_csv(tmp_path / f"{name}.csv", per_month))["monthly"]


def test_spike_rule_on_a_small_file(tmp_path):
    m = _spike_months(tmp_path, "m", {**{f"2025-{i:02d}": 4 for i in range(1, 7)}, "2025-07": 13, "2025-08": 12,
                                      "2025-10": 9})
    assert [x["month"] for x in m["months"]] == [f"2025-{i:02d}" for i in range(1, 11)]  # 2025-09 filled with 0
    assert m["spikes"] == ["2025-07"]  # 13 > 3 x 4; 12 is not > 3 x 4; 9 is under the 10-link minimum
    july = m["months"][6]
    assert (july["baseline"], july["ratio"]) == (4, round(13 / 4, 2))
    undated = build_summary(_canonical_csv(tmp_path / "u.csv", [{"first_seen": ""}, {"first_seen": "2025-01-02"}]))
    assert undated["monthly"]["undated"] == 1


def test_empty_months_do_not_drag_the_baseline_to_zero(tmp_path):
    # five links every other month: with the empty months in it, the median was 0 and 12 links "far above" it
    every_other = {f"2024-{i:02d}": 5 for i in range(1, 13, 2)}
    m = _spike_months(tmp_path, "e", {**every_other, "2025-01": 12, "2025-03": 16})
    assert m["spikes"] == ["2025-03"]  # 12 is not > 3 x 5; 16 is
    assert m["months"][-1]["baseline"] == 5


def test_sparse_early_months_do_not_fire_every_month(tmp_path):
    # a site found by a few links a year, then earning 9-14 links a month: a level, not a burst every month
    sparse = {"2021-06": 1, "2022-11": 1, "2022-12": 2, "2023-05": 3, "2023-06": 3, "2023-07": 1, "2023-10": 1,
              "2023-11": 2}
    steady = dict(zip([f"2024-{i:02d}" for i in range(1, 13)], [9, 11, 12, 10, 14, 11, 13, 12, 10, 11, 14, 12],
                      strict=True))
    m = _spike_months(tmp_path, "s", sparse | steady)
    assert m["spikes"] == ["2024-02", "2024-03"]  # the first months of the new level only: 11 and 12 > 3 x 2.5
    assert len(m["bursts"]) == 1 and (m["bursts"][0]["first"], m["bursts"][0]["last"]) == ("2024-02", "2024-03")


def test_a_real_burst_fires_once_per_run(tmp_path):
    steady = dict(zip([f"2024-{i:02d}" for i in range(1, 13)], [6, 5, 8, 7, 6, 5, 7, 6, 8, 6, 7, 5], strict=True))
    m = _spike_months(tmp_path, "b", steady | {"2025-01": 40, "2025-02": 55, "2025-03": 6, "2025-04": 7})
    assert m["spikes"] == ["2025-01", "2025-02"]
    assert m["bursts"] == [{"first": "2025-01", "last": "2025-02", "months": 2, "links": 95, "weak": 0,
                            "baseline": 6.5, "max_ratio": round(55 / 6.5, 2)}]  # median of 7, 6, 8, 6, 7, 5
    summary = build_summary(_monthly_csv(tmp_path / "b2.csv", steady | {"2025-01": 40, "2025-02": 55}))
    spikes = [a["message"] for a in summary["alerts"] if a["kind"] == "spike"]
    assert len(spikes) == 1 and spikes[0].startswith("2025-01 to 2025-02 (2 months): 95 new links")
    # none of the burst's links is weak: still said, one step down, and not called bought
    [alert] = [a for a in summary["alerts"] if a["kind"] == "spike"]
    assert alert["severity"] == "medium" and "but most of these score strong or review" in alert["message"]


def test_risky_links_that_pass_nothing_are_not_called_disavow_candidates(tmp_path):
    """The report's risky alert counts as `linkq disavow` does: a nofollow / ugc / sponsored risky link
    passes nothing, so it is no disavow candidate (real French Ahrefs export: 64 risky, 52 nofollow)."""
    net = [{"source_url": f"https://net{i}.example/domain-list-171", "verdict": "weak", "score": "0.01",
            "flags": "network", "rel": rel} for i, rel in enumerate(["nofollow", "ugc", "sponsored nofollow"])]
    followed = {"source_url": "https://spam.example/p", "verdict": "weak", "score": "0.02", "flags": "network",
                "rel": ""}
    summary = build_summary(_canonical_csv(tmp_path / "r.csv", [*net, followed]))
    assert (summary["weak"]["risky_links"], summary["weak"]["risky_passing_nothing"]) == (4, 3)
    [alert] = [a for a in summary["alerts"] if a["kind"] == "risky"]
    assert alert["severity"] == "high" and alert["message"].endswith(
        "1 followed link is the candidate for linkq disavow; 3 are nofollow, ugc or sponsored (or gone) and pass nothing.")
    only_idle = build_summary(_canonical_csv(tmp_path / "n.csv", net))
    [alert] = [a for a in only_idle["alerts"] if a["kind"] == "risky"]
    assert alert["severity"] == "medium" and "so linkq disavow lists none of them" in alert["message"]
    # the per-site table says the same: a site whose risky links all pass nothing is no disavow candidate
    write_report(_canonical_csv(tmp_path / "both.csv", [*net, followed]), tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert page.count("Risky: disavow candidate</span>") == 1  # spam.example only
    assert page.count('Risky signals</span><div class="muted small">nofollow, ugc or sponsored') == 3


def test_a_new_sites_first_months_never_fire(tmp_path):
    # launch: a handful, then hundreds; fewer than six months with links behind each month
    m = _spike_months(tmp_path, "n", {"2025-01": 1, "2025-02": 1, "2025-04": 30, "2025-05": 120, "2025-06": 300})
    assert m["spikes"] == [] and m["bursts"] == []


def test_lost_links_are_counted_apart(tmp_path):
    lost = {"score": "", "verdict": "", "status": "lost", "reasons": "lost: the SEO tool lists this link as lost",
            "first_seen": "2025-03-02", "source_url": "https://gone.example.net/p"}
    rows = [{"first_seen": "2025-01-05"}, {"verdict": "weak", "score": "0.1", "first_seen": "2025-01-06"},
            lost, lost | {"source_url": "https://old-blog.org/q"},
            # a lost row that still carries a verdict (a hand-edited or older file): lost, not weak
            lost | {"verdict": "weak", "score": "0.05", "flags": "money_anchor"}]
    summary = write_report(_canonical_csv(tmp_path / "lost.csv", rows), tmp_path / "r.html")
    assert summary["links"] == {"rows": 5, "scored": 2, "lost": 3, "unscored": 0}
    assert summary["lost"] == {"links": 3, "sites": 2}
    assert summary["verdicts"] == {"strong": 1, "review": 0, "weak": 1}  # the lost 'weak' row is not here
    assert summary["weak"]["links"] == 1 and summary["weak"]["risky_links"] == 0 and summary["flags"] == {}
    assert sum(sum(v) for v in summary["score"]["histogram"].values()) == 2
    assert [m["month"] for m in summary["monthly"]["months"]] == ["2025-01"]  # lost links are not new links
    assert summary["status"]["lost"] == 3
    assert any(a["kind"] == "lost" and a["message"].startswith("3 links from 2 sites are lost")
               for a in summary["alerts"])
    assert summary_lines(summary)[0].endswith("; 3 lost links counted apart")
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert '<div class="kpi lost"><b>3</b><span>lost links, counted apart (60% of rows)</span></div>' in page


def test_natural_profile_explain_columns(canonical):
    assert canonical["verdicts"] == {"strong": 26, "review": 11, "weak": 19}
    assert canonical["model_id"] == "linkq-20260901-ab12cd"
    assert canonical["monthly"]["spikes"] == []
    assert canonical["anchors"]["overoptimised"] is False
    # no flags column: rel_sponsored / src_spam_listed / page_spam_words feature columns give the flags
    assert (canonical["weak"]["risky_links"], canonical["weak"]["risky_sites"]) == (5, 2)
    assert canonical["flags"] == {"paid": 3, "money_anchor": 3, "spam_source": 2, "spam_vocabulary": 2}
    # blank rel cells: the rel_* feature columns say the links are followed
    assert canonical["rel"]["counts"] == {"followed": 39, "nofollow": 5, "ugc": 9, "sponsored": 3, "unknown": 0}
    assert [a["kind"] for a in canonical["alerts"]] == ["risky"]


def test_jsonl_and_parquet_give_the_same_summary(tmp_path, ahrefs):
    rows = _rows()
    cols = list(rows[0])
    as_lists = [r | {"flags": [f for f in r["flags"].split("; ") if f], "reasons": r["reasons"].split("; ")}
                for r in rows]  # JSONL from `linkq score` keeps lists as JSON lists
    for name, data in (("s.jsonl", rows), ("lists.jsonl", as_lists), ("s.parquet", rows)):
        path = tmp_path / name
        write_rows(path, data, cols)
        got = build_summary(path)
        for key in ("links", "verdicts", "anchors", "rel", "zones", "targets", "monthly", "weak", "flags", "domains"):
            assert got[key] == ahrefs[key], (name, key)


def test_unscored_file_is_refused():
    with pytest.raises(ScoredFileError, match="not a scored file.*linkq score"):
        build_summary(Path(__file__).parent / "fixtures" / "exports" / "generic.csv")


def test_summary_is_json_and_written_next_to_the_page(tmp_path):
    summary = write_report(AHREFS, tmp_path / "r.html", tmp_path / "s.json")
    assert json.loads((tmp_path / "s.json").read_text(encoding="utf-8")) == json.loads(json.dumps(summary))
    assert summary["report_version"] == 1 and summary["source"]["format"] == "ahrefs"


# ---------------------------------------------------------------------------------------------- the page


_RESOURCE = re.compile(r"""\b(?:src|href|xlink:href|srcset|poster|data|action)\s*=\s*["']?([^"'\s>]+)""", re.I)


class _Tags(HTMLParser):
    """Every id, every attribute holding an http(s) URL, and the tags left open (void elements aside)."""

    VOID = frozenset({"meta", "br", "hr", "img", "input", "link", "col", "path", "use", "rect", "stop"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.urls: list[tuple[str, str]] = []
        self.open_tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "id" and value:
                self.ids.append(value)
            if value and "http" in value.lower():
                self.urls.append((name, value))
        if tag not in self.VOID:
            self.open_tags.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.open_tags.pop()

    def handle_endtag(self, tag: str) -> None:
        assert self.open_tags and self.open_tags[-1] == tag, (tag, self.open_tags[-5:])
        self.open_tags.pop()


def test_page_is_self_contained(tmp_path):
    write_report(AHREFS, tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    for target in _RESOURCE.findall(page):
        assert target.startswith(("#", "data:")), target
    assert not re.search(r"<(script|link|iframe|object|embed|img)\b", page, re.I)
    assert "@import" not in page and not re.search(r"url\(\s*['\"]?(https?:)?//", page, re.I)
    # 1 histogram, domains, anchors, rel, zones, targets, months
    assert page.count('<svg class="chart"') == 7
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page and "rdf:" not in page  # no SVG prolog or metadata
    # parseable, every id unique in the document, every attribute URL a namespace name (not fetched)
    parser = _Tags()
    parser.feed(page)
    parser.close()
    assert parser.open_tags == [] and len(parser.ids) == len(set(parser.ids)) > 7
    assert parser.urls and {name for name, _ in parser.urls} <= {"xmlns", "xmlns:xlink"}, parser.urls
    assert "2026-03: 31 new links (strong 1, review 1, weak 29) - spike" in page  # a bar's tooltip
    for text in ("Worthless: ignored by Google", "Risky: disavow candidates", "rule of thumb", "Unnatural spike",
                 "Over-optimised", "Pages that need links", "bücher-laufen.de"):
        assert text in page, text


def test_everything_from_the_data_is_escaped(tmp_path):
    evil = '<script>alert("x")</script>'
    path = _canonical_csv(tmp_path / "evil.csv", [
        {"anchor_text": evil, "verdict": "weak", "score": "0.1", "flags": 'paid; <img src=x onerror="alert(1)">',
         "reasons": "- <b>bold</b> & \"quoted\"", "source_url": "https://evil.example.net/a?q=<svg/onload=alert(1)>"},
        {"anchor_text": "it's <i>fine</i>", "target_url": "https://shop.example.com/<u>page</u>"},
        {"target_url": "https://shop.example.com/$x^2$-deals"},  # shown as written, not parsed as maths
    ] * 3)
    write_report(path, tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert "<img" not in page and "<svg/onload" not in page and "<b>bold" not in page and "<i>fine" not in page
    assert "<u>page" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;" in page
    assert "/$x^2$-deals" in page and "/&lt;u&gt;page&lt;/u&gt;" in page  # chart labels, escaped by matplotlib


def test_page_for_a_single_link(tmp_path):
    summary = write_report(_canonical_csv(tmp_path / "one.csv", [{"first_seen": "2025-01-02"}]), tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert summary["links"]["scored"] == 1 and page.count('<svg class="chart"') == 7
    assert "2025-01: 1 new links (strong 1, review 0, weak 0)" in page


def test_page_for_a_file_without_scored_rows(tmp_path):
    path = _canonical_csv(tmp_path / "none.csv", [{"verdict": "", "score": "", "status": "error: bad row"}])
    summary = write_report(path, tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert summary["links"] == {"rows": 1, "scored": 0, "lost": 0, "unscored": 1}
    assert "error: bad row" in page and page.rstrip().endswith("</html>")


# ---------------------------------------------------------------------------------------------- a real browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or (
    "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium not installed (Debian: apt-get update && apt-get install -y chromium)")

# Injected into a copy of the page only: the report itself has no scripts.
_CHECK = """<script>
(function () {
  var bad = [], charts = document.querySelectorAll('svg.chart');
  charts.forEach(function (svg, i) {
    var box = svg.getBoundingClientRect(), shapes = svg.querySelectorAll('path, rect, line, text').length;
    var inner = svg.getBBox();
    if (!svg.children.length || shapes < 3 || box.width < 200 || box.height < 40 || inner.width <= 0) {
      bad.push(i + ' ' + svg.getAttribute('aria-label'));
    }
  });
  if (document.documentElement.scrollWidth > window.innerWidth + 1) bad.push('horizontal overflow');
  document.title = bad.length ? 'FAIL ' + bad.join(' | ') : 'ok ' + charts.length;
})();
</script>"""


def _chromium(args: list[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
           "--host-resolver-rules=MAP * ~NOTFOUND",  # nothing may come from the network
           f"--user-data-dir={tmp / 'chromium-profile'}", "--enable-logging=stderr", "--v=0", "--hide-scrollbars",
           "--window-size=1280,2400", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=os.environ | {"HOME": str(tmp)})


def _console_messages(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def _png_info(data: bytes) -> tuple[int, int, int]:
    """(width, height, distinct byte values of the pixel data): enough to tell a chart from a blank page."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    idat, pos = b"", 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    return width, height, len(set(zlib.decompress(idat)))


@needs_chromium
def test_report_renders_in_headless_chromium(tmp_path):
    report = tmp_path / "report.html"
    write_report(AHREFS, report)
    page = report.read_text(encoding="utf-8")
    checked = tmp_path / "checked.html"
    checked.write_text(page.replace("</body>", _CHECK + "</body>"), encoding="utf-8")

    run = _chromium(["--dump-dom", checked.as_uri()], tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    title = re.search(r"<title>(.*?)</title>", run.stdout, re.S)
    assert title and title.group(1) == "ok 7", (title and title.group(1), run.stderr[-2000:])
    assert _console_messages(run.stderr) == []

    shot = tmp_path / "report.png"
    run = _chromium([f"--screenshot={shot}", report.as_uri()], tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert _console_messages(run.stderr) == []  # e.g. "<rect> attribute width: A negative value is not valid"
    data = shot.read_bytes()
    width, height, distinct = _png_info(data)
    assert (width, height) == (1280, 2400)
    assert len(data) > 60_000 and distinct > 100, (len(data), distinct)  # a blank page is ~10 kB, 2 values
    keep = os.environ.get("LINKQ_SCREENSHOT_DIR")
    if keep:  # to look at the page: LINKQ_SCREENSHOT_DIR=/tmp/shots pytest tests/test_report.py -k chromium
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / "report.png")
        shutil.copy(report, Path(keep) / "report.html")


def test_render_html_is_a_pure_function_of_the_summary(ahrefs, tmp_path):
    page = render_html(ahrefs)
    assert page == render_html(json.loads(json.dumps(ahrefs)))
    # the same bytes from another process (matplotlib's SVG ids are salted: the salt is fixed)
    (tmp_path / "s.json").write_text(json.dumps(ahrefs), encoding="utf-8")
    code = ("import json, sys; from serving.report import render_html; "
            "sys.stdout.write(render_html(json.load(open(sys.argv[1], encoding='utf-8'))))")
    run = subprocess.run([sys.executable, "-c", code, str(tmp_path / "s.json")], capture_output=True, text=True,
                         encoding="utf-8", timeout=120, check=True, env=os.environ | {"PYTHONHASHSEED": "7"})
    assert run.stdout == page


def test_importing_the_report_draws_nothing():
    code = "import sys, serving.report, serving.report_charts; print('matplotlib' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert run.stdout.strip() == "False"


def test_why_weak_reads_the_per_factor_reasons_linkq_writes(tmp_path):
    """The per-site "why weak" column counts the reasons that lowered the score by factor (a site's
    footer links differ in their p) and shows the most common phrase of each, without its sign. It was
    empty for every file `linkq score` writes: it only knew the older "- marked nofollow" form."""
    weak = {"verdict": "weak", "score": "0.05", "source_url": "https://links.example.net/x"}
    rows = [weak | {"reasons": "; ".join([
        f"placement: in the footer (p=0.0{i}), editorial p<0.05 (lowers)", "authority: DR 3 (lowers)",
        "anchor: descriptive words (raises)", "unknown: traffic (no traffic figures)"])} for i in (2, 2, 3)]
    rows.append(weak | {"reasons": "authority: DR 3 (lowers); relevance: page unrelated to the target "
                                   "(similarity 0.05) (lowers)"})
    summary = build_summary(_canonical_csv(tmp_path / "why.csv", rows))
    [site] = [s for s in summary["weak"]["top_sites"] if s["domain"] == "example.net"]
    assert site["reasons"] == ["authority: DR 3", "placement: in the footer (p=0.02), editorial p<0.05",
                               "relevance: page unrelated to the target (similarity 0.05)"]
