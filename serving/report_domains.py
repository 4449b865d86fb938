"""One row per referring domain: what auditors and disavow files work with.

:class:`DomainTable` is fed every row of a scored file (``add``) and keeps one small record per
referring domain (counts, the best and the worst link, flag counts), so its memory grows with the
number of domains, not rows. :meth:`DomainTable.rows` returns every domain, most risky first;
:func:`write_domains_csv` writes them beside the report (cells defused against spreadsheet formulas by
``features.recordio.write_rows``), and the report page shows the first :data:`TOP_DOMAIN_ROWS`.

Column meanings (``DOMAIN_COLUMNS``): ``links`` every row from the domain; ``live`` rows scored as live
links (a verdict, and not gone from their fetched page: ``link_missing``, ``page_gone``); ``lost`` rows
the SEO tool lists as lost (never scored, never in the verdict counts); ``strong`` / ``review`` /
``weak`` the verdicts of the rows that have one (as in the report's charts); ``risky`` / ``worthless``
the two kinds of weak link (``serving.result_fields.risk_class``: the rule of the ``risk`` column, the
rest of the report and ``linkq disavow``; files scored before linkq wrote a ``risk`` column get it too);
``followed`` / ``nofollow`` live rows whose rel is known (``nofollow`` = nofollow, ugc or sponsored: they
pass nothing); ``best_*`` / ``worst_*`` the live link with the highest / lowest score (the first in file
order on a tie); ``flags`` the manipulation flags of its rows with a verdict, as ``flag:count``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from features.disavow import display_host
from features.recordio import write_rows
from serving.result_fields import risk_class
from serving.scored_file import NOT_LIVE, VERDICTS, ScoredLink, rel_passes_nothing, risk_flags_of, status_kind

TOP_DOMAIN_ROWS = 25  # rows of the table shown on the page; the CSV has them all

DOMAIN_COLUMNS = (
    "referring_domain", "referring_domain_ascii", "links", "live", "lost", "strong", "review", "weak", "risky",
    "worthless", "followed", "nofollow", "best_score", "best_url", "best_anchor", "worst_score", "worst_url",
    "worst_anchor", "flags",
)


class _Domain:
    """Counters of one referring domain (a few ints, two links and a flag counter)."""

    __slots__ = ("best", "counts", "flags", "worst")

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.flags: Counter[str] = Counter()
        self.best: tuple[float, str, str] | None = None  # (score, url, anchor)
        self.worst: tuple[float, str, str] | None = None


class DomainTable:
    """Streaming per-domain counts over the rows of one scored file."""

    def __init__(self) -> None:
        self.domains: dict[str, _Domain] = {}

    def add(self, link: ScoredLink, site: str) -> None:
        """Count one row; ``site`` is its referring site (``scored_file.site_of``), '' when it has none
        (such rows are in the report's status table, not here)."""
        if not site:
            return
        d = self.domains.get(site)
        if d is None:
            d = self.domains[site] = _Domain()
        c = d.counts
        c["links"] += 1
        kind = status_kind(link)
        if kind == "lost":
            c["lost"] += 1
            return
        if link.verdict is None:
            return
        c[link.verdict] += 1  # as in the report's charts: every row with a verdict
        risk = risk_class(link.flags, link.verdict)  # the risk column's rule, also for older files
        if risk:
            c[risk] += 1
        d.flags.update(risk_flags_of(link))
        if kind in NOT_LIVE:
            return
        c["live"] += 1
        passes_nothing = rel_passes_nothing(link.rel)
        if passes_nothing is not None:
            c["nofollow" if passes_nothing else "followed"] += 1
        if link.score is not None:
            shown = (link.score, link.source_url or "", link.anchor_text or "")
            if d.best is None or link.score > d.best[0]:
                d.best = shown
            if d.worst is None or link.score < d.worst[0]:
                d.worst = shown

    def rows(self) -> list[dict[str, object]]:
        """Every domain as a row of :data:`DOMAIN_COLUMNS`: most risky links first, then most weak links,
        then most links, then by name."""
        out = []
        for site, d in self.domains.items():
            c = d.counts
            best, worst = d.best or (None, "", ""), d.worst or (None, "", "")
            row: dict[str, object] = {
                "referring_domain": display_host(site), "referring_domain_ascii": site,
                **{k: c.get(k, 0) for k in ("links", "live", "lost", *VERDICTS, "risky", "followed", "nofollow")},
                "worthless": c.get("worthless", 0),
                "best_score": best[0], "best_url": best[1], "best_anchor": best[2],
                "worst_score": worst[0], "worst_url": worst[1], "worst_anchor": worst[2],
                "flags": "; ".join(f"{f}:{n}" for f, n in sorted(d.flags.items(), key=lambda kv: (-kv[1], kv[0]))),
            }
            out.append(row)
        out.sort(key=lambda r: (-r["risky"], -r["weak"], -r["links"], r["referring_domain_ascii"]))  # type: ignore[operator]
        return out

    def columns(self) -> tuple[str, ...]:
        """The CSV's columns (:data:`DOMAIN_COLUMNS`)."""
        return DOMAIN_COLUMNS


def domains_csv_path(out_html: Path) -> Path:
    """Where the per-domain CSV goes: beside the report, ``report.html`` -> ``report.domains.csv``."""
    out_html = Path(out_html)
    return out_html.with_name(f"{out_html.stem}.domains.csv")


def write_domains_csv(path: Path, rows: Sequence[dict[str, object]], columns: Sequence[str]) -> None:
    """Write the per-domain rows as CSV, atomically; text cells a spreadsheet would run as a formula
    (an anchor such as ``=HYPERLINK(...)``) get a leading apostrophe (``features.recordio.defuse``)."""
    write_rows(Path(path), list(rows), list(columns))
