"""The Google disavow file format, in one place: read, write limits, match, punycode.

Rules (Search Console help, see ``/work/shared/docs/disavow-format.md``): UTF-8 or ASCII text; one
entry per line, either a full URL or ``domain:example.com`` (covers that domain and its subdomains);
lines starting with ``#`` are comments; at most 100,000 lines and 2 MB; a URL over 2,048 characters
makes Google reject the whole file. Host names are compared in their IDNA (punycode) form without
``www.``, so ``bücher.example`` and ``xn--bcher-kva.example`` are the same site.

Used by training (``parse_disavow``: a user's disavow file as weak labels) and by ``linkq disavow``
(``serving.disavow``: the allow-list, the user's existing file, the URL forms written).
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from .errors import LinkqError
from .urls import host_of, url_key

__all__ = [
    "MAX_BYTES",
    "MAX_LINES",
    "MAX_URL_CHARS",
    "AllowList",
    "Disavow",
    "DisavowError",
    "display_host",
    "file_url",
    "host_to_ascii",
    "parents",
    "parse_allowlist",
    "parse_disavow",
    "read_text",
    "url_host",
    "url_id",
]

MAX_LINES = 100_000  # lines, comments and blank lines included
MAX_BYTES = 2_000_000  # the stricter reading of Google's "2 MB"
MAX_URL_CHARS = 2_048
_SAFE_PATH = "/%:@!$&'()*+,;=~-._"
_SAFE_QUERY = _SAFE_PATH + "?"


class DisavowError(LinkqError, ValueError):
    """The disavow file cannot be written as asked; the message says why and what to change."""


# --------------------------------------------------------------------------------------------------
# punycode and the normal forms of entries


def host_to_ascii(host: str) -> str | None:
    """Lower-case IDNA (punycode) form of a host name, without ``www.`` and a trailing dot.

    ``bücher.example`` and ``XN--BCHER-KVA.example`` both give ``xn--bcher-kva.example``, so a unicode
    allow-list entry matches a punycode URL and vice versa. None when a label cannot be encoded.
    """
    host = host.strip().rstrip(".").lower()
    if not host:
        return None
    labels: list[str] = []
    for label in host.split("."):
        if not label:
            return None
        if label.isascii():
            labels.append(label)
            continue
        try:
            import idna  # IDNA 2008 + UTS 46 (as registries use); installed with httpx

            labels.append(idna.encode(label, uts46=True).decode("ascii"))
        except ImportError:  # pragma: no cover - httpx always brings idna
            labels.append(label.encode("idna").decode("ascii"))
        except (ValueError, UnicodeError):
            try:
                labels.append(label.encode("idna").decode("ascii"))  # IDNA 2003 is more lenient
            except UnicodeError:
                return None
    ascii_host = ".".join(labels)
    return ascii_host[4:] if ascii_host.startswith("www.") else ascii_host


@functools.lru_cache(maxsize=65536)
def display_host(ascii_host: str) -> str:
    """The readable (unicode) form of a punycode host, for people; unchanged when not punycode."""
    if "xn--" not in ascii_host:
        return ascii_host
    try:
        import idna

        return idna.decode(ascii_host)
    except (ImportError, ValueError, UnicodeError):
        try:
            return ascii_host.encode("ascii").decode("idna")
        except UnicodeError:
            return ascii_host


def url_id(url: str) -> str | None:
    """``features.urls.url_key`` with the host in IDNA form: one key per page, however it is spelled."""
    key = url_key(url)
    if not key:
        return None
    host, sep, rest = key.partition("/")
    name, colon, port = host.partition(":")
    ascii_name = host_to_ascii(name)
    if not ascii_name:
        return None
    return f"{ascii_name}{colon}{port}{sep}{rest}"


def url_host(url: str) -> str | None:
    host = host_of(url)
    return host_to_ascii(host) if host else None


def parents(domain: str) -> list[str]:
    """``a.b.example.com`` -> itself and every parent down to two labels (``example.com``)."""
    parts = domain.split(".")
    return [".".join(parts[i:]) for i in range(max(1, len(parts) - 1))]


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def file_url(url: str) -> str | None:
    """The URL as written to the file: scheme kept, host in punycode, non-ASCII and spaces encoded."""
    u = url.strip()
    if "://" not in u[:12]:
        u = "http://" + u
    try:
        parts = urlsplit(u)
        port = parts.port
    except ValueError:
        return None
    host = host_to_ascii(parts.hostname or "")
    if not host or parts.scheme.lower() not in ("http", "https"):
        return None
    netloc = parts.hostname if parts.hostname and parts.hostname.startswith("www.") else None
    netloc = ("www." + host) if netloc else host
    if port:
        netloc += f":{port}"
    path = quote(parts.path or "/", safe=_SAFE_PATH)
    query = quote(parts.query, safe=_SAFE_QUERY)
    return urlunsplit((parts.scheme.lower(), netloc, path, query, ""))


# --------------------------------------------------------------------------------------------------
# reading


def read_text(path: Path, what: str) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DisavowError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DisavowError(
            f"{path}: the {what} is not UTF-8 (byte {exc.start}); Google requires UTF-8 or ASCII: save it as UTF-8"
        ) from exc


@dataclass
class Disavow:
    """A disavow file's entries: IDNA domains without ``www.``, URL ids (``url_id``), the comments."""

    domains: set[str] = field(default_factory=set)
    urls: set[str] = field(default_factory=set)
    comments: list[str] = field(default_factory=list)

    def covers(self, url: str) -> bool:
        """True when ``url`` is disavowed by a URL entry or by a domain entry of it or a parent."""
        uid = url_id(url)
        if uid and uid in self.urls:
            return True
        host = url_host(url)
        return bool(host) and any(p in self.domains for p in parents(host))  # type: ignore[arg-type]


