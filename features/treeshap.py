"""Exact TreeSHAP contributions of a LightGBM model, computed once per decision pattern.

``booster.predict(x, pred_contrib=True)`` runs path-dependent TreeSHAP (Lundberg et al.,
arXiv:1706.06060, algorithm 2) for every row and every tree. For one tree, that algorithm reads
a row only through the branch the row takes at each internal node (the "hot" child; the other
is "cold" and is weighted by the training cover stored in the tree). Two rows that take the same
branch at *every* internal node of a tree — the same decision pattern, including nodes off their
own path — therefore get bit-for-bit the same contributions from that tree. Links share few
patterns per tree: export rows without pages show ~260 per tree in 5,000 rows and ~660 in
200,000 (at most ~5,000 for the busiest tree), so :func:`memoised_contributions`:

1. computes every row's pattern in every tree at once (:func:`forest_keys`): all trees' internal
   nodes sit in one padded table (:class:`Forest`, 8/16/32/64 slots per tree), each node compares
   one of five "views" of its column that already apply its missing-value rule, float32 matrices
   are compared in float32 against thresholds rounded down to float32, and the bools are packed
   into one integer key per (tree, row) — ~4 us per row for 300 trees;
2. looks each key up in the booster's :class:`ContributionMemo`, kept across calls and threads
   (per tree: a direct-mapped hash table, a sorted array for keys that lost their slot, and a
   growing float64 array of contributions on the tree's used columns only; bounded by
   ``MEMO_MAX_BYTES``, largest trees cleared first);
3. asks LightGBM only for the trees with new patterns, once per tree, on one representative row
   per new pattern (``start_iteration=t, num_iteration=1``; ~50 us per call plus ~5 us per
   pattern, on a private copy of the booster: LightGBM keeps a predict call's iteration range in
   the booster, so concurrent one-tree calls on a shared booster give wrong results);
4. adds each tree's contributions to its used columns, in tree order; the bias column (the sum
   of every tree's expected value) does not depend on the row and is computed once.

The only difference from one ``pred_contrib`` call is the order of floating-point additions
across trees (differences ~1e-14); results do not depend on what the memo held or on how rows
are split across calls (bit for bit). Trees with more than 64 internal nodes (none in the
shipped models) are grouped within each call only (:func:`decisions`, :func:`pattern_groups`).

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

For float32 values ``v`` and a double threshold ``t``, ``v <= t`` iff ``v <= round_down32(t)``
(the largest float32 not above ``t``, -inf below float32's range): :func:`_round_down_f32`.
Single-leaf trees only add their constant to the bias column.
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


# ------------------------------------------------------------------------------------------------
# all trees at once: one padded node table, one key per (tree, row)

_VIEWS = 5  # how a column is read: see forest_table
_BLOCK_BYTES = 8 * 2**20  # forest_keys: decisions (bools) computed at a time, bytes
_BLOCK_ROWS = 6144  # memoised_contributions: rows at a time (~55 MB of temporaries in float64)


def _round_down_f32(t: np.ndarray) -> np.ndarray:
    """The largest float32 (or -inf) <= each double of ``t`` (NaN stays NaN).

    For any float32 ``v``: ``v <= t`` (compared as doubles, as LightGBM does) iff ``v <=
    round_down(t)`` (compared as float32), including infinite ``t`` and ``|t|`` above float32's
    range, so float32 matrices are compared without widening them.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        t32 = t.astype(np.float32)
        above = t32.astype(np.float64) > t
    return np.where(above, np.nextafter(t32, np.float32(-np.inf)), t32)


