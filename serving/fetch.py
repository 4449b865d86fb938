"""``linkq fetch``: download backlink source pages into the page cache, politely and resumably.

Backlink exports name thousands of pages on thousands of hosts, many of them dead, slow, huge,
binary or hostile. This crawler fetches each distinct page (deduplicated by ``url_key``) once and
writes one ``features.page_cache`` row per page, committed the moment the page is done, so an
interrupted run (Ctrl-C, crash, kill -9) keeps everything fetched so far and a re-run continues
where it stopped (pages already cached are skipped unless ``refresh``).

Politeness and limits (all in ``FetchOptions``):

* ``concurrency`` requests in flight in total and ``per_host_concurrency`` (1) per host name, with
  ``per_host_delay`` seconds between the end of one request to a host and the start of the next.
  A robots.txt ``Crawl-delay`` raises that delay (up to ``max_crawl_delay``); a ``Retry-After`` or a
  back-off pauses the whole host, not just the one URL. Hosts are worked on by a bounded pool of
  runners, and a runner waiting out a host's delay holds no global slot, so one big slow host does
  not starve the others.
* robots.txt per origin, RFC 9309 (longest match, ``*`` and ``$``, our group ``linkq`` else ``*``):
  a 4xx robots.txt allows everything, a 5xx or unreachable one forbids the host for this run
  (recorded as ``fetch_failed``, retried on the next run). ``ignore_robots_hosts`` exempts the user's
  own sites.
* Redirects are followed by hand (``max_redirects``, loop detection on the exact URL, robots.txt
  checked for every hop); each hop goes through its own host's politeness gate.
* ``page_timeout`` seconds per attempt (connect + headers + body), ``connect_timeout`` to connect.
* Bodies are streamed and reading stops past ``max_bytes`` (``too_large``); non-HTML content types
  are not read at all and HTML-labelled binary bytes are recognised from the first 4 KB
  (``not_html``). Only ``ok`` pages keep a body.
* Retries (``retries``, exponential back-off from ``backoff`` seconds, ``Retry-After`` honoured up
  to ``max_retry_after`` seconds) on 429/500/502/503/504 and on connection errors. Not retried:
  DNS failures, TLS errors and pages that hit the total timeout (a slow page is usually slow again).
* Only public addresses (``serving.addresses``): local names, loopback, private, CGNAT, link-local
  (cloud metadata), multicast, reserved and their IPv6 forms are refused by name before any request
  and by resolved address at connect time, for every hop and robots.txt alike; such a page is
  cached as ``address_refused``. ``allow_private_addresses`` (``--allow-private-addresses``) lifts
  this to audit one's own intranet. Through an HTTP(S)_PROXY from the environment the proxy connects,
  so each hop's name is resolved here first and refused if it leads to a non-public address.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import socket
import ssl
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx
from protego import Protego

from features.html_text import sniff_binary
from features.page_cache import (
    ADDRESS_REFUSED,
    FETCH_FAILED,
    HTML_TYPES,
    HTTP_ERROR,
    NOT_HTML,
    OK,
    PAGE_GONE,
    REDIRECT_LOOP,
    ROBOTS_DISALLOWED,
    TOO_LARGE,
    TOO_MANY_REDIRECTS,
    LinkChecker,
    PageCache,
    PageEntry,
    check_link,
    header_noindex,
    meta_noindex,
)
from features.records import MAX_HTML_BYTES
from features.urls import InvalidURL, check_url, host_of, url_key

from .addresses import (
    AddressRefused,
    GuardedBackend,
    Resolver,
    host_refusal,
    proxied_refusal,
    refusal_message,
)

__all__ = [
    "DEFAULT_USER_AGENT",
    "FetchOptions",
    "FetchSummary",
    "LinkChecker",
    "RobotsRules",
    "check_link",
    "fetch",
    "fetch_pages",
    "urls_from_export",
]

log = logging.getLogger(__name__)

DEFAULT_USER_AGENT = "linkq/0.1 (+https://github.com/linkq/linkq; backlink audit)"
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
RETRY_CODES = frozenset({429, 500, 502, 503, 504})
ROBOTS_MAX_BYTES = 512 * 1024  # RFC 9309: parse at least the first 500 KiB, ignore the rest
ROBOTS_MAX_REDIRECTS = 5  # RFC 9309: follow at least five
SNIFF_BYTES = 4096  # bytes looked at to recognise binary content served as HTML
ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"


@dataclass(frozen=True)
class FetchOptions:
    """How to crawl. Times are seconds, sizes bytes. ``ignore_robots_hosts`` takes host names
    (``example.com`` also covers ``www.example.com``, not other subdomains) or URLs."""

    concurrency: int = 8  # requests in flight over all hosts
    per_host_concurrency: int = 1  # requests in flight to one host name
    per_host_delay: float = 1.0  # s between requests to one host (robots.txt Crawl-delay may raise it)
    max_crawl_delay: float = 30.0  # s: a larger robots.txt Crawl-delay is cut to this
    respect_robots: bool = True
    ignore_robots_hosts: frozenset[str] = frozenset()
    max_redirects: int = 5  # redirects followed per page; one more is too_many_redirects
    connect_timeout: float = 10.0  # s to open a connection
    page_timeout: float = 20.0  # s per attempt: connect + response headers + body
    max_bytes: int = MAX_HTML_BYTES  # body limit (after Content-Encoding), bytes
    retries: int = 3  # extra attempts on 429/5xx/connection errors
    backoff: float = 1.0  # s before the first retry; doubles each retry (plus up to 25% jitter)
    max_retry_after: float = 60.0  # s: a longer Retry-After is cut to this
    user_agent: str = DEFAULT_USER_AGENT
    robots_agent: str = "linkq"  # product token matched against robots.txt User-agent lines
    refresh: bool = False  # fetch again pages already in the cache
    # Without refresh, still re-fetch cached transient failures (fetch_failed, 429, 5xx). Pages cached as
    # robots_disallowed are always re-fetched once robots.txt is ignored for their host.
    retry_failed: bool = True
    trust_env: bool = True  # use HTTP(S)_PROXY / NO_PROXY / SSL_CERT_FILE from the environment
    allow_private_addresses: bool = False  # crawl loopback/private/link-local hosts too (your own intranet)
    # (host, port) -> addresses to connect to; None = the system resolver. Every connection uses it.
    resolver: Resolver | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        hosts = self.ignore_robots_hosts
        if isinstance(hosts, str):
            hosts = [hosts]
        object.__setattr__(self, "ignore_robots_hosts", frozenset(_host_name(h) for h in hosts if h.strip()))
        for name in ("concurrency", "per_host_concurrency"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("per_host_delay", "max_crawl_delay", "backoff", "max_retry_after", "retries", "max_redirects"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")
        for name in ("connect_timeout", "page_timeout", "max_bytes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")

    def robots_ignored(self, url: str) -> bool:
        return not self.respect_robots or host_of(url) in self.ignore_robots_hosts


def _host_name(text: str) -> str:
    """'https://www.Example.com/x' / 'www.example.com' / 'example.com:8080' -> 'example.com'."""
    return host_of(text.strip().lower())


@dataclass
class FetchSummary:
    """What a run did. ``outcomes`` counts this run's pages by outcome; ``seconds`` is wall time."""

    requested: int = 0  # URLs given, duplicates and invalid ones included
    unique: int = 0  # distinct valid URLs (by url_key)
    skipped: int = 0  # already cached, not fetched again
    fetched: int = 0  # written to the cache by this run
    invalid: list[str] = field(default_factory=list)  # not http(s) URLs
    outcomes: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def describe(self) -> str:
        parts = ", ".join(f"{n} {o}" for o, n in self.outcomes.most_common())
        return (f"{self.fetched} pages fetched ({parts or 'none'}), {self.skipped} already cached, "
                f"{len(self.invalid)} invalid URLs, in {self.seconds:.1f} s")