def parse_disavow(text: str) -> Disavow:
    """The entries of a disavow file's text (unreadable lines are skipped)."""
    d = Disavow()
    for raw in text.splitlines():
        line = raw.strip().lstrip("\ufeff")
        if not line:
            continue
        if line.startswith("#"):
            d.comments.append(line)
        elif line.lower().startswith("domain:"):
            dom = host_to_ascii(line.split(":", 1)[1].strip())
            if dom:
                d.domains.add(dom)
        else:
            uid = url_id(line)
            if uid:
                d.urls.add(uid)
    return d


# --------------------------------------------------------------------------------------------------
# matching: the allow-list


@dataclass(frozen=True)
class AllowList:
    """Sites and pages that must never be disavowed (IDNA domains without ``www.``; URL ids)."""

    domains: frozenset[str] = frozenset()
    urls: frozenset[str] = frozenset()
    url_hosts: frozenset[str] = frozenset()

    def blocks_url(self, url: str) -> bool:
        """True when the URL, its host or a parent domain of it is allow-listed."""
        return self.blocks(url_id(url), url_host(url))

    def blocks(self, uid: str | None, host: str | None) -> bool:
        """:meth:`blocks_url` for a URL already reduced to its id and IDNA host."""
        if uid and uid in self.urls:
            return True
        return bool(host) and any(p in self.domains for p in parents(host))  # type: ignore[arg-type]

    def blocks_domain(self, domain: str) -> bool:
        """True when the domain or one of its parents is allow-listed."""
        return any(p in self.domains for p in parents(domain))

    def inside(self, domain: str) -> bool:
        """True when an allow-listed subdomain or page lies under ``domain`` (``domain:`` would cover it)."""
        suffix = "." + domain
        return any(d.endswith(suffix) for d in self.domains) or any(
            h == domain or h.endswith(suffix) for h in self.url_hosts)


def parse_allowlist(text: str) -> AllowList:
    """Read an allow-list: one domain or URL per line; ``#`` starts a comment (also after an entry)."""
    domains: set[str] = set()
    urls: set[str] = set()
    hosts: set[str] = set()
    for raw in text.splitlines():
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        line = line.split(" #", 1)[0].split("\t#", 1)[0].strip()
        if line.lower().startswith("domain:"):
            line = line[7:].strip()
        if line.startswith("*."):
            line = line[2:]
        if "://" in line[:12] or "/" in line:
            u = line if "://" in line[:12] else "http://" + line
            try:
                parts = urlsplit(u)
            except ValueError:
                continue
            if (parts.path in ("", "/")) and not parts.query:
                host = host_to_ascii(parts.hostname or "")  # a bare site URL means the site
                if host:
                    domains.add(host)
                continue
            uid = url_id(u)
            host = url_host(u)
            if uid and host:
                urls.add(uid)
                hosts.add(host)
            continue
        host = host_to_ascii(line.split(":")[0])
        if host:
            domains.add(host)
    return AllowList(frozenset(domains), frozenset(urls), frozenset(hosts))
