"""One function from a batch of link records to a feature frame in schema order.

``extract_features(records, ctx)`` is what ``linkq features``, training, batch
scoring and the HTTP service all call. Per batch it validates each record,
finds its page (inline ``source_html`` or a page source), parses each distinct
page once, places its links once, embeds each distinct text once, and returns
the frame plus a status and evidence per record. A bad record or page yields a
status ``error: ...`` for that row; it never stops the batch.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .anchor import anchor_features, context_features
from .domains import DomainLists
from .embeddings import DEFAULT_EMBEDDING, CachedEmbedder, Embedder, load_embedder
from .page import ParsedPage, parse_page
from .page_signals import metric_columns, page_features, spam_listed, url_features
from .pages import NoPages, PageError, PageSource
from .placement import PlacementModel, best_link, place_page
from .profile import ProfileStats, profile_of
from .records import MAX_HTML_BYTES, LinkRecord, RecordError, parse_record
from .rel import rel_features
from .schema import NUMERIC_INDEX, empty_frame, frame_from_block, frame_from_rows
from .source_kind import SourceKinds
from .source_knowledge import SourceKnowledge
from .topical import TopicalTexts, target_text, topical_columns
from .urls import host_of, url_key

STATUS_OK = "ok"
STATUS_NO_PAGE = "ok_without_page"
STATUS_LINK_MISSING = "link_missing"


class PageProblem(ValueError):
    """The record's page exists but cannot be used (its message is shown as the row's error)."""


@dataclass
class FeatureContext:
    """What the pipeline needs, loaded once per process and passed down explicitly."""

    embedder: Embedder
    placement: PlacementModel | None
    lists: DomainLists
    kinds: SourceKinds | None = None  # the kind of the linking page (None: not known to this context)
    knowledge: SourceKnowledge | None = None  # established-site and reliability priors
    max_html_bytes: int = MAX_HTML_BYTES
    pages_parsed: int = 0  # counter for tests and benchmarks
    brands: tuple[str, ...] = ()  # the user's brand names (normalised words), --brand
    money: tuple[str, ...] = ()  # the user's money keywords (normalised words), --money


def load_context(embedding: str = DEFAULT_EMBEDDING, embedder: Embedder | None = None) -> FeatureContext:
    """Load the embedding model, the shipped placement model and the domain lists."""
    emb = embedder if embedder is not None else load_embedder(embedding)
    kinds = SourceKinds.load()
    return FeatureContext(
        embedder=emb if isinstance(emb, CachedEmbedder) else CachedEmbedder(emb),
        placement=PlacementModel.load(),
        lists=DomainLists.load(),
        kinds=kinds,
        knowledge=SourceKnowledge.load(kinds),
    )


@dataclass
class FeatureBatch:
    """Features for a batch, aligned with the input order."""

    frame: pd.DataFrame
    status: list[str]
    evidence: list[dict[str, object]] = field(default_factory=list)

    @property
    def ok(self) -> np.ndarray:
        return np.array([not s.startswith("error") for s in self.status])


def _page_key(rec: LinkRecord, html: str, hashes: dict[int, tuple[str, str]]) -> str:
    """(source URL, content hash): the same page text is parsed once per batch. The hash is
    memoised by the string's id, and the entry keeps the string alive so that an id is never
    reused by another page within the batch (pages read from disk are new strings each time)."""
    got = hashes.get(id(html))
    if got is None or got[0] is not html:
        got = hashes[id(html)] = (html, hashlib.blake2b(html.encode("utf-8", "replace"), digest_size=16).hexdigest())
    return rec.source_url + "\x00" + got[1]


def profile_view(rec: LinkRecord) -> dict[str, object]:
    """The fields of a record that the profile counts (``features.profile.PROFILE_FIELDS``), flat."""
    m = rec.metrics
    return {"source_url": rec.source_url, "source_title": rec.source_title, "anchor_text": rec.anchor_text,
            "page_authority": m.page_authority, "domain_authority": m.domain_authority, "traffic": m.traffic,
            "outbound_links": m.outbound_links}


def extract_features(
    records: Sequence[Mapping[str, object] | LinkRecord],
    ctx: FeatureContext,
    pages: PageSource | None = None,
    use_pages: bool = True,
    profile: ProfileStats | Sequence[ProfileStats] | None = None,
    lean: bool = False,
) -> FeatureBatch:
    """Features for ``records`` (raw mappings or LinkRecords), in input order.

    ``use_pages=False`` ignores any HTML (export-only mode), which training uses
    to teach the model what a row without its page looks like. ``profile``: the patterns of the
    whole export these records belong to (built by a pass over the file, see ``features.profile``),
    or one per record (requests merged into one call keep each its own); without it the batch
    itself is the profile (one HTTP request, one labels file).

    ``lean=True`` (the scorer without ``--explain``): rows without a page skip the features
    nothing reads without a page (``LEAN_SKIPPED``, NaN in the frame): the anchor and context
    similarities, whose texts are the longest of an export row and cost about a tenth of
    export-only scoring to embed, and the context and URL-shape counts. Only the link model reads
    them, and it runs on rows with a page; the worth score, its reasons and the risk flags do not.
    The scorer's results are the same either way (tested).
    """
    pages = pages or NoPages()
    n = len(records)
    status: list[str] = [STATUS_OK] * n
    evidence: list[dict[str, object]] = [{} for _ in range(n)]
    rows: list[dict[str, float] | None] = [None] * n
    topical_items: list[TopicalTexts] = []
    topical_rows: list[int] = []
    parsed: dict[str, ParsedPage | str] = {}  # page key -> page or error message
    hashes: dict[int, tuple[str, str]] = {}  # id(html str) -> (the str, its content hash)

    parsed_records: list[LinkRecord | None] = [None] * n
    for i, raw in enumerate(records):
        rec = raw if isinstance(raw, LinkRecord) else parse_record(raw, ctx.max_html_bytes)
        if isinstance(rec, RecordError):
            status[i] = f"error: {rec.message}"
            continue
        parsed_records[i] = rec
    if profile is None:
        profile = profile_of(profile_view(r) for r in parsed_records if r is not None)
    profiles = [profile] * n if isinstance(profile, ProfileStats) else list(profile)
    if len(profiles) != n:
        raise ValueError(f"{len(profiles)} profiles for {n} records")

    for i, rec in enumerate(parsed_records):
        if rec is None:
            continue
        try:
            row, ev, st, texts = _one(rec, ctx, pages, parsed, hashes, use_pages, lean)
        except PageProblem as exc:
            status[i] = f"error: {exc}"
            continue
        except Exception as exc:  # noqa: BLE001 - one bad record must not stop the batch
            status[i] = f"error: {type(exc).__name__}: {exc}"
            continue
        rows[i], evidence[i], status[i] = row, ev, st
        topical_items.append(texts)
        topical_rows.append(i)

    if not n:
        return FeatureBatch(frame=empty_frame(0), status=status, evidence=evidence)
    block, zone = frame_from_rows(rows)
    if topical_items:  # whole columns, placed at the rows that have features
        done = [parsed_records[i] for i in topical_rows]
        columns = topical_columns(topical_items, ctx.embedder)
        columns.update(metric_columns([r.metrics for r in done]))  # type: ignore[union-attr]
        _place(block, topical_rows, n, columns)
        # the export's patterns, per profile (one for a batch; a merged HTTP call has one per request)
        groups: dict[int, tuple[ProfileStats, list[int], list[dict[str, object]]]] = {}
        for i, rec in zip(topical_rows, done, strict=True):
            prof = profiles[i]
            got = groups.get(id(prof))
            if got is None:
                got = groups[id(prof)] = (prof, [], [])
            got[1].append(i)
            got[2].append(profile_view(rec))  # type: ignore[arg-type]
        for prof, rows_of, views in groups.values():
            _place(block, rows_of, n, prof.feature_columns(views))
    return FeatureBatch(frame=frame_from_block(block, zone, pd.RangeIndex(n)), status=status, evidence=evidence)


def _place(block: np.ndarray, rows: list[int], n: int, columns: Mapping[str, Sequence[float]]) -> None:
    """Write whole feature columns (one value per row of ``rows``) into the batch's block."""
    at = slice(None) if len(rows) == n else np.array(rows, dtype=np.int64)
    for name, values in columns.items():
        block[at, NUMERIC_INDEX[name]] = values


