"""Unknown is NaN: a feature whose evidence a record does not carry is never made up.

The schema says which record fields each feature needs (``FeatureSpec.evidence``); these tests derive
from it which features must be NaN for a bare record and for an export row, and check every one.
"""

from __future__ import annotations

import math

from features.pipeline import extract_features
from features.schema import FEATURES

BARE = {"source_url": "https://blog.example.org/2024/05/a-post", "target_url": "https://shop.example.com/",
        "anchor_text": "a useful guide"}


def _row(fake_ctx, record: dict) -> dict:
    batch = extract_features([record], fake_ctx)
    assert not batch.status[0].startswith("error"), batch.status[0]
    return batch.frame.iloc[0].to_dict()


def _unknown_for(known: set[str]) -> list[str]:
    return [f.name for f in FEATURES if not set(f.evidence) <= known]


def _is_nan(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or str(v) == "nan"


def test_every_feature_declares_known_evidence() -> None:
    fields = {"source_url", "target_url", "anchor_text", "rel", "page", "context", "source_title", "brand",
              "money_keywords"}
    for f in FEATURES:
        for e in f.evidence:
            assert e in fields or e.startswith("metrics."), (f.name, e)


def test_bare_record_leaves_every_feature_without_evidence_nan(fake_ctx) -> None:
    row = _row(fake_ctx, BARE)
    must_be_nan = _unknown_for({"source_url", "target_url", "anchor_text"})
    assert len(must_be_nan) > 60  # page, context, title, rel and every export column
    made_up = [name for name in must_be_nan if not _is_nan(row[name])]
    assert made_up == []


def test_anchor_is_not_its_own_context(fake_ctx) -> None:
    """Without context columns the anchor is not compared with itself (that said 1.0 on most rows)."""
    row = _row(fake_ctx, BARE)
    assert _is_nan(row["sim_anchor_context"]) and _is_nan(row["context_chars"])
    with_ctx = _row(fake_ctx, dict(BARE, context_left="If you want to learn more, read", context_right="today."))
    assert not _is_nan(with_ctx["sim_anchor_context"])


def test_an_export_column_is_evidence_only_for_its_own_features(fake_ctx) -> None:
    """Page authority given: its features are known, domain authority and traffic stay unknown."""
    row = _row(fake_ctx, dict(BARE, page_authority=12, rel=""))
    assert row["metric_page_authority"] == 12.0
    must_be_nan = _unknown_for({"source_url", "target_url", "anchor_text", "rel", "metrics.page_authority"})
    assert [name for name in must_be_nan if not _is_nan(row[name])] == []


def test_domain_traffic_is_never_page_traffic(fake_ctx) -> None:
    row = _row(fake_ctx, dict(BARE, domain_traffic=5000))
    assert _is_nan(row["metric_log_traffic"]) and abs(row["metric_log_domain_traffic"] - math.log10(5001)) < 1e-5


def test_metric_columns_equal_the_per_record_metric_features() -> None:
    """The batch's metric columns (``metric_columns``, what the pipeline puts in the feature block)
    hold, bit for bit, what ``metric_features`` says for each record: unknown, zero, negative and
    huge counts, 0/1 and 0.4/0.6 flags, link types of two tools, HTTP codes, lost rows."""
    import random

    import numpy as np

    from features.page_signals import metric_columns, metric_features
    from features.records import METRIC_FIELDS, Metrics, parse_metrics

    rng = random.Random(3)
    numbers = [None, 0.0, -1.0, 0.4, 0.6, 1.0, 3.0, 99.5, 199.0, 200.0, 299.0, 301.0, 1e12, 2.5e-7]
    texts = [None, "text", "image", "frame", "form, nofollow", "redirect 301", "dofollow", "lost", "crawl error"]
    dates = [None, "2026-01-02"]
    ms: list[Metrics] = []
    for _ in range(3000):
        raw = {}
        for f in METRIC_FIELDS:
            pick = rng.random()
            if f in ("first_seen", "last_seen", "lost_date"):
                raw[f] = rng.choice(dates) if pick < 0.3 else None
            elif f in ("link_type", "lost_reason", "platform", "page_type", "tool"):
                raw[f] = rng.choice(texts) if pick < 0.5 else None
            else:
                raw[f] = rng.choice(numbers) if pick < 0.6 else None
        ms.append(parse_metrics(raw))
    ms.append(Metrics())
    cols = metric_columns(ms)
    rows = [metric_features(m) for m in ms]
    assert list(cols) == list(rows[0])
    for name, col in cols.items():
        want = np.array([r[name] for r in rows], dtype=np.float64)
        assert col.dtype == np.float64 and np.array_equal(col, want, equal_nan=True), name
        assert np.isfinite(col).any() and np.isnan(col).any(), name  # both cases exercised
