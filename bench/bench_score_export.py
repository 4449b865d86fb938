"""Memory of ``POST /score_export`` on a large upload: a ZIP of millions of Search Console rows.

Starts the service (``bentoml serve serving.service:LinkQ``, what ``linkq serve`` runs; one worker) on a
free 127.0.0.1 port (``bench_http.start_server``), waits until ``/readyz``
answers 200, then posts a ZIP (~1 MB) holding one Search Console "Table.csv" of ``--rows`` rows
(default 4,000,000; repetitive, so 4M rows make a ~1.4 MB ZIP) and streams the scored CSV back without
keeping it. Meanwhile it samples the summed PSS and RSS of every process of the server (the CLI and
its workers) twice a second and asks ``/readyz`` every half second. Prints the rows sent and
returned, the wall time, the peak memory of all the server's processes, and how ``/readyz``
answered during the upload. The server is stopped at the end; traffic goes to 127.0.0.1 only and
every loop is bounded.

Run: ``.venv/bin/python bench/bench_score_export.py [--rows 4000000]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

sys.path.insert(0, str(REPO / "bench"))

from bench_http import descendants, start_server, stop_server  # noqa: E402  (same folder)


def gsc_zip(rows: int) -> bytes:
    """A Search Console "Links" ZIP whose Table.csv has ``rows`` linking pages (300 sites repeated,
    so each repeat is within deflate's 32 KB window)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("Top linking sites.csv", "\ufeffSite,Linking pages\nexample.org,1\n")
        with zf.open("Table.csv", "w", force_zip64=True) as fh:
            fh.write("\ufeffLinking page,Last crawled\n".encode())
            block = "".join(f'https://site{i}.example.org/links/{i % 7},"Sep 15, 2026"\n' for i in range(300)).encode()
            for _ in range(rows // 300):
                fh.write(block)
            fh.write("".join(f'https://site{i}.example.org/links/{i % 7},"Sep 15, 2026"\n'
                             for i in range(rows % 300)).encode())
    return buf.getvalue()


def tree(root: int) -> list[int]:
    """``root`` and its descendants (the server's workers start their own sessions)."""
    return [root, *descendants(root)]


def memory_mb(pids: list[int]) -> tuple[float, float]:
    """(summed PSS, summed RSS) of ``pids`` in MB."""
    pss = rss = 0.0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1]) / 1024
                elif line.startswith("Rss:"):
                    rss += int(line.split()[1]) / 1024
    return pss, rss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=4_000_000)
    ap.add_argument("--timeout", type=float, default=1800, help="seconds the upload may take")
    args = ap.parse_args()

    payload = gsc_zip(args.rows)
    print(f"upload: ZIP of {args.rows:,} Search Console rows, {len(payload) / 1e6:.2f} MB")
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_server(1, True, Path(tmp) / "server.log")  # 4M rows: under the default row cap
        try:
            pids = tree(proc.pid)
            idle_pss, idle_rss = memory_mb(pids)
            peak = [idle_pss, idle_rss]
            ready: list[tuple[int, float]] = []  # (status, seconds) of /readyz during the upload
            stop = threading.Event()

            def sample() -> None:
                while not stop.wait(0.5):
                    pss, rss = memory_mb(tree(proc.pid))
                    peak[0], peak[1] = max(peak[0], pss), max(peak[1], rss)

            def probe() -> None:
                with httpx.Client(base_url=url, timeout=10) as c:
                    while not stop.wait(0.5):
                        t = time.perf_counter()
                        try:
                            code = c.get("/readyz").status_code
                        except httpx.TransportError:
                            code = 0
                        ready.append((code, time.perf_counter() - t))

            threads = [threading.Thread(target=f, daemon=True) for f in (sample, probe)]
            for th in threads:
                th.start()
            t0 = time.perf_counter()
            lines = size = 0
            with httpx.Client(base_url=url, timeout=args.timeout) as c, c.stream(
                    "POST", "/score_export", files={"file": ("links.zip", payload, "application/zip")}) as r:
                status, headers = r.status_code, dict(r.headers)
                for chunk in r.iter_bytes(1 << 20):
                    size += len(chunk)
                    lines += chunk.count(b"\n")
            secs = time.perf_counter() - t0
            stop.set()
            for th in threads:
                th.join()
        finally:
            stop_server(proc)
    ok = sum(1 for code, _ in ready if code == 200)
    print(f"answer: HTTP {status}, {size / 1e6:.1f} MB, {max(0, lines - 1):,} rows "
          f"(X-LinkQ-Rows {headers.get('x-linkq-rows')}), {secs:.1f} s, {args.rows / secs:,.0f} rows/s")
    print(f"server memory, all processes (PSS / RSS sum): idle {idle_pss:,.0f} / {idle_rss:,.0f} MB, "
          f"peak {peak[0]:,.0f} / {peak[1]:,.0f} MB")
    print(f"/readyz during the upload: {ok} of {len(ready)} answered 200, slowest "
          f"{max((s for _, s in ready), default=float('nan')) * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
