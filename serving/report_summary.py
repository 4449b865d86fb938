"""The report's numbers: :func:`build_summary` reads a scored file once and returns plain JSON-able
data (scores, verdicts by referring site, anchor mix against a natural profile, rel, zones, targets,
new links per month with spikes, weak links split into worthless and risky, alerts). The HTML is
rendered from this summary alone (``serving.report``), so the page and ``--json`` never disagree.

"Natural" anchor mixes, spike and concentration thresholds are rules of thumb, stated as such in the
page and kept as module constants below.
"""

from __future__ import annotations

import functools
import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from features.anchor import COMMERCIAL, anchor_features
from features.disavow import display_host
from features.html_text import norm_text
from features.urls import url_key
from serving.exports import ExportInfo
from serving.report_domains import TOP_DOMAIN_ROWS, DomainTable
from serving.scored_file import (
    REL_CLASSES,
    VERDICTS,
    ZONE_ORDER,
    ScoredLink,
    is_risky,
    live_and_followed,
    open_scored,
    risk_flags_of,
    site_of,
)

REPORT_VERSION = 1
VERDICT_COLORS = {"strong": "#2f9e6b", "review": "#e8a33d", "weak": "#d64545"}

# Anchor classes, in the order they are shown (see classify_anchor for the order they are checked in).
ANCHOR_CLASSES = ("brand", "naked_url", "generic", "image", "partial", "exact", "other")
ANCHOR_LABELS = {
    "brand": "Brand", "naked_url": "Naked URL", "generic": "Generic", "image": "Image",
    "partial": "Partial match", "exact": "Exact match", "other": "Other",
}
# Rule of thumb for a natural profile (varies by niche; not a Google number): mostly brand and URL anchors.
REFERENCE_MIX = {
    "brand": 0.35, "naked_url": 0.20, "generic": 0.15, "image": 0.05, "partial": 0.10, "exact": 0.03,
    "other": 0.12,
}
PARTIAL_MIN_SHARE = 0.5  # at least half of the anchor's words are the target's keywords
MONEY_ANCHOR_LIMIT = 0.20  # exact + partial match anchors above this share look built, not earned
COMMERCIAL_ANCHOR_LIMIT = 0.05  # one commercial anchor text above this share of all anchors ...
COMMERCIAL_ANCHOR_MIN_LINKS = 3  # ... and used by at least this many links
HOMEPAGE_LIMIT = 0.75  # more links than this to the homepage: deep pages get little
# Spikes (see _spikes): a month with at least 10 new links and more than 3x its baseline, the median of the
# 6 most recent months *with new links* among the 12 before it (fewer than 6 such months: not judged).
SPIKE_FACTOR = 3.0
SPIKE_MIN_LINKS = 10
SPIKE_WINDOW = 12  # calendar months the baseline looks back over
SPIKE_MIN_HISTORY = 6  # months with >= 1 new link in that window: the baseline is their 6 most recent
TOP_DOMAINS = 15
TOP_WEAK_DOMAINS = 15
TOP_TARGETS = 12
TOP_ANCHORS = 12
MAX_CHART_MONTHS = 120

# --------------------------------------------------------------------------------------------------
# anchors


@functools.lru_cache(maxsize=65536)
def _classify(text: str, target_url: str) -> str:
    f = anchor_features(text, None, target_url, None)
    if f["anchor_naked_url"] >= 0.5:
        return "naked_url"
    if f["anchor_brand"] >= 0.5:
        return "brand"
    if f["anchor_generic"] >= 0.5:
        return "generic"
    if f["anchor_exact_match"] >= 0.5:
        return "exact"
    if f["anchor_partial_match"] >= PARTIAL_MIN_SHARE:
        return "partial"
    return "other"


