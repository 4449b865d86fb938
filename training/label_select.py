"""``linkq label EXPORT --n 100``: the rows whose labels would teach the model most.

Why these rows: a label teaches the factor weights most where the current score is unsure, i.e. near a
verdict threshold (in log-odds), and only if the labels do not all come from one site or speak about
one factor. Rows are picked greedily by ``uncertainty + DOMAIN_PENALTY * rows already picked from the
same referring domain + PAGE_PENALTY * rows already picked from the same source page + FACTOR_PENALTY
* rows already picked whose largest factor part is the same`` (two links of one forum thread to two of
the user's pages would mostly get one label twice);
lost links, rows that cannot be scored and repeats of a link already in the file are never asked for.

The output is the export's own rows (its columns, as read) with an empty ``label`` column first filled
by the user (strong / neutral / weak / risky, see ``training.labels``) and read back by
``linkq train --labels``; ``linkq_score`` and ``linkq_why`` say what the model thinks now.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from features.artifact import ModelArtifact
from features.factors import FACTORS
from features.pipeline import STATUS_LINK_MISSING, STATUS_OK, FeatureContext, extract_features
from features.source_kind import referring_site_of_url
from features.urls import url_key

from .labels import LabelError, _label_column, _rows, label_hash

DOMAIN_PENALTY = 1.0  # log-odds per row already picked from the same referring domain
PAGE_PENALTY = 2.0  # log-odds per row already picked from the same source page (on top of its domain's)
FACTOR_PENALTY = 0.25  # log-odds per row already picked with the same leading factor
ADDED = ("label", "linkq_score", "linkq_why")


@dataclass
class Selection:
    rows: int  # data rows in the export
    candidates: int  # rows that could be asked for (scored, live, not yet labelled)
    picked: int
    domains: int  # referring domains among the picked rows

    def describe(self, out: Path) -> str:
        """What ``linkq label`` says it wrote, and what to do next."""
        return (f"wrote {out}: {self.picked} of {self.candidates} scorable live rows ({self.rows} rows read) from "
                f"{self.domains} referring domains; fill the label column (strong / neutral / weak / risky) and run "
                f"`linkq train --labels {out}`")


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _codes(values: list[str]) -> tuple[np.ndarray, int]:
    """Each value's index among the distinct values, and how many there are."""
    idx = {v: i for i, v in enumerate(dict.fromkeys(values))}
    return np.array([idx[v] for v in values], dtype=int), len(idx)


def pick(scores: np.ndarray, leading: list[str], domains: list[str], thresholds: tuple[float, float],
         n: int, pages: list[str] | None = None) -> list[int]:
    """Indexes of the ``n`` rows to label (see the module docstring); ``pages``: each row's source
    page (default: every row its own)."""
    z = _logit(scores)
    unsure = np.minimum(np.abs(z - _logit(np.array(thresholds[0]))), np.abs(z - _logit(np.array(thresholds[1]))))
    dom, n_dom = _codes(domains)
    fac, n_fac = _codes(leading)
    page, n_page = _codes(pages) if pages is not None else (np.arange(len(scores)), len(scores))
    dom_count, fac_count, page_count = np.zeros(n_dom), np.zeros(n_fac), np.zeros(n_page)
    taken = np.zeros(len(scores), dtype=bool)
    out: list[int] = []
    for _ in range(min(n, len(scores))):
        cost = (unsure + DOMAIN_PENALTY * dom_count[dom] + PAGE_PENALTY * page_count[page]
                + FACTOR_PENALTY * fac_count[fac])
        cost[taken] = np.inf
        i = int(np.argmin(cost))
        out.append(i)
        taken[i] = True
        dom_count[dom[i]] += 1
        page_count[page[i]] += 1
        fac_count[fac[i]] += 1
    return sorted(out)


def select_rows(export: Path, out: Path, n: int, model: ModelArtifact, ctx: FeatureContext,
                pages: object | None = None) -> Selection:
    """Write the ``n`` most useful rows of ``export`` to ``out`` (CSV, empty ``label`` column)."""
    if n < 1:
        raise LabelError("--n must be at least 1")
    _, columns, rows = _rows(Path(export))
    existing = _label_column(columns)
    originals, records = [], []
    seen: set[str] = set()
    total = 0
    for _, original, rec, _ in rows:
        total += 1
        if rec is None or not rec.get("source_url") or not rec.get("target_url"):
            continue
        key = label_hash(str(rec["source_url"]), str(rec["target_url"]))
        if key in seen or (existing and str(original.get(existing) or "").strip()):
            continue  # the same link again (one label per link), or already labelled
        seen.add(key)
        originals.append(original)
        records.append(rec)
    if not records:
        raise LabelError(f"{export}: no row that could be labelled (every row is malformed or already labelled)")
    batch = extract_features(records, ctx, pages)  # the whole file: one profile, as when it is scored
    lost = batch.frame["metric_lost"].to_numpy(dtype=np.float64) >= 0.5  # NaN: not known to be lost
    ok = np.array([not s.startswith("error") for s in batch.status]) & ~lost
    idx = np.flatnonzero(ok)
    if len(idx) == 0:
        raise LabelError(f"{export}: every row is lost or cannot be scored")
    with_page = np.array([batch.status[i] in (STATUS_OK, STATUS_LINK_MISSING) for i in idx], dtype=bool)
    scores, parts, _ = model.worth(batch.frame.iloc[idx], with_page)
    mat = np.column_stack([np.abs(parts[f]) for f in FACTORS])
    leading = [FACTORS[j] if mat[k, j] > 0 else "none" for k, j in enumerate(mat.argmax(axis=1))]
    domains = [referring_site_of_url(str(records[i]["source_url"])) for i in idx]
    pages_of = [url_key(str(records[i]["source_url"])) or str(records[i]["source_url"]) for i in idx]
    chosen = pick(scores, leading, domains, (model.strong_threshold, model.weak_threshold), n, pages_of)
    head = [c for c in columns if c != existing]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([*head, *ADDED])
        for k in chosen:
            i = idx[k]
            signed = sorted(((parts[f][k], f) for f in FACTORS if parts[f][k] != 0), key=lambda t: -abs(t[0]))
            why = ", ".join(f"{f} {v:+.2f}" for v, f in signed[:3]) or "no factor evidence"
            w.writerow([originals[i].get(c, "") for c in head] + ["", f"{scores[k]:.3f}", why])
    return Selection(rows=total, candidates=len(idx), picked=len(chosen), domains=len({domains[k] for k in chosen}))


def label_rows(export: Path, out: Path, n: int, models_dir: Path, model_id: str | None = None,
               pages: Path | None = None, brands: tuple[str, ...] = (), money: tuple[str, ...] = ()) -> Selection:
    """``linkq label``: :func:`select_rows` with the model ``model_id`` of ``models_dir`` (default: the
    current one), the user's brand names and money keywords, and the pages of ``pages`` (a saved folder or
    a page cache)."""
    from features.artifact import load_model, resolve_model_dir
    from features.pages import open_pages

    from .retrain import context_for

    model = load_model(resolve_model_dir(models_dir, model_id))
    return select_rows(export, out, n, model, context_for(model, brands, money), open_pages(pages))
