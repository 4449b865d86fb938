"""Training, the model artifact and retraining on a user's labels, on small generated data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from features.artifact import ModelMismatch, load_model
from features.pipeline import extract_features
from features.schema import FEATURE_NAMES
from features.urls import registered_domain
from training.splits import site_folds
from training.train import TrainingDataError, train_model

GOOD_ANCHORS = ["a detailed study of soil microbes", "this report on urban gardening", "the original research",
                "an interview with the authors", "published figures on crop yields"]
NAV_ANCHORS = ["Home", "Contact", "About us", "Privacy", "Login", "Shop", "Cart"]


def user_records(n_sites: int = 60) -> list[dict]:
    """Export-only link records on many sites: editorial links in sentences vs template links."""
    rows = []
    for i in range(n_sites):
        src = f"https://blog{i}.example{i % 7}.org/posts/{i}"
        rows.append({"source_url": src, "target_url": f"https://target.example.com/research/{i}",
                     "anchor_text": GOOD_ANCHORS[i % len(GOOD_ANCHORS)],
                     "context_left": "In a careful piece published last spring, the authors describe",
                     "context_right": ", which found that the effect holds across regions.", "rel": "",
                     "label": "strong"})
        rows.append({"source_url": src, "target_url": "https://target.example.com/",
                     "anchor_text": NAV_ANCHORS[i % len(NAV_ANCHORS)], "context_left": "", "context_right": "",
                     "rel": "nofollow" if i % 2 else "", "label": "weak"})
        rows.append({"source_url": src, "target_url": f"https://cheap-deals-{i}.example.xyz/buy",
                     "anchor_text": "buy cheap pills online", "context_left": "Sponsored:", "context_right": "",
                     "rel": "sponsored", "label": "weak"})
    return rows


def table(ctx, records: list[dict]) -> pd.DataFrame:
    batch = extract_features(records, ctx)
    meta = pd.DataFrame({
        "label": [1 if r["label"] == "strong" else 0 for r in records],
        "site": [registered_domain(r["source_url"]) for r in records],
        "mode": "export", "corpus": "test", "synthetic": 0, "scope": "external",
    })
    meta["fold"] = site_folds(meta["site"])
    return pd.concat([meta, batch.frame], axis=1)


@pytest.fixture(scope="module")
def small_model(tmp_path_factory, fake_ctx):
    models = tmp_path_factory.mktemp("models")
    df = table(fake_ctx, user_records())
    folder = train_model(df, models, model_id="tiny", embedding=fake_ctx.embedder.name, with_ablation=False,
                         log=lambda m: None)
    return folder, df


def test_training_on_a_small_set_writes_a_complete_model(small_model) -> None:
    folder, _ = small_model
    meta = json.loads((folder / "metadata.json").read_text())
    assert (folder / "model.txt").is_file()
    for key in ("schema_hash", "schema_version", "feature_names", "embedding", "calibration", "thresholds",
                "training_data", "config", "metrics", "library_versions", "created_at"):
        assert key in meta, key
    assert meta["feature_names"] == list(FEATURE_NAMES)
    assert meta["thresholds"]["weak"] <= meta["thresholds"]["strong"]
    assert meta["metrics"]["test"]["all"]["roc_auc"] > 0.9


def test_save_load_identical_predictions_and_calibrated_range(small_model, fake_ctx) -> None:
    folder, df = small_model
    a = load_model(folder, fake_ctx.embedder.name)
    b = load_model(folder, fake_ctx.embedder.name)
    x = df[list(FEATURE_NAMES)]
    sa, sb = a.scores(x), b.scores(x)
    assert np.array_equal(sa, sb)
    assert sa.min() >= 0.0 and sa.max() <= 1.0
    assert a.raw_scores(x).shape == (len(df),)


def test_schema_mismatch_is_refused(small_model, tmp_path: Path) -> None:
    folder, _ = small_model
    copy = tmp_path / "tiny"
    shutil.copytree(folder, copy)
    meta = json.loads((copy / "metadata.json").read_text())
    meta["schema_hash"] = "0000deadbeef0000"
    (copy / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelMismatch, match="0000deadbeef0000"):
        load_model(copy)


def test_embedding_mismatch_is_refused_naming_both(small_model) -> None:
    folder, _ = small_model
    with pytest.raises(ModelMismatch, match="hashing-test-64.*minilm-l6-v2"):
        load_model(folder, "minilm-l6-v2")


def test_too_few_labels_is_a_clear_error(tmp_path: Path, fake_ctx) -> None:
    df = table(fake_ctx, user_records(5))
    with pytest.raises(TrainingDataError, match="at least 20 strong"):
        train_model(df, tmp_path, embedding=fake_ctx.embedder.name, with_ablation=False, log=lambda m: None)


def _shipped_models(tmp_path: Path) -> Path:
    models = tmp_path / "models"
    shipped = Path(__file__).resolve().parent.parent / "models" / "linkq-default-v2"
    shutil.copytree(shipped, models / shipped.name)
    (models / "CURRENT").write_text(shipped.name + "\n")
    return models


def test_cli_train_refuses_one_sided_labels(tmp_path: Path) -> None:
    from linkq_cli import cli

    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(json.dumps({**r, "label": "weak"}) + "\n" for r in user_records(30)))
    result = CliRunner().invoke(cli, ["train", "--labels", str(labels), "--models-dir", str(_shipped_models(tmp_path))])
    assert result.exit_code != 0
    assert "the worth labels need both sides: got 0 strong/keep/good and 90 weak/risky/disavow/bad" in result.output


def test_cli_train_without_labels_or_table_says_how_to_retrain(tmp_path: Path) -> None:
    from linkq_cli import cli

    result = CliRunner().invoke(cli, ["train", "--data", str(tmp_path / "links.parquet"), "--models-dir",
                                      str(tmp_path / "m")])
    assert result.exit_code != 0
    assert "`linkq train --labels FILE`" in result.output


def test_retraining_from_a_disavow_file_end_to_end(tmp_path: Path) -> None:
    from linkq_cli import cli

    rows, lines = [], ["# disavowed by hand after an audit"]
    for i in range(60):
        if i % 2:
            src = f"https://spam-site-{i}.xyz/directory/page-{i}"
            rows.append({"source_url": src, "target_url": "https://mysite.example.com/",
                         "anchor_text": "best cheap insurance quotes", "rel": ""})
            lines.append(f"domain:spam-site-{i}.xyz" if i % 4 == 1 else src)
        else:
            rows.append({"source_url": f"https://news{i}.example{i}.org/2024/story-{i}",
                         "target_url": "https://mysite.example.com/guide",
                         "anchor_text": GOOD_ANCHORS[i % len(GOOD_ANCHORS)],
                         "context_left": "As the team explained in", "context_right": ", the method is sound.",
                         "rel": ""})
    export = tmp_path / "backlinks.jsonl"
    export.write_text("".join(json.dumps(r) + "\n" for r in rows))
    disavow = tmp_path / "disavow.txt"
    disavow.write_text("\n".join(lines) + "\n")
    models = _shipped_models(tmp_path)
    result = CliRunner().invoke(cli, ["train", "--disavow", str(disavow), "--export", str(export), "--rest", "strong",
                                      "--models-dir", str(models), "--model-id", "mine"])
    assert result.exit_code == 0, result.output
    meta = json.loads((models / "mine" / "metadata.json").read_text())
    assert meta["retrain"]["label_counts"] == {"strong": 30, "weak_or_risky": 30, "neutral_or_unknown": 0}
    assert meta["retrain"]["risk"]["risky_labels"] == 30
    assert [f["kind"] for f in meta["retrain"]["label_files"]] == [f"export of disavow file {disavow}"]
    listed = CliRunner().invoke(cli, ["models", "list", "--models-dir", str(models)])
    [mine] = [line for line in listed.output.splitlines() if " mine " in line]
    ev = meta["retrain"]["evaluation"]  # the user's model is listed by its measure on the user's labels
    assert mine.endswith(f"your labels, cross-validated: ROC-AUC {ev['roc_auc_new']:.3f} "
                         f"({ev['compared_to']} {ev['roc_auc_current']:.3f})")
    [shipped] = [line for line in listed.output.splitlines() if " linkq-default-v2 " in line]
    assert shipped.endswith("corpora's held-out sites, with the page: ROC-AUC 0.976  PR-AUC 0.819")
