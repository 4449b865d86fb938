"""``linkq features``: a file of canonical records -> one row of features per record.

Every input field except ``source_html`` (and readers' ``_`` fields) is carried through, then
``status`` (``error: line N: <why>`` for an unreadable line) and every feature in schema order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

HIDDEN_INPUT_FIELDS = ("source_html",)
PREVIEW_COLUMNS = ("status", "placement_zone", "placement_main_prob", "anchor_words", "rel_nofollow", "rel_sponsored",
                   "sim_context_target", "page_ext_links")


@dataclass(frozen=True)
class FeatureTable:
    rows: list[dict[str, object]]
    columns: list[str]
    pages_parsed: int
    seconds: float  # feature extraction alone, model loading excluded

    def write(self, out: Path) -> str:
        """Write the rows to ``out`` (.csv or .jsonl); returns what ``linkq features --out`` says it wrote
        (the rate in links per second of extraction)."""
        from .recordio import write_rows

        write_rows(out, self.rows, self.columns)
        return (f"wrote {len(self.rows)} rows to {out} ({len(self.rows) / max(self.seconds, 1e-9):.0f} links/s, "
                f"{self.pages_parsed} pages parsed)")

    def preview(self) -> list[str]:
        """``linkq features`` without ``--out``: a few telling features of every row, as text lines."""
        from .recordio import text_table

        return text_table(self.rows, PREVIEW_COLUMNS)


def passthrough(raw: dict) -> dict:
    """The record's own fields as they go to the output (no page bodies, no reader fields)."""
    return {k: v for k, v in raw.items() if k not in HIDDEN_INPUT_FIELDS and not k.startswith("_")}


def feature_table(input_path: Path, pages: Path | None = None, embedding: str | None = None) -> FeatureTable:
    """Features of every record of ``input_path`` (.jsonl or .csv), with pages from ``pages``
    (``features.pages.open_pages``: a saved folder or a page cache)."""
    from .embeddings import DEFAULT_EMBEDDING
    from .pages import open_pages
    from .pipeline import extract_features, load_context
    from .recordio import read_records
    from .schema import FEATURE_NAMES

    raws = list(read_records(input_path))
    source = open_pages(pages)
    ctx = load_context(embedding or DEFAULT_EMBEDDING)
    t0 = time.perf_counter()
    batch = extract_features([r if "_error" not in r else {} for r in raws], ctx, source)
    rows = []
    for raw, st, vals in zip(raws, batch.status, batch.frame.to_dict(orient="records"), strict=True):
        row = passthrough(raw)
        row["status"] = f"error: {raw['_error']}" if "_error" in raw else st
        row.update({k: vals[k] for k in FEATURE_NAMES})
        rows.append(row)
    columns = [*dict.fromkeys(k for r in raws for k in passthrough(r)), "status", *FEATURE_NAMES]
    return FeatureTable(rows, columns, ctx.pages_parsed, time.perf_counter() - t0)
