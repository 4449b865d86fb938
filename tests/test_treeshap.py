"""features.treeshap: memoised TreeSHAP equals LightGBM's pred_contrib (shipped and synthetic models)."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from conftest import COMWRAP_URL, SCIENCE_URL, page_html

from features import treeshap
from features.schema import FEATURE_NAMES, ZONES, conform

ATOL = 1e-9


def _assert_same(booster: lgb.Booster, data) -> float:
    want = booster.predict(data, pred_contrib=True)
    got = treeshap.memoised_contributions(booster, data)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=ATOL)
    return float(np.abs(got - want).max())


# ------------------------------------------------------------------------------------------------
# the shipped model on real feature frames


@pytest.fixture(scope="module")
def shipped():
    from features.artifact import default_models_dir, load_model, resolve_model_dir

    return load_model(resolve_model_dir(default_models_dir()))


def _export_records() -> list[dict]:
    rng = np.random.default_rng(3)
    anchors = ["", "click here", "trailgear", "TrailGear.com", "best cheap trail shoes", "https://trailgear.com/",
               "trail running shoes review", "here", "buy running shoes online", "guide"]
    rels = [None, "", "nofollow", "ugc", "sponsored", "nofollow ugc", "noopener"]
    hosts = ["blog.example.com", "www.runnersforum.org", "news.bbc.co.uk", "cheap-links.xyz", "trailgear.com",
             "shop.outdoor.de", "best-deals4u.top"]
    out = []
    for i in range(240):
        metrics = {}
        for name, hi in (("domain_authority", 100), ("page_authority", 100), ("traffic", 1e6),
                         ("outbound_links", 500), ("spam_score", 100)):
            if rng.random() < 0.7:
                metrics[name] = float(rng.choice([0.0, rng.uniform(0, hi)]))
        if rng.random() < 0.5:
            metrics["sitewide"] = float(rng.integers(0, 2))
            metrics["in_content"] = float(rng.integers(0, 2))
        if rng.random() < 0.6:
            metrics["first_seen"] = f"20{rng.integers(18, 27)}-0{rng.integers(1, 10)}-1{rng.integers(0, 10)}"
        rec = {
            "source_url": f"https://{hosts[i % len(hosts)]}/{'p/' * (i % 3)}post-{i}",
            "target_url": "https://trailgear.com/" + ["", "shoes", "shoes/trail", "sale"][i % 4],
            "anchor_text": anchors[i % len(anchors)],
            "rel": rels[i % len(rels)],
            "metrics": metrics,
        }
        if i % 3:
            rec["context_left"] = "the best trail running shoes for a marathon "[: 5 + i % 40]
            rec["context_right"] = " reviewed and tested by our team."[: i % 30]
        if i % 5 == 0:
            rec["source_title"] = "Trail running shoes: a guide"
        out.append(rec)
    return out


@pytest.fixture(scope="module")
def real_frame(fake_ctx, gold_links) -> pd.DataFrame:
    from features.pipeline import extract_features

    html = {SCIENCE_URL: page_html("14cc2a0c"), COMWRAP_URL: page_html("ba07d1e6")}
    with_pages = [{"source_url": g["page_url"], "target_url": g["href"], "anchor_text": g["anchor_text"],
                   "source_html": html[g["page_url"]]} for g in gold_links if g["page_url"] in html]
    frames = [extract_features(with_pages, fake_ctx).frame,
              extract_features(_export_records(), fake_ctx, use_pages=False).frame]
    frame = conform(pd.concat(frames, ignore_index=True))
    assert len(frame) > 250 and frame["placement_zone"].notna().any()
    return frame


def _perturb(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """``n`` rows resampled from ``frame`` with NaNs, zeros, extremes and every placement zone."""
    rng = np.random.default_rng(seed)
    out = frame.iloc[rng.integers(0, len(frame), n)].reset_index(drop=True)
    numeric = [c for c in FEATURE_NAMES if c != "placement_zone"]
    x = out[numeric].to_numpy(dtype=np.float32).copy()
    u = rng.random(x.shape)
    x[u < 0.08] = np.nan
    x[(u >= 0.08) & (u < 0.14)] = 0.0
    x[(u >= 0.14) & (u < 0.16)] = -0.0
    x[(u >= 0.16) & (u < 0.18)] = np.float32(1e-36)  # below LightGBM's kZeroThreshold: read as 0
    x[(u >= 0.18) & (u < 0.19)] = np.float32(1e-35)  # == kZeroThreshold (a float constant)
    extremes = np.array([1e30, -1e30, np.inf, -np.inf, 1e6, -1.0, 0.5, 1.0], dtype=np.float32)
    m = (u >= 0.19) & (u < 0.22)
    x[m] = rng.choice(extremes, int(m.sum()))
    m = (u >= 0.22) & (u < 0.30)  # other rows' values: new combinations of real values
    x[m] = x[rng.integers(0, n, int(m.sum())), np.nonzero(m)[1]]
    out[numeric] = x
    zones = rng.integers(-1, len(ZONES), n)
    out["placement_zone"] = pd.Categorical([ZONES[z] if z >= 0 else None for z in zones], categories=list(ZONES))
    return conform(out)


def test_shipped_model_real_rows(shipped, real_frame) -> None:
    diff = _assert_same(shipped.booster, real_frame)
    assert diff < 1e-12


def test_shipped_model_perturbed_rows(shipped, real_frame) -> None:
    frame = _perturb(real_frame, 2000, seed=1)
    assert frame["placement_zone"].isna().any() and set(frame["placement_zone"].dropna()) == set(ZONES)
    _assert_same(shipped.booster, frame)
    # exact zeros too: a frame where every numeric value is 0 or NaN
    zeros = frame.copy()
    numeric = [c for c in FEATURE_NAMES if c != "placement_zone"]
    zeros[numeric] = np.where(np.random.default_rng(2).random((len(frame), len(numeric))) < 0.5, 0.0, np.nan)
    _assert_same(shipped.booster, conform(zeros.iloc[:200]))


def test_artifact_contributions_small_and_large_batches(shipped, real_frame) -> None:
    frame = _perturb(real_frame, 400, seed=5)
    want = shipped.booster.predict(frame, pred_contrib=True)
    for n in (1, 63, 64, 400):  # below / at the memoised threshold
        np.testing.assert_allclose(shipped.contributions(frame.iloc[:n]), want[:n], rtol=0, atol=ATOL)
    assert shipped.contributions(frame.iloc[:0]).shape == (0, len(FEATURE_NAMES) + 1)
    assert treeshap.cached_tree_tables(shipped.booster) is treeshap.cached_tree_tables(shipped.booster)


def test_unknown_category_is_nan(shipped, real_frame) -> None:
    """Categories in another order, or unknown to the model, are mapped the way LightGBM maps them."""
    frame = real_frame.iloc[:200].copy()
    zones = list(ZONES)[::-1] + ["elsewhere"]
    values = [zones[i % len(zones)] for i in range(len(frame))]
    frame["placement_zone"] = pd.Categorical(values, categories=zones)
    _assert_same(shipped.booster, frame)


# ------------------------------------------------------------------------------------------------
# small models trained here: categorical splits, missing types, single-leaf trees, big trees


def _synthetic(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({
        "a": rng.normal(size=n),
        "b": rng.choice([0.0, 0.0, 1.0, 2.5, -3.0, np.nan], n),
        "c": rng.exponential(size=n),
        "cat": pd.Categorical(rng.choice(list("pqrstuvw"), n), categories=list("pqrstuvw")),
        "d": rng.integers(-2, 12, n).astype(float),
    })
    x.loc[rng.random(n) < 0.15, "a"] = np.nan
    x.loc[rng.random(n) < 0.2, "c"] = 0.0
    y = ((x["a"].fillna(1) > 0.2) ^ x["cat"].isin(["q", "s", "v"]) ^ (x["b"].fillna(-1) == 0)
         ^ (x["d"] % 3 == 0)).astype(int).to_numpy()
    y = np.where(rng.random(n) < 0.1, 1 - y, y)
    return x, y


def _test_rows(x: pd.DataFrame, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = x.sample(1500, replace=True, random_state=seed).reset_index(drop=True)
    for col in ("a", "b", "c", "d"):
        u = rng.random(len(t))
        t.loc[u < 0.1, col] = np.nan
        t.loc[(u >= 0.1) & (u < 0.2), col] = 0.0
        t.loc[(u >= 0.2) & (u < 0.23), col] = 1e-36
        t.loc[(u >= 0.23) & (u < 0.26), col] = rng.choice([1e30, -1e30, np.inf, -np.inf], int(((u >= 0.23) & (u < 0.26)).sum()))
    t.loc[rng.random(len(t)) < 0.1, "cat"] = None
    return t


@pytest.mark.parametrize("params", [
    {},
    {"use_missing": False},
    {"zero_as_missing": True},
    {"max_cat_to_onehot": 16},  # one-vs-rest categorical splits
    {"num_leaves": 200, "min_data_in_leaf": 2, "max_depth": -1, "min_data_per_group": 2, "cat_smooth": 1},
])
def test_synthetic_models(params) -> None:
    x, y = _synthetic()
    base = {"objective": "binary", "verbose": -1, "num_leaves": 15, "min_data_in_leaf": 5, "learning_rate": 0.2,
            "min_data_per_group": 5, "cat_l2": 1.0, "seed": 1, "deterministic": True, "num_threads": 1}
    booster = lgb.train({**base, **params}, lgb.Dataset(x, y), num_boost_round=25)
    tables = treeshap.tree_tables(booster)
    assert any(t.categorical for t in tables)
    if params.get("num_leaves", 0) > 65:
        assert any(t.n_nodes > 64 for t in tables)  # byte-string pattern keys
    missing = {"nan": any(t.missing_nan.any() for t in tables), "zero": any(t.missing_zero.any() for t in tables)}
    if params.get("zero_as_missing"):
        assert missing["zero"]
    elif not params:
        assert missing["nan"]
    _assert_same(booster, _test_rows(x, seed=7))
    # also as a plain float matrix with category codes (negative / fractional codes go where LightGBM sends them)
    m = treeshap.to_matrix(booster, _test_rows(x, seed=8)).astype(np.float64)
    m[::7, 3] = -1.0
    m[1::7, 3] = -0.5
    m[2::7, 3] = 2.7
    m[3::7, 3] = 3e9
    m[4::7, 3] = 40.0
    _assert_same(booster, m)


def test_single_leaf_trees() -> None:
    x, y = _synthetic(400)
    booster = lgb.train({"objective": "binary", "verbose": -1, "min_data_in_leaf": 5, "num_threads": 1},
                        lgb.Dataset(x[["a", "b"]], y), num_boost_round=5, init_model=None)
    # a constant feature cannot be split: every tree of this model is one leaf
    const = lgb.train({"objective": "regression", "verbose": -1, "num_threads": 1},
                      lgb.Dataset(pd.DataFrame({"k": np.ones(200)}), np.arange(200.0)), num_boost_round=3)
    assert all(t.n_nodes == 0 for t in treeshap.tree_tables(const))
    _assert_same(const, pd.DataFrame({"k": [1.0, 0.0, np.nan] * 30}))
    # mixed: single-leaf trees, then trees with splits (training continued on data that can be split)
    mixed = lgb.train({"objective": "regression", "verbose": -1, "num_threads": 1, "min_data_in_leaf": 1},
                      lgb.Dataset(pd.DataFrame({"k": np.repeat([0.0, 1.0], 50)}), np.repeat([0.0, 1.0], 50)),
                      num_boost_round=3, init_model=const)
    sizes = [t.n_nodes for t in treeshap.tree_tables(mixed)]
    assert sizes[0] == 0 and max(sizes) > 0
    _assert_same(mixed, pd.DataFrame({"k": [1.0, 0.0, np.nan, 0.5] * 20}))
    _assert_same(booster, _test_rows(x, seed=3)[["a", "b"]])


def test_decisions_match_leaf_index() -> None:
    """The decision bits lead each row to the leaf LightGBM's pred_leaf reports."""
    x, y = _synthetic()
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 15, "num_threads": 1,
                         "min_data_per_group": 5}, lgb.Dataset(x, y), num_boost_round=5)
    rows = _test_rows(x, seed=11)
    m = treeshap.to_matrix(booster, rows).astype(np.float64)
    leaves = booster.predict(rows, pred_leaf=True)
    for t, tree in enumerate(booster.dump_model()["tree_info"]):
        table = treeshap.tree_tables(booster)[t]
        left = treeshap.decisions(table, m)
        order = {}
        stack = [tree["tree_structure"]]
        while stack:  # same pre-order as tree_tables
            node = stack.pop()
            if "split_index" in node:
                order[node["split_index"]] = len(order)
                stack += [node["left_child"], node["right_child"]]
        for r in range(0, len(m), 97):
            node = tree["tree_structure"]
            while "split_index" in node:
                node = node["left_child"] if left[r, order[node["split_index"]]] else node["right_child"]
            assert node["leaf_index"] == leaves[r, t]


