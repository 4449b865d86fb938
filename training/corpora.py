"""Read the gold-annotated page corpora in ``../shared/corpora`` (never shipped).

Yields one ``GoldPage`` per page: its HTML, URL (real, or inferred from the
page's canonical link when the corpus has none), the site it belongs to (for
splitting by site) and the gold label of each of its links, in the document
order that ``features.page.parse_page`` enumerates them.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from features.html_text import decode_html
from features.urls import host_of, registered_domain

CORPORA = ("scrapinghub-aeb", "cleaneval", "cleanportaleval", "dragnet", "readability-testpages", "trafilatura-eval")
_CANON = re.compile(rb"""<link[^>]+rel=["']?canonical["']?[^>]*href=["']([^"']+)|<meta[^>]+og:url["'][^>]*content=["']([^"']+)""", re.I)
_ABS = re.compile(rb"""href=["'](https?://[^"'/]+)""", re.I)


@dataclass(frozen=True)
class GoldLink:
    idx: int
    href: str
    anchor: str
    label: str  # content | boilerplate | comments | ambiguous | notext | unlabelled
    scope: str


@dataclass(frozen=True)
class GoldPage:
    corpus: str
    page_id: str
    url: str
    url_known: bool
    site: str
    html: str
    links: list[GoldLink]


def _read_links(path: Path) -> dict[str, list[GoldLink]]:
    csv.field_size_limit(sys.maxsize)
    by_page: dict[str, list[GoldLink]] = defaultdict(list)
    urls: dict[str, str] = {}
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t")
        header = next(reader)
        col = {name: i for i, name in enumerate(header)}
        for row in reader:
            if len(row) < len(header):
                continue
            try:
                idx = int(row[col["link_idx"]])
            except ValueError:
                continue
            pid = row[col["page_id"]]
            by_page[pid].append(
                GoldLink(idx, row[col["href"]], row[col["anchor_text"]], row[col["label"]], row[col["scope"]])
            )
            if row[col["page_url"]]:
                urls[pid] = row[col["page_url"]]
    by_page["__urls__"] = urls  # type: ignore[assignment]
    return by_page


def infer_site(raw: bytes) -> str | None:
    """Site of a page without a known URL: its canonical/og:url, else the most linked absolute host."""
    m = _CANON.search(raw[:200_000])
    if m:
        url = (m.group(1) or m.group(2)).decode("utf-8", "ignore")
        if url.startswith("http"):
            return host_of(url)
    hosts = Counter(host_of(h.decode("utf-8", "ignore")) for h in _ABS.findall(raw))
    hosts.pop("", None)
    if hosts:
        return hosts.most_common(1)[0][0]
    return None


def page_file(root: Path, corpus: str, pid: str) -> Path:
    if corpus == "scrapinghub-aeb":
        return root / "html" / f"{pid}.html.gz"
    if corpus == "cleaneval":
        part, num = pid.split("/")
        return root / part / "input" / f"{num}.html.gz"
    if corpus == "cleanportaleval":
        return root / "input" / f"{pid}.html.gz"
    if corpus == "dragnet":
        return root / "HTML" / f"{pid}.html.gz"
    if corpus == "readability-testpages":
        return root / "test-pages" / pid / "source.html.gz"
    for sub in ("eval", "cache"):
        p = root / sub / f"{pid}.gz"
        if p.exists():
            return p
    return root / "eval" / f"{pid}.gz"


def iter_gold_pages(shared: Path, corpora: tuple[str, ...] = CORPORA) -> Iterator[GoldPage]:
    """Every page of the named corpora that has gold links, with its HTML."""
    for corpus in corpora:
        root = shared / "corpora" / corpus
        links = _read_links(root / "derived" / "links.tsv.gz")
        urls: dict[str, str] = links.pop("__urls__")  # type: ignore[assignment]
        if corpus == "scrapinghub-aeb":
            gt = json.loads((root / "ground-truth.json").read_text())
            urls.update({k: v["url"] for k, v in gt.items()})
        for pid in sorted(links):
            path = page_file(root, corpus, pid)
            if not path.exists():
                continue
            with gzip.open(path) as fh:
                raw = fh.read()
            url = urls.get(pid)
            url_known = bool(url)
            if not url:
                host = infer_site(raw) or f"{corpus}-{re.sub(r'[^a-z0-9]+', '-', pid.lower())}.invalid"
                url = f"http://{host}/"
            try:
                html = decode_html(raw)
            except ValueError:
                continue
            site = registered_domain(url)
            if corpus == "readability-testpages" and not url_known and site.endswith(".invalid"):
                site = f"readability-{pid}"
            yield GoldPage(corpus, pid, url, url_known, site, html, sorted(links[pid], key=lambda g: g.idx))
