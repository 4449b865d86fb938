"""The feature schema is one deliberate, hashed definition."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features import schema

# Changing a feature changes this hash: bump SCHEMA_VERSION, retrain, and update it here on purpose.
PINNED_HASH = "5f953cb86ba9a295"


def test_schema_hash_is_pinned() -> None:
    assert schema.schema_hash() == PINNED_HASH


def test_names_unique_groups_known_docs_present() -> None:
    names = [f.name for f in schema.FEATURES]
    assert len(names) == len(set(names))
    assert {f.group for f in schema.FEATURES} <= set(schema.GROUPS)
    assert all(f.doc and len(f.doc) > 10 for f in schema.FEATURES)
    for g in schema.GROUPS:
        assert schema.features_in_group(g), g


def test_conform_orders_fills_and_types() -> None:
    df = pd.DataFrame({"anchor_words": [3], "placement_zone": ["footer"]})
    out = schema.conform(df)
    assert list(out.columns) == list(schema.FEATURE_NAMES)
    assert out["placement_zone"].dtype == "category"
    assert out["anchor_words"].dtype == np.float32
    assert np.isnan(out["rel_nofollow"].iloc[0])


def test_conform_refuses_unknown_columns() -> None:
    with pytest.raises(ValueError, match="not in the feature schema"):
        schema.conform(pd.DataFrame({"anchr_words": [1]}))


def test_frame_from_rows_equals_conform_of_a_frame_of_the_rows() -> None:
    """The pipeline's fast path (feature dicts straight to a float32 block) gives the frame that
    conform(pd.DataFrame(rows)) gives: rows of several key orders, missing keys, None, bools,
    ints, a zone outside the list, rows without features."""
    num = schema.NUMERIC_NAMES
    rows: list[dict | None] = [
        {num[0]: 0.1, num[1]: True, "placement_zone": "footer", num[2]: 3},
        {num[2]: 1e-40, num[0]: None, num[1]: False},
        None,
        {num[0]: 0.1, num[1]: True, "placement_zone": "nowhere", num[2]: 2**31},
        {num[5]: float("nan"), num[4]: -0.0, num[3]: 1 / 3},
        {},
    ]
    block, zone = schema.frame_from_rows(rows)
    fast = schema.frame_from_block(block, zone, pd.RangeIndex(len(rows)))
    slow = schema.conform(pd.DataFrame([r or {} for r in rows], index=range(len(rows))))
    pd.testing.assert_frame_equal(fast, slow)
    assert np.array_equal(fast[list(num)].to_numpy(), slow[list(num)].to_numpy(), equal_nan=True)
    with pytest.raises(ValueError, match="not in the feature schema"):
        schema.frame_from_rows([{"no_such_feature": 1.0}])
    with pytest.raises(ValueError, match="not numbers"):
        schema.frame_from_rows([{num[0]: "many"}])
