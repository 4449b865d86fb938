"""URL normalisation and registered domains.

Backlink tools and pages spell the same URL many ways (``http`` vs ``https``,
``www.``, trailing slashes, fragments, ``utm_*`` parameters, relative hrefs).
``url_key`` maps them to one comparison key so that a record's ``target_url``
finds its ``<a>`` on the page and a pages manifest finds its record. Redirects
are unknown here: two URLs that redirect to each other stay different.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import SplitResult, parse_qsl, unquote, urlencode, urljoin, urlsplit

import tldextract

TRACKING_PARAMS = frozenset(
    {
        "gclid", "fbclid", "dclid", "msclkid", "yclid", "mc_cid", "mc_eid", "igshid",
        "_ga", "_gl", "ref_src", "ref_url", "cmpid", "icid", "ncid", "smid", "ocid",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "hsa_", "mtm_")
SKIP_SCHEMES = ("javascript:", "mailto:", "tel:", "data:", "sms:", "ftp:", "file:")
_DEFAULT_PORTS = {"http": "80", "https": "443"}


# A scheme followed by ':' but not '//' (mailto:, javascript:, ...), not a port ('host:8080').
_NOT_HTTP = re.compile(r"^[a-z][a-z0-9+.-]*:(?!//)(?!\d)", re.IGNORECASE)


@functools.lru_cache(maxsize=16384)  # a source URL is split 2-3 times (check, host, shape), phase by phase
def http_netloc_span(url: str) -> tuple[int, int] | None:
    """(start, end) of the netloc of an ``http://`` or ``https://`` URL (lower-case scheme): from
    after the ``//`` to the first ``/``, ``?`` or ``#`` (or the end); None for any other URL. The one
    string cut behind the fast paths of :func:`split_url`, :func:`host_of` and the source kind's.
    Memoised beyond a chunk's 5,000 rows: the scorer checks every URL of a chunk before it asks any
    row's host, and a cache smaller than the chunk would have dropped each URL by then."""
    if url.startswith("https://"):
        k = 8
    elif url.startswith("http://"):
        k = 7
    else:
        return None
    end = len(url)
    for ch in "/?#":
        j = url.find(ch, k, end)
        if j >= 0:
            end = j
    return k, end


def split_url(url: str) -> SplitResult:
    """``urllib.parse.urlsplit(url)``, with a fast path for plain ``http://`` / ``https://`` URLs.

    Why: exports hold a million distinct source URLs and each is split two or three times
    (validation, host, path shape); urlsplit's general code costs ~2 us a call. The fast path
    takes only lower-case http(s) URLs of printable ASCII without brackets, for which urlsplit's
    rules reduce to cutting at the first ``/?#`` after the scheme, then at ``#`` and ``?``;
    anything else goes to urlsplit. Equality with urlsplit is tested.
    """
    span = http_netloc_span(url)
    # only characters \x21-\x7e except brackets (str methods: ~4x faster than a regex)
    if span is None or not (url.isascii() and url.isprintable()) or " " in url or "[" in url or "]" in url:
        return urlsplit(url)
    k, end = span
    tail, fragment, query = url[end:], "", ""
    if "#" in tail:
        tail, fragment = tail.split("#", 1)
    if "?" in tail:
        tail, query = tail.split("?", 1)
    return SplitResult(url[: k - 3], url[k:end], tail, query, fragment)


@functools.lru_cache(maxsize=16384)  # hosts repeat across an export's rows
def netloc_hostname(netloc: str) -> str | None:
    """``SplitResult.hostname`` for a netloc (lower-case host, no user or port), memoised."""
    return SplitResult("", netloc, "", "", "").hostname


class InvalidURL(ValueError):
    """A URL that is not an absolute http(s) URL with a host."""


@functools.cache
def _extractor() -> tldextract.TLDExtract:
    # Bundled Public Suffix List snapshot only: never fetch it over the network. With its private
    # section: a user's site on a hosting platform (spam.blogspot.com, someone.github.io) is its own
    # registered domain, as it is its own site. The one definition of a site in linkq (features,
    # profile, report, disavow and the summaries all use it).
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)


def check_url(url: object) -> str:
    """Return the stripped URL if it is an absolute http(s) URL, else raise InvalidURL."""
    if not isinstance(url, str):
        raise InvalidURL("URL is empty")
    got = _checked(url)
    if isinstance(got, InvalidURL):
        raise InvalidURL(*got.args)
    return got


@functools.lru_cache(maxsize=8192)  # target URLs repeat on most rows of an export
def _checked(url: str) -> str | InvalidURL:
    try:
        return _check_url(url)
    except InvalidURL as exc:
        return exc


def _check_url(url: str) -> str:
    u = url.strip()
    if not u:
        raise InvalidURL("URL is empty")
    usual = u.startswith(("https://", "http://"))  # the usual case: the scheme checks cannot fail
    plain = _plain_netloc(u) if usual else None
    if plain is not None:  # the host is the netloc as it stands (see _plain_netloc; tested equal)
        host = plain.lower()
        if "." not in host and host != "localhost":
            raise InvalidURL(f"URL has no valid host: {url!r}")
        return u
    if not usual:
        if u[:12].lower().startswith(SKIP_SCHEMES) or _NOT_HTTP.match(u):
            raise InvalidURL(f"not an http(s) URL: {url!r}")
        if "://" not in u[:12] and not u.startswith("//"):
            # Exports often omit the scheme ("example.com/page").
            u = "http://" + u
    try:
        parts = split_url(u)
    except ValueError as exc:
        raise InvalidURL(f"cannot parse URL {url!r}: {exc}") from exc
    if not usual and parts.scheme.lower() not in ("http", "https"):
        raise InvalidURL(f"not an http(s) URL: {url!r}")
    host = netloc_hostname(parts.netloc) or ""
    if not host or " " in host or "." not in host and host != "localhost":
        raise InvalidURL(f"URL has no valid host: {url!r}")
    return u


