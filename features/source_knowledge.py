"""Source knowledge without metrics: is the linking site established, and what does Wikipedia say of it.

Two shipped lists (built by ``training/build_domain_resources.py``; licences in
``features/resources/ATTRIBUTION.md``):
- Majestic Million top 15k (CC BY 3.0): ``majestic_rank`` = Majestic's global rank (1 = most
  referring IP subnets). Absence means nothing beyond "not in the head of the web": NaN.
- Wikipedia's source-reliability statuses (CC BY-SA 4.0 derivative): ``wiki_reliability`` = +1
  generally reliable, 0 no consensus, -1 generally unreliable or deprecated; NaN unlisted.

A lookup matches the host, then its registered domain, except that a user's subdomain of a hosting
or user-content platform (``someone.blogspot.com``, ``x.wordpress.com``) inherits nothing from the
platform: it is someone's space. Wikipedia "discards" user-generated platforms (YouTube, Facebook,
Medium, WordPress.com, ...) as not citable, which is no verdict on the platform as a link source:
a platform (``platform`` = True, from ``features.source_kind``'s platform table) and a wiki get
NaN, not -1.

Usage: ``knowledge = SourceKnowledge.load()`` once (~50 ms), then ``knowledge.lookup(host)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from importlib import resources

from .source_kind import USER_CONTENT_KINDS, SourceKinds
from .urls import registered_domain

NAN = math.nan


@dataclass(frozen=True, slots=True)
class SourcePrior:
    """What the shipped lists say about a source host.

    ``majestic_rank``: Majestic Million global rank (1 best .. 15,000), NaN if not in the top 15k
    or if the host is a user's space on a platform. ``wiki_reliability``: +1 / 0 / -1 (see module
    doc), NaN if unlisted, a platform or a wiki. ``platform``: the host is (a space on) a hosting or
    user-content platform, whose authority is not the page's."""

    majestic_rank: float
    wiki_reliability: float
    platform: bool


_UNKNOWN = SourcePrior(NAN, NAN, False)


def _resource_lines(name: str) -> list[str]:
    text = (resources.files("features") / "resources" / name).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line and not line.startswith("#")]


@dataclass(frozen=True)
class SourceKnowledge:
    """Majestic ranks and Wikipedia reliability by domain, with the platform table of source_kind."""

    majestic: dict[str, int]
    wikipedia: dict[str, int]
    kinds: SourceKinds
    # host -> SourcePrior; a per-object memo (not part of equality)
    _memo: dict[str, SourcePrior] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __getstate__(self) -> dict[str, object]:
        """Pickled (to worker processes) without the memo."""
        return {k: ({} if k == "_memo" else v) for k, v in self.__dict__.items()}

    def __setstate__(self, state: dict[str, object]) -> None:
        for k, v in state.items():
            object.__setattr__(self, k, v)

    @classmethod
    def load(cls, kinds: SourceKinds | None = None) -> SourceKnowledge:
        """Read the shipped lists (features/resources); ``kinds`` shares an existing SourceKinds."""
        majestic: dict[str, int] = {}
        for line in _resource_lines("majestic_top15k.csv")[1:]:
            rank, domain, idn, _ = line.split(",")
            for name in (domain, idn):
                if name and name not in majestic:
                    majestic[name] = int(rank)
        wikipedia: dict[str, int] = {}
        for line in _resource_lines("wikipedia_reliability.tsv")[1:]:
            domain, value, _ = line.split("\t")
            wikipedia[domain] = int(value)
        return cls(majestic=majestic, wikipedia=wikipedia, kinds=kinds or SourceKinds.load())

    def lookup(self, host: str) -> SourcePrior:
        """Prior for a host name (or URL host; case and a leading ``www.`` are ignored)."""
        got = self._memo.get(host)
        if got is None:
            got = self._lookup(host)
            if len(self._memo) >= 100_000:
                self._memo.clear()
            self._memo[host] = got
        return got

    def _lookup(self, host: str) -> SourcePrior:
        h = host.strip().lower().rstrip(".")
        if h.startswith("www."):
            h = h[4:]
        if not h:
            return _UNKNOWN
        hk = self.kinds.host_kind(h)
        platform = hk.platform_kind in USER_CONTENT_KINDS
        # the host itself is listed (en.wikipedia.org, a popular blog on a blog host): its own measure
        rank = self.majestic.get(h)
        wiki = self.wikipedia.get(h)
        if not hk.user_subdomain:
            reg = registered_domain(h)
            if rank is None and reg != h:
                rank = self.majestic.get(reg)
            if wiki is None and reg != h:
                wiki = self.wikipedia.get(reg)
        # Wikipedia's "not citable" for user-generated platforms and wikis is no reliability verdict:
        # keep only a positive status given to this very host (a reliable blog on a blog host)
        if platform or hk.platform_kind == "wiki":
            own = self.wikipedia.get(h)
            wiki = own if own is not None and own >= 0 else None
        return SourcePrior(
            float(rank) if rank is not None else NAN,
            float(wiki) if wiki is not None else NAN,
            platform,
        )
