"""A backlink profile report from a scored file: one self-contained HTML page and a JSON summary.

``linkq score`` writes one row per link with the user's export columns followed by ``score``,
``verdict``, ``reasons``, ``placement_zone``, ``status`` and ``flags``. People reading that table want
pictures, not 10,000 rows: how the scores are spread, which referring sites send weak links, whether the
anchor texts look natural, when links arrived, and - most of all - which weak links are merely
*worthless* (Google ignores them) and which are *risky* (manipulation signals: disavow candidates).

Design choices:

* Rooms: ``serving.scored_file`` reads the scored file (every format ``linkq score`` accepts,
  Parquet too) into links with their risk flags and sites; ``serving.report_summary`` does all the
  counting (:func:`build_summary`) and returns plain JSON-able data, ``serving.report_domains`` the
  per-domain table; this module renders the HTML from that summary alone (charts by matplotlib, in
  ``serving.report_charts``), so the page and ``--json`` can never disagree.
* The page has no scripts and no external resources: CSS is inline and the charts are inline SVG,
  so it opens offline, in a mail attachment or an archive years later. Every value from the data is
  HTML-escaped, and referring URLs are shown as text, never as clickable links (they are often spam).
* "Natural" anchor mixes, spike and concentration thresholds are rules of thumb, stated as such in the
  page and kept as module constants below.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from pathlib import Path

from features.disavow import display_host, host_to_ascii
from features.recordio import write_text_atomic
from features.urls import host_of
from serving import report_charts as charts
from serving.report_domains import domains_csv_path, write_domains_csv
from serving.report_summary import (
    ANCHOR_CLASSES,
    ANCHOR_LABELS,
    COMMERCIAL_ANCHOR_LIMIT,
    COMMERCIAL_ANCHOR_MIN_LINKS,
    HOMEPAGE_LIMIT,
    MAX_CHART_MONTHS,
    MONEY_ANCHOR_LIMIT,
    REFERENCE_MIX,
    VERDICT_COLORS,
    VERDICTS,
    build_summary,
    classify_anchor,
    collect,
    pct,
    plural,
    spike_rule_text,
)
from serving.scored_file import (
    FLAG_TEXT,
    REL_CLASSES,
    REL_COLORS,
    REL_LABELS,
    ZONE_LABELS,
    ScoredFileError,
    ScoredLink,
    is_risky,
    open_scored,
    risk_flags_of,
    site_of,
)

__all__ = [
    "ANCHOR_CLASSES",
    "REFERENCE_MIX",
    "ScoredFileError",
    "ScoredLink",
    "build_summary",
    "classify_anchor",
    "display_host",
    "host_to_ascii",
    "is_risky",
    "open_scored",
    "render_html",
    "risk_flags_of",
    "site_of",
    "write_report",
]

# --------------------------------------------------------------------------------------------------
# HTML


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: max(1, n - 1)] + "\u2026"


def _legend(items: Iterable[tuple[str, str]]) -> str:
    """A chart's legend as HTML (it wraps with the page's width and stays text), not inside the SVG."""
    return '<div class="legend">' + "".join(
        f'<span><i style="background:{c}"></i>{_e(t)}</span>' for t, c in items) + "</div>"


def _target_label(url: str, site: str | None, homepage: bool) -> str:
    host = host_of(url)
    try:
        from urllib.parse import urlsplit

        parts = urlsplit(url if "://" in url[:12] else "http://" + url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    except ValueError:
        path = url
    same = site and host_to_ascii(host) and site_of(host) == site_of(site)
    text = path if same else f"{display_host(host_to_ascii(host) or host)}{path}"
    return f"{text}  (homepage)" if homepage else text


def _flag_chips(flags: Iterable[str]) -> str:
    return "".join(f'<span class="chip" title="{_e(FLAG_TEXT.get(f, f))}">{_e(f)}</span>' for f in flags)


_CSS = """
:root{--ink:#1f2933;--muted:#616e7c;--line:#e4e7eb;--bg:#f3f5f7;--card:#fff;--red:#c53030;--green:#2f9e6b}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
 font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue","DejaVu Sans",Arial,sans-serif}
.wrap{max-width:1160px;margin:0 auto;padding:28px 24px 48px}
header.top{background:#1f2933;color:#fff;padding:26px 0 22px}
header.top .wrap{padding-top:0;padding-bottom:0}
header.top h1{margin:0 0 4px;font-size:26px;font-weight:650;letter-spacing:-.01em}
header.top p{margin:0;color:#cbd2d9}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(132px,1fr));gap:12px;margin:-2px 0 18px}
.kpi{background:var(--card);border-radius:10px;padding:14px 16px;box-shadow:0 1px 3px rgba(15,23,42,.08);
 border-top:4px solid #cbd2d9}
.kpi b{display:block;font-size:26px;line-height:1.15;font-weight:650}
.kpi span{color:var(--muted);font-size:12.5px}
.kpi.strong{border-top-color:#2f9e6b}.kpi.review{border-top-color:#e8a33d}.kpi.weak{border-top-color:#d64545}
.kpi.risky{border-top-color:#7f1d1d;background:#fff5f5}
.kpi.lost{border-top-color:#9aa5b1;background:#f5f7fa}
section.card{background:var(--card);border-radius:12px;padding:20px 24px 22px;margin:18px 0;
 box-shadow:0 1px 3px rgba(15,23,42,.08)}
section.card h2{margin:0 0 4px;font-size:19px;font-weight:650}
.how{color:var(--muted);margin:0 0 14px;max-width:900px}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:18px}
.grid2 section.card{margin:0}
@media (max-width:900px){.grid2{grid-template-columns:1fr}}
svg.chart{display:block;width:100%;height:auto;overflow:visible}
svg.chart g[id*="-tip"] path{pointer-events:all}
.legend{display:flex;flex-wrap:wrap;gap:6px 16px;margin:0 0 10px;color:var(--muted);font-size:12.5px}
.legend i{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:6px;vertical-align:-1px}
.alerts{list-style:none;margin:0;padding:0}
.alerts li{padding:9px 12px 9px 14px;margin:0 0 8px;border-radius:6px;background:#f8fafc;border-left:4px solid #9aa5b1}
.alerts li.high{background:#fff5f5;border-left-color:#c53030}
.alerts li.medium{background:#fffaf0;border-left-color:#dd8a0b}
.alerts li.info{background:#f0f7ff;border-left-color:#3d6fb6}
.alerts li b{margin-right:6px}
.ok{color:var(--green);font-weight:600}
.split{display:grid;grid-template-columns:1fr 1fr;gap:14px;margin:4px 0 16px}
.split>div{border-radius:10px;padding:14px 16px}
.split .worthless{background:#f5f7fa;border:1px solid #e4e7eb}
.split .risky{background:#fff5f5;border:1px solid #f5c2c2}
.split h3{margin:0 0 4px;font-size:15px}
.split .big{font-size:24px;font-weight:650}
.split p{margin:6px 0 0;color:#3e4c59;font-size:13px}
table{border-collapse:collapse;width:100%;font-size:13px}
th{text-align:left;color:var(--muted);font-weight:600;border-bottom:2px solid var(--line);padding:6px 8px;
 white-space:nowrap}
td{border-bottom:1px solid var(--line);padding:7px 8px;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td code,.url{font:12px/1.4 "DejaVu Sans Mono",Menlo,Consolas,monospace;color:#3e4c59;word-break:break-all}
.badge{display:inline-block;border-radius:999px;padding:1px 9px;font-size:12px;font-weight:600;white-space:nowrap}
.badge.risky{background:#fde2e2;color:#9b1c1c}.badge.worthless{background:#eef1f4;color:#52606d}
.chip{display:inline-block;background:#fdecec;color:#9b1c1c;border-radius:4px;padding:0 6px;margin:0 4px 3px 0;
 font-size:11.5px;white-space:nowrap}
.muted{color:var(--muted)}
.warn{color:#9b1c1c}
ul.why{margin:0;padding-left:15px}
ul.why li{margin:0 0 2px}
table.weak,table.domains{table-layout:fixed}
table.domains th{white-space:normal}
table.weak .url{margin-top:3px}
.small{font-size:12.5px}
ul.notes{margin:6px 0 0;padding-left:18px;color:#3e4c59}
ul.notes li{margin:3px 0}
footer{color:var(--muted);font-size:12px;text-align:center;margin-top:28px}
@media print{body{background:#fff}section.card,.kpi{box-shadow:none;border:1px solid #e4e7eb}
 header.top{background:#fff;color:#000;border-bottom:2px solid #000}header.top p{color:#333}}
"""


def render_html(s: dict) -> str:
    """The report page for a summary from :func:`build_summary` (pure function: summary in, HTML out)."""
    site = s.get("site") or "your site"
    scored = s["links"]["scored"]
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Backlink report: {_e(site)}</title>",
        f"<style>{_CSS}</style></head><body>",
        '<header class="top"><div class="wrap">',
        f"<h1>Backlink quality report: {_e(site)}</h1>",
        f"<p>{_e(s['source']['file'])} ({_e(s['source']['format'])}) &middot; {s['links']['rows']:,} rows &middot; "
        f"generated {_e(s['generated_at'].replace('T', ' ').replace('+00:00', ' UTC'))}"
        + (f" &middot; model {_e(s['model_id'])}" if s.get("model_id") else "")
        + "</p></div></header>",
        '<main class="wrap">',
        _kpis(s),
        _alerts_html(s),
    ]
    if scored:
        parts += [_score_section(s), _weak_section(s), _domains_section(s), _anchor_section(s),
                  '<div class="grid2">', _rel_section(s), _zone_section(s), "</div>",
                  _targets_section(s), _monthly_section(s)]
    parts += [_domain_table_section(s), _notes_section(s), "<footer>Generated by linkq. This page is self-contained: no scripts, no "
              "external resources; it opens offline.</footer>", "</main></body></html>"]
    return "\n".join(parts)


def _kpis(s: dict) -> str:
    scored, v, w = s["links"]["scored"], s["verdicts"], s["weak"]
    med = s["score"]["median"]
    cards = [
        ("", f"{scored:,}", f"links scored (of {s['links']['rows']:,} rows)"),
        ("", f"{s['domains']['count']:,}", "referring sites"),
        ("strong", f"{v['strong']:,}", f"strong ({pct(s['verdict_shares']['strong'])})"),
        ("review", f"{v['review']:,}", f"review ({pct(s['verdict_shares']['review'])})"),
        ("weak", f"{v['weak']:,}", f"weak ({pct(s['verdict_shares']['weak'])})"),
        ("risky", f"{w['risky_links']:,}", f"risky weak links from {w['risky_sites']:,} sites"),
        ("", "-" if med is None else f"{med:.2f}", "median score"),
    ]
    lost = s["links"].get("lost", 0)
    if lost:  # not scored as live: counted apart, in no chart
        cards.insert(1, ("lost", f"{lost:,}", f"lost links, counted apart ({pct(lost / s['links']['rows'])} of rows)"))
    return '<div class="kpis">' + "".join(
        f'<div class="kpi {c}"><b>{_e(big)}</b><span>{_e(small)}</span></div>' for c, big, small in cards) + "</div>"


def _alerts_html(s: dict) -> str:
    items = s["alerts"]
    head = '<section class="card"><h2>What needs attention</h2>'
    if not items:
        return head + ('<p class="ok">Nothing stands out: no risky weak links, no spikes, no over-optimised '
                       "anchors by the rules of thumb below.</p></section>")
    label = {"high": "Risk", "medium": "Check", "info": "Note"}
    lis = "".join(f'<li class="{_e(a["severity"])}"><b>{label.get(a["severity"], "Note")}</b>{_e(a["message"])}</li>'
                  for a in items)
    return head + f'<ul class="alerts">{lis}</ul></section>'


def _score_section(s: dict) -> str:
    h = s["score"]["histogram"]
    bins = s["score"]["bins"]
    tips = []
    for i in range(20):
        counts = ", ".join(f"{v} {h[v][i]}" for v in VERDICTS if h[v][i])
        tips.append(f"score {bins[i]:.2f}-{bins[i + 1]:.2f}: {sum(h[v][i] for v in VERDICTS)} links"
                    + (f" ({counts})" if counts else ""))
    chart = charts.vbars("score", "Score distribution by verdict", [f"{b:.2f}" for b in bins[:-1]], h, VERDICT_COLORS,
                         tips, gap=0.08, height=250, edge_labels=[(i / 10, f"{i / 10:.1f}") for i in range(11)])
    mean, median = s["score"]["mean"], s["score"]["median"]
    stats = f"Mean {'-' if mean is None else f'{mean:.2f}'}, median {'-' if median is None else f'{median:.2f}'}."
    return ('<section class="card"><h2>Score distribution</h2>'
            '<p class="how">The score is the probability that a link passes editorial value (0 = none, 1 = a '
            "real editorial recommendation); colours are the verdicts. A healthy profile has a hump on the right; "
            f"a tall pile at the left is links that do nothing for you. {stats}</p>"
            + _legend((v.capitalize(), VERDICT_COLORS[v]) for v in VERDICTS) + chart + "</section>")


def _weak_section(s: dict) -> str:
    w = s["weak"]

    def link_word(n: int) -> str:
        return "link" if n == 1 else "links"

    split = (
        '<div class="split"><div class="worthless"><h3>Worthless: ignored by Google</h3>'
        f'<div class="big">{w["worthless_links"]:,} <span class="muted small">{link_word(w["worthless_links"])} from '
        f'{plural(w["worthless_sites"], "site")}</span></div>'
        "<p>Weak links without manipulation signals: nofollow/ugc forum and comment links, footer, "
        "sidebar and directory links. They pass little or nothing, and they do not hurt you either: Google "
        "neutralises them. Leave them alone; do not disavow them.</p></div>"
        '<div class="risky"><h3>Risky: disavow candidates</h3>'
        f'<div class="big">{w["risky_links"]:,} <span class="muted small">{link_word(w["risky_links"])} from '
        f'{plural(w["risky_sites"], "site")}</span></div>'
        "<p>Weak links that carry a manipulation signal: paid placement (rel=sponsored), a spam-listed "
        "linking site, exact-match money anchors, site-wide links, a high spam score or spam vocabulary. They look "
        "like a link scheme; if you or an agency built them, put them in a disavow file (<code>linkq disavow"
        "</code>). Google says it ignores most spam on its own: disavow is for links that could earn a manual "
        "action, not routine clean-up.</p></div></div>"
    )
    if not w["top_sites"]:
        return ('<section class="card"><h2>Weak links: worthless or risky?</h2>' + split
                + '<p class="ok">No weak links.</p></section>')
    rows = []
    for d in w["top_sites"]:
        # a candidate as linkq disavow sees it: a risky link that passes something
        candidate = d["kind"] == "risky" and d.get("risky_passing_nothing", 0) < d["risky_links"]
        if d["kind"] != "risky":
            badge = '<span class="badge worthless">Worthless: ignored</span>'
        elif not candidate:
            badge = ('<span class="badge risky">Risky signals</span>'
                     '<div class="muted small">nofollow, ugc or sponsored: not for the disavow file</div>')
        else:
            badge = '<span class="badge risky">Risky: disavow candidate</span>'
        badge += f'<div class="muted small">zone: {_e(ZONE_LABELS.get(d["zone"], d["zone"]).lower())}</div>'
        if candidate and d["good_links"]:
            badge += (f'<div class="small warn">+{d["good_links"]} strong/review link'
                      f'{"s" if d["good_links"] != 1 else ""}: disavow by URL</div>')
        reasons = "".join(f"<li>{_e(r.lstrip('-+ '))}</li>" for r in d["reasons"])
        reasons = f'<ul class="why">{reasons}</ul>' if reasons else '<span class="muted">-</span>'
        example = (f'<div class="url">{_e(_clip(d["example_url"], 140))}</div>'
                   + (f'<div class="muted small">anchor \u201c{_e(_clip(d["example_anchor"], 80))}\u201d</div>'
                      if d["example_anchor"] else ""))
        rows.append(
            f'<tr><td><b>{_e(d["domain"])}</b>{example}</td><td>{badge}</td>'
            f'<td class="n">{d["weak_links"]} / {d["links"]}</td><td>{_flag_chips(d["flags"]) or "-"}</td>'
            f'<td class="small">{reasons}</td></tr>')
    table = ('<table class="weak"><colgroup><col style="width:35%"><col style="width:17%"><col style="width:8%">'
             '<col style="width:14%"><col style="width:26%"></colgroup>'
             '<thead><tr><th>Referring site and an example link (not clickable)</th><th>Kind</th>'
             '<th class="n">Weak / all</th><th>Flags</th><th>Why weak (top reasons)</th></tr></thead><tbody>'
             + "".join(rows) + "</tbody></table>")
    more = w["sites"] - len(w["top_sites"])
    return ('<section class="card"><h2>Weak links: worthless or risky?</h2>'
            '<p class="how">Not every weak link is a problem. The model\'s flags separate the two kinds.</p>'
            + split + '<h3 style="margin:6px 0 8px;font-size:15px">Top weak referring sites</h3>'
            '<p class="how small">Risky sites first, then by number of weak links.'
            + (f" {more} more sites with weak links are in the scored file." if more > 0 else "") + "</p>"
            + table + "</section>")


def _domains_section(s: dict) -> str:
    top = s["domains"]["top"]
    rows = [(d["domain"], {v: d[v] for v in VERDICTS},
             f"{d['domain']}: {d['links']} links (strong {d['strong']}, review {d['review']}, weak {d['weak']})")
            for d in top]
    chart = charts.hbars("domains", f"Verdicts for the top {len(rows)} referring sites", rows, VERDICT_COLORS,
                         label_w=240)
    return (f'<section class="card"><h2>Verdicts by referring site</h2><p class="how">The {len(rows)} sites that send '
            f"the most links (of {s['domains']['count']:,}), split by verdict. A site sending many links that are "
            "all weak is usually a directory, a forum or a link network.</p>"
            + _legend((v.capitalize(), VERDICT_COLORS[v]) for v in VERDICTS) + chart + "</section>")


def _link_cell(score: float | None, url: str, anchor: str) -> str:
    if score is None:
        return '<span class="muted">-</span>'
    return (f'<b>{score:.2f}</b> <span class="url">{_e(_clip(url, 110))}</span>'
            + (f'<div class="muted small">\u201c{_e(_clip(anchor, 60))}\u201d</div>' if anchor else ""))


def _domain_table_section(s: dict) -> str:
    """The first rows of the per-domain table (the CSV beside the report has every domain)."""
    t = s.get("domain_table") or {}
    if not t.get("top"):
        return ""
    worthless = "worthless" in t["columns"]
    rows = []
    for d in t["top"]:
        flags = [f.rsplit(":", 1)[0] for f in str(d["flags"]).split("; ") if f]
        risk = f'{d["risky"]:,}' + (f' <span class="muted">/ {d["worthless"]:,}</span>' if worthless else "")
        rows.append(
            f'<tr><td><b>{_e(d["referring_domain"])}</b></td>'
            f'<td class="n">{d["links"]:,}' + (f'<div class="muted small">{d["lost"]:,} lost</div>' if d["lost"] else "")
            + f'</td><td class="n">{d["strong"]:,} / {d["review"]:,} / {d["weak"]:,}</td><td class="n">{risk}</td>'
            f'<td class="n">{d["followed"]:,} / {d["nofollow"]:,}</td>'
            f'<td class="small">{_link_cell(d["best_score"], d["best_url"], d["best_anchor"])}</td>'
            f'<td class="small">{_link_cell(d["worst_score"], d["worst_url"], d["worst_anchor"])}</td>'
            f"<td>{_flag_chips(flags) or '-'}</td></tr>")
    csv_name = Path(t["csv"]).name if t.get("csv") else None
    where = (f"All {t['count']:,} are in <code>{_e(csv_name)}</code> beside this page (one row per domain, "
             "for your audit sheet and disavow decisions)." if csv_name else f"{t['count']:,} domains in all.")
    return ('<section class="card"><h2>Referring domains, one row each</h2>'
            f'<p class="how">The {len(rows)} domains with the most risky links, then the most weak links. {where} '
            "Links counts every row; lost links (the SEO tool saw them disappear) are counted apart and in no "
            "verdict. Best and worst: the domain's live links with the highest and lowest score (URLs as text, "
            "not clickable).</p>"
            '<table class="domains"><colgroup><col style="width:14%"><col style="width:6%"><col style="width:9%">'
            '<col style="width:6%"><col style="width:8%"><col style="width:21%"><col style="width:21%">'
            '<col style="width:15%"></colgroup><thead><tr><th>Referring domain</th><th class="n">Links</th>'
            '<th class="n">Strong / review / weak</th>'
            f'<th class="n">Risky{" / worthless" if worthless else ""}</th><th class="n">Followed / nofollow</th>'
            "<th>Best link</th><th>Worst link</th><th>Flags</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table></section>")


def _anchor_section(s: dict) -> str:
    a = s["anchors"]
    if not a["classified"]:
        return ('<section class="card"><h2>Anchor text mix</h2><p class="muted">This export has no anchor texts.'
                "</p></section>")
    verdict = (f'<p><b style="color:#c53030">Over-optimised:</b> exact + partial match anchors are '
               f"{pct(a['money_share'])} of the profile (rule of thumb: under {pct(a['money_limit'])}).</p>"
               if a["overoptimised"] else
               f'<p class="ok">Exact + partial match anchors are {pct(a["money_share"])} of the profile '
               f"(rule of thumb: under {pct(a['money_limit'])}).</p>")
    hot = {c["text"] for c in a["commercial_over_limit"]}
    rows = "".join(
        f'<tr><td>{_e(_clip(t["text"], 90))}'
        + (' <span class="chip">money anchor over limit</span>' if t["text"] in hot else "")
        + f'</td><td>{_e(ANCHOR_LABELS[t["class"]])}</td><td class="n">{t["links"]}</td>'
        f'<td class="n">{pct(t["share"])}</td></tr>' for t in a["top"])
    table = ('<table><thead><tr><th>Most used anchor texts</th><th>Class</th><th class="n">Links</th>'
             f'<th class="n">Share</th></tr></thead><tbody>{rows}</tbody></table>')
    return ('<section class="card"><h2>Anchor text mix</h2>'
            '<p class="how">Each anchor is classed from its text and the target URL (brand = the target\'s domain '
            "name, naked URL, generic such as \u201cclick here\u201d, image, partial match = at least half the words "
            "are the target page's keywords, exact match = the anchor is the page's keyword). Grey bars: a natural "
            "profile by rule of thumb (brand \u2248 35%, naked URL \u2248 20%, generic \u2248 15%, partial \u2248 10%, "
            "exact \u2248 3%): not a Google number, and it varies by niche. Earned links mostly name the brand or "
            "the URL; built links repeat the keywords the site wants to rank for.</p>"
            + verdict + _legend([("Your profile", "#3d6fb6"), ("Natural rule of thumb", "#9aa5b1"),
                                 ("Over the limit", "#d64545")])
            + charts.anchor_mix("anchors", "Anchor text mix against a natural profile", [
                (ANCHOR_LABELS[c], a["shares"][c], a["reference"][c], a["counts"][c],
                 a["overoptimised"] and c in ("exact", "partial")) for c in ANCHOR_CLASSES])
            + table
            + (f'<p class="muted small">{a["unknown"]} links without anchor text in the export are not counted.</p>'
               if a["unknown"] else "")
            + "</section>")


def _rel_section(s: dict) -> str:
    r = s["rel"]
    counts = {k: r["counts"][k] for k in REL_CLASSES}
    chart = charts.share_bar("rel", "Link attributes", [(REL_LABELS[k], counts[k], REL_COLORS[k]) for k in REL_CLASSES])
    legend = _legend((f"{REL_LABELS[k]} {counts[k]:,}", REL_COLORS[k]) for k in REL_CLASSES if counts[k])
    t = r["tokens"]
    return ('<section class="card"><h2>Follow, nofollow, sponsored, UGC</h2>'
            '<p class="how">Each link once, by its strongest attribute (sponsored, then ugc, then nofollow). '
            "Nofollow, ugc and sponsored are hints Google may ignore; a natural profile has some of each.</p>"
            + chart + legend
            + f'<p class="muted small">Attribute counts (a link can have several): nofollow {t["nofollow"]:,}, '
            f'ugc {t["ugc"]:,}, sponsored {t["sponsored"]:,}.</p></section>')


def _zone_section(s: dict) -> str:
    z = s["zones"]["counts"]
    colors = {"main_content": "#2f9e6b", "not_found": "#cbd2d9", "unknown": "#cbd2d9"}
    rows = [(ZONE_LABELS[k], {"n": n}, f"{ZONE_LABELS[k]}: {n} links ({pct(s['zones']['shares'][k])})")
            for k, n in z.items()]
    row_colors = [colors.get(k, "#7b8794") for k in z]
    values = [f"{n} ({pct(s['zones']['shares'][k])})" for k, n in z.items()]
    chart = charts.hbars("zones", "Where on the page the links sit", rows, {"n": "#7b8794"}, width=520, label_w=130,
                         bar_h=16, row_colors=row_colors, value_text=values)
    return ('<section class="card"><h2>Placement on the page</h2>'
            '<p class="how">Links inside the article text carry editorial weight; navigation, footer, sidebar and '
            "comment links are boilerplate that search engines discount.</p>" + chart + "</section>")


def _targets_section(s: dict) -> str:
    t = s["targets"]
    site = s.get("site")
    rows = [(_target_label(p["url"], site, p["homepage"]), {v: p[v] for v in VERDICTS},
             f"{p['url']}: {p['links']} links from {p['domains']} sites (strong {p['strong']}, review {p['review']}, "
             f"weak {p['weak']})") for p in t["top"]]
    if not rows:
        return ('<section class="card"><h2>Target pages</h2><p class="muted">This export has no target URLs.</p>'
                "</section>")
    chart = charts.hbars("targets", "Links per target page", rows, VERDICT_COLORS, label_w=300)
    hp = t["homepage_share"]
    conc = (f'<p><b style="color:#c53030">Homepage concentration:</b> {pct(hp)} of links point to the homepage '
            f"(rule of thumb: under {pct(t['homepage_limit'])}).</p>" if hp > t["homepage_limit"] else
            f"<p>{pct(hp)} of links point to the homepage (rule of thumb: under {pct(t['homepage_limit'])}).</p>")
    if t["need_links"]:
        needs = "".join(
            f'<tr><td><span class="url">{_e(_clip(p["url"], 120))}</span></td><td class="n">{p["links"]}</td>'
            f'<td class="n">{p["review"]}</td><td class="n">{p["weak"]}</td></tr>' for p in t["need_links"])
        need = ('<h3 style="margin:14px 0 6px;font-size:15px">Pages that need links</h3>'
                '<p class="how small">Target pages with links but not a single strong one: candidates for outreach '
                "and content work.</p><table><thead><tr><th>Target page</th><th class=\"n\">Links</th>"
                f'<th class="n">Review</th><th class="n">Weak</th></tr></thead><tbody>{needs}</tbody></table>')
    else:
        need = '<p class="ok">Every target page has at least one strong link.</p>'
    return (f'<section class="card"><h2>Target pages</h2><p class="how">Which of your pages the links point to '
            f"({t['pages']:,} pages; top {len(rows)} shown), split by verdict.</p>"
            + _legend((v.capitalize(), VERDICT_COLORS[v]) for v in VERDICTS) + chart + conc + need + "</section>")


def _monthly_section(s: dict) -> str:
    m = s["monthly"]
    head = '<section class="card"><h2>New links per month</h2>'
    if not m["months"]:
        return head + '<p class="muted">The export has no first-seen dates.</p></section>'
    months = m["months"][-MAX_CHART_MONTHS:]
    cut = len(m["months"]) - len(months)
    stacks = {v: [x[v] for x in months] for v in VERDICTS}
    tips = [f"{x['month']}: {x['links']} new links (strong {x['strong']}, review {x['review']}, weak {x['weak']})"
            + (" - spike" if x["spike"] else "") for x in months]
    marks = {i: (f"spike {x['ratio']:.1f}x" if x["ratio"] else "spike") for i, x in enumerate(months) if x["spike"]}
    chart = charts.vbars("months", "New links per month by verdict", [x["month"] for x in months], stacks,
                         VERDICT_COLORS, tips, marks=marks, height=290)
    rule = m["rule"]
    spikes = (f'<p><b style="color:#c53030">Unnatural spike{"s" if len(m["spikes"]) > 1 else ""}:</b> '
              f"{_e(', '.join(m['spikes']))}. Check what was bought or built then.</p>" if m["spikes"]
              else '<p class="ok">No unnatural spikes.</p>')
    return (head + '<p class="how">When the links were first seen by the SEO tool, by verdict. Earned links arrive '
            f"steadily. {_e(spike_rule_text(rule))}</p>"
            + _legend((v.capitalize(), VERDICT_COLORS[v]) for v in VERDICTS) + chart + spikes
            + (f'<p class="muted small">{cut} earlier months are not drawn.</p>' if cut else "")
            + (f'<p class="muted small">{m["undated"]} scored links have no first-seen date.</p>'
               if m["undated"] else "") + "</section>")


def _notes_section(s: dict) -> str:
    status = "".join(f'<tr><td>{_e(k)}</td><td class="n">{n:,}</td></tr>' for k, n in s["status"].items())
    msgs = "".join(f'<tr><td class="small">{_e(k)}</td><td class="n">{n:,}</td></tr>'
                   for k, n in s["status_messages"].items())
    flags = ", ".join(f"{f} = {FLAG_TEXT.get(f, f)}" for f in FLAG_TEXT)
    return ('<section class="card"><h2>Rows and method</h2><div class="grid2" style="gap:24px"><div>'
            '<table><thead><tr><th>Status</th><th class="n">Rows</th></tr></thead><tbody>' + status + "</tbody></table>"
            + ('<table style="margin-top:10px"><thead><tr><th>Messages</th><th class="n">Rows</th></tr></thead>'
               f"<tbody>{msgs}</tbody></table>" if msgs else "")
            + '</div><div><ul class="notes small">'
            "<li>Verdicts and scores come from the linkq model; charts count scored rows only. Lost links "
            "(status lost: the SEO tool saw them disappear) are not scored as live: they are counted apart (a "
            "figure at the top, the lost column of the per-domain table), in no chart, never disavowed.</li>"
            f"<li>Manipulation flags: {_e(flags)}.</li>"
            "<li>Risky = weak and at least one flag about the linking page (spam_target describes your own "
            "site and is not counted).</li>"
            f"<li>Rules of thumb: exact + partial anchors under {pct(MONEY_ANCHOR_LIMIT)}; no single commercial "
            f"anchor above {pct(COMMERCIAL_ANCHOR_LIMIT)} (and {COMMERCIAL_ANCHOR_MIN_LINKS}+ links); homepage under "
            f"{pct(HOMEPAGE_LIMIT)}.</li>"
            f"<li>{_e(spike_rule_text(s['monthly']['rule']))}</li>"
            "<li>Referring site = registered domain (subdomains grouped; blogspot.com-style hosts count as "
            "separate sites).</li></ul></div></div></section>")


def write_report(scored_path: Path, out_html: Path, summary_json: Path | None = None) -> dict:
    """Write the self-contained HTML report, the per-domain CSV beside it (``report.html`` ->
    ``report.domains.csv``, every referring domain) and the JSON summary if asked; return the summary
    (its ``domain_table.csv`` is the CSV's path).

    Every file is written atomically, so a half-written report never looks finished.
    """
    out_html = Path(out_html)
    summary, table = collect(Path(scored_path))
    csv_path = domains_csv_path(out_html)
    write_domains_csv(csv_path, table.rows(), table.columns())
    summary["domain_table"]["csv"] = str(csv_path)
    write_text_atomic(out_html, render_html(summary))
    if summary_json is not None:
        write_text_atomic(Path(summary_json), json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return summary


def summary_lines(summary: dict) -> list[str]:
    """What ``linkq report`` prints: the counts, where the per-domain table is, then one line per alert."""
    v, w = summary["verdicts"], summary["weak"]
    lost = summary["links"].get("lost", 0)
    lines = [f"{summary['links']['scored']} links scored (strong {v['strong']}, review {v['review']}, weak {v['weak']}; "
             f"{w['risky_links']} risky from {w['risky_sites']} sites)"
             + (f"; {lost} lost links counted apart" if lost else "")]
    table = summary.get("domain_table") or {}
    if table.get("csv"):
        lines.append(f"  per-domain table: {table['csv']} ({plural(table['count'], 'referring domain')}, "
                     "most risky first)")
    return [*lines, *(f"  {a['severity']}: {a['message']}" for a in summary["alerts"])]
