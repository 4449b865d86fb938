"""Reading scored files (the output of ``linkq score``) for the report and the disavow file.

The scored file is read with :func:`serving.exports.read_export`, so every format ``linkq score``
accepts (Ahrefs, Semrush, Majestic, Moz, canonical CSV/JSONL) works with its canonical fields;
Parquet is converted to CSV first. The linkq columns are taken from the row's original columns.
Each row becomes a :class:`ScoredLink`; its risk flags (manipulation signals) and its referring site
(registered domain in IDNA form, private suffixes kept apart) are decided here, once.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from features.errors import LinkqError
from features.source_kind import site_of as site_of  # the one definition of a referring site, re-exported
from serving.exports import ExportFormatError, ExportInfo, ExportRow, read_export
from serving.result_fields import FLAG_RULES, FLAG_WORDS, risk_class, source_flags
from serving.table import split_list

VERDICTS = ("strong", "review", "weak")

# Flags that describe the target (the user's own site), not the linking page: never a reason to disavow it.
FLAG_TEXT = {**FLAG_WORDS, "sitewide": "site-wide link (files scored by linkq before 0.2)"}
ZONE_ORDER = ("main_content", "comments", "navigation", "header", "footer", "sidebar", "link_list", "not_found",
              "unknown")
ZONE_LABELS = {
    "main_content": "Main content", "comments": "Comments", "navigation": "Navigation", "header": "Header",
    "footer": "Footer", "sidebar": "Sidebar", "link_list": "Link list", "not_found": "Link not found",
    "unknown": "Unknown (no page)",
}
REL_CLASSES = ("followed", "nofollow", "ugc", "sponsored", "unknown")
REL_LABELS = {"followed": "Followed", "nofollow": "Nofollow", "ugc": "UGC", "sponsored": "Sponsored",
              "unknown": "Unknown"}
REL_COLORS = {"followed": "#2f9e6b", "nofollow": "#7b8794", "ugc": "#9f86c0", "sponsored": "#d64545",
              "unknown": "#cbd2d9"}

# Feature columns (``linkq score --explain``) read when present: risk flags, rel and image links.
_FLAG_FEATURES = tuple(feature for _, feature, _, _ in FLAG_RULES)
_REL_FEATURES = ("rel_nofollow", "rel_ugc", "rel_sponsored")
_BLANKS = frozenset({"", "nan", "none", "null", "nat"})


class ScoredFileError(LinkqError, ValueError):
    """The file is not a readable scored file; the message says what was found and what to do."""


@dataclass(frozen=True)
class ScoredLink:
    """One row of a scored file, reduced to what the report and the disavow file need.

    ``verdict`` (and ``score``) is None for rows that were not scored (skipped, errors) and for lost
    links (status ``lost``: the SEO tool saw the link disappear; never counted as a live verdict, even
    in a file that gives one); ``rel`` is None when the file does not say whether the link is followed;
    ``flags`` are the manipulation signals (the ``flags`` column, plus those the ``--explain`` feature
    columns show); ``risk`` is the file's ``risk`` cell (``risky``, ``worthless`` or ''), None when the
    file has no ``risk`` column (scored before linkq had one).
    """

    line_no: int
    source_url: str | None
    target_url: str | None
    anchor_text: str | None
    rel: str | None
    first_seen: str | None
    score: float | None
    verdict: str | None
    reasons: tuple[str, ...]
    zone: str
    status: str
    flags: tuple[str, ...]
    is_image: bool = False
    model_id: str | None = None
    risk: str | None = None


# --------------------------------------------------------------------------------------------------
# domains: one normal form (IDNA ASCII) for grouping, comparing and disavowing


# --------------------------------------------------------------------------------------------------
# reading scored files


def _text(value: object) -> str:
    s = "" if value is None else str(value).strip()
    return "" if s.lower() in _BLANKS else s


def _float(value: object) -> float | None:
    s = _text(value)
    if not s:
        return None
    try:
        v = float(s)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _is_parquet(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"PAR1"
    except OSError:
        return False


def _parquet_to_csv(src: Path, dst: Path) -> None:
    import pandas as pd

    try:
        frame = pd.read_parquet(src)
    except Exception as exc:  # pyarrow raises many types for a broken file
        raise ScoredFileError(f"{src}: cannot read this Parquet file: {exc}") from exc

    def cell(v: object) -> object:
        if hasattr(v, "tolist") and not isinstance(v, str | bytes):
            v = v.tolist()
        if isinstance(v, list | tuple):
            return "; ".join(str(x) for x in v)
        return v

    frame.astype(object).map(cell).to_csv(dst, index=False, encoding="utf-8")


@contextlib.contextmanager
def open_scored(path: Path) -> Iterator[tuple[ExportInfo, Iterator[ScoredLink]]]:
    """Open a file written by ``linkq score`` (CSV, JSONL or Parquet); yield its info and link stream.

    Raises :class:`ScoredFileError` when the file cannot be read or has no ``score``/``verdict``
    column (an unscored export: the message says to run ``linkq score`` first). Rows stream in file
    order, so memory does not grow with the file.
    """
    path = Path(path)
    with contextlib.ExitStack() as stack:
        source = path
        if _is_parquet(path):
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="linkq-scored-")))
            source = tmp / f"{path.stem}.csv"
            _parquet_to_csv(path, source)
        try:
            info, chunks = read_export(source)
        except ExportFormatError as exc:
            raise ScoredFileError(str(exc).replace(str(source), str(path))) from exc
        if not {"score", "verdict"} & set(info.columns):
            raise ScoredFileError(
                f"{path}: not a scored file (no 'score' or 'verdict' column; found {', '.join(info.columns[:12])}"
                f"{' ...' if len(info.columns) > 12 else ''}); run `linkq score` on the export first and pass "
                "the file it writes"
            )
        yield info, _links(info, chunks)


def _flag_rules(columns: Sequence[str]) -> tuple[tuple[str, str, float], ...]:
    if not any(c in columns for c in _FLAG_FEATURES):
        return ()
    return tuple(rule[:3] for rule in FLAG_RULES)


def _links(info: ExportInfo, chunks: Iterator[list[ExportRow]]) -> Iterator[ScoredLink]:
    columns = info.columns
    rules = _flag_rules(columns)
    lower = {c.lower(): c for c in reversed(columns)}
    image_col = next(((lower[k], k) for k in ("type", "image", "flagimagelink") if k in lower), None)
    rel_features = [c for c in _REL_FEATURES if c in columns]
    anchor_col = next((c for c, f in info.mapping.items() if f == "anchor_text"), None)
    has_risk = "risk" in columns
    try:
        for chunk in chunks:
            for row in chunk:
                yield _link(row, rules, image_col, rel_features, anchor_col, has_risk)
    except ExportFormatError as exc:
        raise ScoredFileError(str(exc)) from exc


def _link(
    row: ExportRow,
    rules: Sequence[tuple[str, str, float]],
    image_col: tuple[str, str] | None,
    rel_features: Sequence[str],
    anchor_col: str | None,
    has_risk: bool = False,
) -> ScoredLink:
    o = row.original
    if row.record is None:
        return ScoredLink(row.line_no, None, None, None, None, None, None, None, (), "unknown",
                          f"error: {row.error or 'unreadable row'}", ())
    rec = row.record
    verdict = _text(o.get("verdict")).lower()
    verdict_or_none = verdict if verdict in VERDICTS else None
    score = _float(o.get("score"))
    if score is not None and not 0.0 <= score <= 1.0:
        score = None
    status = _text(o.get("status")) or ("scored" if verdict_or_none else "not scored")
    if status.split(":", 1)[0].strip().lower() == "lost":
        verdict_or_none, score = None, None  # a lost link is counted apart, never as a live verdict
    flags = [f.lower() for f in split_list(_text(o.get("flags")))]
    for name, feature, at_least in rules:
        v = _float(o.get(feature))
        if v is not None and v >= at_least:
            flags.append(name)
    rel = rec.get("rel")
    if rel is None and rel_features:
        values = {c: _float(o.get(c)) for c in rel_features}
        if any(v is not None for v in values.values()):
            rel = " ".join(c[4:] for c, v in values.items() if v is not None and v >= 0.5)
    is_image = (_float(o.get("anchor_is_image")) or 0.0) >= 0.5
    if image_col is not None:
        raw = _text(o.get(image_col[0])).lower()
        is_image = is_image or (raw.startswith("image") if image_col[1] == "type" else raw in ("true", "1", "+", "yes"))
    zone = _text(o.get("placement_zone")).lower() or "unknown"
    anchor = rec.get("anchor_text")
    if anchor is None and anchor_col is not None and anchor_col in o:
        anchor = ""  # the column exists, the cell is empty: an empty anchor, not an unknown one
    return ScoredLink(
        line_no=row.line_no,
        source_url=_text(rec.get("source_url")) or None,
        target_url=_text(rec.get("target_url")) or None,
        anchor_text=anchor if isinstance(anchor, str) else None,
        rel=rel if isinstance(rel, str) else None,
        first_seen=_text(rec.get("first_seen")) or None,
        score=score,
        verdict=verdict_or_none,
        reasons=tuple(split_list(_text(o.get("reasons")))),
        zone=zone if zone in ZONE_ORDER else "unknown",
        status=status,
        flags=tuple(dict.fromkeys(flags)),
        is_image=is_image,
        model_id=_text(o.get("model_id")) or None,
        risk=_text(o.get("risk")).lower() if has_risk else None,
    )


def risk_flags_of(link: ScoredLink) -> tuple[str, ...]:
    """The link's manipulation flags that speak against the *linking* page (what disavow acts on)."""
    return source_flags(link.flags)


