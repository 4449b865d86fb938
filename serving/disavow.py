"""Write a Google disavow file from a scored file: the risky weak links only, merged and allow-listed.

Google's own guidance (see /work/shared/docs/disavow-format.md) is that disavow is for paid links and
link schemes, not for every low-quality link: it ignores most spam by itself. So a link is a candidate
only when the model scored it **weak** *and* it carries **manipulation signals** (the ``flags`` column,
or the ``--explain`` feature columns of older files: paid, spam-listed source, money or spam-keyword
anchor, the tool's spam verdict, a generated network, a doorway page, spam vocabulary) *and* its
evidence is **live and followed**: a lost link, and a nofollow, ugc or sponsored one, passes nothing,
so it is never listed (a link whose rel the file does not give counts as followed). A weak nofollow forum link without
flags is worthless, not risky, and is never listed. ``spam_target`` is not counted: it describes the
user's own site.

``min_risk`` is the minimum number of *distinct* manipulation signals a weak link must carry (default 1;
2 keeps only links where two independent signals agree, e.g. paid + money anchor).

Rules for the file:

* ``level="domain"``: one ``domain:`` line per referring site (``scored_file.site_of``: the registered
  domain, IDNA/punycode, with a user's own space on a hosting platform as its own site:
  ``someone.blogspot.com``, ``someone.wordpress.com``) when its rows justify it: a flag that speaks of
  the whole site (spam-listed, the tool's spam verdict or score, a generated network, spam vocabulary)
  or two or more risky links. A site with one risky link and nothing against the site itself (a
  keyword anchor in one forum post), that also sends strong or review links, that has a subdomain or
  page on the allow-list, that is an IP address, or that is a platform many people publish on
  (``medium.com``, ``reddit.com``: its users' pages say nothing of the others) is listed by URL
  instead, so good links are never disavowed with it. ``level="url"``: one line per linking page URL.
* URLs are written with the host in punycode and non-ASCII/space characters percent-encoded; a
  candidate URL over 2,048 characters is **skipped** (and counted), because one such line makes Google
  reject the whole file. An over-long URL in the user's *existing* file is refused (we do not drop
  their entries silently).
* ``merge``: the user's existing file is kept first, line for line (entries and comments), and only
  entries it does not already cover are appended. Entries of the existing file that the allow-list
  covers are commented out (``# linkq: removed, on the allow-list: ...``), because an allow-listed site
  must never be in the file.
* ``allow``: one domain or URL per line, ``#`` comments. A domain (``example.com``, ``domain:example.com``,
  ``*.example.com`` or a bare ``https://example.com/``) also covers its subdomains and every URL on them.
  Unicode and punycode spellings match each other.
* Limits: UTF-8, at most 100,000 lines (comments and blank lines count) and 2 MB (read as 2,000,000
  bytes, the stricter reading); otherwise :class:`DisavowError` is raised and nothing is written.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from features.disavow import (
    MAX_BYTES,
    MAX_LINES,
    MAX_URL_CHARS,
    AllowList,
    DisavowError,
    display_host,
    file_url,
    host_to_ascii,
    is_ip,
    parents,
    parse_allowlist,
    read_text,
    url_id,
)
from features.recordio import write_text_atomic
from features.source_kind import is_platform_site
from serving.scored_file import (
    FLAG_TEXT,
    ScoredFileError,
    is_risky,
    live_and_followed,
    open_scored,
    risk_flags_of,
    site_of,
)

__all__ = [
    "LEVELS",
    "MAX_BYTES",
    "MAX_LINES",
    "MAX_URL_CHARS",
    "AllowList",
    "DisavowError",
    "build_disavow",
    "parse_allowlist",
]

LEVELS = ("domain", "url")
_FLAG_ORDER = {f: i for i, f in enumerate(FLAG_TEXT)}


# --------------------------------------------------------------------------------------------------
# normal forms: IDNA host names, URL keys with an IDNA host


# --------------------------------------------------------------------------------------------------
# allow-list


# --------------------------------------------------------------------------------------------------
# the user's existing file


@dataclass
class _Existing:
    lines: list[str] = field(default_factory=list)  # kept verbatim (or commented out)
    domains: set[str] = field(default_factory=set)
    urls: set[str] = field(default_factory=set)
    entries: int = 0
    removed: list[str] = field(default_factory=list)
    unreadable: list[int] = field(default_factory=list)

    def covers_domain(self, domain: str) -> bool:
        return any(p in self.domains for p in parents(domain))

    def covers(self, uid: str | None, host: str | None) -> bool:
        return bool(uid and uid in self.urls) or (bool(host) and self.covers_domain(host))  # type: ignore[arg-type]


def _read_existing(path: Path, allow: AllowList) -> _Existing:
    ex = _Existing()
    for n, raw in enumerate(read_text(path, "existing disavow file").splitlines(), 1):
        line = raw.rstrip().lstrip("\ufeff")
        s = line.strip()
        if not s or s.startswith("#"):
            ex.lines.append(line)
            continue
        if s.lower().startswith("domain:"):
            dom = host_to_ascii(s.split(":", 1)[1].strip())
            if not dom:
                ex.lines.append(line)
                ex.unreadable.append(n)
                continue
            ex.entries += 1
            if allow.blocks_domain(dom) or allow.inside(dom):
                ex.lines.append(f"# linkq: removed, on the allow-list: {s}")
                ex.removed.append(s)
                continue
            ex.domains.add(dom)
            ex.lines.append(line)
            continue
        if len(s) > MAX_URL_CHARS:
            raise DisavowError(
                f"{path}: line {n} is a URL of {len(s):,} characters; Google accepts at most {MAX_URL_CHARS:,} "
                "per URL and would reject the whole file: shorten it or replace it with a domain: line"
            )
        uid = url_id(s)
        if not uid:
            ex.lines.append(line)
            ex.unreadable.append(n)
            continue
        ex.entries += 1
        if allow.blocks_url(s):
            ex.lines.append(f"# linkq: removed, on the allow-list: {s}")
            ex.removed.append(s)
            continue
        ex.urls.add(uid)
        ex.lines.append(line)
    while ex.lines and not ex.lines[-1].strip():
        ex.lines.pop()
    return ex


# --------------------------------------------------------------------------------------------------
# building


# Flags that speak against the whole referring site, not only the one page (see the module docstring).
SITE_FLAGS = frozenset({"spam_source", "tool_spam", "tool_spam_score", "network", "spam_vocabulary"})


@dataclass
class _Site:
    links: int = 0
    flags: Counter[str] = field(default_factory=Counter)
    urls: dict[str, tuple[str, set[str]]] = field(default_factory=dict)  # url id -> (url, its flags)


def _group_key(flags: set[str] | Counter[str]) -> tuple[str, ...]:
    return tuple(sorted(flags, key=lambda f: (_FLAG_ORDER.get(f, 99), f)))


def _group_comment(key: tuple[str, ...], entries: int, links: int, kind: str) -> str:
    what = "; ".join(FLAG_TEXT.get(f, f) for f in key)
    return f"# {' + '.join(key)}: {what} ({entries} {kind}{'s' if entries != 1 else ''}, {links} link{'s' if links != 1 else ''})"


def build_disavow(
    scored_path: Path,
    out: Path,
    merge: Path | None = None,
    allow: Path | None = None,
    level: str = "domain",
    min_risk: int = 1,
    model_id: str | None = None,
    today: date | None = None,
) -> dict:
    """Write the disavow file ``out`` from a scored file; return counts of what was done.

    See the module docstring for the rules. Raises :class:`DisavowError` (nothing written) when the
    inputs cannot be read or the result would break Google's limits.
    """
    if level not in LEVELS:
        raise DisavowError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
    if not isinstance(min_risk, int) or isinstance(min_risk, bool) or min_risk < 1:
        raise DisavowError(
            f"min_risk is the minimum number of manipulation flags on a weak link and must be 1 or more, got {min_risk!r}"
        )
    scored_path, out = Path(scored_path), Path(out)
    allow_list = parse_allowlist(read_text(Path(allow), "allow-list")) if allow else AllowList()
    existing = _read_existing(Path(merge), allow_list) if merge else _Existing()

    sites: dict[str, _Site] = defaultdict(_Site)
    good_sites: set[str] = set()
    candidates = 0
    passes_nothing = 0  # risky links that are lost, nofollow, ugc or sponsored
    file_model: str | None = None
    try:
        with open_scored(scored_path) as (_, links):
            for link in links:
                file_model = file_model or link.model_id
                if not link.source_url:
                    continue
                site = site_of(link.source_url)
                if not site:
                    continue
                if link.verdict in ("strong", "review"):
                    good_sites.add(site)
                if not is_risky(link, min_risk):
                    continue
                if not live_and_followed(link):
                    passes_nothing += 1
                    continue
                candidates += 1
                flags = set(risk_flags_of(link))
                s = sites[site]
                s.links += 1
                s.flags.update(flags)
                uid = url_id(link.source_url)
                if uid:
                    _, seen = s.urls.setdefault(uid, (link.source_url, set()))
                    seen.update(flags)
    except ScoredFileError as exc:
        raise DisavowError(str(exc)) from exc
    model_id = model_id or file_model

    allowlisted: list[str] = []
    already = 0
    too_long: list[str] = []
    as_urls: dict[str, str] = {}
    domain_groups: dict[tuple[str, ...], list[tuple[str, int]]] = defaultdict(list)
    url_groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
    url_group_links: Counter[tuple[str, ...]] = Counter()
    new_domains: set[str] = set()

    pending_urls: list[tuple[str, str, set[str]]] = []  # (url id, url, flags)
    for site in sorted(sites):
        s = sites[site]
        if allow_list.blocks_domain(site):
            allowlisted.append(f"domain:{site}")
            continue
        if level == "domain":
            reason = None
            if is_ip(site) or "." not in site:
                reason = "an IP address or a bare host name: listed by URL"
            elif is_platform_site(site):
                reason = "a platform many people publish on: only its risky pages are listed, never the platform"
            elif site in good_sites:
                reason = "also sends strong or review links: only its risky pages are listed"
            elif allow_list.inside(site):
                reason = "a subdomain or page of it is on the allow-list: only its risky pages are listed"
            elif s.links < 2 and not (set(s.flags) & SITE_FLAGS):
                reason = "one risky link and nothing against the site itself: listed by URL"
            if reason is None:
                if existing.covers_domain(site):
                    already += 1
                    continue
                domain_groups[_group_key(s.flags)].append((site, s.links))
                new_domains.add(site)
                continue
            as_urls[site] = reason
        pending_urls.extend((uid, url, flags) for uid, (url, flags) in s.urls.items())

    for uid, url, flags in pending_urls:
        host = uid.partition("/")[0].partition(":")[0]
        if allow_list.blocks(uid, host):
            allowlisted.append(url)
            continue
        written = file_url(url)
        if written is None:
            continue
        if len(written) > MAX_URL_CHARS:
            too_long.append(url)
            continue
        if existing.covers(uid, host) or any(p in new_domains for p in parents(host)):
            already += 1
            continue
        key = _group_key(flags)
        url_groups[key].append(written)
        url_group_links[key] += 1

    # ---- the text
    lines = list(existing.lines)
    n_domains = sum(len(v) for v in domain_groups.values())
    n_urls = len({u for v in url_groups.values() for u in v})
    if n_domains or n_urls or not merge:
        if lines:
            lines.append("")
        when = (today or date.today()).isoformat()
        lines.append(f"# linkq disavow, {when}, from {scored_path.name}" + (f", model {model_id}" if model_id else ""))
        lines.append(f"# level: {level}; min-risk: {min_risk} (weak links with at least {min_risk} manipulation "
                     f"signal{'s' if min_risk != 1 else ''})")
        lines.append("# weak links without manipulation signals are ignored by Google and are not listed")
        if not (n_domains or n_urls):
            lines.append("# no disavow candidates")
        seen_urls: set[str] = set()
        for key, entries in sorted(domain_groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            lines.append(_group_comment(key, len(entries), sum(n for _, n in entries), "domain"))
            for d, _ in sorted(entries):
                if display_host(d) != d:
                    lines.append(f"# {display_host(d)}")  # the readable name of a punycode domain
                lines.append(f"domain:{d}")
        for key, urls in sorted(url_groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            fresh = [u for u in sorted(set(urls)) if u not in seen_urls]
            seen_urls.update(fresh)
            if not fresh:
                continue
            lines.append(_group_comment(key, len(fresh), url_group_links[key], "URL"))
            lines.extend(fresh)
        for site, reason in sorted(as_urls.items()):
            lines.append(f"# {site}: {reason}")
    text = "\n".join(lines) + "\n"

    n_lines, n_bytes = len(lines), len(text.encode("utf-8"))
    if n_lines > MAX_LINES:
        raise DisavowError(
            f"the disavow file would have {n_lines:,} lines; Google accepts at most {MAX_LINES:,} (comments and "
            "blank lines count). Use --level domain to group URLs by site, or a higher --min-risk"
        )
    if n_bytes > MAX_BYTES:
        raise DisavowError(
            f"the disavow file would be {n_bytes:,} bytes; Google accepts at most 2 MB ({MAX_BYTES:,} bytes). "
            "Use --level domain to group URLs by site, or a higher --min-risk"
        )

    warnings: list[str] = []
    if out.suffix.lower() != ".txt":
        warnings.append(f"Google's upload form expects a .txt file; {out.name} does not end in .txt")
    if not merge:
        warnings.append("uploading a disavow file replaces the previous one: pass --merge with your current file "
                        "to keep its entries")
    if too_long:
        warnings.append(f"{len(too_long)} URL(s) over {MAX_URL_CHARS:,} characters skipped (Google would reject the "
                        "file); use --level domain to cover them")
    if existing.unreadable:
        warnings.append(f"existing file lines not understood (kept as they are): {existing.unreadable[:20]}")
    if existing.removed:
        warnings.append(f"{len(existing.removed)} entr{'ies' if len(existing.removed) != 1 else 'y'} of the existing "
                        "file are on the allow-list and were commented out")
    write_text_atomic(out, text)
    return {
        "out": str(out),
        "level": level,
        "min_risk": min_risk,
        "model_id": model_id,
        "candidate_links": candidates,
        "skipped_not_live_or_followed": passes_nothing,
        "candidate_sites": len(sites),
        "domains_added": n_domains,
        "urls_added": n_urls,
        "skipped_allowlist": len(allowlisted),
        "allowlisted": allowlisted[:100],
        "already_listed": already,
        "existing_entries": existing.entries,
        "existing_removed_by_allowlist": len(existing.removed),
        "skipped_too_long": len(too_long),
        "sites_as_urls": as_urls,
        "lines": n_lines,
        "bytes": n_bytes,
        "warnings": warnings,
    }


def summary_lines(s: dict) -> list[str]:
    """What ``linkq disavow`` prints about a file :func:`build_disavow` wrote."""
    return [f"{s['domains_added']} domains and {s['urls_added']} URLs added from {s['candidate_links']} risky weak "
            f"links ({s['candidate_sites']} sites); {s['skipped_allowlist']} skipped by the allow-list, "
            f"{s['already_listed']} already listed, {s['existing_entries']} entries kept from --merge; "
            f"{s['lines']:,} lines, {s['bytes']:,} bytes",
            # the score summary counts these as risky too: say why the file leaves them out
            *([f"  {s['skipped_not_live_or_followed']} risky weak links left out: lost, or nofollow / ugc / sponsored "
               "(they pass nothing, so there is nothing to disavow)"] if s["skipped_not_live_or_followed"] else []),
            *(f"  {site}: {reason}" for site, reason in s["sites_as_urls"].items()),
            *(f"  warning: {warning}" for warning in s["warnings"])]