def classify_anchor(anchor: str | None, target_url: str | None, is_image: bool = False) -> str | None:
    """One of :data:`ANCHOR_CLASSES` for an anchor text linking to ``target_url``; None when unknown.

    Uses ``features.anchor`` (the model's own anchor features) so the report and the scores agree on
    what counts as brand, generic or exact match. Image links are "image" whatever their alt text; an
    empty text anchor is "other". Partial match: at least half of the anchor's words are keywords of
    the target URL (exact match: the anchor *is* the target's slug or title).
    """
    if is_image:
        return "image"
    if anchor is None:
        return None
    text = " ".join(anchor.split())
    if not text:
        return "other"
    return _classify(text, target_url or "")


def _is_commercial(text: str) -> bool:
    return bool(COMMERCIAL.search(norm_text(text)))


# --------------------------------------------------------------------------------------------------
# summary


def _share(n: float, total: float) -> float:
    return round(n / total, 4) if total else 0.0


def _shares(counts: Mapping[str, int], total: int) -> dict[str, float]:
    return {k: _share(v, total) for k, v in counts.items()}


def _is_homepage(key: str | None) -> bool:
    return bool(key) and key.endswith("/") and key.count("/") == 1 and "?" not in key  # type: ignore[union-attr]


def _month(iso: str | None) -> str | None:
    if not iso or len(iso) < 7 or iso[4] != "-":
        return None
    y, m = iso[:4], iso[5:7]
    return f"{y}-{m}" if y.isdigit() and m.isdigit() and 1 <= int(m) <= 12 else None


def _month_range(first: str, last: str) -> list[str]:
    y, m = int(first[:4]), int(first[5:7])
    out: list[str] = []
    while (y, m) <= (int(last[:4]), int(last[5:7])):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _spikes(counts: Sequence[int]) -> list[tuple[float, float] | None]:
    """Per month: ``(ratio, baseline)`` when the month is a spike, else None (counts are new links a month).

    The baseline of a month is the median of the ``SPIKE_MIN_HISTORY`` most recent months with at least
    one new link among the ``SPIKE_WINDOW`` calendar months before it; with fewer such months the month
    is not judged, so a new site's first months and a sparse profile never fire. Empty months are left
    out on purpose: with them, the median of a young or sparse profile was 0 or 1 and ordinary months
    read "hundreds of times the median" (issue 12). The most recent active months, not all of the
    window's, so a site that moved to a new level of links is judged against that level after a few
    months instead of half a year. A month is a spike with at least ``SPIKE_MIN_LINKS`` new links and
    more than ``SPIKE_FACTOR`` times the baseline (links a month, >= 1, so the ratio is finite).

    Measured on the four real exports in ``../shared/real-exports`` (scored export-only), spike months:
    previous rule 11, 2, 7 and 13; this one 4, 0, 6 and 8, in 2, 0, 2 and 3 bursts (one alert each).
    """
    out: list[tuple[float, float] | None] = []
    for i, n in enumerate(counts):
        active = [c for c in counts[max(0, i - SPIKE_WINDOW): i] if c > 0][-SPIKE_MIN_HISTORY:]
        if len(active) < SPIKE_MIN_HISTORY or n < SPIKE_MIN_LINKS:
            out.append(None)
            continue
        baseline = float(statistics.median(active))
        out.append((n / baseline, baseline) if n > SPIKE_FACTOR * baseline else None)
    return out


def _bursts(rows: Sequence[dict]) -> list[dict]:
    """Runs of consecutive spike months, one alert each (a burst that lasts three months is one finding)."""
    out: list[dict] = []
    prev = -2
    for i, r in enumerate(rows):
        if not r["spike"]:
            continue
        if i == prev + 1 and out:
            b = out[-1]
            b["last"] = r["month"]
            b["months"] += 1
            b["links"] += r["links"]
            b["weak"] += r["weak"]
            b["max_ratio"] = max(b["max_ratio"], r["ratio"])
        else:
            out.append({"first": r["month"], "last": r["month"], "months": 1, "links": r["links"],
                        "weak": r["weak"], "baseline": r["baseline"], "max_ratio": r["ratio"]})
        prev = i
    return out


