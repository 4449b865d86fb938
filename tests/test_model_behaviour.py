"""Behaviour of the shipped default model (models/CURRENT) through the scoring core."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import PAGES, SCIENCE_URL

from features.artifact import default_models_dir, load_model, resolve_model_dir
from serving.scoring import Scorer

PAPER = "https://www.nature.com/articles/s41550-019-0933-6"


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer.load()


def test_shipped_model_loads_and_is_small(scorer: Scorer) -> None:
    folder = resolve_model_dir(default_models_dir())
    size = sum(p.stat().st_size for p in folder.iterdir())
    assert size < 20_000_000
    meta = scorer.model.metadata
    assert meta["embedding"]["name"] == scorer.ctx.embedder.name
    assert meta["metrics"]["test"]["real mode=html"]["roc_auc"] > 0.9


def test_link_moved_into_the_footer_scores_lower(scorer: Scorer, science_html: str) -> None:
    moved = science_html.replace(f'href="{PAPER}"', 'href="#gone"')
    moved = moved.replace("<footer>", f'<footer><a href="{PAPER}">a paper</a>', 1)
    body, footer = scorer.score([
        {"source_url": SCIENCE_URL, "target_url": PAPER, "source_html": science_html},
        {"source_url": SCIENCE_URL, "target_url": PAPER, "source_html": moved},
    ])
    assert body["placement_zone"] == "main_content" and footer["placement_zone"] == "footer"
    assert footer["score"] < body["score"]
    assert body["verdict"] in ("strong", "review")


@pytest.mark.parametrize("target", [PAPER, "https://futurism.com/", "https://www.facebook.com/ScienceAlert"])
def test_rel_sponsored_never_raises_the_score(scorer: Scorer, science_html: str, target: str) -> None:
    tagged = science_html.replace(f'href="{target}"', f'href="{target}" rel="sponsored"')
    plain, sponsored = scorer.score([
        {"source_url": SCIENCE_URL, "target_url": target, "source_html": science_html},
        {"source_url": SCIENCE_URL, "target_url": target, "source_html": tagged},
    ])
    assert sponsored["score"] <= plain["score"]


def test_sponsored_in_export_mode_never_raises_the_score(scorer: Scorer) -> None:
    base = {"source_url": "https://blog.example.org/post", "target_url": "https://shop.example.com/",
            "anchor_text": "a useful guide", "context_left": "We liked", "context_right": "a lot."}
    for rel in ("", "nofollow", "ugc"):
        plain, sponsored = scorer.score([{**base, "rel": rel}, {**base, "rel": f"{rel} sponsored".strip()}])
        assert sponsored["score"] <= plain["score"], rel


@pytest.mark.parametrize("anchor", ["A Useful Guide", "a useful guide", "  a   useful\tguide ", "A USEFUL GUIDE"])
def test_anchor_case_and_whitespace_do_not_change_the_score(scorer: Scorer, anchor: str) -> None:
    base = {"source_url": "https://blog.example.org/post", "target_url": "https://shop.example.com/guide",
            "context_left": "As explained in", "context_right": ", the method works.", "rel": ""}
    ref, got = scorer.score([{**base, "anchor_text": "a useful guide"}, {**base, "anchor_text": anchor}])
    assert got["score"] == ref["score"]


def test_reasons_are_words(scorer: Scorer, science_html: str) -> None:
    (res,) = scorer.score([{"source_url": SCIENCE_URL, "target_url": "https://www.facebook.com/ScienceAlert",
                            "source_html": science_html}])
    assert res["status"] == "scored"
    factors = [r.split(":", 1)[0] for r in res["reasons"]]
    assert factors[0] == "placement" or "placement" in factors
    assert all(r[0] not in "=+-@\t\r" and len(r) > 5 for r in res["reasons"])
    assert all(r.endswith(("(raises)", "(lowers)", "(neutral)")) or r.startswith(("unknown:", "risk:"))
               for r in res["reasons"])


def test_export_row_reasons_name_each_factor_with_its_evidence(scorer: Scorer) -> None:
    (res,) = scorer.score([{"source_url": "https://blog.example.org/post", "target_url": "https://shop.example.com/",
                            "anchor_text": "Shop Example", "rel": "", "page_authority": 45, "tool": "ahrefs"}])
    text = "; ".join(res["reasons"])
    assert "authority: UR 45" in text and "intent: followed" in text and "anchor: the brand" in text
    assert "unknown: " in text and "relevance (no page text or title)" in text


def test_statuses_and_errors_in_one_batch(scorer: Scorer, science_html: str) -> None:
    out = scorer.score([
        {"source_url": SCIENCE_URL, "target_url": PAPER, "source_html": science_html},
        {"source_url": "https://a.example.org/", "target_url": "https://b.example.com/", "anchor_text": "b"},
        {"source_url": SCIENCE_URL, "target_url": "https://absent.example.net/", "source_html": science_html},
        {"source_url": "bad", "target_url": "https://b.example.com/"},
    ])
    assert [r["status"] for r in out[:3]] == ["scored", "scored_without_page", "link_missing"]
    assert out[3]["status"].startswith("error: source_url") and out[3]["score"] is None
    assert all(0.0 <= r["score"] <= 1.0 for r in out[:3])


def test_cli_score_keeps_every_row_and_field(tmp_path: Path) -> None:
    from linkq_cli import cli

    inp = tmp_path / "links.jsonl"
    inp.write_text("".join(json.dumps(r) + "\n" for r in [
        {"id": 1, "source_url": SCIENCE_URL, "target_url": PAPER},
        {"id": 2, "source_url": "https://x.example.org/", "target_url": "https://y.example.com/", "anchor_text": "y"},
        {"id": 3, "source_url": "nope", "target_url": "https://y.example.com/"},
    ]))
    out = tmp_path / "scored.csv"
    result = CliRunner().invoke(cli, ["score", str(inp), "--pages", str(PAGES), "--out", str(out)])
    assert result.exit_code == 0, result.output
    import csv

    rows = list(csv.DictReader(out.open()))
    assert [r["id"] for r in rows] == ["1", "2", "3"]
    assert list(rows[0])[:3] == ["id", "source_url", "target_url"]
    assert list(rows[0])[-7:] == ["score", "verdict", "risk", "reasons", "placement_zone", "status", "flags"]
    assert rows[0]["placement_zone"] == "main_content" and rows[2]["status"].startswith("error")


def test_loading_refuses_wrong_embedding() -> None:
    from features.artifact import ModelMismatch

    with pytest.raises(ModelMismatch):
        load_model(resolve_model_dir(default_models_dir()), "minilm-l6-v2")


def test_flags_for_a_whole_batch_equal_the_row_by_row_ones() -> None:
    """risk_flags_batch (used by Scorer.score) gives exactly the per-row risk_flags."""
    import numpy as np
    import pandas as pd

    from serving.scoring import FLAG_RULES, risk_flags, risk_flags_batch

    rng = np.random.default_rng(0)
    n = 2000
    flag_cols = sorted({feature for _, feature, _, _ in FLAG_RULES})
    frame = pd.DataFrame({c: np.where(rng.random(n) < 0.2, np.nan, (rng.random(n) < 0.03) * 100.0)
                          for c in flag_cols})
    frame["rel_sponsored"] = (rng.random(n) < 0.1).astype(np.float32)
    got = risk_flags_batch(frame)
    for i, row in enumerate(frame.to_dict(orient="records")):
        assert got[i] == risk_flags(row)
    assert any(got) and not all(got)


def test_the_score_is_the_logistic_of_its_factor_parts(scorer: Scorer, science_html: str) -> None:
    """Every factor's part is exact: bias + the parts is the score's log-odds, with and without pages."""
    import math

    import numpy as np

    from features.factors import FACTORS, combine, factor_values
    from features.pipeline import extract_features
    from features.schema import NUMERIC_NAMES

    records = [{"source_url": f"https://blog{i % 13}.example.org/p/{i}", "target_url": PAPER,
                "anchor_text": ["click here", "Nature paper", "cheap essays", "nature.com"][i % 4],
                "rel": ["", "nofollow", "sponsored", None][i % 4], "domain_authority": float(i % 90),
                "page_authority": float(i % 30) if i % 5 else None,
                "context_left": "a study found" if i % 3 else None} for i in range(300)]
    frame = extract_features(records, scorer.ctx).frame
    cols = {name: frame[name].to_numpy(dtype=np.float64) for name in NUMERIC_NAMES}
    n = len(frame)
    with_page = np.zeros(n, dtype=bool)
    values = factor_values(cols, n, with_page)
    scores, parts = combine(values, scorer.model.factors, n, with_page)
    logit = scorer.model.factors.bias + sum(parts[f] for f in FACTORS)
    assert np.allclose(scores, 1 / (1 + np.exp(-logit)), atol=1e-12)
    assert all(np.all(np.abs(v[~np.isnan(v)]) <= 1.0) for v in values.values())
    results = scorer.score(records)
    assert [r["score"] for r in results] == [round(float(s), 4) for s in scores]
    assert not any(math.isnan(s) for s in scores)


def test_more_page_authority_never_lowers_the_score(scorer: Scorer) -> None:
    base = {"source_url": "https://blog.example.org/post", "target_url": "https://shop.example.com/",
            "anchor_text": "shop example", "rel": "", "tool": "ahrefs"}
    scores = [r["score"] for r in scorer.score([{**base, "page_authority": pa} for pa in (0, 1, 3, 8, 20, 50, 90)])]
    assert scores == sorted(scores) and scores[-1] > scores[0]


def test_followed_never_scores_below_nofollow(scorer: Scorer) -> None:
    base = {"source_url": "https://blog.example.org/post", "target_url": "https://shop.example.com/",
            "anchor_text": "shop example", "page_authority": 10}
    followed, nofollow, ugc, sponsored = scorer.score([{**base, "rel": r} for r in ("", "nofollow", "ugc", "sponsored")])
    assert followed["score"] > nofollow["score"] >= ugc["score"] >= sponsored["score"]
    assert sponsored["flags"] == ["paid"] and sponsored["risk"] != "risky"  # marked paid: it hides nothing


def test_lost_links_are_not_scored_as_live(scorer: Scorer) -> None:
    base = {"source_url": "https://blog.example.org/post", "target_url": "https://shop.example.com/",
            "anchor_text": "cheap casino bonus", "rel": ""}
    live, lost, dropped = scorer.score([base, {**base, "lost": "true"}, {**base, "lost_reason": "link removed"}])
    assert live["status"] == "scored_without_page" and live["flags"]
    for r in (lost, dropped):
        assert r["status"] == "lost" and r["score"] is None and r["verdict"] is None and r["flags"] == []


@pytest.mark.parametrize("anchor", ["https://shop.example.com/best-cheap-shoes", "shop.example.com",
                                    "Shop Example", "Best cheap running shoes reviewed for your next marathon race"])
def test_urls_brands_and_headlines_are_never_money_anchors(scorer: Scorer, anchor: str) -> None:
    (res,) = scorer.score([{"source_url": "https://blog.example.org/post", "anchor_text": anchor, "rel": "",
                            "target_url": "https://shop.example.com/best-cheap-shoes"}])
    assert "money_anchor" not in res["flags"], res["reasons"]


def test_a_money_keyword_anchor_is_flagged(scorer: Scorer) -> None:
    (res,) = scorer.score([{"source_url": "https://blog.example.org/post", "anchor_text": "best cheap shoes",
                            "rel": "", "target_url": "https://shop.example.com/best-cheap-shoes"}])
    assert res["flags"] == ["money_anchor"] and res["risk"] == "risky"
    assert any(r.startswith("risk: an exact-match money-keyword anchor") for r in res["reasons"])


def test_the_users_brand_and_money_keywords_class_the_anchor(scorer: Scorer) -> None:
    """--brand names make a brand anchor natural whatever the target's domain; --money keywords make an
    anchor a money anchor even outside the built-in vocabulary."""
    rec = {"source_url": "https://blog.example.org/post", "target_url": "https://mfb-shop.example.com/running",
           "anchor_text": "Mountain Feet Boots", "rel": ""}
    plain, branded = scorer.score([rec]), scorer.score([rec], brands=["Mountain Feet Boots, MFB"])
    assert "anchor: the brand" in "; ".join(branded[0]["reasons"])
    assert "anchor: the brand" not in "; ".join(plain[0]["reasons"])
    (money,) = scorer.score([{**rec, "anchor_text": "trail running boots"}], money=["running boots"])
    assert money["flags"] == ["money_anchor"]
    (after,) = scorer.score([{**rec, "anchor_text": "trail running boots"}])
    assert after["flags"] == []  # the options hold for one call, not for the next


def test_memoised_reasons_equal_the_row_by_row_ones(scorer: Scorer) -> None:
    """factor_reasons_batch (memoised per factor) gives exactly factor_reasons of each row."""
    import numpy as np

    from features.pipeline import extract_features
    from features.schema import NUMERIC_NAMES
    from serving.reasons import REASON_COLUMNS, factor_reasons, factor_reasons_batch

    records = [{"source_url": f"https://site{i % 7}.example.org/domain-list-{i}", "target_url": PAPER,
                "anchor_text": ["click here", "Nature paper", "cheap viagra pills", "nature.com", "", None][i % 6],
                "rel": ["", "nofollow", "sponsored", None, "ugc"][i % 5], "page_authority": float(i % 13),
                "domain_authority": float(i % 90) if i % 4 else None, "traffic": float(i * 37 % 1000),
                "tool": ["ahrefs", "semrush", None][i % 3], "source_title": "A title" if i % 2 else None,
                "outbound_links": float(i % 3000)} for i in range(400)]
    frame = extract_features(records, scorer.ctx).frame
    n = len(frame)
    with_page = np.zeros(n, dtype=bool)
    _, parts, values = scorer.model.worth(frame, with_page)
    cols = {k: frame[k].to_numpy(dtype=np.float64).tolist() for k in REASON_COLUMNS}
    known = {k: ~np.isnan(v) for k, v in values.items()}
    evidence = [{"tool": r["tool"], "with_page": False, "source_kind": "forum" if i % 9 == 0 else None}
                for i, r in enumerate(records)]
    batch = factor_reasons_batch(parts, cols, evidence, known)
    all_cols = {k: frame[k].to_numpy(dtype=np.float64).tolist() for k in NUMERIC_NAMES}
    for i in range(n):
        row = {k: all_cols[k][i] for k in NUMERIC_NAMES}
        want = factor_reasons({k: float(parts[k][i]) for k in parts}, row, evidence[i],
                              {k: bool(known[k][i]) for k in known})
        assert batch[i] == want, i
    assert len({tuple(r) for r in batch}) > 50
    assert len({id(r) for r in batch}) == n  # rows with the same reasons get lists of their own


def test_lean_features_give_the_same_results(scorer: Scorer, monkeypatch: pytest.MonkeyPatch,
                                             science_html: str) -> None:
    """The scorer's lean feature batch (no anchor/context similarities on rows without a page) gives
    exactly the results of the full batch, for export rows with and without context and a row with
    its page inline."""
    import numpy as np

    import serving.scoring as scoring
    from features.pipeline import LEAN_SKIPPED, extract_features

    records = [{"source_url": f"https://site{i % 5}.example.org/post-{i}", "target_url": PAPER,
                "anchor_text": ["a study in Nature", "best cheap boots", "nature.com", "here"][i % 4],
                "context_left": "A new paper shows that" if i % 3 else None,
                "context_right": "the galaxies are older than thought." if i % 2 else None,
                "source_title": f"Astronomy notes {i}" if i % 4 else None, "page_authority": float(i % 40),
                "tool": "ahrefs"} for i in range(60)]
    records.append({"source_url": SCIENCE_URL, "target_url": PAPER, "source_html": science_html})
    lean = scorer.score(records)
    full_calls: list[bool] = []

    def full(*args: object, **kw: object) -> object:
        full_calls.append(bool(kw.pop("lean", False)))
        return extract_features(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(scoring, "extract_features", full)
    assert scorer.score(records) == lean
    assert full_calls == [True]  # the scorer asked for a lean batch; this one was full
    frame = extract_features(records[:4], scorer.ctx, lean=True).frame
    assert np.isnan(frame[list(LEAN_SKIPPED)].to_numpy()).all()
    assert not np.isnan(extract_features(records[:4], scorer.ctx).frame["sim_anchor_target"].to_numpy()).all()


def test_lean_skipped_features_are_read_by_nothing_but_the_link_model() -> None:
    """What a lean batch leaves NaN on export rows is read by neither the worth score's factors, nor
    its reasons, nor the risk flags, nor the lost status: so skipping it cannot change a result."""
    import numpy as np

    from features.factors import factor_values
    from features.pipeline import LEAN_SKIPPED
    from serving.reasons import REASON_COLUMNS
    from serving.result_fields import FLAG_RULES

    read: set[str] = set()

    class Recording(dict):
        def get(self, key: str, default: object = None) -> object:
            read.add(key)
            return default

    factor_values(Recording(), 3, np.zeros(3, dtype=bool), np.full(3, np.nan))
    factor_values(Recording(), 3, np.ones(3, dtype=bool), np.full(3, 0.5))
    assert {"metric_page_authority", "anchor_words", "src_spam_listed"} <= read  # the recorder sees reads
    inputs = read | set(REASON_COLUMNS) | {feature for _, feature, _, _ in FLAG_RULES} | {"metric_lost"}
    assert not inputs & set(LEAN_SKIPPED)


def test_reason_counts_agree_with_their_noun() -> None:
    """"1 outbound link", "14 outbound links": a count's noun is singular only for one."""
    import math

    from serving.reasons import factor_phrase

    one = factor_phrase("source", {"page_ext_links": 1.0}, {})
    many = factor_phrase("source", {"page_ext_links": 14.0}, {})
    assert one is not None and "1 outbound link on the page" in one
    assert many is not None and "14 outbound links on the page" in many
    keyword = factor_phrase("traffic", {"metric_log_page_keywords": math.log10(2.0)}, {})
    assert keyword is not None and "ranks for 1 keyword" in keyword and "1 keywords" not in keyword