# What a lean batch leaves NaN on rows without a page (see extract_features): features only the
# link model reads (the worth score, its reasons and the risk flags do not: tested).
LEAN_SKIPPED = ("sim_context_target", "sim_anchor_target", "sim_anchor_context", "context_chars", "context_punct",
                "src_url_depth", "src_url_chars", "src_url_query", "src_host_digits", "src_host_hyphens",
                "src_cheap_tld", "page_title_chars")


# Kinds of linking page (features.source_kind) by what they say about a link's worth.
GENERATED_KINDS = frozenset({"domain_stats", "link_list", "url_share", "parked", "search"})
UGC_KINDS = frozenset({"profile", "forum", "comment", "qa", "social", "link_in_bio", "ugc_platform"})
SYNDICATION_KINDS = frozenset({"syndication", "feed"})


def source_features(source_url: str, title: str | None, anchor: str | None, kinds: SourceKinds,
                    knowledge: SourceKnowledge, ev: dict[str, object]) -> dict[str, float]:
    """What kind of page links, and what the shipped lists know of its site (see the schema's
    ``source`` group). A platform user's space gets no rank or reliability of its platform."""
    sk = kinds.classify(source_url, title or "", anchor or "")
    prior = knowledge.lookup(host_of(source_url))
    kind = sk.kind
    user_space = sk.user_space or prior.platform
    if kind:
        ev["source_kind"] = f"{kind.replace('_', ' ')} ({sk.evidence})" if sk.evidence else kind.replace("_", " ")
    rank = prior.majestic_rank
    return {
        "src_kind_generated": float(kind in GENERATED_KINDS),
        "src_kind_doorway": float(kind == "hacked_doorway"),
        "src_kind_directory": float(kind == "directory"),
        "src_kind_ugc": float(kind in UGC_KINDS),
        "src_kind_syndication": float(kind in SYNDICATION_KINDS),
        "src_platform_user": float(user_space),
        "src_majestic_rank": math.log10(rank) if rank == rank and rank > 0 and not user_space else math.nan,
        "src_wiki_reliability": prior.wiki_reliability if not user_space else math.nan,
    }


