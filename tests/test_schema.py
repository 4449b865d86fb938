"""The feature schema is one deliberate, hashed definition."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features import schema

# Changing a feature changes this hash: bump SCHEMA_VERSION, retrain, and update it here on purpose.
PINNED_HASH = "e4d433ec7f3ab1b5"


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