@pytest.mark.parametrize(("similarity", "words"), [
    (0.55, "page on the target's topic (similarity 0.55)"),
    (0.31, "page loosely related to the target (similarity 0.31)"),
    (0.29, "page loosely related to the target (similarity 0.29)"),  # the factor is ~0 either side of 0.3
    (0.12, "page unrelated to the target (similarity 0.12)"),
])
def test_relevance_words_name_a_band_around_the_factors_zero(similarity: float, words: str) -> None:
    from serving.reasons import factor_phrase

    assert factor_phrase("relevance", {"sim_page_target": similarity}, {}) == words


def test_relevance_band_follows_the_printed_figure() -> None:
    from serving.reasons import factor_phrase

    assert factor_phrase("relevance", {"sim_page_target": 0.1996}, {}) == \
        "page loosely related to the target (similarity 0.20)"


def test_with_the_page_the_placement_reason_gives_the_probability_its_sign_comes_from(
        scorer: Scorer, science_html: str) -> None:
    """With the page, the placement factor is the link model's editorial probability (the zone's p is
    the placement model's): the reason gives both, so "main content (p=0.44) (lowers)" is explained by
    "editorial p=0.38", and the sign agrees with that probability."""
    from features.factors import editorial_words

    (res,) = scorer.score([{"source_url": SCIENCE_URL, "target_url": "https://www.facebook.com/ScienceAlert",
                            "source_html": science_html}])
    [placement] = [r for r in res["reasons"] if r.startswith("placement: ")]
    assert ", editorial p" in placement
    editorial = placement.split(", editorial p", 1)[1].split(" ", 1)[0]  # '=0.12', '<0.05' or '>0.95'
    value = float(editorial[1:])
    sign = "(raises)" if value > 0.5 and editorial[0] != "<" else "(lowers)"
    assert placement.endswith(sign) or (0.45 < value < 0.55 and placement.endswith("(neutral)"))
    assert (editorial_words(0.0), editorial_words(1.0), editorial_words(-1.0)) == ("p=0.50", "p>0.95", "p<0.05")


def test_a_home_page_link_says_why_its_patterns_are_unknown(scorer: Scorer) -> None:
    """Patterns compare page paths across the export; a home page has none to compare. The reason
    said "no profile", which read as if the export had not been profiled."""
    res = scorer.score([{"source_url": f"https://site{i}.example.org{path}", "target_url": "https://shop.example.com/",
                         "anchor_text": "Shop Example"} for i, path in enumerate(["/", "/a-post-about-shoes"])])
    home, post = ("; ".join(r["reasons"]) for r in res)
    assert "patterns (a page path without words to compare, e.g. a home page)" in home
    assert "patterns: no generated page path repeated across this export" in post
