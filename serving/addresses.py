"""Which network addresses the crawler may connect to (server-side request forgery guard).

Backlink exports are written by strangers: a "source page" can be ``http://127.0.0.1:6379/``,
``http://169.254.169.254/latest/meta-data/`` (cloud credentials), a router at ``192.168.1.1``, or a
public-looking name whose DNS answer is ``127.0.0.1`` (DNS rebinding). ``linkq fetch`` must only
talk to the public internet unless the user opts in (``--allow-private-addresses``) to audit their
own intranet.

Two checks, both used by ``serving.fetch``:

* ``host_refusal(host)``: before any DNS, refuses local names (``localhost``, ``*.internal`` such as
  ``metadata.google.internal``, ``*.local``, ...) and IP literals in any notation the C resolver
  accepts (``127.1``, ``0x7f.0.0.1``, ``2130706433``, ``0177.0.0.1``, ``[::ffff:127.0.0.1]``).
* ``GuardedBackend``: the HTTP client's network backend. It resolves the host itself (through a
  ``Resolver`` that tests can replace), refuses every address that is not public and connects to
  the checked address, so there is no second lookup an attacker's DNS could answer differently.
  Every direct connection goes through it, redirect hops and robots.txt included.
* ``proxied_refusal``: when an HTTP(S)_PROXY from the environment makes the request, the proxy
  resolves the name; the crawler then resolves it too, beforehand, and refuses a name that leads to
  a non-public address here (the proxy could still be answered differently: use
  ``trust_env=False`` or the proxy's own rules where that matters).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore

__all__ = ["AddressRefused", "GuardedBackend", "Resolver", "address_refusal", "host_refusal", "proxied_refusal",
           "split_addresses", "system_resolver"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]  # (host, port) -> IP address strings, in preference order

OPT_IN = "--allow-private-addresses"
LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", "broadcasthost"})
# Suffixes that never name a public host: RFC 6761/6762/8375, ICANN's .internal, and common private TLDs.
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".lan", ".intranet",
                  ".corp", ".private")
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class AddressRefused(httpcore.ConnectError):
    """The crawler refused to connect: the host is (or resolves to) a non-public address."""


def address_refusal(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public internet address (e.g. "a loopback address"), or None if it is.

    IPv6 addresses that carry an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, 6to4, Teredo, NAT64)
    are judged by the IPv4 address they lead to."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner: ipaddress.IPv4Address | None = ip.ipv4_mapped or ip.sixtofour
        if inner is None and ip.teredo is not None:
            inner = ip.teredo[1]
        if inner is None and ip in _NAT64:
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None:
            why = address_refusal(inner)
            return f"{why} (inside the IPv6 address {ip})" if why else None
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address (cloud metadata lives there)"
    if ip.is_multicast:
        return "a multicast address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "a carrier-grade NAT (shared) address"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved:
        return "a reserved address"
    if not ip.is_global:
        return "not a public address"
    return None


def _literal(host: str) -> IPAddress | None:
    """The IP address ``host`` spells, in any notation ``inet_aton`` accepts (``127.1``, ``0x7f.1``,
    ``2130706433``, octal), or None for a name."""
    text = host.strip("[]")
    if "%" in text:  # IPv6 zone id: only meaningful for link-local addresses
        text = text.split("%", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if text and all(c in "0123456789abcdefxABCDEFX." for c in text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def host_refusal(host: str) -> str | None:
    """Why the crawler must not connect to ``host`` judging by the name alone (no DNS), or None."""
    name = host.strip().lower().rstrip(".")
    if not name:
        return "an empty host name"
    ip = _literal(name)
    if ip is not None:
        why = address_refusal(ip)
        return f"{host} is {why}" if why else None
    if name in LOCAL_NAMES or name.endswith(LOCAL_SUFFIXES) or "." not in name:
        return f"{host} is a local host name"
    return None


def split_addresses(host: str, addresses: Iterable[str]) -> tuple[list[str], str | None]:
    """(the public addresses among ``addresses``, why the others are refused or None)."""
    allowed: list[str] = []
    refused: list[str] = []
    for text in addresses:
        ip = _literal(text)
        why = "not an IP address" if ip is None else address_refusal(ip)
        (refused if why else allowed).append(text if not why else f"{text} ({why})")
    return allowed, f"{host} resolves to {', '.join(refused)}" if refused else None


async def proxied_refusal(host: str, port: int, resolver: Resolver | None = None) -> str | None:
    """For a request an HTTP(S) proxy will make: why ``host`` must not be asked for, judging by what
    it resolves to here (any non-public address refuses it), or None. A name that does not resolve
    here is left to the proxy (split DNS), so only the name check applies to it."""
    if why := host_refusal(host):
        return why
    try:
        addresses = await (resolver or system_resolver)(host, port)
    except (OSError, UnicodeError):
        return None
    return split_addresses(host, addresses)[1]


def refusal_message(why: str) -> str:
    """The error text of a refused page."""
    return f"refused: {why}; linkq crawls only public addresses ({OPT_IN} to crawl your own network)"


async def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses from the system resolver (getaddrinfo), IPv4 and IPv6, deduplicated."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that resolves each host with ``resolver``, refuses non-public
    addresses (``AddressRefused``, a ``ConnectError``) and connects to the address it checked.

    TLS still verifies the certificate against the host name: httpcore passes the URL's host as
    ``server_hostname``, not the address connected to."""

    def __init__(self, resolver: Resolver | None = None, check: bool = True,
                 inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.resolver = resolver or system_resolver
        self.check = check  # False: resolve through ``resolver`` but connect to any address
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        if self.check and (why := host_refusal(host)):
            raise AddressRefused(refusal_message(why))
        try:
            async with asyncio.timeout(timeout):
                addresses = await self.resolver(host, port)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"DNS lookup of {host} failed: {exc}") from exc
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"DNS lookup of {host} timed out") from exc
        allowed, why = split_addresses(host, addresses) if self.check else (addresses, None)
        if not allowed:
            raise AddressRefused(refusal_message(why or f"{host} resolves to no address"))
        error: Exception | None = None
        for address in allowed:  # the first that accepts a connection
            try:
                return await self.inner.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                                    socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        raise AddressRefused("refused: the crawler does not connect to Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)
