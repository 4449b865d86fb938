"""The Google disavow file format: parse entries and match URLs against them.

Rules (Search Console help): UTF-8 or ASCII text; one entry per line, either a
full URL or ``domain:example.com`` (covers that domain and its subdomains);
lines starting with ``#`` are comments.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .urls import host_of, url_key


@dataclass
class Disavow:
    domains: set[str] = field(default_factory=set)  # lower-case hosts, punycode as written
    urls: set[str] = field(default_factory=set)  # url_key() of each URL entry
    comments: list[str] = field(default_factory=list)

    def covers(self, url: str) -> bool:
        """True when ``url`` is disavowed by a URL entry or by a domain entry of it or a parent."""
        key = url_key(url)
        if key and key in self.urls:
            return True
        host = host_of(url)
        parts = host.split(".")
        return any(".".join(parts[i:]) in self.domains for i in range(len(parts) - 1))


def parse_disavow(text: str) -> Disavow:
    d = Disavow()
    for raw in text.splitlines():
        line = raw.strip().lstrip("\ufeff")
        if not line:
            continue
        if line.startswith("#"):
            d.comments.append(line)
        elif line.lower().startswith("domain:"):
            dom = line.split(":", 1)[1].strip().lower().rstrip(".")
            if dom.startswith("www."):
                dom = dom[4:]
            if dom:
                d.domains.add(dom)
        else:
            key = url_key(line)
            if key:
                d.urls.add(key)
    return d