# -- robots.txt --------------------------------------------------------------------------------------


class RobotsRules:
    """The robots.txt rules that apply to one agent, parsed by Protego (RFC 9309: the group naming the
    product token, else ``*``; longest match wins, ``allow`` wins a tie, ``*`` and a final ``$``;
    wildcard matching in linear time, so a hostile file cannot make us backtrack)."""

    def __init__(self, parser: Protego | None = None, agent: str = "") -> None:
        self._parser = parser
        self._agent = agent

    @classmethod
    def parse(cls, text: str, agent: str) -> RobotsRules:
        """Rules of the groups naming ``agent`` (case-insensitive product token), else of ``*``."""
        return cls(Protego.parse(text), agent.lower())

    @property
    def crawl_delay(self) -> float | None:
        """Crawl-delay of the group that applies, in seconds, as the file says (None if absent)."""
        return None if self._parser is None else self._parser.crawl_delay(self._agent)

    def allowed(self, url: str) -> bool:
        return self._parser is None or self._parser.can_fetch(url, self._agent)


ALLOW_ALL = RobotsRules()


# -- crawling ----------------------------------------------------------------------------------------


class _Host:
    """Politeness gate of one host name: at most ``per_host_concurrency`` requests at once and
    ``delay`` seconds from the end of one request to the start of the next."""

    def __init__(self, options: FetchOptions) -> None:
        self.sem = asyncio.Semaphore(options.per_host_concurrency)
        self.delay = options.per_host_delay
        self.next_start = 0.0  # loop time (s) before which no request may start

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        async with self.sem:
            loop = asyncio.get_running_loop()
            now = loop.time()
            start = max(now, self.next_start)
            self.next_start = start + self.delay  # reserve: spaces starts when per_host_concurrency > 1
            if start > now:
                await asyncio.sleep(start - now)
            try:
                yield
            finally:
                self.next_start = max(self.next_start, loop.time() + self.delay)

    def defer(self, seconds: float) -> None:
        """Pause the host (Retry-After, back-off): no request starts for ``seconds``."""
        self.next_start = max(self.next_start, asyncio.get_running_loop().time() + seconds)


