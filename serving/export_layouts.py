"""What each SEO tool's export looks like: format names, header aliases, format signatures.

This is the per-tool knowledge of the export reader (``serving.exports`` does the reading: bytes,
encodings, delimiters, rows). To support a renamed column, add a line to :data:`ALIASES`; to
recognise a new layout, add its signature to :func:`_classify` and its key columns to
:data:`FORMAT_KEYS`. A layout no tool writes is read with the user's own map (:func:`parse_column_map`).

Columns map to canonical fields through the single :data:`ALIASES` table (lower-cased header ->
field); the first column that maps to a field wins, later ones stay in ``original`` only. A few
pseudo-fields combine columns: ``rel:nofollow`` / ``rel:ugc`` / ``rel:sponsored`` (boolean columns
building ``rel``), ``rel:follow`` (inverted: Moz "Followable") and ``traffic:domain`` (an old name
for ``domain_traffic``; a domain's traffic is never used as the page's).

Choice of metrics: each column keeps its meaning (see ``features.records.METRIC_FIELDS``). A domain
measure (Ahrefs DR, Moz DA, Semrush AS) is ``domain_authority``; a page measure (Ahrefs UR, Semrush
Page ascore, Moz PA) is ``page_authority``; Majestic's ``SourceTrustFlow`` is the Trust Flow of the
linking URL, so a page measure too, and ``SourceCitationFlow`` (a volume measure, not a quality one)
is kept only in ``original``. Ahrefs' ``Is spam`` is a yes/no (``tool_spam``), not a 0-100 score, so
it is not ``spam_score``. A metric the file does not have is absent, never filled from another.
"""

from __future__ import annotations

from collections.abc import Iterable

from .export_rows import CANONICAL_FIELDS, MAPPABLE_FIELDS, ExportFormatError

FORMATS = (
    "ahrefs",
    "ahrefs_awt",
    "semrush",
    "semrush_legacy",
    "semrush_audit",
    "majestic",
    "moz",
    "gsc",
    "csv",
    "jsonl",
)

