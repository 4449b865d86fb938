"""Domain lists shipped with linkq (public spam-domain lists) and lookups on them.

Loaded once into a ``DomainLists`` object that the pipeline carries; nothing is
read at import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from .urls import host_of, registered_domain

CHEAP_TLDS = frozenset(
    ["xyz", "top", "club", "online", "site", "icu", "buzz", "work", "loan", "click", "link", "win", "bid", "stream", "download", "racing", "review", "trade", "party", "science", "date", "faith", "accountant", "cricket", "gq", "tk", "ml", "ga", "cf", "pw", "cc", "su"]
)


@dataclass(frozen=True)
class DomainLists:
    """Hosts on public referrer-spam lists (matched on host and registered domain)."""

    spam: frozenset[str]

    @classmethod
    def load(cls) -> DomainLists:
        text = (resources.files("features") / "resources" / "spam_domains.txt").read_text(encoding="utf-8")
        hosts = frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))
        return cls(spam=hosts)

    def is_spam(self, url: str) -> bool:
        host = host_of(url)
        return bool(host) and (host in self.spam or registered_domain(host) in self.spam)
