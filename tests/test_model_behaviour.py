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
    assert 1 <= len(res["reasons"]) <= 3
    assert all(r[0] in "+-" and len(r) > 5 for r in res["reasons"])


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
    assert list(rows[0])[-6:] == ["score", "verdict", "reasons", "placement_zone", "status", "flags"]
    assert rows[0]["placement_zone"] == "main_content" and rows[2]["status"].startswith("error")


def test_loading_refuses_wrong_embedding() -> None:
    from features.artifact import ModelMismatch

    with pytest.raises(ModelMismatch):
        load_model(resolve_model_dir(default_models_dir()), "minilm-l6-v2")


def test_reasons_and_flags_for_a_whole_batch_equal_the_row_by_row_ones() -> None:
    """top_reasons_batch / risk_flags_batch (used by Scorer.score) give exactly the per-row results,
    including rows with tied contributions, unknown values and too few strong contributions."""
    import numpy as np
    import pandas as pd

    from features.schema import FEATURE_NAMES
    from serving.reasons import top_reasons, top_reasons_batch
    from serving.scoring import FLAG_RULES, risk_flags, risk_flags_batch

    rng = np.random.default_rng(0)
    n, f = 2000, len(FEATURE_NAMES)
    contrib = rng.normal(0, 0.3, (n, f + 1)) * (rng.random((n, f + 1)) < 0.3)
    contrib[:100] = np.round(contrib[:100], 1)  # many exact ties
    contrib[100:200] *= 0.1  # mostly under the 0.05 cut
    values = rng.random((n, f)) * 100
    values[rng.random((n, f)) < 0.3] = np.nan
    columns: list[list[object]] = [list(values[:, j]) for j in range(f)]
    zone = FEATURE_NAMES.index("placement_zone")
    columns[zone] = [["footer", "main_content", None, "sidebar"][i % 4] for i in range(n)]
    batch = top_reasons_batch(contrib, columns, 3)
    for i in range(n):
        row = {name: columns[j][i] for j, name in enumerate(FEATURE_NAMES)}
        assert batch[i] == top_reasons(contrib[i], row, 3)
    assert sum(len(r) == 3 for r in batch) > 1000 and any(len(r) < 3 for r in batch)

    flag_cols = sorted({feature for _, feature, _ in FLAG_RULES})
    frame = pd.DataFrame({c: np.where(rng.random(n) < 0.2, np.nan, rng.random(n) * 100) for c in flag_cols})
    frame["rel_sponsored"] = (rng.random(n) < 0.1).astype(np.float32)
    got = risk_flags_batch(frame)
    for i, row in enumerate(frame.to_dict(orient="records")):
        assert got[i] == risk_flags(row)
    assert any(got) and not all(got)


def test_scores_from_contributions_equal_predicted_scores(scorer: Scorer, science_html: str) -> None:
    """Scorer.score takes the probability from the TreeSHAP contributions (their sum is the raw
    log-odds); it must agree with LightGBM's own prediction, with and without pages."""
    import numpy as np

    from features.pipeline import extract_features

    records = [{"source_url": f"https://blog{i % 13}.example.org/p/{i}", "target_url": PAPER,
                "anchor_text": ["click here", "Nature paper", "cheap essays", "nature.com"][i % 4],
                "rel": ["", "nofollow", "sponsored", None][i % 4], "domain_authority": float(i % 90),
                "context_left": "a study found" if i % 3 else None} for i in range(300)]
    records.append({"source_url": SCIENCE_URL, "target_url": PAPER, "source_html": science_html})
    frame = extract_features(records, scorer.ctx).frame
    assert scorer.model._binary_logistic
    fast, contrib = scorer.model.scores_and_contributions(frame)
    assert np.abs(fast - scorer.model.scores(frame)).max() < 1e-9
    assert np.abs(contrib - scorer.model.contributions(frame)).max() == 0.0
    assert scorer.model.verdicts(fast) == scorer.model.verdicts(scorer.model.scores(frame))