@dataclass(frozen=True)
class Forest:
    """The internal nodes of every tree with 1..64 of them, padded to ``width`` slots per tree.

    Slot ``j`` of tree ``i`` is bit ``j`` of the tree's pattern key. A numerical node compares one
    "view" of its feature column with its threshold, ``left = view <= threshold``, where the view
    already applies the node's missing rule (see :func:`_views`):

    ===========================  ===============================================================
    view 0: NaN -> 0             missing type None (NaN is read as 0.0)
    view 1: as is                missing type NaN, default right (NaN <= t is false)
    view 2: 0 and NaN -> NaN     missing type Zero, default right
    view 3: NaN -> -inf          missing type NaN, default left (-inf <= t for every t)
    view 4: 0 and NaN -> -inf    missing type Zero, default left
    ===========================  ===============================================================

    Padding and categorical slots have a NaN threshold (always false); categorical slots are then
    set from ``cat_left``.
    """

    n_features: int
    width: int  # slots (bits) per tree: 8, 16, 32 or 64
    trees: np.ndarray  # int64: index in the model of each tree here (start_iteration)
    view_row: np.ndarray  # intp (trees * width): row of the views (view * n_features + feature)
    threshold64: np.ndarray  # float64 (trees * width): exact threshold (NaN: never left)
    threshold32: np.ndarray  # float32 (trees * width): _round_down_f32(threshold64)
    cat_slot: np.ndarray  # intp: slots of categorical nodes
    cat_feature: np.ndarray  # intp: their feature column
    cat_left: np.ndarray  # bool (categorical slots x categories): category goes left
    used_columns: tuple[np.ndarray, ...]  # per tree here: the feature columns it splits on
    big_trees: tuple[int, ...]  # trees with more than 64 internal nodes (per-call path)

    @property
    def key_dtype(self) -> np.dtype:
        """Unsigned integer of ``width`` bits: one pattern key."""
        return np.dtype(f"uint{self.width}")


def forest_table(tables: list[TreeTable], n_features: int) -> Forest:
    """One :class:`Forest` for the tree tables of a model (~5 ms for 300 trees)."""
    small = [t for t, tab in enumerate(tables) if 0 < tab.n_nodes <= 64]
    big = tuple(t for t, tab in enumerate(tables) if tab.n_nodes > 64)
    max_nodes = max((tables[t].n_nodes for t in small), default=1)
    width = next(w for w in (8, 16, 32, 64) if max_nodes <= w)
    view_row = np.zeros((len(small), width), dtype=np.intp)
    threshold = np.full((len(small), width), np.nan)
    cat_slot, cat_feature, cat_sets = [], [], []
    for i, t in enumerate(small):
        tab = tables[t]
        n = tab.n_nodes
        view = np.where(tab.missing_nan, np.where(tab.default_left, 3, 1),
                        np.where(tab.missing_zero, np.where(tab.default_left, 4, 2), 0))
        view_row[i, :n] = view * n_features + tab.feature
        threshold[i, :n] = tab.threshold
        for k, cats in tab.categorical:
            threshold[i, k] = np.nan
            cat_slot.append(i * width + k)
            cat_feature.append(int(tab.feature[k]))
            cat_sets.append(cats.astype(np.int64))
    n_cats = max((int(c.max()) + 1 for c in cat_sets if len(c)), default=1)
    cat_left = np.zeros((len(cat_sets), n_cats), dtype=bool)
    for j, cats in enumerate(cat_sets):
        cat_left[j, cats[cats >= 0]] = True
    threshold64 = threshold.ravel()
    return Forest(
        n_features=n_features, width=width, trees=np.array(small, dtype=np.int64),
        view_row=view_row.ravel(), threshold64=threshold64, threshold32=_round_down_f32(threshold64),
        cat_slot=np.array(cat_slot, dtype=np.intp), cat_feature=np.array(cat_feature, dtype=np.intp),
        cat_left=cat_left, used_columns=tuple(tables[t].used_columns for t in small), big_trees=big,
    )


def _views(x: np.ndarray, n_padded: int) -> np.ndarray:
    """(5 * features, n_padded): the columns of ``x`` transposed, read the five ways of
    :class:`Forest`, after LightGBM's ``|v| <= kZeroThreshold`` -> 0 (padding rows are NaN)."""
    dtype = x.dtype
    xt = np.full((x.shape[1], n_padded), np.nan, dtype=dtype)
    xt[:, : len(x)] = x.T
    with np.errstate(invalid="ignore"):
        xt[np.abs(xt) <= dtype.type(K_ZERO_THRESHOLD)] = 0.0  # float32(kZero) is kZero exactly
        zero = xt == 0.0
    nan = np.isnan(xt)
    zero |= nan
    out = np.empty((_VIEWS,) + xt.shape, dtype=dtype)
    np.copyto(out[0], xt)
    out[0][nan] = 0.0
    out[1] = xt
    np.copyto(out[2], xt)
    out[2][zero] = np.nan
    np.copyto(out[3], xt)
    out[3][nan] = -np.inf
    np.copyto(out[4], xt)
    out[4][zero] = -np.inf
    return out.reshape(_VIEWS * x.shape[1], n_padded)


