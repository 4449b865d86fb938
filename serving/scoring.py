"""The scoring core: model artifact + link records -> score, verdict, reasons, evidence.

Pure Python, no BentoML: the CLI, batch scoring and the HTTP service all call
``Scorer.score``. A record that cannot be featurised comes back with
``status = "error: ..."`` and no score; the others are scored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from features.artifact import ModelArtifact, default_models_dir, load_model, resolve_model_dir
from features.embeddings import Embedder
from features.factors import editorial_words
from features.html_text import normalise_terms
from features.pages import PageSource
from features.pipeline import (
    STATUS_LINK_MISSING,
    STATUS_NO_PAGE,
    FeatureContext,
    extract_features,
    load_context,
)
from features.profile import ProfileStats
from features.records import LinkRecord
from features.schema import FEATURE_NAMES

from .reasons import REASON_COLUMNS, factor_reasons_batch
from .result_fields import FLAG_RULES, FLAG_WORDS, RESULT_FIELDS, risk_class  # noqa: F401 - re-exported for callers


def risk_of(flags: Sequence[str], verdict: str) -> str:
    """The ``risk`` cell: :func:`serving.result_fields.risk_class`."""
    return risk_class(tuple(flags), verdict)


def risk_flags(values: Mapping[str, object]) -> list[str]:
    """Names of the manipulation signals present in one row's feature values."""
    out = []
    for name, feature, at_least, _ in FLAG_RULES:
        v = values.get(feature)
        if isinstance(v, float) and v == v and v >= at_least:
            out.append(name)
    return out


def risk_flags_batch(frame: pd.DataFrame) -> list[list[str]]:
    """:func:`risk_flags` for every row of a feature frame, one numpy comparison per rule."""
    hits = [(name, np.nan_to_num(frame[feature].to_numpy(dtype=np.float64), nan=-np.inf) >= at_least)
            for name, feature, at_least, _ in FLAG_RULES if feature in frame.columns]
    any_hit = np.logical_or.reduce([h for _, h in hits]) if hits else np.zeros(len(frame), dtype=bool)
    out: list[list[str]] = [[] for _ in range(len(frame))]
    for i in np.flatnonzero(any_hit):
        out[i] = [name for name, h in hits if h[i]]
    return out


def _value_columns(frame: pd.DataFrame) -> list[Sequence[object]]:
    """Each feature's values as plain Python objects, by column in schema order: memoryviews of
    the float32 columns (indexing one gives the Python float ``tolist`` would, ~1.5 us per row
    less when only a few values per row are read, as reasons do) and the zone names as a list."""
    out: list[Sequence[object]] = []
    for name in FEATURE_NAMES:
        col = frame[name]
        arr = col.to_numpy() if col.dtype == np.float32 else None
        out.append(memoryview(np.ascontiguousarray(arr)) if arr is not None else col.tolist())
    return out


_WITH_PAGE = frozenset({"ok", STATUS_LINK_MISSING})  # feature statuses of rows whose page was read


def result_status(feature_status: str) -> str:
    if feature_status.startswith("error: page_gone"):
        return "page_gone"
    if feature_status == STATUS_NO_PAGE:
        return "scored_without_page"
    if feature_status == STATUS_LINK_MISSING:
        return "link_missing"
    if feature_status.startswith("error"):
        return feature_status
    return "scored"


