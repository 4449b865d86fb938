"""The feature pipeline on real pages: placement, rel, anchor, one parse per page, bad inputs."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import COMWRAP_URL, FIXTURES, PAGES, SCIENCE_URL

from features.pages import PagesDir
from features.pipeline import extract_features
from features.schema import FEATURE_NAMES

PAPER = "https://www.nature.com/articles/s41550-019-0933-6"  # gold: content ("a paper")
FACEBOOK = "https://www.facebook.com/ScienceAlert"  # gold: boilerplate (social bar)


def rec(target: str, html: str, **kw) -> dict:
    return {"source_url": SCIENCE_URL, "target_url": target, "source_html": html, **kw}


def test_in_text_link_is_main_content(fake_ctx, science_html) -> None:
    b = extract_features([rec(PAPER, science_html)], fake_ctx)
    row = b.frame.iloc[0]
    assert b.status == ["ok"]
    assert row["placement_zone"] == "main_content"
    assert row["placement_main_prob"] > 0.5
    assert row["dom_in_paragraph"] == 1.0
    assert b.evidence[0]["anchor_on_page"] == "a paper"


def test_social_link_is_not_main_content(fake_ctx, science_html) -> None:
    b = extract_features([rec(FACEBOOK, science_html)], fake_ctx)
    assert b.frame.iloc[0]["placement_zone"] != "main_content"
    assert b.frame.iloc[0]["placement_main_prob"] < 0.25


def test_same_link_moved_to_footer_is_not_main_content(fake_ctx, science_html) -> None:
    moved = science_html.replace('href="https://www.nature.com/articles/s41550-019-0933-6"', 'href="#gone"')
    moved = moved.replace("<footer>", '<footer><a href="https://www.nature.com/articles/s41550-019-0933-6">a paper</a>', 1)
    b = extract_features([rec(PAPER, science_html), rec(PAPER, moved)], fake_ctx)
    body, footer = b.frame.iloc[0], b.frame.iloc[1]
    assert footer["placement_zone"] == "footer"
    assert footer["dom_in_footer"] == 1.0
    assert footer["placement_main_prob"] < body["placement_main_prob"]


def test_rel_sponsored_on_the_page_sets_the_flag(fake_ctx, science_html) -> None:
    tagged = science_html.replace(f'href="{PAPER}"', f'href="{PAPER}" rel="sponsored noopener"')
    b = extract_features([rec(PAPER, science_html), rec(PAPER, tagged)], fake_ctx)
    assert b.frame.iloc[0]["rel_sponsored"] == 0.0 and b.frame.iloc[0]["rel_known"] == 1.0
    assert b.frame.iloc[1]["rel_sponsored"] == 1.0


def test_rel_from_record_without_page(fake_ctx) -> None:
    b = extract_features([{"source_url": "https://a.com/x", "target_url": "https://b.com", "rel": "nofollow UGC"},
                          {"source_url": "https://a.com/x", "target_url": "https://b.com"}], fake_ctx)
    assert b.status == ["ok_without_page"] * 2
    assert b.frame.iloc[0]["rel_ugc"] == 1.0 and b.frame.iloc[0]["rel_nofollow"] == 1.0
    assert math.isnan(b.frame.iloc[1]["rel_nofollow"])  # unknown, never a made-up default
    assert math.isnan(b.frame.iloc[0]["placement_main_prob"])


def test_a_page_with_many_links_is_parsed_once(fake_ctx, science_html) -> None:
    from features.page import parse_page

    targets = sorted({lk.key for lk in parse_page(science_html, SCIENCE_URL).links if lk.key})
    before = fake_ctx.pages_parsed
    b = extract_features([rec("https://" + t, science_html) for t in targets], fake_ctx)
    assert len(targets) >= 30
    assert fake_ctx.pages_parsed - before == 1
    assert b.status.count("ok") == len(targets)


def test_page_embedded_once_for_many_links(real_ctx, science_html) -> None:
    targets = [PAPER, FACEBOOK, "https://futurism.com/"]
    emb = real_ctx.embedder
    extract_features([rec(t, science_html) for t in targets], real_ctx)
    before = emb.encoded
    extract_features([rec(t, science_html) for t in targets], real_ctx)
    assert emb.encoded == before  # all texts came from the cache


def test_link_not_on_page(fake_ctx, science_html) -> None:
    b = extract_features([rec("https://not-linked.example.org/", science_html, anchor_text="x")], fake_ctx)
    assert b.status == ["link_missing"]
    assert b.frame.iloc[0]["placement_zone"] == "not_found"
    assert b.frame.iloc[0]["placement_found"] == 0.0


@pytest.mark.parametrize(
    ("html", "expect"),
    [
        ("", "ok_without_page"),  # empty HTML counts as no page
        ("   \n ", "ok_without_page"),
        ("<html><body><p>broken <a href='https://b.com/'>link<div></p></span>", "ok"),
        ("<<<>>>", "link_missing"),
    ],
)
def test_bad_html_never_crashes(fake_ctx, html: str, expect: str) -> None:
    b = extract_features([{"source_url": "https://a.com/", "target_url": "https://b.com/", "source_html": html}],
                         fake_ctx)
    assert b.status[0] == expect


def test_bad_records_do_not_stop_the_batch(fake_ctx, science_html) -> None:
    big = "<html><body>" + "<p>word </p>" * (1024 * 1024) + "</body></html>"  # ~12 MB
    records = [
        {"source_url": "nope", "target_url": "https://b.com"},
        rec(PAPER, science_html),
        {"source_url": "https://a.com", "target_url": "https://b.com", "source_html": b"\x89PNG\r\n\x1a\n...."},
        {"source_url": "https://a.com", "target_url": "https://b.com", "source_html": big},
        {"source_url": "https://a.com"},
    ]
    b = extract_features(records, fake_ctx)
    assert b.status[1] == "ok"
    assert b.status[0].startswith("error: source_url")
    assert "PNG" in b.status[2]
    assert "limit" in b.status[3]
    assert "target_url" in b.status[4]
    assert list(b.frame.columns) == list(FEATURE_NAMES) and len(b.frame) == 5


def test_pages_folder_matches_by_normalised_url(fake_ctx) -> None:
    pages = PagesDir(PAGES)
    url = SCIENCE_URL.replace("https://www.", "http://") + "/?utm_source=feed"
    b = extract_features([{"source_url": url, "target_url": PAPER}], fake_ctx, pages)
    assert b.status == ["ok"] and b.frame.iloc[0]["placement_zone"] == "main_content"


def test_placement_agrees_with_gold_on_fixture_pages(fake_ctx, science_html, comwrap_html, gold_links) -> None:
    """External gold links of the two fixture pages: content links are placed in the main content."""
    hits = total = 0
    for pid, url, html in (("14cc2a0c", SCIENCE_URL, science_html), ("ba07d1e6", COMWRAP_URL, comwrap_html)):
        rows = [g for g in gold_links if g["page_id"].startswith(pid) and g["scope"] == "external"
                and g["label"] in ("content", "boilerplate")]
        b = extract_features([{"source_url": url, "target_url": g["href"], "source_html": html} for g in rows],
                             fake_ctx)
        for g, zone in zip(rows, b.frame["placement_zone"], strict=True):
            total += 1
            hits += (zone == "main_content") == (g["label"] == "content")
    assert total >= 15
    assert hits / total >= 0.85, (hits, total)


GOLDEN = FIXTURES / "golden_features.json"
GOLDEN_TARGETS = [PAPER, FACEBOOK, "https://futurism.com/", "https://www.youtube.com/watch?v=ASTxU-nSMK4"]


def test_golden_feature_values(real_ctx, science_html) -> None:
    """Feature values for a handful of real links; LINKQ_UPDATE_GOLDEN=1 rewrites the file on purpose."""
    b = extract_features([rec(t, science_html) for t in GOLDEN_TARGETS], real_ctx)
    got = {
        t: {k: (None if isinstance(v, float) and np.isnan(v) else (round(float(v), 4) if isinstance(v, float) else v))
            for k, v in row.items()}
        for t, row in zip(GOLDEN_TARGETS, b.frame.to_dict(orient="records"), strict=True)
    }
    if os.environ.get("LINKQ_UPDATE_GOLDEN") == "1" or not GOLDEN.exists():
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    want = json.loads(GOLDEN.read_text())
    for t in GOLDEN_TARGETS:
        for k in FEATURE_NAMES:
            w, g = want[t][k], got[t][k]
            if isinstance(w, float) and isinstance(g, float):
                assert g == pytest.approx(w, abs=2e-3), (t, k)
            else:
                assert g == w, (t, k)


def test_cli_features_carries_fields_through(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from linkq_cli import cli

    inp = tmp_path / "in.jsonl"
    inp.write_text(
        json.dumps({"id": "a1", "source_url": SCIENCE_URL, "target_url": PAPER, "note": "x"}) + "\n"
        + "{not json\n"
        + json.dumps({"id": "a3", "source_url": "https://a.com", "target_url": "https://b.com", "anchor_text": "B"})
        + "\n"
    )
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(cli, ["features", str(inp), "--pages", str(PAGES), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r.get("id") for r in rows] == ["a1", None, "a3"]
    assert rows[0]["note"] == "x" and rows[0]["status"] == "ok" and rows[0]["placement_zone"] == "main_content"
    assert rows[1]["status"].startswith("error: line 2")
    assert rows[2]["status"] == "ok_without_page" and "source_html" not in rows[2]
    assert list(rows[0])[-len(FEATURE_NAMES):] == list(FEATURE_NAMES)