class _Acc:
    """Streaming counters over the links of one file (memory grows with sites and pages, not rows)."""

    def __init__(self) -> None:
        self.rows = 0
        self.scored = 0
        self.lost = 0
        self.lost_sites: set[str] = set()
        self.status: Counter[str] = Counter()
        self.status_messages: Counter[str] = Counter()
        self.verdicts: Counter[str] = Counter()
        self.scores: list[float] = []
        self.hist = {v: [0] * 20 for v in VERDICTS}
        self.domains: dict[str, Counter[str]] = defaultdict(Counter)
        self.anchor_classes: Counter[str] = Counter()
        self.anchor_unknown = 0
        self.anchor_texts: Counter[str] = Counter()
        self.anchor_text_class: dict[str, str] = {}
        self.anchor_text_shown: dict[str, str] = {}
        self.rel: Counter[str] = Counter()
        self.rel_tokens: Counter[str] = Counter()
        self.zones: Counter[str] = Counter()
        self.targets: dict[str, Counter[str]] = defaultdict(Counter)
        self.target_shown: dict[str, str] = {}
        self.target_domains: dict[str, set[str]] = defaultdict(set)
        self.target_sites: Counter[str] = Counter()
        self.months: dict[str, Counter[str]] = defaultdict(Counter)
        self.undated = 0
        self.flags: Counter[str] = Counter()
        self.weak = _WeakAcc()
        self.model_ids: Counter[str] = Counter()
        self.domain_table = DomainTable()

    def add(self, link: ScoredLink) -> None:
        self.rows += 1
        kind = link.status.split(":", 1)[0].strip() or "unknown"
        self.status[kind] += 1
        if ":" in link.status:
            self.status_messages[link.status[:160]] += 1
        if link.model_id:
            self.model_ids[link.model_id] += 1
        site = site_of(link.source_url) if link.source_url else ""
        self.domain_table.add(link, site)
        if kind == "lost":  # the SEO tool saw the link disappear: counted apart, in no chart
            self.lost += 1
            self.lost_sites.add(site)
            return
        if link.verdict is None:
            return
        v = link.verdict
        self.scored += 1
        self.verdicts[v] += 1
        if link.score is not None:
            self.scores.append(link.score)
            self.hist[v][min(19, int(link.score * 20))] += 1
        self.domains[site or "(no source URL)"][v] += 1
        cls = classify_anchor(link.anchor_text, link.target_url, link.is_image)
        if cls is None:
            self.anchor_unknown += 1
        else:
            self.anchor_classes[cls] += 1
            if link.anchor_text and link.anchor_text.strip() and not link.is_image:
                key = norm_text(link.anchor_text)
                self.anchor_texts[key] += 1
                self.anchor_text_class.setdefault(key, cls)
                self.anchor_text_shown.setdefault(key, " ".join(link.anchor_text.split()))
        tokens = set((link.rel or "").lower().replace(",", " ").split())
        for t in ("nofollow", "ugc", "sponsored"):
            if t in tokens:
                self.rel_tokens[t] += 1
        if link.rel is None:
            self.rel["unknown"] += 1
        else:
            self.rel[next((t for t in ("sponsored", "ugc", "nofollow") if t in tokens), "followed")] += 1
        self.zones[link.zone] += 1
        if link.target_url:
            key = url_key(link.target_url) or link.target_url
            self.targets[key][v] += 1
            self.target_shown.setdefault(key, link.target_url)
            if site:
                self.target_domains[key].add(site)
            self.target_sites[site_of(link.target_url)] += 1
        month = _month(link.first_seen)
        if month:
            self.months[month][v] += 1
        else:
            self.undated += 1
        for f in link.flags:
            self.flags[f] += 1
        self.weak.add(link, site)


LOWERS = " (lowers)"


