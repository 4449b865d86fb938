"""Exact TreeSHAP contributions of a LightGBM model, computed once per decision pattern.

``booster.predict(x, pred_contrib=True)`` runs path-dependent TreeSHAP (Lundberg et al.,
arXiv:1706.06060, algorithm 2) for every row and every tree. For one tree, that algorithm reads
a row only through the branch the row takes at each internal node (the "hot" child; the other
is "cold" and is weighted by the training cover stored in the tree). Two rows that take the same
branch at *every* internal node of a tree — the same decision pattern, including nodes off their
own path — therefore get bit-for-bit the same contributions from that tree. Batches of links
share few patterns per tree (export rows without pages: a few hundred per tree per 5,000 rows),
so :func:`memoised_contributions` computes each row's pattern per tree with numpy and asks
LightGBM for the contributions of that one tree (``start_iteration=t, num_iteration=1``) on one
representative row per distinct pattern. The only difference from one ``pred_contrib`` call is
the order of floating-point additions across trees (differences ~1e-14).

The decisions must be LightGBM's own, bit for bit (``Tree::NumericalDecision`` and
``Tree::CategoricalDecision`` in ``include/LightGBM/tree.h``; ``LightGBM::kZeroThreshold`` in
``meta.h``), for the row as LightGBM's predictor sees it:

* The Python package turns a DataFrame into a float32 (or float64) matrix: categorical columns
  become their codes in the categories stored with the model (``pandas_categorical``), and
  unknown categories / missing values (code -1) become NaN (:func:`to_matrix` does the same).
  The C++ predictor widens each value to double and stores ``|v| <= kZeroThreshold`` as 0.
* Numerical split with missing type ``None``: NaN is read as 0.0; go left iff ``v <= threshold``.
* Missing type ``Zero``: NaN is read as 0.0; a value with ``|v| <= kZeroThreshold`` goes to the
  default side (``default_left``); otherwise ``v <= threshold``.
* Missing type ``NaN``: NaN goes to the default side; otherwise ``v <= threshold``.
* ``kZeroThreshold`` is ``1e-35f``, a *float* constant: as a double it is 1.0000000180025095e-35,
  not 1e-35.
* Categorical split: NaN goes right; otherwise the value is truncated toward zero to an int
  (``static_cast<int>``: -0.5 is category 0); a negative int goes right; the row goes left iff
  the category is in the split's bitset (``dump_model`` lists those categories as ``a||b||c``);
  categories beyond the bitset, and values too large for an int, go right.

Single-leaf trees only add their constant to the bias column. A tree's pattern is packed into
a uint64 when it has at most 64 internal nodes, and into bytes (``np.packbits``) otherwise.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

# LightGBM's kZeroThreshold is declared ``const double kZeroThreshold = 1e-35f``.
K_ZERO_THRESHOLD = float(np.float32(1e-35))
_INT_MAX = 2**31 - 1


@dataclass(frozen=True)
class TreeTable:
    """The internal nodes of one tree as arrays (any order: a pattern is a set of decisions)."""

    feature: np.ndarray  # int64: column index of each node's split feature
    threshold: np.ndarray  # float64: numerical threshold (NaN for categorical nodes)
    missing_nan: np.ndarray  # bool: missing type NaN
    missing_zero: np.ndarray  # bool: missing type Zero
    default_left: np.ndarray  # bool: where missing values go
    categorical: tuple[tuple[int, np.ndarray], ...]  # (node position, categories that go left)
    leaf_value: float  # the constant of a single-leaf tree (0.0 otherwise)

    @property
    def n_nodes(self) -> int:
        return len(self.feature)

    @property
    def used_columns(self) -> np.ndarray:
        """Feature columns this tree can contribute to (pred_contrib is exactly 0 elsewhere)."""
        return np.unique(self.feature)


def _model_text_thresholds(booster: lgb.Booster) -> list[np.ndarray]:
    """Per tree, the ``threshold=`` array of the model text, indexed by split index.

    ``dump_model`` writes infinite thresholds as +-1e300 (``Common::AvoidInf``), but the model
    text keeps ``inf``, as does the loaded tree that predicts: +inf must go left of such a split.
    """
    out = []
    for block in booster.model_to_string().split("\nTree=")[1:]:
        line = next((ln for ln in block.split("\n", 40) if ln.startswith("threshold=")), "threshold=")
        out.append(np.array([float(v) for v in line[len("threshold="):].split()], dtype=np.float64))
    return out


def tree_tables(booster: lgb.Booster) -> list[TreeTable]:
    """One :class:`TreeTable` per tree of ``booster`` (from ``dump_model``, with the exact
    thresholds of the model text; ~0.1 s per 300 trees)."""
    tables = []
    texts = _model_text_thresholds(booster)
    for tree, text in zip(booster.dump_model()["tree_info"], texts, strict=True):
        root = tree["tree_structure"]
        nodes: list[dict] = []
        stack = [root]
        while stack:
            node = stack.pop()
            if "split_index" in node:
                nodes.append(node)
                stack += [node["left_child"], node["right_child"]]
        numeric = [n["decision_type"] != "==" for n in nodes]
        tables.append(TreeTable(
            feature=np.array([n["split_feature"] for n in nodes], dtype=np.int64),
            threshold=np.array([text[n["split_index"]] if num else np.nan
                                for n, num in zip(nodes, numeric, strict=True)], dtype=np.float64),
            missing_nan=np.array([n["missing_type"] == "NaN" for n in nodes], dtype=bool),
            missing_zero=np.array([n["missing_type"] == "Zero" for n in nodes], dtype=bool),
            default_left=np.array([bool(n["default_left"]) for n in nodes], dtype=bool),
            categorical=tuple(
                (k, np.array([int(c) for c in str(n["threshold"]).split("||")], dtype=np.float64))
                for k, (n, num) in enumerate(zip(nodes, numeric, strict=True)) if not num
            ),
            leaf_value=float(root.get("leaf_value", 0.0)) if "split_index" not in root else 0.0,
        ))
    return tables


_CACHE: weakref.WeakKeyDictionary[lgb.Booster, list[TreeTable]] = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()


def cached_tree_tables(booster: lgb.Booster) -> list[TreeTable]:
    """:func:`tree_tables` computed once per booster object (dropped with the booster)."""
    with _CACHE_LOCK:
        tables = _CACHE.get(booster)
        if tables is None:
            tables = _CACHE[booster] = tree_tables(booster)
        return tables


def to_matrix(booster: lgb.Booster, data: pd.DataFrame | np.ndarray) -> np.ndarray:
    """The matrix LightGBM's Python package predicts on for ``data`` (float32 or float64)."""
    if not isinstance(data, pd.DataFrame):
        x = np.asarray(data)
        return x if x.dtype in (np.float32, np.float64) else x.astype(np.float64)
    frame = data.copy(deep=False)
    cat_cols = [c for c, dt in zip(frame.columns, frame.dtypes, strict=True) if isinstance(dt, pd.CategoricalDtype)]
    stored = booster.pandas_categorical
    if stored is not None and len(stored) != len(cat_cols):
        raise ValueError("categorical columns of the frame do not match the model's")
    for i, col in enumerate(cat_cols):
        column = frame[col]
        if stored is not None and list(column.cat.categories) != list(stored[i]):
            column = column.cat.set_categories(stored[i])
        codes = column.cat.codes.to_numpy()
        frame[col] = np.where(codes < 0, np.nan, codes.astype(np.float64)).astype(np.float32)
    dtype = np.result_type(*[dt.type for dt in frame.dtypes], np.float32)
    return frame.to_numpy(dtype=dtype, na_value=np.nan)