# ONE table: lower-cased header (whitespace collapsed) -> canonical field or pseudo-field.
# To support a renamed column, add a line here; nothing else needs to change.
ALIASES: dict[str, str] = {
    # canonical names map to themselves (generic CSV / JSONL)
    **{name: name for name in CANONICAL_FIELDS},
    # source page
    "source url": "source_url",  # Semrush, Majestic
    "sourceurl": "source_url",  # Majestic API
    "referring page url": "source_url",  # Ahrefs
    "referring page": "source_url",
    "url": "source_url",  # Moz
    "url from": "source_url",
    "linking page": "source_url",  # Search Console "Latest links" / "More sample links"
    "página de enlace": "source_url",  # Search Console, Spanish (verified in a real export)
    # Search Console translations below are best guesses, not verified against real exports:
    "página de link": "source_url",  # Portuguese
    "page avec lien": "source_url",  # French
    "page de lien": "source_url",  # French
    "verlinkende seite": "source_url",  # German
    "pagina che rimanda": "source_url",  # Italian
    "pagina di collegamento": "source_url",  # Italian
    "linkende pagina": "source_url",  # Dutch
    "דף מקשר": "source_url",  # Hebrew
    # target page
    "target url": "target_url",  # Ahrefs, Semrush, Majestic, Moz
    "targeturl": "target_url",  # Majestic API
    "link url": "target_url",  # Ahrefs, pre-2022
    "url to": "target_url",
    # anchor and context
    "anchor": "anchor_text",  # Ahrefs, Semrush
    "anchor text": "anchor_text",  # Majestic, Moz
    "anchortext": "anchor_text",  # Majestic API
    "link anchor": "anchor_text",  # Ahrefs, pre-2022
    "left context": "context_left",  # Ahrefs
    "textpre": "context_left",  # Ahrefs, pre-2022
    "right context": "context_right",  # Ahrefs
    "textpost": "context_right",  # Ahrefs, pre-2022
    "referring page title": "source_title",  # Ahrefs
    "source title": "source_title",  # Semrush
    "title": "source_title",  # Moz
    # rel flags (booleans)
    "nofollow": "rel:nofollow",  # Ahrefs, Semrush
    "no follow": "rel:nofollow",
    "flagnofollow": "rel:nofollow",  # Majestic
    "only rel=nofollow": "rel:nofollow",  # Moz
    "ugc": "rel:ugc",  # Ahrefs, Semrush ("Ugc")
    "sponsored": "rel:sponsored",  # Ahrefs, Semrush
    "followable": "rel:follow",  # Moz, older layout
    # authority: a domain measure and a page measure, each on its tool's own scale
    "domain rating": "domain_authority",  # Ahrefs DR (domain)
    "dr": "domain_authority",
    "domain authority": "domain_authority",  # Moz DA (domain)
    "authority score": "domain_authority",  # Semrush AS (domain)
    "ur": "page_authority",  # Ahrefs UR (page)
    "url rating": "page_authority",  # Ahrefs, pre-2022
    "page authority": "page_authority",  # Moz PA
    "page ascore": "page_authority",  # Semrush (page)
    "page score": "page_authority",  # Semrush, legacy
    "sourcetrustflow": "page_authority",  # Majestic: Trust Flow of the linking URL (see the module docstring)
    # traffic and links of the source page
    "page traffic": "traffic",  # Ahrefs (page)
    "domain traffic": "domain_traffic",  # Ahrefs (domain): its own field, never used as page traffic
    "external links": "outbound_links",  # Ahrefs, Semrush
    "external links count": "outbound_links",  # Ahrefs, pre-2022
    "outbound links": "outbound_links",
    "internal links": "internal_links",  # Semrush
    "internal links count": "internal_links",  # Ahrefs, pre-2022
    "keywords": "page_keywords",  # Ahrefs: keywords the linking page ranks for
    "referring domains": "page_referring_domains",  # Ahrefs: domains linking to the linking page
    "referring page http code": "http_code",  # Ahrefs
    # the tool's own judgements of the link and the source
    "spam score": "spam_score",  # Moz
    "toxicity score": "spam_score",  # Semrush Backlink Audit
    "is spam": "tool_spam",  # Ahrefs (yes/no)
    "sitewide": "sitewide",  # Semrush
    "content": "in_content",  # Ahrefs: link is in the main content
    "type": "link_type",  # Ahrefs: text, image, redirect, frame, form
    "image": "link_image",  # Semrush
    "flagimagelink": "link_image",  # Majestic
    "frame": "link_frame",  # Semrush
    "flagframe": "link_frame",  # Majestic
    "form": "link_form",  # Semrush
    "flagredirect": "link_redirect",  # Majestic
    "links in group": "links_in_group",  # Ahrefs
    "platform": "platform",  # Ahrefs: wordpress, blogger, ...
    "page type": "page_type",  # Ahrefs
    # lost links
    "lost link": "lost",  # Semrush (true/false)
    "lost status": "lost_reason",  # Ahrefs
    "drop reason": "lost_reason",  # Ahrefs
    "lost": "lost_date",  # Ahrefs: the date the link was lost
    # dates
    "first seen": "first_seen",  # Ahrefs, Semrush
    "source first found date": "first_seen",  # Majestic
    "firstindexeddate": "first_seen",  # Majestic API
    "last seen": "last_seen",  # Ahrefs, Semrush
    "source crawl date": "last_seen",  # Majestic
    "lastseendate": "last_seen",  # Majestic API
    "last crawled": "last_seen",  # Search Console
    "último rastreo": "last_seen",  # Search Console, Spanish
    "último rastreamento": "last_seen",  # Portuguese (unverified)
    "dernière exploration": "last_seen",  # French (unverified)
    "zuletzt gecrawlt": "last_seen",  # German (unverified)
    "ultima scansione": "last_seen",  # Italian (unverified)
    "laatst gecrawld": "last_seen",  # Dutch (unverified)
}

# Search Console "linking page" headers (each also in ALIASES): a file with one of them is a GSC link table.
GSC_LINKING_PAGE = frozenset(
    {
        "linking page",
        "página de enlace",
        "página de link",
        "page avec lien",
        "page de lien",
        "verlinkende seite",
        "pagina che rimanda",
        "pagina di collegamento",
        "linkende pagina",
        "דף מקשר",
    }
)
# Search Console summary tables (counts per site / per page): no per-link rows.
_GSC_SUMMARY_COLUMNS = frozenset(
    {"linking pages", "target pages", "incoming links", "linking sites", "top linking sites",
     "top linking text", "דפים מקשרים", "דפי יעד"}
)