def lowering_reason(reason: str) -> tuple[str, str] | None:
    """(what it counts as, what to show) for a reason that lowered the score, else None. Reasons read
    "placement: in the footer (p=0.02), editorial p<0.05 (lowers)": counted by factor (a site's
    footer links differ in their p), shown without the sign. Files scored before the per-factor
    reasons wrote "- marked nofollow": counted and shown as they are."""
    if reason.endswith(LOWERS):
        return reason.split(":", 1)[0], reason[: -len(LOWERS)]
    if reason.startswith("-"):
        return reason, reason
    return None


class _WeakAcc:
    """Per referring site: weak links, risky ones, and the evidence to show for them."""

    def __init__(self) -> None:
        self.links = 0
        self.risky_links = 0
        self.risky_passing_nothing = 0  # risky, but nofollow / ugc / sponsored or gone: not for the disavow file
        self.flags: Counter[str] = Counter()
        self.sites: dict[str, dict[str, object]] = {}
        self.good: Counter[str] = Counter()  # strong/review links per site

    def add(self, link: ScoredLink, site: str) -> None:
        if link.verdict != "weak":
            self.good[site] += 1
            return
        self.links += 1
        risky = is_risky(link)
        self.risky_links += risky
        idle = risky and not live_and_followed(link)  # risky, but nothing for the disavow file
        self.risky_passing_nothing += idle
        for f in risk_flags_of(link):
            self.flags[f] += 1
        s = self.sites.get(site)
        if s is None:
            s = self.sites[site] = {"weak": 0, "risky": 0, "flags": Counter(), "reasons": Counter(),
                                    "phrases": defaultdict(Counter), "zones": Counter(), "example": None,
                                    "example_risky": False, "risky_idle": 0}
        s["weak"] += 1  # type: ignore[operator]
        s["risky"] += risky  # type: ignore[operator]
        s["risky_idle"] += idle  # type: ignore[operator]
        s["flags"].update(risk_flags_of(link))  # type: ignore[union-attr]
        for r in link.reasons:
            got = lowering_reason(r)
            if got is not None:
                s["reasons"][got[0]] += 1  # type: ignore[index]
                s["phrases"][got[0]][got[1]] += 1  # type: ignore[index]
        s["zones"][link.zone] += 1  # type: ignore[index]
        if s["example"] is None or (risky and not s["example_risky"]):
            s["example"] = (link.source_url or "", link.anchor_text or "")
            s["example_risky"] = risky


def build_summary(scored_path: Path) -> dict:
    """Count everything the report shows; JSON-able, for other tools (``linkq report --json``).

    Charts and findings cover the *scored* rows; lost links (status ``lost``) are counted apart under
    ``lost`` (and per domain), rows that were skipped or failed under ``status``. Shares are fractions (0-1) rounded to 4 decimals. Raises :class:`ScoredFileError`.
    """
    return collect(scored_path)[0]


def collect(scored_path: Path) -> tuple[dict, DomainTable]:
    """:func:`build_summary` and the per-domain table (every referring domain) from one read of the file."""
    scored_path = Path(scored_path)
    acc = _Acc()
    with open_scored(scored_path) as (info, links):
        for link in links:
            acc.add(link)
    return _finish(acc, scored_path, info), acc.domain_table