def decisions(table: TreeTable, x: np.ndarray) -> np.ndarray:
    """Bool (rows x internal nodes): True where LightGBM sends the row to the left child."""
    v = x[:, table.feature].astype(np.float64)  # float32 -> double is exact, as in LightGBM
    v[np.abs(v) <= K_ZERO_THRESHOLD] = 0.0  # the predictor stores these as 0 (NaN stays NaN)
    nan = np.isnan(v)
    v0 = np.where(nan, 0.0, v)  # NaN is 0.0 unless the missing type is NaN
    with np.errstate(invalid="ignore"):
        left = v0 <= table.threshold  # categorical nodes (NaN threshold) are set below
    default = (nan & table.missing_nan) | ((v0 == 0.0) & table.missing_zero)
    left = np.where(default, table.default_left, left)
    for k, cats in table.categorical:
        col = v[:, k]
        with np.errstate(invalid="ignore"):
            ok = ~nan[:, k] & (col < _INT_MAX + 1.0) & (np.trunc(col) >= 0)
        left[:, k] = ok & np.isin(np.trunc(np.where(ok, col, -1.0)), cats)
    return left


def pattern_groups(left: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index of one representative row per distinct pattern, pattern number of every row)."""
    if left.shape[1] <= 64:
        weights = np.uint64(1) << np.arange(left.shape[1], dtype=np.uint64)
        keys = np.bitwise_or.reduce(np.where(left, weights, np.uint64(0)), axis=1)
    else:
        packed = np.ascontiguousarray(np.packbits(left, axis=1))
        keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return first, inverse.ravel()


def memoised_contributions(booster: lgb.Booster, data: pd.DataFrame | np.ndarray,
                           tables: list[TreeTable] | None = None, num_threads: int = 0) -> np.ndarray:
    """``booster.predict(data, pred_contrib=True)`` (rows x (features + 1)), exact, computed once
    per distinct decision pattern of each tree (see the module docstring)."""
    x = to_matrix(booster, data)
    n_features = booster.num_feature()
    if len(x) == 0:
        return np.zeros((0, n_features + 1))
    if booster.num_model_per_iteration() != 1:  # multiclass: trees != iterations; not needed here
        return booster.predict(x, pred_contrib=True, num_threads=num_threads)
    tables = tables if tables is not None else cached_tree_tables(booster)
    out = np.zeros((len(x), n_features + 1))
    for t, table in enumerate(tables):
        if table.n_nodes == 0:
            out[:, -1] += table.leaf_value
            continue
        first, inverse = pattern_groups(decisions(table, x))
        part = booster.predict(x[first], pred_contrib=True, start_iteration=t, num_iteration=1,
                               validate_features=False, num_threads=num_threads)
        cols = np.append(table.used_columns, n_features)  # pred_contrib is 0.0 in other columns
        out[:, cols] += part[:, cols][inverse]
    return out