@dataclass
class _Response:
    """One response, or why there is none. ``body`` only for 2xx responses that were read."""

    url: str
    status: int | None = None
    headers: httpx.Headers | None = None
    body: bytes | None = None
    outcome: str | None = None  # set when the response already decided the page (not_html, too_large, ...)
    error: str | None = None


def _media_type(headers: httpx.Headers) -> str | None:
    value = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return value or None


_CHARSET = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.I)


def _charset(headers: httpx.Headers) -> str | None:
    m = _CHARSET.search(headers.get("content-type", ""))
    return m.group(1) if m else None


def _retry_after(headers: httpx.Headers | None) -> float | None:
    """Retry-After in seconds (delta-seconds or an HTTP date), None if absent or unreadable."""
    value = (headers or httpx.Headers()).get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _caused_by(exc: BaseException, kind: type[BaseException] | tuple[type[BaseException], ...]) -> bool:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, kind):
            return True
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return False


def _loop_key(url: str) -> str:
    """Exact URL identity for loop detection (http -> https of the same path is not a loop)."""
    return str(httpx.URL(url).copy_with(fragment=None))


class _Crawler:
    def __init__(self, client: httpx.AsyncClient, options: FetchOptions) -> None:
        self.client = client
        self.options = options
        self.slots = asyncio.Semaphore(options.concurrency)
        self.hosts: dict[str, _Host] = {}
        # origin -> rules, or (outcome, why) when robots.txt is unreachable or its address refused
        self.robots: dict[str, RobotsRules | tuple[str, str]] = {}
        self.robots_locks: dict[str, asyncio.Lock] = {}
        # An HTTP(S)_PROXY from the environment connects for us: check names before asking it.
        self.proxied = not options.allow_private_addresses and any(_env_proxies(options).values())

    def host(self, url: str) -> _Host:
        name = (urlsplit(url).hostname or "").lower()
        gate = self.hosts.get(name)
        if gate is None:
            gate = self.hosts[name] = _Host(self.options)
        return gate

    # one request --------------------------------------------------------------------------------

    def _fail(self, exc: Exception) -> tuple[bool, str]:
        """(retry?, message) for an exception raised by one attempt."""
        opts = self.options
        if isinstance(exc, httpx.ConnectTimeout):
            return True, f"connection timed out after {opts.connect_timeout:g} s"
        if isinstance(exc, httpx.TimeoutException):
            return False, f"timed out ({type(exc).__name__})"
        msg = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
            if _caused_by(exc, socket.gaierror):
                return False, f"DNS lookup failed: {msg}"
            if _caused_by(exc, ssl.SSLError):
                return False, f"TLS error: {msg}"
            return True, f"connection failed: {msg}"
        return False, msg

    async def _attempt(self, url: str, limit: int, html_only: bool, truncate: bool) -> _Response:
        async with self.host(url).turn(), self.slots:
            try:
                async with asyncio.timeout(self.options.page_timeout), self.client.stream("GET", url) as resp:
                    return await self._read(url, resp, limit, html_only, truncate)
            except TimeoutError:
                return _Response(url, outcome=FETCH_FAILED,
                                 error=f"timed out after {self.options.page_timeout:g} s")

    async def _read(self, url: str, resp: httpx.Response, limit: int, html_only: bool,
                    truncate: bool) -> _Response:
        out = _Response(url, status=resp.status_code, headers=resp.headers)
        if not 200 <= resp.status_code < 300:
            return out  # redirects and errors: the body is not needed
        mb = f"{limit / 1e6:.0f} MB" if limit >= 1e6 else f"{limit / 1e3:.0f} KB"
        if html_only:
            media = _media_type(resp.headers)
            if media is not None and media not in HTML_TYPES:
                out.outcome, out.error = NOT_HTML, f"not HTML (content-type {media})"
                return out
        declared = resp.headers.get("content-length", "")
        if not truncate and declared.isdigit() and int(declared) > limit:
            out.outcome = TOO_LARGE
            out.error = f"body is {int(declared) / 1e6:.1f} MB (Content-Length), over the {mb} limit"
            return out
        buf = bytearray()
        sniffed = not html_only
        async for chunk in resp.aiter_bytes():
            buf += chunk
            if len(buf) > limit:
                if truncate:
                    del buf[limit:]
                    break
                out.outcome, out.error = TOO_LARGE, f"body is over the {mb} limit (stopped reading)"
                return out
            if not sniffed and len(buf) >= SNIFF_BYTES:
                sniffed = True
                if what := sniff_binary(bytes(buf[:SNIFF_BYTES])):
                    out.outcome, out.error = NOT_HTML, f"binary content ({what}) served as {_media_type(resp.headers)}"
                    return out
        if not sniffed and (what := sniff_binary(bytes(buf[:SNIFF_BYTES]))):
            out.outcome, out.error = NOT_HTML, f"binary content ({what}) served as {_media_type(resp.headers)}"
            return out
        out.body = bytes(buf)
        return out

    async def get(self, url: str, limit: int, html_only: bool = True, truncate: bool = False) -> _Response:
        """One URL (no redirect following), retried on 429/5xx and connection errors."""
        opts = self.options
        for attempt in range(opts.retries + 1):
            last = attempt == opts.retries
            try:
                resp = await self._attempt(url, limit, html_only, truncate)
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                if _caused_by(exc, AddressRefused):
                    return _Response(url, outcome=ADDRESS_REFUSED, error=str(exc))
                retry, why = self._fail(exc)
                if not retry or last:
                    return _Response(url, outcome=FETCH_FAILED, error=why)
                log.debug("retrying %s after %s", url, why)
                self.host(url).defer(opts.backoff * 2**attempt * random.uniform(1.0, 1.25))
                continue
            if resp.status in RETRY_CODES and not last:
                wait = _retry_after(resp.headers)
                if wait is None:
                    wait = opts.backoff * 2**attempt * random.uniform(1.0, 1.25)
                log.debug("retrying %s after HTTP %s in %.1f s", url, resp.status, wait)
                self.host(url).defer(min(wait, opts.max_retry_after))
                continue
            return resp
        raise AssertionError("unreachable")  # the loop always returns on its last attempt

    # robots.txt ----------------------------------------------------------------------------------

    async def robots_for(self, url: str) -> RobotsRules | tuple[str, str]:
        parts = urlsplit(url)
        origin = f"{parts.scheme.lower()}://{parts.netloc.lower()}"
        got = self.robots.get(origin)
        if got is not None:
            return got
        lock = self.robots_locks.setdefault(origin, asyncio.Lock())
        async with lock:
            got = self.robots.get(origin)
            if got is None:
                got = self.robots[origin] = await self._load_robots(origin)
                if isinstance(got, RobotsRules) and got.crawl_delay:
                    gate = self.host(url)
                    gate.delay = max(gate.delay, min(got.crawl_delay, self.options.max_crawl_delay))
        return got

    async def _load_robots(self, origin: str) -> RobotsRules | tuple[str, str]:
        current = origin + "/robots.txt"
        for hop in range(ROBOTS_MAX_REDIRECTS + 1):
            resp = await self.get(current, ROBOTS_MAX_BYTES, html_only=False, truncate=True)
            if resp.status is None:
                if resp.outcome == ADDRESS_REFUSED and hop == 0:  # the host itself is refused
                    return ADDRESS_REFUSED, resp.error or "refused"
                return FETCH_FAILED, resp.error or "no response"
            location = (resp.headers or httpx.Headers()).get("location")
            if resp.status in REDIRECT_CODES and location:
                try:
                    current = str(httpx.URL(current).join(location.strip()))
                except httpx.InvalidURL:
                    return ALLOW_ALL
                continue
            if 200 <= resp.status < 300:
                return RobotsRules.parse((resp.body or b"").decode("utf-8", "replace"), self.options.robots_agent)
            if 400 <= resp.status < 500 and resp.status != 429:
                return ALLOW_ALL  # RFC 9309 "unavailable": no rules
            return FETCH_FAILED, f"HTTP {resp.status}"  # 5xx/429 "unreachable": assume complete disallow
        return ALLOW_ALL  # too many redirects: treated as unavailable

    async def robots_block(self, url: str) -> tuple[str, str] | None:
        """(outcome, message) when robots.txt keeps us from ``url``, else None."""
        if self.options.robots_ignored(url):
            return None
        rules = await self.robots_for(url)
        if isinstance(rules, tuple):
            outcome, why = rules
            if outcome == ADDRESS_REFUSED:
                return rules
            return FETCH_FAILED, f"robots.txt unreachable ({why}); not crawling the host"
        if not rules.allowed(url):
            origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
            return ROBOTS_DISALLOWED, f"robots.txt of {origin} disallows this URL for {self.options.robots_agent}"
        return None

    # one page ------------------------------------------------------------------------------------

    async def address_refusal(self, url: str) -> str | None:
        """Why ``url``'s host must not be asked for, before any request (the name, and what it resolves
        to when a proxy will connect); direct connections are checked again at connect time."""
        if self.options.allow_private_addresses:
            return None
        parts = urlsplit(url)
        host = parts.hostname or ""
        if not self.proxied:
            return host_refusal(host)
        with contextlib.suppress(ValueError):
            port = parts.port or (443 if parts.scheme == "https" else 80)
            return await proxied_refusal(host, port, self.options.resolver)
        return host_refusal(host)

    async def fetch_one(self, url: str) -> PageEntry:
        """Fetch ``url`` following redirects; never raises for a page problem."""
        opts = self.options
        current = url
        seen = {_loop_key(url)}
        hops = 0
        while True:
            if why := await self.address_refusal(current):
                return PageEntry(url=url, outcome=ADDRESS_REFUSED, final_url=current, error=refusal_message(why))
            blocked = await self.robots_block(current)
            if blocked is not None:
                return PageEntry(url=url, outcome=blocked[0], final_url=current, error=blocked[1])
            resp = await self.get(current, opts.max_bytes)
            if resp.status is None:
                return PageEntry(url=url, outcome=resp.outcome or FETCH_FAILED, final_url=current, error=resp.error)
            if resp.status not in REDIRECT_CODES:
                return _page_entry(url, current, resp)
            location = (resp.headers or httpx.Headers()).get("location", "").strip()
            if not location:
                return PageEntry(url=url, outcome=HTTP_ERROR, final_url=current, http_status=resp.status,
                                 error=f"HTTP {resp.status} redirect without a Location header")
            try:
                nxt = str(httpx.URL(current).join(location))
            except httpx.InvalidURL:
                return PageEntry(url=url, outcome=FETCH_FAILED, final_url=current, http_status=resp.status,
                                 error=f"redirect to an invalid URL {location[:200]!r}")
            if urlsplit(nxt).scheme not in ("http", "https"):
                return PageEntry(url=url, outcome=FETCH_FAILED, final_url=current, http_status=resp.status,
                                 error=f"redirect to a non-web URL {nxt[:200]!r}")
            hops += 1
            if _loop_key(nxt) in seen:
                return PageEntry(url=url, outcome=REDIRECT_LOOP, final_url=nxt, http_status=resp.status,
                                 error=f"redirect loop: back to {nxt} after {hops} redirects")
            if hops > opts.max_redirects:
                return PageEntry(url=url, outcome=TOO_MANY_REDIRECTS, final_url=nxt, http_status=resp.status,
                                 error=f"more than {opts.max_redirects} redirects")
            seen.add(_loop_key(nxt))
            current = nxt


