"""serving.fetch and features.page_cache against a local HTTP server (127.0.0.1 only).

The server (a threading ``http.server`` on a free port) serves the pages in
tests/fixtures/fetch/ plus routes that misbehave: slow, redirect loops and
chains, 429/503 then 200, a 50 MB streamed body, binary content, robots.txt
rules, dropped connections, 404/410 and noindex. Every crawl uses short
timeouts, no per-host delay unless the test is about it, and tiny back-offs.
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import select
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from features.page_cache import (
    FETCH_FAILED,
    HTTP_ERROR,
    NOT_HTML,
    OK,
    PAGE_GONE,
    REDIRECT_LOOP,
    ROBOTS_DISALLOWED,
    TOO_LARGE,
    TOO_MANY_REDIRECTS,
    CacheError,
    LinkChecker,
    PageCache,
    PageEntry,
    header_noindex,
)
from features.pages import CachedPages, PageError
from serving.fetch import (
    DEFAULT_USER_AGENT,
    FetchOptions,
    FetchSummary,
    RobotsRules,
    check_link,
    fetch,
    fetch_pages,
    urls_from_export,
)

FIX = Path(__file__).parent / "fixtures" / "fetch"
REPO = Path(__file__).resolve().parent.parent
TARGET = "https://target.example/landing"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 32
HUGE_BYTES = 50 * 1024 * 1024
LATIN1_HTML = "<html><head><title>Caf\u00e9</title></head><body><p>Caf\u00e9 cr\u00e8me</p></body></html>"


# -- the server ------------------------------------------------------------------------------------


class ServerState:
    def __init__(self, robots: int | bytes) -> None:
        self.robots = robots  # robots.txt body, or an HTTP status to answer /robots.txt with
        self.lock = threading.Lock()
        self.hits: Counter[str] = Counter()
        self.agents: set[str] = set()
        self.active = 0
        self.max_active = 0
        self.starts: list[float] = []  # monotonic times /timed/ requests arrived
        self.huge_sent = 0  # bytes of the 50 MB body written before the client hung up
        self.huge_done = threading.Event()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else headers and body in two writes cost 40 ms (delayed ACK)
    server: LocalServer

    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass

    def send(self, status: int, body: bytes = b"", ctype: str = "text/html; charset=utf-8",
             headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def page(self, name: str = "with_link.html", headers: dict[str, str] | None = None) -> None:
        self.send(200, (FIX / name).read_bytes(), headers=headers)

    def redirect(self, to: str, status: int = 302) -> None:
        self.send(status, b"", ctype="", headers={"Location": to})

    def do_GET(self) -> None:
        st = self.server.state
        path = self.path.split("?", 1)[0]
        with st.lock:
            st.hits[path] += 1
            n = st.hits[path]
            st.agents.add(self.headers.get("User-Agent", ""))
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up: expected here
            self.route(path, n, st)

    def route(self, path: str, n: int, st: ServerState) -> None:
        head, _, rest = path.lstrip("/").partition("/")
        if path == "/robots.txt":
            if isinstance(st.robots, int):
                self.send(st.robots, b"", ctype="text/plain")
            else:
                self.send(200, st.robots, ctype="text/plain")
        elif path in ("/with-link", "/private/secret", "/private/allowed", "/file.pdf") or head == "counted":
            self.page()
        elif path == "/without-link":
            self.page("without_link.html")
        elif path == "/noindex-meta":
            self.page("noindex_meta.html")
        elif path == "/noindex-header":
            self.page(headers={"X-Robots-Tag": "noindex, nofollow"})
        elif path == "/noindex-other-bot":
            self.page(headers={"X-Robots-Tag": "otherbot: noindex"})
        elif path == "/xhtml":
            body = (FIX / "with_link.html").read_bytes().replace(b"<!DOCTYPE html>", b'<?xml version="1.0" encoding="utf-8"?>')
            self.send(200, body, ctype="application/xhtml+xml")
        elif path == "/latin1":
            self.send(200, LATIN1_HTML.encode("latin-1"), ctype="text/html; charset=iso-8859-1")
        elif head == "gone":
            self.send(int(rest), b"<html><body>gone</body></html>")
        elif path == "/image.png":
            self.send(200, PNG, ctype="image/png")
        elif path == "/report":
            self.send(200, b"%PDF-1.4\n" + b"x" * 1000, ctype="application/pdf")
        elif path == "/fake-html":
            self.send(200, PNG, ctype="text/html")
        elif path == "/no-type":
            self.send(200, PNG, ctype="")
        elif head == "chain":
            left = int(rest)
            self.redirect(f"/chain/{left - 1}") if left > 0 else self.page()
        elif path == "/loop/a":
            self.redirect("/loop/b")
        elif path == "/loop/b":
            self.redirect("/loop/a", 301)
        elif path == "/self-redirect":
            self.redirect("/self-redirect")
        elif path == "/redirect-to-page":
            self.redirect("/with-link", 301)
        elif path == "/redirect-no-location":
            self.send(302, b"", ctype="")
        elif head == "flaky429":
            if n == 1:
                self.send(429, b"slow down", ctype="text/plain", headers={"Retry-After": rest or "1"})
            else:
                self.page()
        elif head == "flaky503":
            self.send(503, b"busy", ctype="text/plain") if n <= 2 else self.page()
        elif head == "always503":
            self.send(503, b"busy", ctype="text/plain")
        elif head == "forbidden":
            self.send(403, b"no", ctype="text/plain")
        elif head == "slow":
            time.sleep(1.5)
            self.page()
        elif head == "timed":
            with st.lock:
                st.active += 1
                st.max_active = max(st.max_active, st.active)
                st.starts.append(time.monotonic())
            try:
                time.sleep(float(rest.split("-")[0]))
                self.page()
            finally:
                with st.lock:
                    st.active -= 1
        elif head == "huge" or head == "huge-declared":
            self.stream_huge(declared=head == "huge-declared", st=st)
        elif head == "drop" or (head == "drop-once" and n == 1):
            # Promise 5000 bytes, send 100, hang up.
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "5000")
            self.end_headers()
            self.wfile.write(b"<html><body>" + b"x" * 88)
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif head == "drop-once":
            self.page()
        else:
            self.send(404, b"<html><body>not found</body></html>")

    def stream_huge(self, declared: bool, st: ServerState) -> None:
        """50 MB of HTML written 64 KB at a time (never held in memory), until the client hangs up."""
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        if declared:
            self.send_header("Content-Length", str(HUGE_BYTES))
        else:
            self.send_header("Connection", "close")  # body delimited by closing the connection
        self.end_headers()
        self.close_connection = True
        chunk = b"<p>" + b"filler text " * 5460 + b"</p>\n"
        chunk = chunk[: 64 * 1024]
        sent = 0
        try:
            self.wfile.write(b"<html><body>")
            while sent < HUGE_BYTES:
                self.wfile.write(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            st.huge_sent = sent
            st.huge_done.set()


class LocalServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, robots: int | bytes) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.state = ServerState(robots)

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # client hang-ups are part of the tests

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def _serve(robots: int | bytes) -> Iterator[LocalServer]:
    srv = LocalServer(robots)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    yield from _serve((FIX / "robots.txt").read_bytes())


@pytest.fixture
def fresh_server() -> Iterator[LocalServer]:
    """A server of its own, for tests that count requests or timing."""
    yield from _serve((FIX / "robots.txt").read_bytes())


def opts(**kw: object) -> FetchOptions:
    base: dict[str, object] = {"per_host_delay": 0.0, "retries": 2, "backoff": 0.01, "connect_timeout": 2.0,
                               "page_timeout": 3.0, "trust_env": False, "concurrency": 4,
                               "allow_private_addresses": True}  # the test server is on loopback
    base.update(kw)
    return FetchOptions(**base)  # type: ignore[arg-type]


def crawl(urls: list[str], cache: PageCache, progress: Callable[[int, int], None] | None = None,
          **kw: object) -> FetchSummary:
    return asyncio.run(fetch_pages(urls, cache, opts(**kw), progress))


# -- one crawl over every kind of page ---------------------------------------------------------------

# path -> (outcome, CachedPages.status, words expected in the error)
CASES: dict[str, tuple[str, str | None, str]] = {
    "/with-link": (OK, None, ""),
    "/without-link": (OK, None, ""),
    "/latin1": (OK, None, ""),
    "/xhtml": (OK, None, ""),
    "/redirect-to-page": (OK, None, ""),
    "/chain/5": (OK, None, ""),
    "/chain/6": (TOO_MANY_REDIRECTS, "fetch_failed: too_many_redirects", "more than 5 redirects"),
    "/loop/a": (REDIRECT_LOOP, "fetch_failed: redirect_loop", "redirect loop"),
    "/self-redirect": (REDIRECT_LOOP, "fetch_failed: redirect_loop", "redirect loop"),
    "/redirect-no-location": (HTTP_ERROR, "fetch_failed: http_error", "without a Location"),
    "/gone/404": (PAGE_GONE, "page_gone", "HTTP 404"),
    "/gone/410": (PAGE_GONE, "page_gone", "HTTP 410"),
    "/forbidden/x": (HTTP_ERROR, "fetch_failed: http_error", "HTTP 403"),
    "/noindex-meta": (OK, "noindex", ""),
    "/noindex-header": (OK, "noindex", ""),
    "/noindex-other-bot": (OK, None, ""),
    "/image.png": (NOT_HTML, "fetch_failed: not_html", "content-type image/png"),
    "/report": (NOT_HTML, "fetch_failed: not_html", "application/pdf"),
    "/fake-html": (NOT_HTML, "fetch_failed: not_html", "PNG image"),
    "/no-type": (NOT_HTML, "fetch_failed: not_html", "PNG image"),
    "/huge-declared/a": (TOO_LARGE, "fetch_failed: too_large", "Content-Length"),
    "/drop/a": (FETCH_FAILED, "fetch_failed: fetch_failed", "RemoteProtocolError"),
    "/drop-once/a": (OK, None, ""),
    "/flaky503/a": (OK, None, ""),
    "/always503/a": (HTTP_ERROR, "fetch_failed: http_error", "HTTP 503"),
    "/private/secret": (ROBOTS_DISALLOWED, "fetch_failed: robots_disallowed", "robots.txt"),
    "/private/allowed": (OK, None, ""),
    "/file.pdf": (ROBOTS_DISALLOWED, "fetch_failed: robots_disallowed", "disallows"),
}


@pytest.fixture(scope="module")
def bulk(server: LocalServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PageCache, FetchSummary]]:
    cache = PageCache.open(tmp_path_factory.mktemp("bulk") / "pages.sqlite")
    urls = [server.base + p for p in CASES]
    summary = crawl(urls, cache, retries=2)
    yield cache, summary
    cache.close()


@pytest.mark.parametrize("path", list(CASES))
def test_outcome_and_status_of_each_kind_of_page(bulk: tuple[PageCache, FetchSummary], server: LocalServer,
                                                 path: str) -> None:
    cache, _ = bulk
    outcome, status, words = CASES[path]
    entry = cache.get_entry(server.base + path)
    assert entry is not None
    assert entry.outcome == outcome, entry
    assert words in (entry.error or ""), entry.error
    got = CachedPages(cache).status(server.base + path)
    assert (got or None) == status or (status is not None and got is not None and got.startswith(status)), got
    if outcome == OK:
        assert entry.body and entry.http_status == 200 and entry.content_type in ("text/html", "application/xhtml+xml")
    else:
        assert entry.body is None  # only usable pages keep a body


def test_bulk_summary_counts_and_user_agent(bulk: tuple[PageCache, FetchSummary], server: LocalServer) -> None:
    cache, summary = bulk
    assert summary.fetched == summary.unique == summary.requested == len(CASES) == len(cache)
    assert summary.outcomes == Counter(o for o, _, _ in CASES.values())
    assert sum(cache.counts().values()) == len(CASES)
    assert DEFAULT_USER_AGENT in server.state.agents
    assert "pages fetched" in summary.describe()


def test_ok_entry_keeps_body_headers_and_final_url(bulk: tuple[PageCache, FetchSummary], server: LocalServer) -> None:
    cache, _ = bulk
    e = cache.get_entry(server.base + "/with-link")
    assert e is not None
    assert e.body == (FIX / "with_link.html").read_bytes() and e.body_bytes == len(e.body)
    assert e.charset == "utf-8" and e.final_url == server.base + "/with-link"
    assert time.time() - 600 < e.fetched_at <= time.time()
    r = cache.get_entry(server.base + "/redirect-to-page")
    assert r is not None and r.final_url == server.base + "/with-link" and r.http_status == 200
    c = cache.get_entry(server.base + "/chain/5")
    assert c is not None and c.final_url == server.base + "/chain/0"
    h = cache.get_entry(server.base + "/noindex-header", body=False)
    assert h is not None and h.noindex and h.x_robots_tag == "noindex, nofollow" and h.body is None


def test_retries_and_robots_fetched_once(bulk: tuple[PageCache, FetchSummary], server: LocalServer) -> None:
    hits = server.state.hits
    assert hits["/flaky503/a"] == 3  # 503, 503, 200
    assert hits["/always503/a"] == 3  # retries=2: three attempts, then given up
    assert hits["/drop/a"] == 3 and hits["/drop-once/a"] == 2
    assert hits["/gone/404"] == 1 and hits["/forbidden/x"] == 1  # final answers are not retried
    assert hits["/robots.txt"] == 1
    assert hits["/private/secret"] == 0 and hits["/file.pdf"] == 0  # robots.txt is checked before asking
    assert hits["/huge-declared/a"] == 1


def test_cached_pages_decodes_and_refuses(bulk: tuple[PageCache, FetchSummary], server: LocalServer) -> None:
    cache, _ = bulk
    pages = CachedPages(cache)
    assert TARGET in (pages.get(server.base + "/with-link") or "")
    assert "Caf\u00e9 cr\u00e8me" in (pages.get(server.base + "/latin1") or "")  # charset from the header
    assert pages.get(server.base + "/never-fetched") is None
    assert pages.status(server.base + "/never-fetched") is None
    with pytest.raises(PageError, match=r"^page_gone: HTTP 404"):
        pages.get(server.base + "/gone/404")
    with pytest.raises(PageError, match="^not_html"):
        pages.get(server.base + "/image.png")
    with pytest.raises(PageError, match="^too_large"):
        pages.get(server.base + "/huge-declared/a")
    with pytest.raises(PageError, match="^too_large"):
        CachedPages(cache, max_bytes=100).get(server.base + "/with-link")
    # Same key whatever the spelling: www., trailing slash, tracking parameters, fragment.
    assert pages.get(server.base + "/with-link/?utm_source=x#top") == pages.get(server.base + "/with-link")
    assert pages.final_url(server.base + "/redirect-to-page") == server.base + "/with-link"


def test_check_link_statuses(bulk: tuple[PageCache, FetchSummary], server: LocalServer) -> None:
    cache, _ = bulk
    b = server.base
    assert check_link(cache, b + "/with-link", TARGET) == "ok"
    assert check_link(cache, b + "/with-link", "http://www.target.example/landing/") == "ok"
    assert check_link(cache, b + "/without-link", TARGET) == "link_missing"
    assert check_link(cache, b + "/gone/410", TARGET) == "page_gone"
    assert check_link(cache, b + "/noindex-meta", TARGET) == "noindex"
    assert check_link(cache, b + "/noindex-header", TARGET) == "noindex"
    assert check_link(cache, b + "/noindex-header", "https://elsewhere.example/") == "link_missing"
    assert check_link(cache, b + "/never-fetched", TARGET) == "not_fetched"
    assert check_link(cache, b + "/xhtml", TARGET) == "ok"  # the XML prolog is dropped for lxml
    assert check_link(cache, b + "/image.png", TARGET).startswith("fetch_failed: not_html")
    checker = LinkChecker(cache, max_pages=2)
    assert [checker.check(b + p, TARGET) for p in ("/with-link", "/without-link", "/with-link")] == [
        "ok", "link_missing", "ok"]


def test_cached_pages_feed_the_pipeline(bulk: tuple[PageCache, FetchSummary], server: LocalServer,
                                        fake_ctx: object) -> None:
    from features.pipeline import extract_features

    cache, _ = bulk
    b = server.base
    records = [
        {"source_url": b + "/with-link", "target_url": TARGET, "anchor_text": "trail shoe buying guide"},
        {"source_url": b + "/without-link", "target_url": TARGET, "anchor_text": "trail shoe buying guide"},
        {"source_url": b + "/gone/404", "target_url": TARGET},
        {"source_url": b + "/never-fetched", "target_url": TARGET},
    ]
    batch = extract_features(records, fake_ctx, CachedPages(cache))  # type: ignore[arg-type]
    assert batch.status[0] == "ok"
    assert batch.evidence[0]["anchor_on_page"] == "trail shoe buying guide from Target Example"
    assert batch.status[1] == "link_missing"
    assert batch.status[2].startswith("error: page_gone")
    assert batch.status[3] == "ok_without_page"


# -- single behaviours ---------------------------------------------------------------------------------


def test_huge_body_stops_at_the_cap(fresh_server: LocalServer, tmp_path: Path) -> None:
    with PageCache.open(tmp_path / "c.sqlite") as cache:
        t0 = time.monotonic()
        summary = crawl([fresh_server.base + "/huge/a"], cache, retries=0)
        assert time.monotonic() - t0 < 10
        e = cache.get_entry(fresh_server.base + "/huge/a")
    assert summary.outcomes == {TOO_LARGE: 1}
    assert e is not None and "stopped reading" in (e.error or "") and e.body is None
    assert fresh_server.state.huge_done.wait(10)
    # The client hung up after 5 MB; what else the server wrote sat in socket buffers.
    assert fresh_server.state.huge_sent < HUGE_BYTES / 2


def test_slow_page_times_out_without_retrying(fresh_server: LocalServer, tmp_path: Path) -> None:
    with PageCache.open(tmp_path / "c.sqlite") as cache:
        t0 = time.monotonic()
        crawl([fresh_server.base + "/slow/a"], cache, page_timeout=0.3, retries=2)
        elapsed = time.monotonic() - t0
        e = cache.get_entry(fresh_server.base + "/slow/a")
    assert e is not None and e.outcome == FETCH_FAILED and "timed out after 0.3 s" in (e.error or "")
    assert elapsed < 1.2
    assert fresh_server.state.hits["/slow/a"] == 1


def test_429_honours_retry_after(fresh_server: LocalServer, tmp_path: Path) -> None:
    with PageCache.open(tmp_path / "c.sqlite") as cache:
        t0 = time.monotonic()
        summary = crawl([fresh_server.base + "/flaky429/1"], cache)
        elapsed = time.monotonic() - t0
    assert summary.outcomes == {OK: 1}
    assert fresh_server.state.hits["/flaky429/1"] == 2
    assert elapsed >= 0.95  # waited the 1 s the server asked for, not the 0.01 s back-off


def test_retry_after_is_capped(fresh_server: LocalServer, tmp_path: Path) -> None:
    with PageCache.open(tmp_path / "c.sqlite") as cache:
        t0 = time.monotonic()
        summary = crawl([fresh_server.base + "/flaky429/3600"], cache, max_retry_after=0.05)
    assert summary.outcomes == {OK: 1} and time.monotonic() - t0 < 2


def test_robots_can_be_ignored_for_own_hosts(fresh_server: LocalServer, tmp_path: Path) -> None:
    url = fresh_server.base + "/private/secret"
    with PageCache.open(tmp_path / "a.sqlite") as cache:
        crawl([url], cache, ignore_robots_hosts={"http://127.0.0.1/"})
        assert cache.get_entry(url).outcome == OK  # type: ignore[union-attr]
    with PageCache.open(tmp_path / "b.sqlite") as cache:
        crawl([url], cache, respect_robots=False)
        assert cache.get_entry(url).outcome == OK  # type: ignore[union-attr]
    assert fresh_server.state.hits["/robots.txt"] == 0
    with PageCache.open(tmp_path / "c.sqlite") as cache:
        crawl([url], cache)
        assert cache.get_entry(url).outcome == ROBOTS_DISALLOWED  # type: ignore[union-attr]
        again = crawl([url], cache, ignore_robots_hosts={"127.0.0.1"})  # cached, yet fetched now
        assert again.fetched == 1 and cache.get_entry(url).outcome == OK  # type: ignore[union-attr]


@pytest.mark.parametrize(("robots_status", "outcome"), [(503, FETCH_FAILED), (404, OK), (403, OK)])
def test_robots_txt_unreachable_or_missing(robots_status: int, outcome: str, tmp_path: Path) -> None:
    for srv in _serve(robots_status):
        with PageCache.open(tmp_path / "c.sqlite") as cache:
            crawl([srv.base + "/with-link", srv.base + "/without-link"], cache, retries=1)
            entries = [cache.get_entry(srv.base + p) for p in ("/with-link", "/without-link")]
        assert [e.outcome for e in entries if e] == [outcome, outcome]
        if outcome == FETCH_FAILED:
            assert "robots.txt unreachable (HTTP 503)" in (entries[0].error or "")  # type: ignore[union-attr]
            assert srv.state.hits["/with-link"] == 0
            assert srv.state.hits["/robots.txt"] == 2  # once per origin and run (with one retry)


def test_robots_crawl_delay_spaces_requests(tmp_path: Path) -> None:
    for srv in _serve(b"User-agent: *\nCrawl-delay: 0.2\n"):
        with PageCache.open(tmp_path / "c.sqlite") as cache:
            crawl([srv.base + f"/timed/0.01-{i}" for i in range(3)], cache, per_host_delay=0.0)
        gaps = [b - a for a, b in zip(srv.state.starts, srv.state.starts[1:], strict=False)]
        assert len(gaps) == 2 and min(gaps) >= 0.2
    for srv in _serve(b"User-agent: *\nCrawl-delay: 3600\n"):
        with PageCache.open(tmp_path / "d.sqlite") as cache:
            t0 = time.monotonic()
            crawl([srv.base + f"/timed/0.01-{i}" for i in range(3)], cache, max_crawl_delay=0.05)
        assert time.monotonic() - t0 < 2  # an absurd Crawl-delay is cut to max_crawl_delay


def test_storage_error_stops_the_crawl_and_is_raised_as_itself(fresh_server: LocalServer, tmp_path: Path) -> None:
    class FullDisk(PageCache):
        def put(self, entry: PageEntry) -> None:
            raise sqlite3.OperationalError("database or disk is full")

    with FullDisk(tmp_path / "c.sqlite") as cache, pytest.raises(sqlite3.OperationalError, match="disk is full"):
        crawl([fresh_server.base + f"/counted/f{i}" for i in range(5)], cache)


def test_rerun_skips_cached_pages_unless_refresh(fresh_server: LocalServer, tmp_path: Path) -> None:
    b = fresh_server.base
    urls = [b + "/counted/1", b + "/counted/2", b + "/always503/r", b + "/gone/404"]
    hits = fresh_server.state.hits
    with PageCache.open(tmp_path / "c.sqlite") as cache:
        first = crawl(urls, cache, retries=0)
        assert first.fetched == 4 and first.skipped == 0
        second = crawl(urls, cache, retries=0)
        # Cached final answers are skipped; the transient 503 is tried again.
        assert second.skipped == 3 and second.fetched == 1 and second.outcomes == {HTTP_ERROR: 1}
        assert hits["/counted/1"] == 1 and hits["/always503/r"] == 2 and hits["/gone/404"] == 1
        third = crawl(urls, cache, retries=0, retry_failed=False)
        assert third.skipped == 4 and third.fetched == 0 and hits["/always503/r"] == 2
        fourth = crawl(urls, cache, retries=0, refresh=True)
        assert fourth.fetched == 4 and hits["/counted/1"] == 2
        assert len(cache) == 4


def test_urls_are_deduplicated_and_validated(fresh_server: LocalServer, tmp_path: Path) -> None:
    b = fresh_server.base
    urls = [b + "/counted/d", b + "/counted/d/", b + "/counted/d?utm_source=news#x", "mailto:someone@example.com",
            "", b + "/counted/e"]
    with PageCache.open(tmp_path / "c.sqlite") as cache:
        summary = crawl(urls, cache)
    assert summary.requested == 6 and summary.unique == 2 and summary.fetched == 2
    assert summary.invalid == ["mailto:someone@example.com", ""]
    assert fresh_server.state.hits["/counted/d"] == 1


def test_per_host_concurrency_and_delay(fresh_server: LocalServer, tmp_path: Path) -> None:
    urls = [fresh_server.base + f"/timed/0.02-{i}" for i in range(4)]
    with PageCache.open(tmp_path / "c.sqlite") as cache:
        crawl(urls, cache, per_host_delay=0.15, concurrency=8)
    st = fresh_server.state
    assert st.max_active == 1
    gaps = [b - a for a, b in zip(st.starts, st.starts[1:], strict=False)]
    assert len(gaps) == 3 and min(gaps) >= 0.15  # 20 ms of work + 150 ms of delay between requests


def test_global_concurrency_limit(fresh_server: LocalServer, tmp_path: Path) -> None:
    urls = [fresh_server.base + f"/timed/0.1-{i}" for i in range(6)]
    with PageCache.open(tmp_path / "c.sqlite") as cache:
        t0 = time.monotonic()
        crawl(urls, cache, per_host_concurrency=4, concurrency=2)
        elapsed = time.monotonic() - t0
    assert fresh_server.state.max_active == 2
    assert elapsed < 0.6 * 1.5 + 0.3  # 3 rounds of 0.1 s, with slack


def test_cancelled_crawl_keeps_committed_pages(fresh_server: LocalServer, tmp_path: Path) -> None:
    urls = [fresh_server.base + f"/timed/0.03-c{i}" for i in range(12)]
    reported: list[int] = []

    async def main(cache: PageCache) -> None:
        task = asyncio.current_task()

        def progress(done: int, total: int) -> None:
            reported.append(done)
            if done == 4:
                task.cancel()  # type: ignore[union-attr]

        await fetch_pages(urls, cache, opts(), progress)

    with PageCache.open(tmp_path / "c.sqlite") as cache:
        with pytest.raises(asyncio.CancelledError):
            asyncio.run(main(cache))
        assert len(cache) == reported[-1] >= 4 and len(cache) < 12
        assert all(e.outcome == OK for e in cache)
        again = crawl(urls, cache)
        assert again.skipped == reported[-1] and again.fetched == 12 - reported[-1] and len(cache) == 12
    assert all(n == 1 for p, n in fresh_server.state.hits.items() if p.startswith("/timed/"))


def test_killed_process_keeps_committed_pages(fresh_server: LocalServer, tmp_path: Path) -> None:
    """kill -9 in the middle of a crawl: every page reported done is in the cache, and the file opens."""
    path = tmp_path / "c.sqlite"
    urls = [fresh_server.base + f"/timed/0.15-k{i}" for i in range(10)]
    code = (
        "import sys\n"
        "from serving.fetch import FetchOptions, fetch\n"
        f"urls = {urls!r}\n"
        "opts = FetchOptions(per_host_delay=0.0, trust_env=False, retries=0, page_timeout=5.0,"
        " allow_private_addresses=True)\n"
        f"fetch(urls, {str(path)!r}, opts, progress=lambda d, t: print(d, flush=True))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
    done = 0
    deadline = time.monotonic() + 30
    try:
        assert proc.stdout is not None
        while done < 3 and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 1.0)
            if ready:
                line = proc.stdout.readline()
                if not line:
                    break
                done = int(line)
        proc.kill()
    finally:
        proc.kill()
        proc.wait(10)
    assert done >= 3
    with PageCache.open(path, create=False) as cache:
        assert 3 <= len(cache) < 10
        kept = len(cache)
        summary = crawl(urls, cache)
        assert summary.skipped == kept and len(cache) == 10


def test_sync_fetch_and_urls_from_export(fresh_server: LocalServer, tmp_path: Path) -> None:
    b = fresh_server.base
    export = tmp_path / "export.csv"
    export.write_text(
        "source_url,target_url,anchor_text\n"
        f"{b}/counted/x,{TARGET},guide\n"
        f"{b}/counted/x/,https://target.example/other,guide\n"
        f"{b}/counted/y,{TARGET},guide\n",
        encoding="utf-8",
    )
    assert urls_from_export(export) == [f"{b}/counted/x", f"{b}/counted/y"]
    assert urls_from_export(export, targets=True) == [f"{b}/counted/x", TARGET, "https://target.example/other",
                                                      f"{b}/counted/y"]
    calls: list[tuple[int, int]] = []
    summary = fetch(urls_from_export(export), tmp_path / "sub" / "c.sqlite", opts(), progress=lambda d, t: calls.append((d, t)))
    assert summary.outcomes == {OK: 2}
    assert calls == [(0, 2), (1, 2), (2, 2)]


# -- the cache file and the robots parser ---------------------------------------------------------------


def test_cache_file_checks_pickling_and_concurrent_readers(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        PageCache.open(tmp_path / "missing.sqlite", create=False)
    (tmp_path / "empty.sqlite").touch()
    with pytest.raises(CacheError, match="is empty"):
        CachedPages(tmp_path / "empty.sqlite")
    assert (tmp_path / "empty.sqlite").stat().st_size == 0
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CacheError, match="not a linkq page cache"):
        PageCache.open(junk)
    path = tmp_path / "c.sqlite"
    html = (FIX / "with_link.html").read_bytes()
    with PageCache.open(path) as cache:
        with pytest.raises(ValueError, match="unknown outcome"):
            cache.put(PageEntry(url="https://a.example/", outcome="weird"))
        cache.put(PageEntry(url="https://a.example/", outcome=OK, body=html, content_type="text/html"))
        clone = pickle.loads(pickle.dumps(CachedPages(cache)))
        assert TARGET in (clone.get("http://www.a.example") or "")
        errors: list[BaseException] = []

        def read() -> None:
            try:
                reader = CachedPages(path)  # its own connection, as another process would have
                for _ in range(50):
                    assert TARGET in (reader.get("https://a.example/") or "")
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=read) for _ in range(3)]
        for t in threads:
            t.start()
        for i in range(50):  # the writer keeps committing while they read
            cache.put(PageEntry(url=f"https://b.example/{i}", outcome=PAGE_GONE, http_status=404, error="HTTP 404"))
        for t in threads:
            t.join(30)
        assert not errors
        assert len(cache) == 51 and cache.counts() == {OK: 1, PAGE_GONE: 50}
        assert cache.has("https://b.example/7/") and "https://b.example/99" not in cache
        mode = cache._connect().execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"


def test_robots_rules() -> None:
    text = (
        "User-agent: *\nDisallow: /\n\n"
        "User-agent: OtherBot\nUser-agent: LinkQ\nDisallow: /private\nAllow: /private/ok\n"
        "Disallow: /*.pdf$\nDisallow: /search?\nCrawl-delay: 2\nSitemap: https://x.example/s.xml\n"
        "Disallow:\n"
    )
    rules = RobotsRules.parse(text, "linkq")
    base = "https://x.example"
    assert rules.allowed(base + "/") and rules.allowed(base + "/blog/post")
    assert not rules.allowed(base + "/private/x")
    assert rules.allowed(base + "/private/ok/x")  # longer match wins
    assert not rules.allowed(base + "/docs/a.pdf") and rules.allowed(base + "/docs/a.pdf?page=2")
    assert not rules.allowed(base + "/search?q=1") and rules.allowed(base + "/search")
    assert rules.crawl_delay == 2.0
    other = RobotsRules.parse(text, "somebot")  # falls back to the * group
    assert not other.allowed(base + "/blog/post") and other.allowed(base + "/robots.txt")
    tie = RobotsRules.parse("User-agent: *\nDisallow: /page\nAllow: /page\n", "linkq")
    assert tie.allowed(base + "/page")  # allow wins a tie
    assert RobotsRules.parse("", "linkq").allowed(base + "/anything")
    wild = RobotsRules.parse("User-agent: *\nDisallow: /a*b*c\nDisallow: /*/end$\nDisallow: /x$\n", "linkq")
    assert not wild.allowed(base + "/axxbyyc") and not wild.allowed(base + "/abcd") and wild.allowed(base + "/acb")
    assert not wild.allowed(base + "/p/q/end") and wild.allowed(base + "/p/q/end/more")
    assert not wild.allowed(base + "/x") and wild.allowed(base + "/xy")
    hostile = RobotsRules.parse("User-agent: *\nDisallow: /" + "*a" * 40 + "b\n", "linkq")
    t0 = time.monotonic()
    assert hostile.allowed(base + "/" + "a" * 5000)  # no catastrophic backtracking
    assert time.monotonic() - t0 < 0.5


def test_x_robots_tag_parsing() -> None:
    assert header_noindex(["noindex"]) and header_noindex(["NoIndex, nofollow"]) and header_noindex(["none"])
    assert header_noindex(["googlebot: noindex"]) and not header_noindex(["otherbot: noindex"])
    assert not header_noindex(["unavailable_after: 25 Jun 2010 15:00:00 PST"])
    assert not header_noindex(["nofollow", "noarchive"]) and header_noindex(["nofollow", "noindex"])


def test_options_validation() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        FetchOptions(concurrency=0)
    with pytest.raises(ValueError, match="page_timeout"):
        FetchOptions(page_timeout=0)
    assert FetchOptions(ignore_robots_hosts={"WWW.Example.com", "https://mine.example/x"}).ignore_robots_hosts == {
        "example.com", "mine.example"}
    assert FetchOptions().robots_ignored("https://a.example/") is False
    assert FetchOptions(ignore_robots_hosts="a.example").robots_ignored("http://www.a.example/x")