def test_empty_frame(shipped) -> None:
    empty = conform(pd.DataFrame(columns=list(FEATURE_NAMES)).iloc[:0])
    assert treeshap.memoised_contributions(shipped.booster, empty).shape == (0, len(FEATURE_NAMES) + 1)


# ------------------------------------------------------------------------------------------------
# vectorised pattern keys and the cross-call memo


def _packed_decisions(table: treeshap.TreeTable, x: np.ndarray) -> np.ndarray:
    left = treeshap.decisions(table, x)
    return (left.astype(np.uint64) << np.arange(table.n_nodes, dtype=np.uint64)).sum(axis=1)


def _assert_keys_match(booster: lgb.Booster, x: np.ndarray) -> treeshap.Forest:
    tables = treeshap.tree_tables(booster)
    forest = treeshap.forest_table(tables, booster.num_feature())
    keys = treeshap.forest_keys(forest, x)
    assert keys.dtype == forest.key_dtype and keys.shape == (len(forest.trees), len(x))
    for i, t in enumerate(forest.trees):
        np.testing.assert_array_equal(keys[i].astype(np.uint64), _packed_decisions(tables[t], x))
    return forest


@pytest.mark.parametrize("num_leaves", [7, 15, 31, 48])
def test_forest_keys_match_decisions(num_leaves) -> None:
    """Keys of 8, 16, 32 and 64 bits, categorical nodes, every missing type, float32 and float64."""
    x, y = _synthetic()
    widths = {7: 8, 15: 16, 31: 32, 48: 64}
    for params in ({}, {"zero_as_missing": True}, {"use_missing": False}, {"max_cat_to_onehot": 16}):
        booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": num_leaves, "min_data_in_leaf": 3,
                             "min_data_per_group": 3, "cat_l2": 1.0, "num_threads": 1, **params},
                            lgb.Dataset(x, y), num_boost_round=8)
        m = treeshap.to_matrix(booster, _test_rows(x, seed=num_leaves))
        m64 = m.astype(np.float64)
        m64[::7, 3], m64[1::7, 3], m64[2::7, 3], m64[3::7, 3] = -1.0, -0.5, 2.7, 3e9
        for matrix in (m.astype(np.float32), m64, m64[:13]):
            forest = _assert_keys_match(booster, matrix)
        assert forest.width == widths[num_leaves] and len(forest.cat_slot)