def _page_entry(url: str, final_url: str, resp: _Response) -> PageEntry:
    """The cache row for the final (non-redirect) response of ``url``."""
    headers = resp.headers or httpx.Headers()
    robots_tags = headers.get_list("x-robots-tag")
    status = resp.status or 0
    common: dict[str, object] = {
        "url": url,
        "final_url": final_url,
        "http_status": resp.status,
        "content_type": _media_type(headers),
        "content_encoding": headers.get("content-encoding"),
        "charset": _charset(headers),
        "last_modified": headers.get("last-modified"),
        "x_robots_tag": ", ".join(robots_tags) or None,
        "noindex": header_noindex(robots_tags),
    }
    if resp.outcome is not None:
        return PageEntry(outcome=resp.outcome, error=resp.error, **common)  # type: ignore[arg-type]
    if status in (404, 410):
        return PageEntry(outcome=PAGE_GONE, error=f"HTTP {status}", **common)  # type: ignore[arg-type]
    if not 200 <= status < 300:
        return PageEntry(outcome=HTTP_ERROR, error=f"HTTP {status}", **common)  # type: ignore[arg-type]
    body = resp.body or b""
    common["noindex"] = bool(common["noindex"]) or meta_noindex(body)
    return PageEntry(outcome=OK, body=body, body_bytes=len(body), **common)  # type: ignore[arg-type]


