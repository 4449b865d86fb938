"""The report's per-domain table: one row per referring domain, recounted here from the CSV with the csv
module (registered domains of the fixture's hosts by hand), and the CSV beside the report."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlsplit

from serving.report import summary_lines, write_report
from serving.report_domains import DomainTable

FIXTURES = Path(__file__).parent / "fixtures" / "report"
AHREFS = FIXTURES / "ahrefs_scored.csv"


def _site(url: str) -> str:
    host = (urlsplit(url).hostname or "").encode("idna").decode("ascii")
    labels = host.split(".")
    return ".".join(labels[-3:] if host.endswith(".co.uk") else labels[-2:])


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_one_row_per_referring_domain_recounted(tmp_path):
    summary = write_report(AHREFS, tmp_path / "report.html")
    out = tmp_path / "report.domains.csv"
    assert summary["domain_table"]["csv"] == str(out)
    got = {r["referring_domain_ascii"]: r for r in _read(out)}

    expected: dict[str, Counter[str]] = defaultdict(Counter)
    scores: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for r in _read(AHREFS):
        site = _site(r["Referring page URL"])
        c = expected[site]
        c["links"] += 1
        if r["verdict"]:
            c[r["verdict"]] += 1
            if r["verdict"] == "weak":  # risky: a flag against the linking page other than a declared paid link
                flags = set(r["flags"].split(";")) - {"", "paid", "spam_target"}
                c["risky" if flags else "worthless"] += 1
            if r["status"] == "scored":
                c["live"] += 1
                c["nofollow" if "true" in (r["Nofollow"], r["UGC"], r["Sponsored"]) else "followed"] += 1
                scores[site].append((float(r["score"]), r["Referring page URL"]))
    assert set(got) == set(expected) and summary["domain_table"]["count"] == len(expected) == 25  # error rows count as links
    for site, c in expected.items():
        row = got[site]
        for col in ("links", "live", "strong", "review", "weak", "risky", "worthless", "followed", "nofollow"):
            assert int(row[col]) == c.get(col, 0), (site, col)
        assert row["lost"] == "0"
        if scores[site]:
            best = max(s for s, _ in scores[site])
            worst = min(s for s, _ in scores[site])
            assert float(row["best_score"]) == best and float(row["worst_score"]) == worst
            assert row["best_url"] == next(u for s, u in scores[site] if s == best)  # first in file order
            assert row["worst_url"] == next(u for s, u in scores[site] if s == worst)
    assert got["xn--bcher-laufen-dlb.de"]["referring_domain"] == "bücher-laufen.de"
    assert got["oldtrailblog.net"]["live"] == "0" and got["oldtrailblog.net"]["best_url"] == ""  # link_missing
    assert got["best-seo-links.xyz"]["flags"] == "money_anchor:10; paid:10"
    # no risk column in this file (scored before linkq wrote one): the same rule gives risky / worthless
    assert "worthless" in summary["domain_table"]["columns"]
    # most risky first, then most weak
    keys = [(-int(r["risky"]), -int(r["weak"])) for r in _read(out)]
    assert keys == sorted(keys)


def test_lost_links_risk_column_rel_and_formula_cells(tmp_path):
    cols = ["source_url", "target_url", "anchor_text", "rel", "score", "verdict", "risk", "reasons",
            "placement_zone", "status", "flags"]
    rows = [
        ["https://a.example.org/1", "https://shop.example.com/", "=HYPERLINK(\"http://x\")", "noopener", "0.9", "strong",
         "", "", "main_content", "scored", ""],
        ["https://www.a.example.org/2", "https://shop.example.com/", "-cheap", "nofollow", "0.2", "weak",
         "worthless", "", "footer", "scored", ""],
        ["https://a.example.org/3", "https://shop.example.com/", "buy shoes", "noopener", "0.1", "weak", "risky", "",
         "main_content", "scored", "money_anchor"],
        ["https://a.example.org/4", "https://shop.example.com/", "old", "", "", "", "", "lost: the tool lists it", "",
         "lost", ""],
        ["https://a.example.org/5", "https://shop.example.com/", "older", "", "0.5", "review", "", "", "",
         "lost", ""],  # a lost row that still carries a verdict (a hand-edited file): counted as lost only
        ["", "https://shop.example.com/", "no source", "", "0.5", "review", "", "", "", "scored", ""],
        ["https://b.example.net/", "https://shop.example.com/", "@b", "ugc", "0.6", "review", "", "", "comments",
         "scored", ""],
    ]
    path = tmp_path / "scored.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        w.writerows(rows)
    summary = write_report(path, tmp_path / "r.html")
    lines = summary_lines(summary)
    assert lines[1] == f"  per-domain table: {tmp_path / 'r.domains.csv'} (2 referring domains, most risky first)"
    got = _read(tmp_path / "r.domains.csv")
    assert [r["referring_domain"] for r in got] == ["example.org", "example.net"]
    a = got[0]
    assert {k: a[k] for k in ("links", "live", "lost", "strong", "review", "weak", "risky", "worthless",
                              "followed", "nofollow")} == {
        "links": "5", "live": "3", "lost": "2", "strong": "1", "review": "0", "weak": "2", "risky": "1",
        "worthless": "1", "followed": "2", "nofollow": "1"}
    assert a["best_anchor"] == "'=HYPERLINK(\"http://x\")"  # defused: shown as text by a spreadsheet
    assert (a["worst_score"], a["worst_anchor"]) == ("0.1", "buy shoes")
    assert a["flags"] == "money_anchor:1"
    assert got[1]["best_anchor"] == "'@b" and got[1]["nofollow"] == "1"
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Referring domains, one row each" in page and "r.domains.csv" in page
    assert "=HYPERLINK(&quot;http://x&quot;)" in page and "<a " not in page


def test_memory_grows_with_domains_not_rows():
    from serving.scored_file import ScoredLink

    table = DomainTable()
    for i in range(5000):
        link = ScoredLink(i, f"https://s{i % 3}.example.org/p{i}", "https://t.example.com/", "a", "", None,
                          (i % 100) / 100, "weak", (), "main_content", "scored", ())
        table.add(link, f"s{i % 3}.example.org")
    assert len(table.domains) == 3
    assert [r["links"] for r in table.rows()] == [1667, 1667, 1666]
    assert table.rows()[0]["best_score"] == 0.99 and table.rows()[0]["worst_score"] == 0.0
