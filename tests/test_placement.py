"""Placement: the page's main block, class/id words beyond English, the calibrated model and its
one threshold, and the perturbation rewrites (on the shared corpora when they are there)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from conftest import SCIENCE_URL

from features.page import EXTRA_FEATURES, parse_page
from features.placement import MODEL_FEATURES, Calibration, PlacementModel, main_threshold, place_page

SHARED = Path(__file__).resolve().parents[2] / "shared"
PAPER = "https://www.nature.com/articles/s41550-019-0933-6"  # gold content ("a paper")
FACEBOOK = "https://www.facebook.com/ScienceAlert"  # gold boilerplate (social bar)


def _link(page, key_start: str):
    return next(lk for lk in page.links if (lk.key or "").startswith(key_start))


def test_main_block_holds_the_article_link_not_the_social_bar(science_html) -> None:
    page = parse_page(science_html, SCIENCE_URL)
    paper, social = _link(page, "nature.com/articles"), _link(page, "facebook.com/ScienceAlert")
    assert paper.extra["pm_in_main"] == 1.0 and paper.extra["pm_down"] == 0.0 and paper.extra["pm_text_dist"] == 0.0
    assert social.extra["pm_in_main"] == 0.0 and social.extra["pm_down"] > 0
    assert paper.extra["res_has_anchor"] == 1.0  # resiliparse keeps the article's words
    assert set(paper.extra) == set(EXTRA_FEATURES)


@pytest.mark.parametrize(
    ("cls", "flag"),
    [("pied-de-page", "cls_footer"), ("kommentare", "cls_comment"), ("articoli-correlati", "cls_related"),
     ("barra-lateral", "cls_sidebar"), ("contenu-article", "cls_content"), ("werbung", "cls_sponsor"),
     ("compartir", "cls_share"), ("hauptmenu", "cls_nav")],
)
def test_class_words_beyond_english(cls: str, flag: str) -> None:
    html = f'<html><body><p>Un texte assez long pour une page.</p><div class="{cls}"><a href="https://x.fr/a">lien</a></div></body></html>'
    link = parse_page(html, "https://exemple.fr/").links[0]
    assert link.dom[flag] == 1.0


def test_shipped_model_reads_its_features_and_threshold() -> None:
    model = PlacementModel.load()
    assert tuple(model.booster.feature_name()) == MODEL_FEATURES
    assert 0.05 <= main_threshold() <= 0.95
    raw = np.array([0.01, 0.2, 0.5, 0.9])
    cal = model.calibration.apply(raw)
    assert np.all(np.diff(cal) > 0) and np.all((cal > 0) & (cal < 1))  # calibration keeps the ranking


def test_single_thread_prediction_equals_lightgbm_default(science_html) -> None:
    """PlacementModel.predict runs LightGBM on one thread (cheaper per page); same numbers."""
    from features.placement import model_matrix

    model = PlacementModel.load()
    x = model_matrix(parse_page(science_html, SCIENCE_URL).links)
    want = model.calibration.apply(model.booster.predict(x, validate_features=False))
    assert np.array_equal(model.predict(x), want)


def test_calibration_from_json() -> None:
    cal = Calibration.from_json('{"slope": 1.0, "intercept": 0.0, "threshold": 0.4}')
    assert cal.apply(np.array([0.3]))[0] == pytest.approx(0.3) and cal.threshold == 0.4


def test_rewrites_change_only_the_chosen_link(science_html) -> None:
    from training.build_dataset import MONEY_ANCHORS
    from training.perturbation import rewrite

    page = parse_page(science_html, SCIENCE_URL)
    idx = _link(page, "nature.com/articles").idx
    model = PlacementModel.load()
    place_page(page, model)
    rng = random.Random(1)
    sponsored, _ = rewrite(science_html, idx, "sponsored", rng)
    assert parse_page(sponsored, SCIENCE_URL).links[idx].rel == "sponsored"
    money, href = rewrite(science_html, idx, "money", rng)
    moved = parse_page(money, SCIENCE_URL).links[idx]
    assert moved.href == href and moved.anchor in MONEY_ANCHORS
    footer_html, _ = rewrite(science_html, idx, "footer", rng)
    footer = parse_page(footer_html, SCIENCE_URL)
    place_page(footer, model)
    ours = [i for i, lk in enumerate(footer.links) if (lk.key or "").startswith("nature.com/articles")]
    assert len(ours) == 1 and footer.links[ours[0]].dom["dom_in_footer"] == 1.0
    assert footer.main_prob[ours[0]] < main_threshold() <= page.main_prob[idx]
    assert "a paper" in footer.main_text  # its words stay in the article


@pytest.mark.skipif(not (SHARED / "corpora").is_dir(), reason="needs ../shared")
def test_rewritten_editorial_links_lose_main_content_on_shared_pages() -> None:
    """Footer twins of real editorial links fall below the threshold they were above."""
    from features.urls import url_key
    from training.corpora import iter_gold_pages
    from training.perturbation import pick_cases

    pages = [gp for _, gp in zip(range(30), iter_gold_pages(SHARED, ("scrapinghub-aeb",)), strict=False)]
    cases = pick_cases(pages, 8)
    assert len(cases) >= 6
    model = PlacementModel.load()
    drops = 0
    for c in cases:
        orig = parse_page(c.html, c.source_url)
        moved = parse_page(c.variants["footer"][0], c.source_url)
        place_page(orig, model)
        place_page(moved, model)
        key = url_key(c.target_url)
        p0 = max(p for lk, p in zip(orig.links, orig.main_prob, strict=True) if lk.key == key)
        p1 = max(p for lk, p in zip(moved.links, moved.main_prob, strict=True) if lk.key == key)
        drops += p1 < p0
    assert drops / len(cases) >= 0.8


def test_readability_style_clean_marks_link_dense_blocks_not_prose() -> None:
    """A link in a prose paragraph survives readability's conditional clean; a link in a
    comma-poor, link-dense list, or under a negatively weighted class, does not."""
    prose = "<p>" + "A long sentence about the subject, with commas, clauses, and more words to read. " * 4
    html = (
        '<html><body><div class="entry-content">' + prose
        + 'see <a href="https://paper.example/study">the study</a> for details.</p>' + prose + "</p>"
        + '<ul class="links"><li><a href="https://a.example/">One</a></li><li><a href="https://b.example/">Two</a></li></ul>'
        + '</div><div id="sidebar-widget"><a href="https://c.example/">Archive</a></div></body></html>'
    )
    links = {lk.anchor: lk for lk in parse_page(html, "https://blog.example/post").links}
    study, one, archive = links["the study"], links["One"], links["Archive"]
    assert study.extra["rd_removed"] == 0.0 and study.extra["rd_unlikely"] == 0.0
    assert one.extra["rd_removed"] == 1.0  # a ul of links, density ~1, no commas
    assert archive.extra["rd_unlikely"] == 1.0 and archive.extra["rd_weight_min"] == -25.0


def test_repetition_counts_targets_words_and_template_places() -> None:
    items = "".join(f'<li class="m"><a href="https://site.example/{w}">{w}</a></li>' for w in ("home", "news", "about"))
    html = (
        f'<html><body><ul class="menu">{items}</ul><p>Some article text, long enough to be a paragraph. '
        'Read <a href="https://site.example/news">news</a> here.</p>'
        f'<ul class="foot">{items}</ul></body></html>'
    )
    links = parse_page(html, "https://site.example/").links
    news_menu, news_prose = links[1], links[3]
    assert news_menu.extra["rep_href"] == 3.0 and news_menu.extra["rep_anchor"] == 3.0
    assert news_prose.extra["rep_path_share"] == pytest.approx(1 / 7)  # alone under body/p
    assert news_menu.extra["rep_path_share"] == pytest.approx(3 / 7)  # body/ul.menu/li.m


def test_memoised_class_vocabulary_equals_searching_each_element(science_html) -> None:
    """_attr_vocab / _rd_attrs are memoised by attribute strings; the answers are the searches'."""
    from lxml import etree

    from features.page import (
        META_VOCAB,
        RD_MAYBE,
        RD_NEGATIVE,
        RD_POSITIVE,
        RD_UNLIKELY,
        VOCAB,
        _element_evidence,
        _rd_attrs,
    )

    root = etree.fromstring(science_html, etree.HTMLParser())
    checked = 0
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        role = (el.get("role") or "").lower()
        attrs = " ".join(filter(None, (el.get("class"), el.get("id"), role, el.get("itemprop")))).lower()
        want = {n for n, rx in VOCAB.items() if attrs and rx.search(attrs)}
        if (el.get("itemprop") or "").lower() in ("articlebody", "text"):
            want.add("content")
        if attrs and META_VOCAB.search(attrs):
            want.add("meta")
        assert _element_evidence(el)[1] == want
        cls, ident = el.get("class"), el.get("id")
        w = sum(-25.0 * bool(RD_NEGATIVE.search(a.lower())) + 25.0 * bool(RD_POSITIVE.search(a.lower()))
                for a in (cls, ident) if a)
        ci = f"{cls or ''} {ident or ''}".lower()
        unl = len(ci) >= 2 and bool(RD_UNLIKELY.search(ci)) and not RD_MAYBE.search(ci)
        assert _rd_attrs(cls, ident)[:2] == (w, unl)
        checked += bool(attrs)
    assert checked > 50


