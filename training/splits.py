"""Splits by site: every page of a site falls in the same fold, in every model.

A stable hash of the site name picks the fold, so the placement model's
out-of-fold predictions and the link model's held-out test sites agree across
runs and machines. Fold 0 is the link model's test set.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

N_FOLDS = 5
TEST_FOLD = 0


def fold_of(site: str, n_folds: int = N_FOLDS) -> int:
    return int(hashlib.sha256(site.encode("utf-8")).hexdigest()[:8], 16) % n_folds


def site_folds(sites: pd.Series, n_folds: int = N_FOLDS) -> np.ndarray:
    cache: dict[str, int] = {}
    return np.array([cache.setdefault(s, fold_of(s, n_folds)) for s in sites.astype(str)], dtype=np.int8)
