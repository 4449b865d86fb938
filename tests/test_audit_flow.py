"""The README's audit flow end to end, against a web server on 127.0.0.1 started here:
``linkq fetch`` -> ``linkq score --pages CACHE`` -> ``linkq report`` -> ``linkq disavow``; the same
pages as a saved folder give the same scores; ``linkq score --fetch`` does fetch and score in one
command."""

from __future__ import annotations

import csv
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import page_html

from linkq_cli import cli

PAPER = "https://www.nature.com/articles/s41550-019-0933-6"  # linked in the science page's article
EZ = "https://ez.no/"  # linked in the comwrap page's content
PAGES = {"/science": "14cc2a0c", "/comwrap": "ba07d1e6"}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path == "/robots.txt":
            self._send(200, "text/plain", b"User-agent: *\nAllow: /\n")
        elif self.path in PAGES:
            self._send(200, "text/html; charset=utf-8", page_html(PAGES[self.path]).encode("utf-8"))
        else:
            self._send(404, "text/html", b"<html><body>gone</body></html>")

    def _send(self, status: int, ctype: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


def links_file(folder: Path, base: str) -> Path:
    path = folder / "backlinks.csv"
    path.write_text(
        "id,source_url,target_url,anchor_text,rel\n"
        f"1,{base}/science,{PAPER},the paper,\n"
        f"2,{base}/science,https://shop.example.com/cheap-pills,buy cheap pills,sponsored\n"
        f"3,{base}/comwrap,{EZ},eZ,\n"
        f"4,{base}/gone,https://you.example.com/,best shoes,\n",
        encoding="utf-8",
    )
    return path


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_fetch_score_report_disavow(site: str, tmp_path: Path) -> None:
    links = links_file(tmp_path, site)
    cache, scored = tmp_path / "pages.sqlite", tmp_path / "scored.csv"
    run("fetch", links, "--pages", cache, "--delay", "0", "--allow-private-addresses")  # a loopback server
    run("score", links, "--pages", cache, "--out", scored)
    got = rows(scored)
    assert [r["id"] for r in got] == ["1", "2", "3", "4"]
    assert [r["status"] for r in got] == ["scored", "link_missing", "scored", "page_gone"]
    assert got[0]["placement_zone"] == "main_content" and float(got[0]["score"]) > 0

    report, summary = tmp_path / "report.html", tmp_path / "report.json"
    run("report", scored, "--out", report, "--json", summary)
    assert report.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    assert summary.stat().st_size > 0

    disavow = tmp_path / "disavow.txt"
    run("disavow", scored, "--out", disavow)
    listed = [ln for ln in disavow.read_text(encoding="utf-8").splitlines() if ln and not ln.startswith("#")]
    assert got[1]["verdict"] == "weak" and got[1]["flags"] == "paid; money_anchor"
    # the paid link is marked sponsored and no longer on its page: it passes nothing, nothing to disavow
    assert listed == []

    # the same pages saved as a folder give the same scores (the 404 is only known to the cache)
    folder = tmp_path / "saved"
    folder.mkdir()
    manifest = ["url,file"]
    for path, name in PAGES.items():
        (folder / f"{name}.html").write_text(page_html(name), encoding="utf-8")
        manifest.append(f"{site}{path},{name}.html")
    (folder / "manifest.csv").write_text("\n".join(manifest) + "\n", encoding="utf-8")
    from_folder = tmp_path / "from_folder.csv"
    run("score", links, "--pages", folder, "--out", from_folder)
    again = rows(from_folder)
    assert again[:3] == got[:3]
    assert again[3]["status"] == "scored_without_page"


def test_score_with_fetch_in_one_command(site: str, tmp_path: Path) -> None:
    links = links_file(tmp_path, site)
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    run("score", links, "--fetch", "--pages", tmp_path / "p.sqlite", "--out", one, "--allow-private-addresses")
    run("fetch", links, "--pages", tmp_path / "q.sqlite", "--delay", "0", "--allow-private-addresses")
    run("score", links, "--pages", tmp_path / "q.sqlite", "--out", two)
    assert one.read_bytes() == two.read_bytes()
    assert [r["status"] for r in rows(one)] == ["scored", "link_missing", "scored", "page_gone"]