def _finish(acc: _Acc, path: Path, info: ExportInfo) -> dict:
    scored = acc.scored
    summary: dict = {
        "report_version": REPORT_VERSION,
        "source": {"file": path.name, "format": info.format, "rows": acc.rows},
        "generated_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "model_id": acc.model_ids.most_common(1)[0][0] if acc.model_ids else None,
        "site": display_host(acc.target_sites.most_common(1)[0][0]) if acc.target_sites else None,
        "links": {"rows": acc.rows, "scored": scored, "lost": acc.lost, "unscored": acc.rows - scored - acc.lost},
        "lost": {"links": acc.lost, "sites": len(acc.lost_sites - {""})},
        "status": dict(acc.status.most_common()),
        "status_messages": dict(acc.status_messages.most_common(10)),
        "verdicts": {v: acc.verdicts.get(v, 0) for v in VERDICTS},
        "verdict_shares": {v: _share(acc.verdicts.get(v, 0), scored) for v in VERDICTS},
        "score": {
            "mean": round(statistics.fmean(acc.scores), 4) if acc.scores else None,
            "median": round(statistics.median(acc.scores), 4) if acc.scores else None,
            "bins": [round(i / 20, 2) for i in range(21)],
            "histogram": acc.hist,
        },
        "flags": dict(acc.flags.most_common()),
    }
    summary["domains"] = {
        "count": len(acc.domains),
        "top": [
            {"domain": display_host(d), "links": sum(c.values()), **{v: c.get(v, 0) for v in VERDICTS}}
            for d, c in sorted(acc.domains.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))[:TOP_DOMAINS]
        ],
    }
    summary["anchors"] = _anchor_summary(acc)
    summary["rel"] = {
        "counts": {k: acc.rel.get(k, 0) for k in REL_CLASSES},
        "shares": {k: _share(acc.rel.get(k, 0), scored) for k in REL_CLASSES},
        "tokens": {t: acc.rel_tokens.get(t, 0) for t in ("nofollow", "ugc", "sponsored")},
    }
    summary["zones"] = {
        "counts": {z: acc.zones[z] for z in ZONE_ORDER if acc.zones.get(z)},
        "shares": {z: _share(acc.zones[z], scored) for z in ZONE_ORDER if acc.zones.get(z)},
    }
    summary["targets"] = _target_summary(acc)
    summary["monthly"] = _monthly_summary(acc)
    summary["weak"] = _weak_summary(acc)
    table = acc.domain_table
    summary["domain_table"] = {"count": len(table.domains), "columns": list(table.columns()),
                               "top": table.rows()[:TOP_DOMAIN_ROWS], "csv": None}
    summary["alerts"] = _alerts(summary)
    return summary


def _anchor_summary(acc: _Acc) -> dict:
    n = sum(acc.anchor_classes.values())
    counts = {c: acc.anchor_classes.get(c, 0) for c in ANCHOR_CLASSES}
    money = counts["exact"] + counts["partial"]
    top = []
    for key, links in acc.anchor_texts.most_common(TOP_ANCHORS):
        cls = acc.anchor_text_class[key]
        top.append({"text": acc.anchor_text_shown[key], "links": links, "share": _share(links, n), "class": cls,
                    "commercial": _is_commercial(key) and cls not in ("brand", "naked_url")})
    commercial = [
        {"text": acc.anchor_text_shown[key], "links": links, "share": _share(links, n)}
        for key, links in acc.anchor_texts.most_common()
        if links >= COMMERCIAL_ANCHOR_MIN_LINKS and n and links / n > COMMERCIAL_ANCHOR_LIMIT
        and acc.anchor_text_class[key] not in ("brand", "naked_url") and _is_commercial(key)
    ]
    return {
        "classified": n,
        "unknown": acc.anchor_unknown,
        "counts": counts,
        "shares": {c: _share(counts[c], n) for c in ANCHOR_CLASSES},
        "reference": dict(REFERENCE_MIX),
        "reference_note": "rule of thumb for a natural profile, not a Google number; varies by niche",
        "money_share": _share(money, n),
        "money_limit": MONEY_ANCHOR_LIMIT,
        "overoptimised": bool(n) and money / n > MONEY_ANCHOR_LIMIT,
        "commercial_over_limit": commercial,
        "commercial_limit": COMMERCIAL_ANCHOR_LIMIT,
        "top": top,
    }