def url_key(url: str, base: str | None = None) -> str | None:
    """Comparison key of a URL: host without www, path without trailing slash, no fragment,
    no tracking parameters, scheme dropped. Relative URLs are resolved against ``base``.
    Returns None for hrefs that are not web links (mailto:, javascript:, '#...')."""
    if url is None:
        return None
    u = url.strip()
    if not u or u.startswith("#") or u.lower().startswith(SKIP_SCHEMES):
        return None
    try:
        if base:
            u = urljoin(base, u)
        elif "://" not in u[:12] and not u.startswith("//"):
            u = "http://" + u
        parts = urlsplit(u)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https", ""):
        return None
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        return None
    if host.startswith("www."):
        host = host[4:]
    try:
        port = parts.port
    except ValueError:
        port = None
    if port and str(port) != _DEFAULT_PORTS.get(scheme or "http"):
        host = f"{host}:{port}"
    path = unquote(parts.path or "/")
    path = re.sub(r"/{2,}", "/", path)
    if path.endswith("/") and len(path) > 1:
        path = path.rstrip("/")
    for index in ("/index.html", "/index.htm", "/index.php", "/default.aspx"):
        if path.lower().endswith(index):
            path = path[: -len(index)] or "/"
    if path == "":
        path = "/"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in TRACKING_PARAMS and not k.lower().startswith(TRACKING_PREFIXES)
    ]
    q = ("?" + urlencode(query)) if query else ""
    return f"{host}{path}{q}"


_NOT_PLAIN_HOST = re.compile(r"[ @:\[\]%\\]")  # a user, a port, an IPv6 literal, an escape: the general path


@functools.lru_cache(maxsize=16384)
def host_of(url: str) -> str:
    """Lower-case host name without ``www.`` ('' if none). Cached: batches repeat URLs.

    A plain ``http(s)://host/...`` URL (host of printable ASCII without user, port, brackets,
    ``%`` or spaces) has its host cut out directly, ~4x cheaper than splitting the whole URL (an
    export's source URLs are distinct, so the cache rarely helps them); anything else goes through
    ``split_url``. Equality with the general path is tested."""
    netloc = _plain_netloc(url)
    if netloc is None:
        return _host_of_split(url)
    host = netloc.lower()
    return host[4:] if host.startswith("www.") else host


def _plain_netloc(url: str) -> str | None:
    """The netloc of a plain ``http(s)://host/...`` URL (printable ASCII without user, port,
    brackets, ``%``, backslash or spaces), cut at the first ``/?#``: then ``split_url`` would give the
    same netloc and its ``hostname`` is the netloc in lower case. None for any other URL."""
    span = http_netloc_span(url)
    if span is None:
        return None
    netloc = url[span[0]:span[1]]
    if not netloc or not (netloc.isascii() and netloc.isprintable()) or _NOT_PLAIN_HOST.search(netloc):
        return None
    return netloc


def _host_of_split(url: str) -> str:
    """:func:`host_of` by the general path: ``split_url`` and ``SplitResult.hostname``."""
    try:
        host = (netloc_hostname(split_url(url if "://" in url[:12] else "http://" + url).netloc) or "").lower()
    except ValueError:
        return ""
    return host[4:] if host.startswith("www.") else host


@functools.lru_cache(maxsize=16384)
def _domain_suffix(host: str) -> tuple[str, str]:
    """(registrable label, public suffix) of a lower-case host, from one Public Suffix List lookup
    shared by :func:`registered_domain`, :func:`domain_label` and :func:`public_suffix` (a new
    host costs one lookup, not one per function)."""
    ext = _extractor()(host)
    return ext.domain, ext.suffix


def _host_arg(url_or_host: str) -> str:
    return host_of(url_or_host) if ("/" in url_or_host or ":" in url_or_host) else url_or_host.lower()


@functools.lru_cache(maxsize=16384)
def registered_domain(url_or_host: str) -> str:
    """Registered domain (eTLD+1, private suffixes included) of a URL or host, e.g. 'news.bbc.co.uk'
    -> 'bbc.co.uk', 'spam.blogspot.com' -> 'spam.blogspot.com'."""
    host = _host_arg(url_or_host)
    domain, suffix = _domain_suffix(host)
    if domain and suffix:
        return f"{domain}.{suffix}"
    return host


@functools.lru_cache(maxsize=16384)
def domain_label(url_or_host: str) -> str:
    """The brand-bearing label of a domain: 'www.nytimes.com' -> 'nytimes'."""
    host = _host_arg(url_or_host)
    return _domain_suffix(host)[0] or host


@functools.lru_cache(maxsize=16384)
def public_suffix(url_or_host: str) -> str:
    """Public suffix of a URL's or host's name ('co.uk'), '' if none."""
    return _domain_suffix(_host_arg(url_or_host))[1]


@functools.lru_cache(maxsize=16384)
def url_words(url: str) -> tuple[str, ...]:
    """Words in a URL's host label and path ('/best-running-shoes' -> best, running, shoes).
    A tuple: the result is cached and shared between callers."""
    try:
        parts = urlsplit(url if "://" in url[:12] else "http://" + url)
    except ValueError:
        return ()
    words = [domain_label(parts.hostname or "")] if parts.hostname else []
    path = unquote(parts.path)
    path = re.sub(r"\.(html?|php|aspx?|jsp)$", "", path, flags=re.I)
    words += [w for w in re.split(r"[\W_]+", path.lower()) if w and not w.isdigit()]
    return tuple(words)
