"""Pinned quality floors for the shipped model (a trafilatura-style CI gate).

``data/quality_floors.json`` holds, per metric slice, the minimum held-out
value and the sha256 of the evaluation table the floors were measured on. A
floor is only ever changed by editing that file in a commit that says why.
"""

from __future__ import annotations

import json
from pathlib import Path

from .build_dataset import sha256_file


def _load(floors_path: Path) -> dict:
    if not Path(floors_path).is_file():
        raise FileNotFoundError(f"no quality floors file at {floors_path}")
    return json.loads(Path(floors_path).read_text())


def check_metrics(floors_path: Path, reports: dict) -> list[str]:
    """Problems (empty = all floors hold) for a metrics dict {slice: {metric: value}}."""
    spec = _load(floors_path)
    tol = float(spec.get("tolerance", 0.0))
    problems = []
    for slice_name, metrics in spec["floors"].items():
        got = reports.get(slice_name)
        if got is None:
            problems.append(f"slice {slice_name!r} missing from the evaluation")
            continue
        for metric, floor in metrics.items():
            value = got.get(metric)
            if value is None or value != value or value < floor - tol:
                problems.append(f"{slice_name} {metric} = {value:.4f} is below the floor {floor:.4f} (tolerance {tol})")
    return problems


def check(floors_path: Path, data_path: Path, reports: dict) -> list[str]:
    """Like check_metrics, and also refuse evaluation data other than the pinned table."""
    spec = _load(floors_path)
    problems = []
    digest = sha256_file(Path(data_path))
    if spec.get("data_sha256") and digest != spec["data_sha256"]:
        problems.append(
            f"evaluation data {data_path} has sha256 {digest[:12]}..., floors were pinned on "
            f"{spec['data_sha256'][:12]}...; rebuild with `make data` or re-pin the floors deliberately"
        )
    return problems + check_metrics(floors_path, reports)