@dataclass
class Scorer:
    """A loaded model and the feature pipeline it was trained with (loaded once per process)."""

    model: ModelArtifact
    ctx: FeatureContext

    @classmethod
    def load(
        cls, model_id: str | None = None, models_dir: Path | None = None, embedder: Embedder | None = None
    ) -> Scorer:
        folder = resolve_model_dir(models_dir or default_models_dir(), model_id)
        model = load_model(folder)
        ctx = load_context(model.embedding, embedder=embedder)
        if ctx.embedder.name != model.embedding:
            load_model(folder, ctx.embedder.name)  # raises ModelMismatch naming both
        return cls(model=model, ctx=ctx)

    def score(
        self,
        records: Sequence[Mapping[str, object] | LinkRecord],
        pages: PageSource | None = None,
        explain: bool = False,
        brands: Sequence[str] = (),
        money: Sequence[str] = (),
        profile: ProfileStats | Sequence[ProfileStats] | None = None,
    ) -> list[dict[str, object]]:
        """One result per record, in order: score (0-1), verdict, risk, reasons, placement_zone, status,
        flags. ``brands`` / ``money``: the user's brand names and money keywords (``--brand``,
        ``--money``): anchors are classed against them instead of the target's domain name alone.
        ``profile``: the patterns of the whole export (``features.profile``), or one per record;
        without it the records given are the profile (one HTTP request)."""
        self.ctx.brands = normalise_terms(brands)
        self.ctx.money = normalise_terms(money)
        batch = extract_features(records, self.ctx, pages, profile=profile, lean=not explain)
        ok = [i for i, s in enumerate(batch.status) if not s.startswith("error")]
        results: list[dict[str, object]] = []
        statuses: dict[str, str] = {}  # feature status -> result status (a few distinct ones)
        for s, ev in zip(batch.status, batch.evidence, strict=True):
            status = statuses.get(s)
            if status is None:
                status = statuses[s] = result_status(s)
            results.append({"score": None, "verdict": None, "risk": "", "reasons": [],
                            "placement_zone": ev.get("placement_zone"), "status": status, "flags": []})
        page_status = getattr(pages, "status", None)  # a page cache knows noindex pages
        if page_status is not None:
            for r, raw in zip(results, records, strict=True):
                src = raw.source_url if isinstance(raw, LinkRecord) else raw.get("source_url")
                if r["status"] == "scored" and isinstance(src, str) and page_status(src) == "noindex":
                    r["status"] = "noindex"
        if not ok:
            return results
        frame = batch.frame if len(ok) == len(records) else batch.frame.iloc[ok]
        with_page = np.array([batch.status[i] in _WITH_PAGE for i in ok], dtype=bool)
        scores, parts, values = self.model.worth(frame, with_page)
        cols = {name: frame[name].to_numpy(dtype=np.float64) for name in REASON_COLUMNS}
        verdicts = self.model.verdicts(scores)
        flags = risk_flags_batch(frame)
        lost = (frame["metric_lost"].to_numpy(dtype=np.float64) >= 0.5).tolist()
        evidence = [batch.evidence[i] for i in ok]
        for ev, page_read in zip(evidence, with_page.tolist(), strict=True):  # this batch's own dicts
            ev["with_page"] = page_read
        placement = values["placement"]
        for j in np.flatnonzero(with_page & ~np.isnan(placement)).tolist():  # export rows: none, nothing to do
            evidence[j]["editorial_p"] = editorial_words(float(placement[j]))  # the link model's, for the reason
        known = {k: ~np.isnan(v) for k, v in values.items()}
        reasons = factor_reasons_batch(parts, cols, evidence, known)
        columns = _value_columns(frame) if explain else None
        score_list = scores.tolist()  # Python floats: round() as on float(scores[j]), without numpy scalars
        for j, i in enumerate(ok):
            r = results[i]
            if lost[j]:  # a link the tool saw disappear: not scored as live, never in a disavow file
                r["status"] = "lost"
                r["reasons"] = ["lost: the SEO tool lists this link as lost or deleted"]
                continue
            verdict, row_flags = verdicts[j], flags[j]
            r["score"] = round(score_list[j], 4)
            r["verdict"] = verdict
            r["flags"] = row_flags
            if row_flags:  # the risk axis splits weak links by their flags: without one it is "" or worthless
                r["risk"] = risk_of(row_flags, verdict)
                r["reasons"] = reasons[j] + [f"risk: {FLAG_WORDS[f]}" for f in row_flags]
            else:
                r["risk"] = risk_of((), verdict)
                r["reasons"] = reasons[j]
            ev = batch.evidence[i]
            if "context" in ev:
                r["evidence"] = ev["context"]
            if columns is not None:
                r["features"] = {
                    name: (None if isinstance(col[j], float) and math.isnan(col[j]) else col[j])
                    for name, col in zip(FEATURE_NAMES, columns, strict=True)
                }
        return results

    def describe(self) -> dict[str, object]:
        meta = self.model.metadata
        return {
            "model_id": self.model.model_id,
            "schema_version": meta["schema_version"],
            "schema_hash": meta["schema_hash"],
            "embedding": meta["embedding"],
            "thresholds": meta["thresholds"],
            "metrics": meta.get("metrics", {}).get("test", {}).get("all", {}),
            "created_at": meta.get("created_at"),
        }