# -- entry points ------------------------------------------------------------------------------------


def _plan(urls: Iterable[str], cache: PageCache, options: FetchOptions) -> tuple[list[str], FetchSummary]:
    """URLs to fetch (valid, first of each url_key, not already cached) and the summary so far."""
    summary = FetchSummary()
    cached = {} if options.refresh else cache.entries_by_key()
    seen: set[str] = set()
    todo: list[str] = []
    for raw in urls:
        summary.requested += 1
        # url_key first: it refuses mailto:/javascript:/... that check_url would read as "http://mailto:...".
        key = url_key(raw) if isinstance(raw, str) else None
        try:
            url = check_url(raw) if key is not None else None
        except InvalidURL:
            url = None
        if key is None or url is None:
            summary.invalid.append(str(raw))
            continue
        if key in seen:
            continue
        seen.add(key)
        entry = cached.get(key)
        if entry is not None and not (
            (options.retry_failed and entry.transient)
            or (entry.outcome == ROBOTS_DISALLOWED and options.robots_ignored(url))  # e.g. --ignore-robots-for
            or (entry.outcome == ADDRESS_REFUSED and options.allow_private_addresses)
        ):
            summary.skipped += 1
            continue
        todo.append(url.split("#", 1)[0])
    summary.unique = len(seen)
    return todo, summary