def test_seed_spread_refits_with_each_seed_and_counts_the_slices_at_or_above_the_baseline(monkeypatch) -> None:
    """``train_placement --seed-spread``: the out-of-fold evaluation refitted per seed, each slice's
    F1 (LOCO threshold) per seed beside the shipped seed's, against the best fair extractor."""
    import pandas as pd

    from training import train_placement
    from training.train_placement import PARAMS, calibrated_report, out_of_fold, seed_spread, spread_table

    monkeypatch.setattr(train_placement, "ROUNDS", 30)  # a few trees are enough to tell two seeds apart
    rng = np.random.default_rng(0)
    n = 1200
    df = pd.DataFrame(rng.random((n, len(MODEL_FEATURES))), columns=list(MODEL_FEATURES))
    df["corpus"] = np.where(np.arange(n) % 2 == 0, "a", "b")
    df["site"] = [f"site{i % 40}" for i in range(n)]
    df["scope"] = np.where(np.arange(n) % 3 == 0, "external", "internal")
    df["y"] = ((df["pm_main_share"] + rng.normal(0, 0.3, n)) > 0.6).astype(int)
    df["traf_has_anchor"] = (df["y"].to_numpy() ^ (rng.random(n) < 0.2)).astype(float)  # right 80% of the time
    first = calibrated_report(df, out_of_fold(df))[3]
    spread = seed_spread(df, [PARAMS["seed"] + 1], first)
    assert set(spread) == set(first) == {"a/all", "a/external", "b/all", "b/external"}
    for key, r in spread.items():
        assert r["seeds"] == [PARAMS["seed"], PARAMS["seed"] + 1]
        assert r["loco_f1"][0] == first[key]["model"]["loco_f1"]
        assert r["seeds_at_or_above"] == sum(f >= r["best_baseline_f1"] for f in r["loco_f1"])
    assert any(r["loco_f1"][0] != r["loco_f1"][1] for r in spread.values())  # another seed, another fit
    assert "| a/all |" in spread_table(spread)
