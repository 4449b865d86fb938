"""The crawler refuses non-public addresses (SSRF): by name and literal before any request, and by
the resolved address at connect time for every hop, unless ``allow_private_addresses``.

A real threading HTTP server on 127.0.0.1 stands for an internal service; it counts every request,
so a refusal is shown to send nothing at all (robots.txt included).
"""

from __future__ import annotations

import asyncio
import ipaddress
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpcore
import pytest
from click.testing import CliRunner

from features.page_cache import ADDRESS_REFUSED, OK, PageCache
from features.pages import CachedPages
from serving import addresses
from serving.addresses import address_refusal, host_refusal
from serving.fetch import FetchOptions, fetch_pages

PAGE = b"<html><head><title>internal</title></head><body><p>secret admin page</p></body></html>"
PUBLIC_IP = "93.184.215.14"  # a global address; the test's "internet" routes it to the loopback server


class InternalHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: InternalServer

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        with self.server.lock:
            self.server.hits[path] += 1
        if path.startswith("/to-internal"):  # a public page redirecting into the internal network
            body, status, extra = b"", 302, {"Location": f"http://127.0.0.1:{self.server.port}/admin"}
        elif path == "/robots.txt":
            body, status, extra = b"User-agent: *\nAllow: /\n", 200, {}
        else:
            body, status, extra = PAGE, 200, {}
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class InternalServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), InternalHandler)
        self.lock = threading.Lock()
        self.hits: Counter[str] = Counter()

    @property
    def port(self) -> int:
        return self.server_address[1]


@pytest.fixture
def internal() -> Iterator[InternalServer]:
    srv = InternalServer()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def opts(**kw: object) -> FetchOptions:
    base: dict[str, object] = {"per_host_delay": 0.0, "retries": 0, "connect_timeout": 2.0, "page_timeout": 3.0,
                               "trust_env": False}
    base.update(kw)
    return FetchOptions(**base)  # type: ignore[arg-type]


def crawl(urls: list[str], cache: PageCache, **kw: object) -> None:
    asyncio.run(fetch_pages(urls, cache, opts(**kw)))


def resolver_to(table: dict[str, str]):
    """A resolver that answers from ``table`` (what a hostile DNS server would say)."""
    async def resolve(host: str, port: int) -> list[str]:
        return [table[host]] if host in table else await addresses.system_resolver(host, port)
    return resolve


# -- the rules -------------------------------------------------------------------------------------------

REFUSED_HOSTS = [
    "127.0.0.1", "127.1", "0x7f.0.0.1", "0x7f000001", "2130706433", "0177.0.0.1", "127.255.255.254",
    "10.0.0.1", "172.16.5.4", "192.168.1.1", "100.64.0.1", "169.254.169.254", "0.0.0.0", "224.0.0.1",
    "255.255.255.255", "240.0.0.1", "::1", "[::1]", "::", "fe80::1", "fe80::1%eth0", "fc00::1", "fd12:3456::1",
    "ff02::1", "::ffff:127.0.0.1", "::ffff:7f00:1", "[::ffff:169.254.169.254]", "::ffff:10.0.0.1",
    "2002:7f00:1::", "64:ff9b::a9fe:a9fe", "localhost", "LOCALHOST.", "foo.localhost", "metadata.google.internal",
    "printer.local", "nas.home.arpa", "router.lan", "intranet",
]
PUBLIC_HOSTS = ["example.com", "www.example.org", "93.184.215.14", "8.8.8.8", "2606:4700:4700::1111",
                "[2001:4860:4860::8888]", "::ffff:8.8.8.8", "1.1.1.1"]


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_non_public_hosts_are_refused_in_any_notation(host: str) -> None:
    why = host_refusal(host)
    assert why is not None and host in why


@pytest.mark.parametrize("host", PUBLIC_HOSTS)
def test_public_hosts_pass(host: str) -> None:
    assert host_refusal(host) is None


def test_address_refusal_names_the_kind() -> None:
    kind = {ip: address_refusal(ipaddress.ip_address(ip)) or "" for ip in
            ("127.0.0.1", "10.1.2.3", "100.100.0.1", "169.254.169.254", "fe80::1", "224.0.0.1", "0.0.0.0",
             "::ffff:127.0.0.1")}
    assert "loopback" in kind["127.0.0.1"] and "private" in kind["10.1.2.3"]
    assert "carrier-grade NAT" in kind["100.100.0.1"] and "cloud metadata" in kind["169.254.169.254"]
    assert "link-local" in kind["fe80::1"] and "multicast" in kind["224.0.0.1"]
    assert "unspecified" in kind["0.0.0.0"] and "loopback" in kind["::ffff:127.0.0.1"]
    assert "IPv6" in kind["::ffff:127.0.0.1"]


# -- the crawler -----------------------------------------------------------------------------------------


def test_loopback_urls_are_refused_without_a_single_request(internal: InternalServer, tmp_path: Path) -> None:
    p = internal.port
    urls = [f"http://127.0.0.1:{p}/a", f"http://localhost:{p}/b", f"http://127.1:{p}/c",
            f"http://0x7f.0.0.1:{p}/d", f"http://[::ffff:127.0.0.1]:{p}/e"]
    with PageCache.open(tmp_path / "c.sqlite") as cache:
        crawl(urls, cache)
        entries = [cache.get_entry(u) for u in urls]
        statuses = [CachedPages(cache).status(u) or "" for u in urls]
    assert [e.outcome for e in entries if e] == [ADDRESS_REFUSED] * len(urls)
    assert all(s.startswith("fetch_failed: address_refused: refused:") for s in statuses), statuses
    assert all("--allow-private-addresses" in s for s in statuses)
    assert sum(internal.hits.values()) == 0