async def fetch_pages(
    urls: Iterable[str],
    cache: PageCache,
    options: FetchOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> FetchSummary:
    """Fetch ``urls`` into ``cache``; see the module doc. ``progress(done, total)`` is called with
    (0, total) first and after each page is committed; ``total`` excludes skipped URLs.
    Cancelling the task stops the crawl; every page committed before stays in the cache."""
    options = options or FetchOptions()
    t0 = time.monotonic()
    todo, summary = _plan(urls, cache, options)
    total = len(todo)
    if progress is not None:
        progress(0, total)
    by_host: dict[str, list[str]] = {}
    for url in todo:
        by_host.setdefault((urlsplit(url).hostname or "").lower(), []).append(url)
    # Biggest hosts first: they take longest under the per-host delay, so start them early.
    queue = deque(sorted(by_host.values(), key=len, reverse=True))

    limits = httpx.Limits(max_connections=options.concurrency * 2, max_keepalive_connections=options.concurrency * 2)
    client = httpx.AsyncClient(
        headers={"User-Agent": options.user_agent, "Accept": ACCEPT},
        timeout=httpx.Timeout(options.page_timeout, connect=options.connect_timeout),
        transport=_guarded_transport(options, limits),
        mounts=_env_proxy_mounts(options, limits),
        follow_redirects=False,
        trust_env=options.trust_env,
    )
    async with client:
        crawler = _Crawler(client, options)

        def record(entry: PageEntry) -> None:
            cache.put(entry)  # committed now: a crash after this line keeps the page
            summary.fetched += 1
            summary.outcomes[entry.outcome] += 1
            log.debug("%s %s %s", entry.outcome, entry.url, entry.error or "")
            if progress is not None:
                progress(summary.fetched, total)

        async def work(pending: deque[str]) -> None:
            while pending:
                url = pending.popleft()
                try:
                    entry = await crawler.fetch_one(url)
                except Exception as exc:  # noqa: BLE001 - one odd page must not stop the crawl
                    entry = PageEntry(url=url, outcome=FETCH_FAILED, error=f"{type(exc).__name__}: {exc}")
                record(entry)

        async def runner() -> None:
            while queue:
                pending = deque(queue.popleft())
                await _all(work(pending) for _ in range(min(options.per_host_concurrency, len(pending))))

        # Runners waiting out a host's delay hold no request slot, so run more runners than slots.
        await _all(runner() for _ in range(min(len(queue), options.concurrency * 4)))
    summary.seconds = time.monotonic() - t0
    return summary


def _guarded_transport(options: FetchOptions, limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """httpx's transport with every direct connection made through ``GuardedBackend`` (our resolver,
    addresses checked unless ``allow_private_addresses``). httpx 0.28 has no network-backend
    parameter, so its connection pool is replaced by the same pool built with our backend; the
    rebinding test in tests/test_fetch.py fails if that stops taking effect."""
    transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=options.trust_env)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=options.trust_env),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedBackend(options.resolver, check=not options.allow_private_addresses),
    )
    return transport