def _target_summary(acc: _Acc) -> dict:
    total = sum(sum(c.values()) for c in acc.targets.values())
    home = sum(sum(c.values()) for k, c in acc.targets.items() if _is_homepage(k))
    rows = []
    for key, c in sorted(acc.targets.items(), key=lambda kv: (-sum(kv[1].values()), kv[0])):
        rows.append({"url": acc.target_shown[key], "links": sum(c.values()), **{v: c.get(v, 0) for v in VERDICTS},
                     "domains": len(acc.target_domains.get(key, ())), "homepage": _is_homepage(key)})
    return {
        "pages": len(rows),
        "links": total,
        "homepage_links": home,
        "homepage_share": _share(home, total),
        "homepage_limit": HOMEPAGE_LIMIT,
        "top": rows[:TOP_TARGETS],
        "need_links": [r for r in rows if r["strong"] == 0][:10],
    }


def _monthly_summary(acc: _Acc) -> dict:
    rule = {"factor": SPIKE_FACTOR, "min_links": SPIKE_MIN_LINKS, "window": SPIKE_WINDOW,
            "min_history": SPIKE_MIN_HISTORY, "baseline": "median of the most recent min_history months with new links in the window"}
    if not acc.months:
        return {"months": [], "spikes": [], "bursts": [], "undated": acc.undated, "rule": rule}
    months = _month_range(min(acc.months), max(acc.months))
    counts = [sum(acc.months.get(m, Counter()).values()) for m in months]
    rows = []
    for m, n, hit in zip(months, counts, _spikes(counts), strict=True):
        c = acc.months.get(m, Counter())
        rows.append({"month": m, "links": n, **{v: c.get(v, 0) for v in VERDICTS}, "spike": hit is not None,
                     "ratio": None if hit is None else round(hit[0], 2),
                     "baseline": None if hit is None else round(hit[1], 2)})
    return {"months": rows, "spikes": [r["month"] for r in rows if r["spike"]], "bursts": _bursts(rows),
            "undated": acc.undated, "rule": rule}


def _weak_summary(acc: _Acc) -> dict:
    w = acc.weak
    sites = []
    for site, s in w.sites.items():
        example = s["example"] or ("", "")
        sites.append({
            "domain": display_host(site),
            "domain_ascii": site,
            "kind": "risky" if s["risky"] else "worthless",
            "weak_links": s["weak"],
            "risky_links": s["risky"],
            "risky_passing_nothing": s["risky_idle"],
            "links": sum(acc.domains.get(site or "(no source URL)", Counter()).values()),
            "good_links": w.good.get(site, 0),
            "flags": [f for f, _ in s["flags"].most_common()],  # type: ignore[union-attr]
            "reasons": [s["phrases"][f].most_common(1)[0][0]  # type: ignore[index]
                        for f, _ in s["reasons"].most_common(3)],  # type: ignore[union-attr]
            "zone": s["zones"].most_common(1)[0][0],  # type: ignore[union-attr]
            "example_url": example[0],  # type: ignore[index]
            "example_anchor": example[1],  # type: ignore[index]
        })
    sites.sort(key=lambda s: (s["kind"] != "risky", -s["weak_links"], s["domain"]))
    risky_sites = sum(1 for s in sites if s["kind"] == "risky")
    return {
        "links": w.links,
        "risky_links": w.risky_links,
        "risky_passing_nothing": w.risky_passing_nothing,
        "worthless_links": w.links - w.risky_links,
        "sites": len(sites),
        "risky_sites": risky_sites,
        "worthless_sites": len(sites) - risky_sites,
        "flags": dict(w.flags.most_common()),
        "top_sites": sites[:TOP_WEAK_DOMAINS],
    }


def spike_rule_text(rule: Mapping[str, object]) -> str:
    """The spike rule in words, for the page (from the summary's ``monthly.rule``, so page and JSON agree)."""
    return (f"Spike (rule of thumb): a month with at least {rule['min_links']} new links and more than "
            f"{rule['factor']:g}x its baseline, the median of the {rule['min_history']} most recent months with "
            f"new links among the {rule['window']} before it. With fewer such months a month is not judged, so a "
            "new site's first months and a sparse profile never count as spikes; empty months do not drag the "
            "baseline to zero.")