def test_forest_keys_shipped_model(shipped, real_frame) -> None:
    frame = _perturb(real_frame, 1500, seed=9)
    m = treeshap.to_matrix(shipped.booster, frame)
    assert m.dtype == np.float32
    # thresholds next to float32 values: the float32 comparison rounds them down exactly
    thresholds = np.concatenate([t.threshold for t in treeshap.tree_tables(shipped.booster)])
    thresholds = thresholds[np.isfinite(thresholds)]
    near = np.random.default_rng(4).choice(thresholds, m.size // 10)
    step = np.random.default_rng(5).integers(-1, 2, len(near))
    base = near.astype(np.float32)  # nearest float32, and the float32 on either side of it
    near32 = np.where(step > 0, np.nextafter(base, np.float32(np.inf)),
                      np.where(step < 0, np.nextafter(base, np.float32(-np.inf)), base))
    flat = m.ravel()
    flat[np.random.default_rng(6).choice(m.size, len(near), replace=False)] = near32
    _assert_keys_match(shipped.booster, m)
    _assert_keys_match(shipped.booster, m.astype(np.float64))
    _assert_same(shipped.booster, m)


def _fresh(booster: lgb.Booster) -> lgb.Booster:
    """A copy of ``booster`` with its own (empty) memo."""
    return lgb.Booster(model_str=booster.model_to_string())


def test_memo_split_calls_equal_one_call(shipped, real_frame) -> None:
    frame = _perturb(real_frame, 3000, seed=12)
    want = shipped.booster.predict(frame, pred_contrib=True)
    one = treeshap.memoised_contributions(_fresh(shipped.booster), frame)
    booster = _fresh(shipped.booster)
    memo = treeshap.contribution_memo(booster)
    parts = [treeshap.memoised_contributions(booster, frame.iloc[a:b]) for a, b in ((0, 700), (700, 2100), (2100, 3000))]
    split = np.concatenate(parts)
    np.testing.assert_array_equal(split, one)  # same sums in the same order, whatever the memo held
    np.testing.assert_allclose(split, want, rtol=0, atol=1e-12)
    assert memo.entries > 0 and 0 < memo.misses < memo.lookups
    # a second pass only hits
    misses = memo.misses
    again = treeshap.memoised_contributions(booster, frame.iloc[100:2900])
    np.testing.assert_array_equal(again, one[100:2900])
    assert memo.misses == misses
    assert treeshap.contribution_memo(booster) is memo


def test_memo_bounded(shipped, real_frame) -> None:
    """A memo far too small for the patterns evicts and stays exact."""
    booster = _fresh(shipped.booster)
    memo = treeshap.contribution_memo(booster)
    memo.max_bytes = 200_000
    frame = _perturb(real_frame, 2000, seed=13)
    want = booster.predict(frame, pred_contrib=True)
    for a in range(0, 2000, 500):
        got = treeshap.memoised_contributions(booster, frame.iloc[a:a + 500])
        np.testing.assert_allclose(got, want[a:a + 500], rtol=0, atol=1e-12)
        assert memo.nbytes <= memo.max_bytes
    assert memo.evictions > 0
    np.testing.assert_allclose(treeshap.memoised_contributions(booster, frame), want, rtol=0, atol=1e-12)
    memo.max_bytes = 0  # nothing kept at all
    np.testing.assert_allclose(treeshap.memoised_contributions(booster, frame), want, rtol=0, atol=1e-12)
    memo.clear()
    assert memo.entries == 0


def test_memo_threads(shipped, real_frame) -> None:
    """Threads sharing one booster's memo (as the HTTP service does) get exact results."""
    from concurrent.futures import ThreadPoolExecutor

    booster = _fresh(shipped.booster)
    frame = _perturb(real_frame, 2400, seed=14)
    want = booster.predict(frame, pred_contrib=True)
    scores = booster.predict(frame)
    slices = [(a, a + 600) for a in range(0, 2400, 300) if a + 600 <= 2400] * 3  # overlapping, repeated

    def run(ab: tuple[int, int]) -> float:
        a, b = ab
        if a % 900 == 0:  # meanwhile, plain predictions on the same booster stay right
            assert np.array_equal(booster.predict(frame.iloc[a:b], num_threads=1), scores[a:b])
        got = treeshap.memoised_contributions(booster, frame.iloc[a:b], num_threads=1)
        return float(np.abs(got - want[a:b]).max())

    with ThreadPoolExecutor(max_workers=4) as pool:
        diffs = list(pool.map(run, slices))
    assert max(diffs) < 1e-12
    memo = treeshap.contribution_memo(booster)
    for m in memo.snapshot():  # no key stored twice, every key in its sorted place
        assert len(np.unique(m.keys)) == m.n and (np.diff(m.keys.astype(np.int64)) > 0).all()
    memo.max_bytes = 300_000  # and while trees are being cleared
    memo.clear()
    with ThreadPoolExecutor(max_workers=4) as pool:
        diffs = list(pool.map(run, slices[:8]))
    assert max(diffs) < 1e-12 and memo.evictions > 0 and memo.nbytes <= memo.max_bytes