# Key columns per format, as shown to the user when a file is not recognised.
FORMAT_KEYS: dict[str, str] = {
    "ahrefs": "Referring page URL, Target URL, Anchor, Domain rating, UR (UTF-16, tab-separated)",
    "ahrefs_awt": "Referring page title, Referring page URL, Domain rating, Target URL, Anchor",
    "semrush": "Page ascore, Source title, Source url, Target url, Anchor, Nofollow",
    "semrush_legacy": "Page score, Page trust score, Source url, Target url, Anchor",
    "semrush_audit": "Source url, Target url, Anchor, Toxicity Score, Toxic markers",
    "majestic": "Target URL, Source URL, Anchor Text, FlagNoFollow, SourceTrustFlow",
    "moz": "URL, Title, Anchor Text, Spam Score, Page Authority, Domain Authority, Target URL",
    "gsc": "Linking page (or a translation, e.g. 'Página de enlace'), Last crawled; or a ZIP of them",
    "csv": "source_url, target_url (canonical names), or any columns with --map",
    "jsonl": "one JSON object per line with source_url, target_url, ...",
}
_MAP_HINT = 'to read another layout, name its columns: --format csv --map "Their Column=source_url,Other=target_url"'


def _norm(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").strip().strip('"').split()).lower()


def _auto_mapping(columns: Iterable[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for col in columns:
        target = ALIASES.get(_norm(col))
        if target and target not in used:
            mapping[col] = target
            used.add(target)
    return mapping


def _apply_user_map(
    columns: list[str], mapping: dict[str, str], column_map: dict[str, str], label: str
) -> dict[str, str]:
    by_norm = {_norm(c): c for c in reversed(columns)}  # first column wins on a normalised clash
    resolved: dict[str, str] = {}
    missing: list[str] = []
    for theirs, target in column_map.items():
        col = theirs if theirs in columns else by_norm.get(_norm(theirs))
        if col is None:
            missing.append(theirs)
        else:
            resolved[col] = target
    if missing:
        raise ExportFormatError(
            f"{label}: --map names column(s) not in the file: {', '.join(map(repr, missing))}; "
            f"found header: {', '.join(map(repr, columns))}"
        )
    targets = set(resolved.values())
    merged = {c: f for c, f in mapping.items() if c not in resolved and f not in targets}
    merged.update(resolved)
    return {c: merged[c] for c in columns if c in merged}


def _classify(columns: list[str]) -> str | None:
    """The export format named by a header, or None."""
    names = {_norm(c) for c in columns}
    if names & GSC_LINKING_PAGE:
        return "gsc"
    if "referring page url" in names:
        awt = {"referring page title", "referring page url", "domain rating", "target url", "anchor"}
        return "ahrefs_awt" if names <= awt else "ahrefs"
    if "url rating" in names and ("link url" in names or "referring page title" in names):
        return "ahrefs"  # pre-2022 layout
    if "source url" in names or "sourceurl" in names:
        if "toxicity score" in names or "toxic markers" in names:
            return "semrush_audit"
        if "page ascore" in names:
            return "semrush"
        if "page score" in names or "page trust score" in names:
            return "semrush_legacy"
        if names & {"sourcetrustflow", "sourcecitationflow", "flagnofollow", "flagredirect"}:
            return "majestic"
        if "sitewide" in names and "source title" in names:
            return "semrush"
    if names & {"domain authority", "page authority", "only rel=nofollow", "followable"} and "url" in names:
        return "moz"
    mapped = set(_auto_mapping(columns).values())
    if {"source_url", "target_url"} <= mapped:
        return "csv"
    return None


def parse_column_map(spec: str) -> dict[str, str]:
    """Parse ``'Their Column=source_url,Other=anchor_text'`` into ``{column: canonical field}``.

    Column names may contain ``=`` (the last one separates the field) and may be quoted; they may not
    contain commas. Fields must be canonical names or pseudo-fields (``rel:nofollow``, ...).
    """
    result: dict[str, str] = {}
    if not spec or not spec.strip():
        return result
    for part in spec.split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise ExportFormatError(f"--map entry {part.strip()!r} has no '=': expected 'Their Column=field'")
        column, target = part.rsplit("=", 1)
        column = column.strip().strip("\"'").strip()
        target = target.strip().strip("\"'").strip()
        if not column:
            raise ExportFormatError(f"--map entry {part.strip()!r} has an empty column name")
        if target not in MAPPABLE_FIELDS:
            raise ExportFormatError(
                f"--map entry {part.strip()!r}: unknown field {target!r}; fields are: {', '.join(MAPPABLE_FIELDS)}"
            )
        if target in result.values():
            raise ExportFormatError(f"--map maps two columns to {target!r}")
        result[column] = target
    return result