def plural(n: int, word: str) -> str:
    """'1 site', '7 sites', '1,204 links'."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def pct(x: float) -> str:
    """'32%', '8.7%', '5%': one decimal only where it carries information (under 10%)."""
    v = x * 100
    return f"{v:.1f}%" if 0 < v < 10 and abs(v - round(v)) >= 0.05 else f"{v:.0f}%"


def _alerts(s: dict) -> list[dict[str, str]]:
    """Findings worth a look, most serious first; plain text (escaped when rendered)."""
    out: list[dict[str, str]] = []
    weak = s["weak"]
    if weak["risky_links"]:
        idle = weak["risky_passing_nothing"]  # nofollow / ugc / sponsored or gone: linkq disavow leaves them out
        candidates = weak["risky_links"] - idle
        if not idle:
            which = "they are the candidates for linkq disavow."
        elif not candidates:
            which = ("all of them are nofollow, ugc or sponsored (or gone): they pass nothing, so linkq disavow "
                     "lists none of them.")
        else:
            which = (f"{plural(candidates, 'followed link')} {'is the candidate' if candidates == 1 else 'are the candidates'}"
                     f" for linkq disavow; {idle:,} {'is' if idle == 1 else 'are'} nofollow, ugc or sponsored (or gone) "
                     "and pass nothing.")
        out.append({"kind": "risky", "severity": "high" if candidates else "medium", "message": (
            f"{plural(weak['risky_links'], 'weak link')} from {plural(weak['risky_sites'], 'site')} "
            f"{'carries' if weak['risky_links'] == 1 else 'carry'} manipulation signals "
            f"({', '.join(weak['flags'])}): review them; {which}")})
    for b in s["monthly"]["bursts"]:
        when = b["first"] if b["months"] == 1 else f"{b['first']} to {b['last']} ({b['months']} months)"
        mostly_weak = b["weak"] * 2 >= b["links"]
        out.append({"kind": "spike", "severity": "high" if mostly_weak else "medium", "message": (
            f"{when}: {b['links']:,} new links ({b['weak']:,} of them weak), up to {b['max_ratio']:.1f}x the usual "
            f"{b['baseline']:g} a month (median of the recent months with new links). Sudden "
            "bursts are typical of bought links" + ("." if mostly_weak else
            ", but most of these score strong or review: see where they come from (press coverage and a "
            "widely shared post come in bursts too)."))})
    a = s["anchors"]
    if a["overoptimised"]:
        out.append({"kind": "anchors", "severity": "high", "message": (
            f"Exact + partial match anchors are {pct(a['money_share'])} of the profile "
            f"(rule of thumb: under {pct(a['money_limit'])}). Keyword-rich anchors at this level look built.")})
    for c in a["commercial_over_limit"]:
        out.append({"kind": "commercial_anchor", "severity": "medium", "message": (
            f"The commercial anchor \u201c{c['text']}\u201d is used by {c['links']} links ({pct(c['share'])}; "
            f"rule of thumb: no single money anchor above {pct(a['commercial_limit'])}).")})
    t = s["targets"]
    if t["links"] and t["homepage_share"] > t["homepage_limit"]:
        out.append({"kind": "homepage", "severity": "medium", "message": (
            f"{pct(t['homepage_share'])} of links point to the homepage; deep pages get little.")})
    if t["need_links"]:
        n = len(t["need_links"])
        out.append({"kind": "need_links", "severity": "info", "message": (
            f"{n} target page{'s' if n != 1 else ''} {'have' if n != 1 else 'has'} no strong link yet "
            "(see Target pages).")})
    lost = s["lost"]
    if lost["links"]:
        out.append({"kind": "lost", "severity": "info", "message": (
            f"{plural(lost['links'], 'link')} from {plural(lost['sites'], 'site')} "
            f"{'is' if lost['links'] == 1 else 'are'} lost (the SEO tool saw {'it' if lost['links'] == 1 else 'them'}"
            " disappear): counted apart, in no chart or verdict, never disavowed.")})
    return out