def is_risky(link: ScoredLink, min_flags: int = 1) -> bool:
    """Weak with a manipulation signal against the linking page (the ``risk`` column's rule,
    :func:`serving.result_fields.risk_class`) and at least ``min_flags`` such signals: a disavow
    candidate, not just worthless."""
    return risk_class(link.flags, link.verdict) == "risky" and len(risk_flags_of(link)) >= min_flags


PASSES_NOTHING = frozenset({"nofollow", "ugc", "sponsored"})  # rel values that pass no ranking credit
NOT_LIVE = frozenset({"lost", "link_missing", "page_gone"})  # the tool or the fetched page says it is gone


def status_kind(link: ScoredLink) -> str:
    """The status without its detail (``fetch_failed: timeout`` -> ``fetch_failed``)."""
    return link.status.split(":", 1)[0].strip()


def rel_passes_nothing(rel: str | None) -> bool | None:
    """Whether a rel value says the link passes nothing (nofollow, ugc or sponsored); None when the
    file does not give the rel."""
    if rel is None:
        return None
    return bool(set(rel.lower().replace(",", " ").split()) & PASSES_NOTHING)


def live_and_followed(link: ScoredLink) -> bool:
    """False when the file says the link passes nothing: lost (or no longer on its fetched page, or
    the page is gone), or rel nofollow, ugc or sponsored (a link whose rel the file does not give is
    taken as followed: nothing says otherwise). The disavow file lists only such links, and the
    report counts its disavow candidates the same way."""
    return status_kind(link) not in NOT_LIVE and not rel_passes_nothing(link.rel)