def _env_proxies(options: FetchOptions) -> dict[str, str | None]:
    """URL pattern -> proxy URL (None: no proxy) from HTTP(S)_PROXY / ALL_PROXY / NO_PROXY, with
    ``trust_env``. httpx reads these itself only when it builds its own transport, so its reading
    (its helper; httpx is pinned) is applied here; tests/test_fetch_addresses.py runs through a proxy."""
    if not options.trust_env:
        return {}
    from httpx._utils import get_environment_proxies

    return get_environment_proxies()


def _env_proxy_mounts(options: FetchOptions, limits: httpx.Limits) -> dict[str, httpx.AsyncBaseTransport | None]:
    """The environment's proxies as httpx mounts (None: the guarded direct transport)."""
    return {pattern: None if url is None else httpx.AsyncHTTPTransport(proxy=url, limits=limits, trust_env=True)
            for pattern, url in _env_proxies(options).items()}


async def _all(coros: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run ``coros`` concurrently. The first error (or a cancellation) cancels the rest and is raised
    as itself, not wrapped in an ExceptionGroup as TaskGroup would, so callers see e.g. the SQLite
    error that stopped the crawl."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        await asyncio.gather(*tasks)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def fetch(
    urls: Iterable[str],
    cache_path: Path | str,
    options: FetchOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> FetchSummary:
    """Synchronous ``fetch_pages`` into the cache file ``cache_path`` (created if missing).
    Ctrl-C cancels the crawl cleanly (pages fetched so far stay) and re-raises KeyboardInterrupt."""
    with PageCache.open(cache_path) as cache:
        return asyncio.run(fetch_pages(urls, cache, options, progress))


def urls_from_export(
    path: Path | str,
    targets: bool = False,
    format: str = "auto",
    column_map: dict[str, str] | None = None,
) -> list[str]:
    """Distinct source URLs of an export (any format ``serving.exports`` reads), in file order, plus
    the target URLs with ``targets``. Rows that cannot be read are skipped."""
    from .exports import read_export

    _, chunks = read_export(Path(path), format=format, column_map=column_map)
    fields = ("source_url", "target_url") if targets else ("source_url",)
    seen: set[str] = set()
    out: list[str] = []
    for chunk in chunks:
        for row in chunk:
            if row.record is None:
                continue
            for name in fields:
                value = row.record.get(name)
                if not isinstance(value, str):
                    continue
                key = url_key(value)
                if key and key not in seen:
                    seen.add(key)
                    out.append(value.strip())
    return out