def test_a_public_looking_name_resolving_to_loopback_is_refused(internal: InternalServer, tmp_path: Path) -> None:
    """DNS rebinding: the name passes the name check; only the resolved address gives it away."""
    url = f"http://news.example-public.com:{internal.port}/article"
    resolve = resolver_to({"news.example-public.com": "127.0.0.1"})
    with PageCache.open(tmp_path / "c.sqlite") as cache:
        crawl([url], cache, resolver=resolve)
        entry = cache.get_entry(url)
    assert entry is not None and entry.outcome == ADDRESS_REFUSED
    assert "news.example-public.com resolves to 127.0.0.1 (a loopback address)" in (entry.error or "")
    assert sum(internal.hits.values()) == 0
    # The opt-in connects through the same resolver: the refusal above was the address check's doing.
    with PageCache.open(tmp_path / "d.sqlite") as cache:
        crawl([url], cache, resolver=resolve, allow_private_addresses=True)
        entry = cache.get_entry(url)
    assert entry is not None and entry.outcome == OK and internal.hits["/article"] == 1


def test_a_redirect_into_the_internal_network_is_refused(internal: InternalServer, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The first hop is a public address (routed to the test server); its redirect to 127.0.0.1 is not."""
    real = httpcore.AnyIOBackend.connect_tcp

    async def route(self, host: str, port: int, **kw):  # the test's internet: PUBLIC_IP is the test server
        return await real(self, "127.0.0.1" if host == PUBLIC_IP else host, port, **kw)

    monkeypatch.setattr(httpcore.AnyIOBackend, "connect_tcp", route)
    url = f"http://blog.example-public.com:{internal.port}/to-internal"
    with PageCache.open(tmp_path / "c.sqlite") as cache:
        crawl([url], cache, resolver=resolver_to({"blog.example-public.com": PUBLIC_IP}))
        entry = cache.get_entry(url)
    assert internal.hits["/to-internal"] == 1  # the public hop was fetched
    assert entry is not None and entry.outcome == ADDRESS_REFUSED, entry
    assert entry.final_url == f"http://127.0.0.1:{internal.port}/admin" and internal.hits["/admin"] == 0


def test_refused_pages_are_fetched_once_the_user_opts_in(internal: InternalServer, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{internal.port}/mine"
    with PageCache.open(tmp_path / "c.sqlite") as cache:
        crawl([url], cache)
        assert cache.get_entry(url).outcome == ADDRESS_REFUSED  # type: ignore[union-attr]
        crawl([url], cache)  # a refusal is final: not re-tried without the opt-in
        assert internal.hits["/mine"] == 0
        crawl([url], cache, allow_private_addresses=True)
        assert cache.get_entry(url).outcome == OK and internal.hits["/mine"] == 1  # type: ignore[union-attr]


def test_cli_fetch_refuses_private_hosts_unless_allowed(internal: InternalServer, tmp_path: Path) -> None:
    from linkq_cli import cli

    export = tmp_path / "export.csv"
    export.write_text("source_url,target_url\n"
                      f"http://127.0.0.1:{internal.port}/cli,https://target.example/\n", encoding="utf-8")
    cache_path = tmp_path / "pages.sqlite"
    runner = CliRunner()
    refused = runner.invoke(cli, ["fetch", str(export), "--pages", str(cache_path), "--delay", "0"])
    assert refused.exit_code == 0, refused.output
    assert "1 address_refused" in refused.output and internal.hits["/cli"] == 0
    allowed = runner.invoke(cli, ["fetch", str(export), "--pages", str(cache_path), "--delay", "0",
                                  "--allow-private-addresses"])
    assert allowed.exit_code == 0, allowed.output
    assert "1 ok" in allowed.output and internal.hits["/cli"] == 1


def test_through_a_proxy_names_are_resolved_here_first(internal: InternalServer, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """With HTTP_PROXY set the proxy connects, not us: a name leading to loopback is refused before it
    is asked for; a name leading to a public address goes through the proxy as before."""
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY",
                 "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{internal.port}")  # the test server plays the proxy
    hostile, public = "http://news.example-public.com/x", "http://shop.example-public.com/y"
    resolve = resolver_to({"news.example-public.com": "127.0.0.1", "shop.example-public.com": PUBLIC_IP})
    with PageCache.open(tmp_path / "c.sqlite") as cache:
        crawl([hostile, public], cache, resolver=resolve, trust_env=True, respect_robots=False)
        refused, through = cache.get_entry(hostile), cache.get_entry(public)
    assert refused is not None and refused.outcome == ADDRESS_REFUSED
    assert "resolves to 127.0.0.1 (a loopback address)" in (refused.error or "")
    assert dict(internal.hits) == {public: 1}, dict(internal.hits)
    assert through is not None and through.outcome == OK  # the proxy was asked for the public page only