def _categorical_left(forest: Forest, views: np.ndarray) -> np.ndarray:
    """Bool (categorical slots x padded rows): ``Tree::CategoricalDecision`` for each slot."""
    col = views[forest.n_features + forest.cat_feature].astype(np.float64)  # view 1: as is
    with np.errstate(invalid="ignore"):
        ok = (col < _INT_MAX + 1.0) & (np.trunc(col) >= 0)  # False for NaN
    cat = np.where(ok, np.trunc(np.where(ok, col, 0.0)), 0.0).astype(np.int64)
    inside = ok & (cat < forest.cat_left.shape[1])
    rows = np.arange(len(col))[:, None]
    return inside & forest.cat_left[rows, np.where(inside, cat, 0)]


def forest_keys(forest: Forest, x: np.ndarray) -> np.ndarray:
    """Pattern keys (trees of ``forest`` x rows, ``forest.key_dtype``): bit ``j`` of a key is set
    iff LightGBM sends the row left at slot ``j`` of the tree: :func:`decisions`, packed, bit for
    bit. ~4 us per row of 300 trees of 30 nodes.

    Works on groups of trees whose bools take ~``_BLOCK_BYTES``, and compares a few hundred slots
    at a time so that the gathered values are still in cache when compared.
    """
    n = len(x)
    n_trees, width = len(forest.trees), forest.width
    n8 = -(-n // 8) * 8
    views = _views(x, n8)
    threshold = forest.threshold32 if x.dtype == np.float32 else forest.threshold64
    cat_left = _categorical_left(forest, views)
    slots_per_take = max(8, (1 << 20) // (n8 * x.dtype.itemsize))  # ~1 MB of gathered values
    trees_per_group = max(1, _BLOCK_BYTES // (width * n8))
    # planes[t, b, q]: byte m of this uint64 is byte b (slots 8b..8b+7) of the key of row 8q+m
    planes = np.empty((n_trees, width // 8, n8 // 8), dtype="<u8")
    for t0 in range(0, n_trees, trees_per_group):
        t1 = min(n_trees, t0 + trees_per_group)
        s0, s1 = t0 * width, t1 * width
        left = np.empty((s1 - s0, n8), dtype=bool)
        for a in range(s0, s1, slots_per_take):
            b = min(s1, a + slots_per_take)
            np.less_equal(np.take(views, forest.view_row[a:b], axis=0), threshold[a:b, None],
                          out=left[a - s0: b - s0])  # NaN threshold (padding, categorical): False
        in_group = (forest.cat_slot >= s0) & (forest.cat_slot < s1)
        if in_group.any():
            left[forest.cat_slot[in_group] - s0] = cat_left[in_group]
        # a uint64 lane holds the bools of 8 consecutive rows at one slot: shifting it by i < 8
        # moves each row's bool to bit i of that row's byte
        lanes = left.view("<u8").reshape(t1 - t0, width // 8, 8, n8 // 8)
        group = planes[t0:t1]
        np.copyto(group, lanes[:, :, 0])
        for i in range(1, 8):
            group |= lanes[:, :, i] << np.uint8(i)
    by_byte = planes.view(np.uint8).reshape(n_trees, width // 8, n8)[:, :, :n]
    keys = by_byte[:, 0].astype(forest.key_dtype)
    for b in range(1, width // 8):
        keys |= by_byte[:, b].astype(forest.key_dtype) << np.uint8(8 * b)
    return keys


# ------------------------------------------------------------------------------------------------
# the cross-call memo: (tree, pattern key) -> contributions on the tree's used columns

MEMO_MAX_BYTES = 96 * 2**20  # default bound on a booster's memo (allocated arrays, bytes)


_HASH = {32: np.uint32(0x9E3779B1), 64: np.uint64(0x9E3779B97F4A7C15)}  # Fibonacci hashing


def _slot_of(keys: np.ndarray, bits: int) -> np.ndarray:
    """Slot (0 .. 2**bits - 1) of each pattern key: the top ``bits`` bits of key * golden ratio."""
    wide = 64 if keys.dtype == np.uint64 else 32
    k = keys.astype(f"uint{wide}", copy=False)
    return ((k * _HASH[wide]) >> np.uint8(wide - bits)).astype(np.intp)


@dataclass(frozen=True)
class _TreeMemo:
    """An immutable snapshot of one tree's memo. ``values`` may be shared with later snapshots,
    which only write columns from ``n`` on: a reader of this snapshot never sees them.

    A key is found through ``slot_key``/``slot_row``, a direct-mapped table of ``2**bits`` slots
    (at most a quarter full, so ~95% of rows find their key there in one gather; one of the keys
    that hash to a slot holds it, and an empty slot holds a key that does not hash to it), or else
    by binary search in the sorted ``keys``.
    """

    keys: np.ndarray  # sorted pattern keys (n)
    rows: np.ndarray  # int32 (n): column of values holding each sorted key's contributions
    values: np.ndarray  # float64 (used columns x capacity): contributions, first n columns filled
    n: int
    bits: int
    slot_key: np.ndarray  # (2**bits) key in each slot
    slot_row: np.ndarray  # int32 (2**bits): its column of values, -1 if the slot is empty

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.keys, self.rows, self.values, self.slot_key, self.slot_row))

    def lookup(self, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(column of values of each key, indices of the keys not in the memo, whose column is
        arbitrary); ~1 ns per key when the keys sit in their slots."""
        if self.n == 0:
            return np.zeros(len(key), dtype=np.int32), np.arange(len(key))
        slot = _slot_of(key, self.bits)
        col = self.slot_row.take(slot)
        off = np.flatnonzero(self.slot_key.take(slot) != key)
        if len(off) == 0:
            return col, off
        k = key[off]
        pos = np.minimum(np.searchsorted(self.keys, k), self.n - 1)
        col[off] = self.rows.take(pos)
        return col, off[self.keys.take(pos) != k]


def _empty_slots(dtype: np.dtype, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """An empty slot table: every slot holds key 0, which hashes to slot 0, except slot 0, which
    holds key 1 (its slot is the top bits of the odd hash constant, never 0)."""
    slot_key = np.zeros(2**bits, dtype=dtype)
    slot_key[0] = 1
    return slot_key, np.full(2**bits, -1, dtype=np.int32)


def _add_to_slots(slot_key: np.ndarray, slot_row: np.ndarray, bits: int, keys: np.ndarray,
                  rows: np.ndarray) -> None:
    """Put the entries (``keys``, columns ``rows``) in their slots where free (in place; when
    several want one free slot, one of them gets it, its key and row together)."""
    slot = _slot_of(keys, bits)
    free = np.flatnonzero(slot_row[slot] < 0)
    if len(free) == 0:
        return
    slot, rows = slot[free], rows[free]
    slot_row[slot] = rows
    winner = np.flatnonzero(slot_row[slot] == rows)  # exactly one entry per slot
    slot_key[slot[winner]] = keys[free[winner]]


class ContributionMemo:
    """Contributions of each (tree, decision pattern) of one booster, across calls.

    Thread-safe: readers take :meth:`snapshot` (a list of immutable :class:`_TreeMemo`) and need
    no lock after it; :meth:`insert` builds new snapshots under a lock. The arrays it holds are
    bounded by ``max_bytes``: past it, the trees with the largest memos are cleared (their
    patterns are recomputed when they come back).
    """

    def __init__(self, booster: lgb.Booster, tables: list[TreeTable], max_bytes: int = MEMO_MAX_BYTES):
        self.n_trees = booster.num_trees()
        self.forest = forest_table(tables, booster.num_feature())
        # LightGBM keeps the iteration range of the last predict call in the booster, shared by
        # concurrent calls (Booster::Predict takes a shared lock, then GBDT::InitPredict): one-tree
        # calls would race with each other and with full predictions of the caller's booster. They
        # go to a private copy, one at a time.
        self._booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=-1))
        self._predict_lock = threading.Lock()
        # the bias column is the sum of every tree's ExpectedValue, added in tree order; it does
        # not depend on the row
        row = np.full((1, booster.num_feature()), np.nan)
        self.bias = float(self._booster.predict(row, pred_contrib=True, start_iteration=0,
                                                num_iteration=self.n_trees, num_threads=1)[0, -1])
        self.max_bytes = max_bytes
        self.lookups = 0  # (row, tree) pairs looked up
        self.misses = 0  # of which not in the memo
        self.evictions = 0  # trees cleared to stay under max_bytes
        self._lock = threading.Lock()
        self._empty = [self._new(i) for i in range(len(self.forest.trees))]
        self._trees = list(self._empty)
        self._bytes = sum(m.nbytes for m in self._trees)

    def _new(self, i: int) -> _TreeMemo:
        dtype = self.forest.key_dtype
        slot_key, slot_row = _empty_slots(dtype, 0)
        return _TreeMemo(keys=np.zeros(0, dtype=dtype), rows=np.zeros(0, dtype=np.int32),
                         values=np.zeros((len(self.forest.used_columns[i]), 0)), n=0, bits=0,
                         slot_key=slot_key, slot_row=slot_row)

    def tree_contributions(self, x: np.ndarray, tree: int, columns: np.ndarray, num_threads: int) -> np.ndarray:
        """(columns x rows): LightGBM's pred_contrib of tree ``tree`` alone for rows ``x``, on
        ``columns`` only (~50 us per call plus ~5 us per row for 31 leaves)."""
        threads = num_threads if len(x) >= 256 else 1  # OpenMP hand-off costs more than a few rows
        with self._predict_lock:
            part = self._booster.predict(x, pred_contrib=True, start_iteration=tree, num_iteration=1,
                                         validate_features=False, num_threads=threads)
        return np.ascontiguousarray(part[:, columns].T)

    def snapshot(self) -> list[_TreeMemo]:
        """The current memo of every tree of ``forest`` (immutable: safe to read without a lock)."""
        with self._lock:
            return list(self._trees)

    @property
    def nbytes(self) -> int:
        """Bytes held by the memo's arrays (allocated capacity included)."""
        return self._bytes

    @property
    def entries(self) -> int:
        """(tree, pattern) pairs held."""
        return sum(m.n for m in self._trees)

    def clear(self) -> None:
        with self._lock:
            self._trees = list(self._empty)
            self._bytes = sum(m.nbytes for m in self._trees)

    def insert(self, new: list[tuple[int, np.ndarray, np.ndarray]], seen: list[_TreeMemo],
               lookups: int, misses: int) -> None:
        """Add (tree position, sorted distinct keys, values (used columns x keys)) entries, the
        keys missing from snapshot ``seen``; keys another thread added meanwhile are skipped.
        ~30 us per tree plus ~20 ns per entry."""
        with self._lock:
            self.lookups += lookups
            self.misses += misses
            for i, keys, values in new:
                old = self._trees[i]
                memo = self._extend(old, keys, values, seen[i])
                self._bytes += memo.nbytes - old.nbytes
                self._trees[i] = memo
            while self._bytes > self.max_bytes:
                j = max(range(len(self._trees)), key=lambda k: self._trees[k].nbytes)
                if self._trees[j].n == 0:
                    break
                self._bytes -= self._trees[j].nbytes - self._empty[j].nbytes
                self._trees[j] = self._empty[j]
                self.evictions += 1

    @staticmethod
    def _extend(old: _TreeMemo, keys: np.ndarray, values: np.ndarray, seen: _TreeMemo) -> _TreeMemo:
        """``old`` plus the entries of ``keys`` it lacks (new arrays except ``values``' buffer;
        ``seen`` is the snapshot the keys were missing from: if it is ``old``, all are new)."""
        n = old.n
        if n and old is not seen:  # another thread may have added some
            pos = np.minimum(np.searchsorted(old.keys, keys), n - 1)
            fresh = old.keys[pos] != keys
            keys, values = keys[fresh], values[:, fresh]
        m = len(keys)
        if m == 0:
            return old
        buf = old.values
        if n + m > buf.shape[1]:  # grow by doubling: appends cost O(1) per entry
            buf = np.empty((buf.shape[0], max(2 * buf.shape[1], n + m, 64)))
            buf[:, :n] = old.values[:, :n]
        buf[:, n: n + m] = values
        new_rows = np.arange(n, n + m, dtype=np.int32)
        merged = np.concatenate([old.keys, keys])
        order = np.argsort(merged, kind="stable")
        sorted_keys = merged[order]
        sorted_rows = np.concatenate([old.rows, new_rows])[order]
        bits = old.bits
        if 4 * (n + m) <= 2**bits:
            slot_key, slot_row = old.slot_key.copy(), old.slot_row.copy()
            _add_to_slots(slot_key, slot_row, bits, keys, new_rows)
        else:  # rebuild 8x larger than the entries, the oldest first (they are the common ones)
            bits = max(6, int(np.ceil(np.log2(8 * (n + m)))))
            slot_key, slot_row = _empty_slots(old.keys.dtype, bits)
            by_row = np.empty(n + m, dtype=old.keys.dtype)
            by_row[sorted_rows] = sorted_keys
            _add_to_slots(slot_key, slot_row, bits, by_row, np.arange(n + m, dtype=np.int32))
        return _TreeMemo(keys=sorted_keys, rows=sorted_rows, values=buf, n=n + m, bits=bits,
                         slot_key=slot_key, slot_row=slot_row)


_MEMOS: weakref.WeakKeyDictionary[lgb.Booster, ContributionMemo] = weakref.WeakKeyDictionary()


def contribution_memo(booster: lgb.Booster) -> ContributionMemo:
    """The :class:`ContributionMemo` of ``booster`` (built on first use, dropped with the booster;
    rebuilt if the booster gained trees)."""
    tables = cached_tree_tables(booster)
    with _CACHE_LOCK:
        memo = _MEMOS.get(booster)
        if memo is None or memo.n_trees != booster.num_trees():
            memo = _MEMOS[booster] = ContributionMemo(booster, tables)
        return memo


def _block_contributions(memo: ContributionMemo, x: np.ndarray, out: np.ndarray, num_threads: int) -> None:
    """Add the contributions of every tree with 1..64 internal nodes to ``out`` (features x rows),
    in tree order, so that the sums do not depend on what the memo held (bit for bit)."""
    forest = memo.forest
    keys = forest_keys(forest, x)
    snap = memo.snapshot()
    found = [memo_i.lookup(keys[i]) for i, memo_i in enumerate(snap)]
    computed: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    new = []
    for i, (_, miss) in enumerate(found):  # LightGBM only for the trees with new patterns
        if len(miss):
            new_keys, first, inverse = np.unique(keys[i][miss], return_index=True, return_inverse=True)
            values = memo.tree_contributions(x[miss[first]], int(forest.trees[i]), forest.used_columns[i],
                                             num_threads)
            computed[i] = (values, inverse)
            new.append((i, new_keys, values))
    for i, (col, miss) in enumerate(found):
        if i not in computed:
            out[forest.used_columns[i]] += snap[i].values.take(col, axis=1)
            continue
        values, inverse = computed[i]
        if len(miss) == len(col):
            vals = values.take(inverse, axis=1)
        else:
            vals = snap[i].values.take(col, axis=1)
            vals[:, miss] = values.take(inverse, axis=1)
        out[forest.used_columns[i]] += vals
    memo.insert(new, snap, lookups=keys.size, misses=sum(len(miss) for _, miss in found))


def memoised_contributions(booster: lgb.Booster, data: pd.DataFrame | np.ndarray,
                           tables: list[TreeTable] | None = None, num_threads: int = 0) -> np.ndarray:
    """``booster.predict(data, pred_contrib=True)`` (rows x (features + 1)), exact, computed once
    per distinct decision pattern of each tree and remembered across calls (see the module
    docstring). ``tables`` defaults to :func:`cached_tree_tables` (the memo always uses those)."""
    x = to_matrix(booster, data)
    n_features = booster.num_feature()
    if len(x) == 0:
        return np.zeros((0, n_features + 1))
    if booster.num_model_per_iteration() != 1:  # multiclass: trees != iterations; not needed here
        return booster.predict(x, pred_contrib=True, num_threads=num_threads)
    tables = tables if tables is not None else cached_tree_tables(booster)
    memo = contribution_memo(booster)
    result = np.empty((len(x), n_features + 1))
    result[:, -1] = memo.bias
    for r0 in range(0, len(x), _BLOCK_ROWS):
        xb = x[r0: r0 + _BLOCK_ROWS]
        out = np.zeros((n_features, len(xb)))
        _block_contributions(memo, xb, out, num_threads)
        for t in memo.forest.big_trees:  # > 64 internal nodes: grouped within the call only
            first, inverse = pattern_groups(decisions(tables[t], xb))
            cols = tables[t].used_columns
            out[cols] += memo.tree_contributions(xb[first], t, cols, num_threads).take(inverse, axis=1)
        result[r0: r0 + len(xb), :-1] = out.T
    return result
