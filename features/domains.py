"""Domain lists shipped with linkq (public spam-domain lists) and lookups on them.

Loaded once into a ``DomainLists`` object that the pipeline carries; nothing is
read at import time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

from .urls import host_of, registered_domain

CHEAP_TLDS = frozenset(
    ["xyz", "top", "club", "online", "site", "icu", "buzz", "work", "loan", "click", "link", "win", "bid", "stream", "download", "racing", "review", "trade", "party", "science", "date", "faith", "accountant", "cricket", "gq", "tk", "ml", "ga", "cf", "pw", "cc", "su"]
)


@dataclass(frozen=True)
class DomainLists:
    """Hosts on public referrer-spam lists (matched on host and registered domain)."""

    spam: frozenset[str]
    # host -> listed; a per-object memo (not part of equality), filled by is_spam
    _memo: dict[str, bool] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def load(cls) -> DomainLists:
        text = (resources.files("features") / "resources" / "spam_domains.txt").read_text(encoding="utf-8")
        hosts = frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))
        return cls(spam=hosts)

    def is_spam(self, url: str) -> bool:
        host = host_of(url)
        listed = self._memo.get(host)
        if listed is None:
            listed = bool(host) and (host in self.spam or registered_domain(host) in self.spam)
            if len(self._memo) < 20_000:
                self._memo[host] = listed
        return listed