def _one(
    rec: LinkRecord,
    ctx: FeatureContext,
    pages: PageSource,
    parsed: dict[str, ParsedPage | str],
    hashes: dict[int, tuple[str, str]],
    use_pages: bool,
    lean: bool = False,
) -> tuple[dict[str, float], dict[str, object], str, TopicalTexts]:
    """Features (except the topical, metric and profile columns, computed per batch) for one valid record,
    plus the texts to embed; ``lean``: without a page (or its text), the features of
    ``LEAN_SKIPPED`` are not computed (see :func:`extract_features`)."""
    html: str | None = None
    status = STATUS_OK
    page_error = None
    if use_pages:
        html = rec.source_html
        if html is None:
            try:
                html = pages.get(rec.source_url)
            except PageError as exc:
                page_error = str(exc)
    page: ParsedPage | None = None
    if html is not None:
        key = _page_key(rec, html, hashes)
        if key not in parsed:
            try:
                parsed[key] = parse_page(html, rec.source_url)
                ctx.pages_parsed += 1
                place_page(parsed[key], ctx.placement)  # type: ignore[arg-type]
            except ValueError as exc:
                parsed[key] = str(exc)
        got = parsed[key]
        if isinstance(got, str):
            page_error = got
        else:
            page = got
    if page_error is not None:
        raise PageProblem(page_error)

    row: dict[str, float] = {}
    ev: dict[str, object] = {}
    anchor, image_alt, rel = rec.anchor_text, None, rec.rel
    ctx_left, ctx_right = rec.context_left, rec.context_right
    if page is None:
        status = STATUS_NO_PAGE
        ev["placement_zone"] = "unknown"
    else:
        target_key = url_key(rec.target_url) or ""
        link, prob, zone, count = best_link(page, target_key)
        row["placement_main_prob"] = prob
        row["placement_found"] = float(link is not None)
        row["placement_link_count"] = float(count)
        row["placement_zone"] = zone  # type: ignore[assignment]
        ev["placement_zone"] = zone
        ev["links_to_target"] = count
        if link is None:
            status = STATUS_LINK_MISSING
        else:
            row.update(link.dom)
            anchor, image_alt = link.anchor, link.image_alt
            rel = link.rel
            ctx_left, ctx_right = link.context_left, link.context_right
            ev["anchor_on_page"] = link.anchor or link.image_alt or ""
            ev["link_index"] = link.idx
            ev["context"] = f"{link.context_left[-120:]} [{link.anchor}] {link.context_right[:120]}".strip()
            ev["rel_on_page"] = link.rel
            ev["context_left"], ev["context_right"] = link.context_left, link.context_right
        row.update(page_features(page))
        ev["source_title"] = page.title
        if page.meta_nofollow and rel is not None and "nofollow" not in rel:
            ev["meta_nofollow"] = True
    row.update(anchor_features(anchor, image_alt, rec.target_url, rec.target_title, ctx.brands, ctx.money))
    lean_row = lean and page is None
    if not lean_row:
        row.update(context_features(ctx_left, ctx_right))
    row.update(rel_features(rel))
    title = rec.source_title if rec.source_title is not None else (page.title if page else None)
    if lean_row:
        row.update(spam_listed(rec.source_url, rec.target_url, ctx.lists))
    else:
        row.update(url_features(rec.source_url, rec.target_url, title, ctx.lists))
    if ctx.kinds is not None and ctx.knowledge is not None:
        row.update(source_features(rec.source_url, title, anchor or image_alt, ctx.kinds, ctx.knowledge, ev))
    if rec.metrics.tool:
        ev["tool"] = rec.metrics.tool
    page_text = (page.title + " " + page.main_text) if page is not None and page.main_text else None
    if lean and page_text is None:  # the anchor and context similarities are in LEAN_SKIPPED
        context = anchor_text = None
    else:
        # the text around the link, when known: without left or right context there is none (the anchor
        # alone is not its own context: comparing it with itself would say 1.0 for every export row)
        context = (" ".join([p for p in (ctx_left, anchor or image_alt, ctx_right) if p]) or None
                   if ctx_left is not None or ctx_right is not None else None)
        anchor_text = " ".join((anchor or image_alt or "").split()) or None
    tgt, known = target_text(rec.target_url, rec.target_title, rec.target_text)
    texts = TopicalTexts(
        page=page_text,
        context=context,
        anchor=anchor_text,
        target=tgt,
        target_known=known,
        title=title,
    )
    return row, ev, status, texts
