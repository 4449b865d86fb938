"""Training tables: the default set, a user's labels, or both.

A user's labels are link records with a label column (or a disavow file plus
the export it was made from). They are featurised through the same pipeline as
scoring, with page HTML when it is inline or in a pages folder, and get the
columns the default table has (site, fold, mode, corpus='user') so that the
same split-by-site training and evaluation apply.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

from features.disavow import parse_disavow
from features.pages import open_pages
from features.pipeline import STATUS_OK, extract_features, load_context
from features.recordio import read_records
from features.schema import FEATURE_NAMES
from features.urls import registered_domain

from .build_dataset import sha256_file
from .splits import site_folds
from .train import MIN_PER_CLASS, TrainingDataError

STRONG_WORDS = {"strong", "1", "keep", "good", "true", "yes", "editorial", "ok"}
WEAK_WORDS = {"weak", "0", "disavow", "bad", "false", "no", "toxic", "spam", "remove"}
LABEL_COLUMNS = ("label", "Label", "verdict_user", "user_label", "LABEL")


def parse_label(v: object) -> int | None:
    s = str(v).strip().lower() if v is not None else ""
    if s in STRONG_WORDS:
        return 1
    if s in WEAK_WORDS:
        return 0
    try:
        f = float(s)
    except ValueError:
        return None
    return 1 if f == 1.0 else 0 if f == 0.0 else None


def labelled_records_from_file(path: Path) -> list[dict]:
    """Records with an integer ``label`` from a CSV/JSONL with a label column."""
    out = []
    for raw in read_records(path):
        col = next((c for c in LABEL_COLUMNS if c in raw), None)
        if col is None:
            raise TrainingDataError(f"{path} has no label column (one of {', '.join(LABEL_COLUMNS)})")
        lab = parse_label(raw[col])
        if lab is not None:
            out.append({**raw, "label": lab})
    return out


def labelled_records_from_disavow(disavow: Path, export_rows: Iterable[dict], rest: str) -> list[dict]:
    """Disavowed URLs/domains become weak; the rest are strong only if ``rest == 'strong'``."""
    d = parse_disavow(disavow.read_text(encoding="utf-8-sig", errors="replace"))
    out = []
    for raw in export_rows:
        src = str(raw.get("source_url") or "")
        if not src:
            continue
        if d.covers(src):
            out.append({**raw, "label": 0})
        elif rest == "strong":
            out.append({**raw, "label": 1})
    return out


def featurise_user_records(records: list[dict], pages: Path | None, embedding: str | None = None) -> pd.DataFrame:
    """Feature table for labelled user records (rows that fail validation are dropped and counted)."""
    ctx = load_context(embedding) if embedding else load_context()
    batch = extract_features(records, ctx, open_pages(pages))
    keep = [i for i, s in enumerate(batch.status) if not s.startswith("error")]
    frame = batch.frame.iloc[keep].reset_index(drop=True)
    meta = pd.DataFrame(
        {
            "label": [int(records[i]["label"]) for i in keep],
            "source_url": [records[i]["source_url"] for i in keep],
            "mode": ["html" if batch.status[i] in (STATUS_OK, "link_missing") else "export" for i in keep],
        }
    )
    meta["site"] = meta["source_url"].map(lambda u: registered_domain(str(u)))
    meta["corpus"] = "user"
    meta["synthetic"] = 0
    meta["scope"] = "external"
    meta["fold"] = site_folds(meta["site"])
    return pd.concat([meta, frame], axis=1)


def assemble_training_table(
    default_table: Path | None,
    labels: Path | None = None,
    disavow: Path | None = None,
    export: Path | None = None,
    rest: str = "unlabelled",
    pages: Path | None = None,
    export_reader: Callable[[Path], Iterable[dict]] | None = None,
    log: Callable[[str], None] = print,
    embedding: str | None = None,
) -> tuple[pd.DataFrame, list[dict]]:
    """The table ``linkq train`` fits on, and the list of data files with their hashes."""
    parts: list[pd.DataFrame] = []
    files: list[dict] = []
    user: list[dict] = []
    if labels is not None:
        user += labelled_records_from_file(labels)
        files.append({"path": str(labels), "sha256": sha256_file(labels), "kind": "user labels"})
    if disavow is not None:
        if export is None:
            raise TrainingDataError("--disavow needs --export: the backlink export the disavow file was made from")
        rows = export_reader(export) if export_reader else read_records(export)
        user += labelled_records_from_disavow(disavow, rows, rest)
        files += [{"path": str(disavow), "sha256": sha256_file(disavow), "kind": "disavow"},
                  {"path": str(export), "sha256": sha256_file(export), "kind": "export"}]
    if labels is not None or disavow is not None:
        strong = sum(r["label"] == 1 for r in user)
        weak = len(user) - strong
        if strong < MIN_PER_CLASS or weak < MIN_PER_CLASS:
            hint = " (with --disavow, pass --rest strong if the links you kept are good)" if disavow else ""
            raise TrainingDataError(
                f"need at least {MIN_PER_CLASS} strong and {MIN_PER_CLASS} weak labels; "
                f"got {strong} strong, {weak} weak{hint}"
            )
        log(f"user labels: {strong} strong, {weak} weak")
        parts.append(featurise_user_records(user, pages, embedding))
    if default_table is not None:
        path = default_table / "links.parquet" if default_table.is_dir() else default_table
        if not path.is_file():
            raise FileNotFoundError(f"default training table {path} not found; build it with `make data`")
        parts.append(pd.read_parquet(path))
        files.append({"path": str(path), "sha256": sha256_file(path), "kind": "default training set",
                      "rows": int(len(parts[-1]))})
    if not parts:
        raise TrainingDataError("nothing to train on: give --data, --labels or --disavow/--export")
    df = pd.concat(parts, ignore_index=True)
    missing = [c for c in FEATURE_NAMES if c not in df]
    if missing:
        raise TrainingDataError(f"training table lacks features {missing[:5]}; rebuild it with `make data`")
    return df, files
