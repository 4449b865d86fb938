"""HTTP latency and throughput of the linkq service, measured from a separate client process.

Starts ``bentoml serve serving.service:LinkQ`` on a free loopback port (or uses ``--url``), waits until
it is ready, then for each scenario and concurrency sends a bounded number of requests from a pool of
client threads (one keep-alive connection each) and reports p50/p95/p99 latency, requests/s, links/s
and errors:

* ``1 link, no HTML``: one export-style record (distinct per request);
* ``1 link + 100 KB page``: one record with its ~100 KB source page inline (distinct pages, so no cache
  helps across requests);
* ``100 links, no HTML``: batches of 100 distinct records.

Run: ``.venv/bin/python bench/bench_http.py [--workers 1] [--no-batching] [--seconds 20]``. Prints a
markdown table, the hardware it ran on and the load average (other processes on the machine inflate
latencies; the server's CPU time per request, from /proc, is the contention-independent figure). Traffic goes to 127.0.0.1 only; every loop is bounded by
a request count and a time limit, and the server is stopped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import itertools
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

os.environ.setdefault("OMP_NUM_THREADS", "1")  # as the service sets it (before LightGBM loads here)
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench_features import URL, padded_page  # noqa: E402  (same folder)

from serving.serve import serve_command, service_env  # noqa: E402

PAPER = "https://www.nature.com/articles/s41550-019-0933-6"  # a link in the article of the padded page


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def hardware() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor()
    return f"nproc {os.cpu_count()}, {cpu}, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def link(i: int) -> dict:
    return {"id": i, "source_url": f"https://blog{i % 997}.example.org/posts/{i}",
            "target_url": f"https://shop{i % 13}.example.com/product/{i % 101}",
            "anchor_text": f"best running shoes {i}", "rel": "" if i % 3 else "nofollow",
            "context_left": f"We reviewed pair number {i} and", "context_right": "liked them a lot.",
            "metrics": {"domain_authority": i % 90, "traffic": (i * 37) % 5000}}


def body(records: list[dict]) -> bytes:
    return json.dumps({"records": records}).encode()


@dataclass
class Scenario:
    name: str
    links_per_request: int
    make: object  # callable: request number -> body bytes
    max_requests: int


def scenarios(n_pages: int) -> list[Scenario]:
    pages = [padded_page(i) for i in range(n_pages)]
    counter = itertools.count(1_000_000)
    return [
        Scenario("1 link, no HTML", 1, lambda i: body([link(next(counter))]), 2000),
        Scenario("1 link + 100 KB page", 1, lambda i: body([{"id": i, "source_url": URL, "target_url": PAPER,
                                                           "source_html": pages[i % len(pages)]}]), 400),
        Scenario("100 links, no HTML", 100, lambda i: body([link(next(counter)) for _ in range(100)]), 200),
    ]


def run(url: str, sc: Scenario, concurrency: int, seconds: float, warmup: int = 5) -> dict:
    """Send at most sc.max_requests requests (and stop after ``seconds``) from ``concurrency`` threads."""
    n = sc.max_requests
    payloads = [sc.make(i) for i in range(n + warmup * concurrency)]
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    next_req = itertools.count()
    deadline = [0.0]

    def worker(warm: list[bytes]) -> None:
        nonlocal errors
        with httpx.Client(base_url=url, timeout=120, headers={"Content-Type": "application/json"}) as c:
            for p in warm:
                c.post("/score", content=p)
            start_barrier.wait()
            while time.perf_counter() < deadline[0]:
                k = next(next_req)
                if k >= n:
                    return
                t = time.perf_counter()
                try:
                    r = c.post("/score", content=payloads[k])
                    ok = r.status_code == 200 and len(r.json()["results"]) == sc.links_per_request
                except httpx.HTTPError:
                    ok = False
                dt = time.perf_counter() - t
                with lock:
                    latencies.append(dt)
                    errors += not ok

    start_barrier = threading.Barrier(concurrency + 1)
    warm = payloads[n:]
    threads = [threading.Thread(target=worker, args=(warm[j * warmup:(j + 1) * warmup],)) for j in range(concurrency)]
    for t in threads:
        t.start()
    deadline[0] = time.perf_counter() + seconds + 30  # warm-up included; the clock starts below
    start_barrier.wait()
    t0 = time.perf_counter()
    deadline[0] = t0 + seconds
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    q = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
    return {"requests": len(latencies), "errors": errors, "p50": q[49] * 1e3, "p95": q[94] * 1e3, "p99": q[98] * 1e3,
            "rps": len(latencies) / wall, "lps": len(latencies) * sc.links_per_request / wall}


def _proc_stats() -> dict[int, list[str]]:
    """pid -> the /proc/<pid>/stat fields after "(comm)": state ppid pgrp session ... utime(11) stime(12)."""
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            out[int(stat.parent.name)] = stat.read_text().rsplit(")", 1)[1].split()
    return out


def descendants(root: int) -> list[int]:
    """The pids under ``root`` (the server's workers start their own sessions: follow parent pids)."""
    children: dict[int, list[int]] = {}
    for pid, f in _proc_stats().items():
        children.setdefault(int(f[1]), []).append(pid)
    out, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def tree_cpu_seconds(root: int | None) -> float:
    """CPU time (user + system) used so far by a process and its descendants."""
    if root is None:
        return float("nan")
    stats = _proc_stats()
    ticks = sum(int(stats[p][11]) + int(stats[p][12]) for p in [root, *descendants(root)] if p in stats)
    return ticks / os.sysconf("SC_CLK_TCK")


@functools.cache
def _scorer():
    from serving.scoring import Scorer

    return Scorer.load()


def in_process_p50(sc: Scenario, n: int) -> float:
    """p50 ms of Scorer.score alone on the scenario's records (the floor under the HTTP latency)."""
    scorer = _scorer()
    payloads = [json.loads(sc.make(i))["records"] for i in range(n + 5)]
    times = []
    for k, recs in enumerate(payloads):
        t = time.perf_counter()
        scorer.score(recs)
        if k >= 5:
            times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def start_server(workers: int, batching: bool, log: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = service_env(workers=workers)
    env["LINKQ_BATCHING"] = "1" if batching else "0"
    env.pop("LINKQ_API_KEY", None)
    with log.open("wb") as out:
        proc = subprocess.Popen(serve_command("127.0.0.1", port), env=env, cwd=REPO, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    with httpx.Client(base_url=url, timeout=2) as c:
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                stop_server(proc)
                raise SystemExit(f"server did not start:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.TransportError):
                if c.get("/readyz").status_code == 200:
                    return proc, url
            time.sleep(0.1)


def stop_server(proc: subprocess.Popen) -> None:
    """SIGTERM to the bentoml CLI (it stops its workers); SIGKILL to it and its workers, by pid, if it hangs."""
    if proc.poll() is None:
        pids = descendants(proc.pid)
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            for pid in (proc.pid, *pids):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="bench a server that is already running (loopback) instead of starting one")
    ap.add_argument("--workers", type=int, default=1, help="server worker processes (default 1)")
    ap.add_argument("--no-batching", action="store_true", help="score each request in its own call")
    ap.add_argument("--concurrency", default="1,8,32", help="comma-separated client concurrencies")
    ap.add_argument("--seconds", type=float, default=20.0, help="time limit per scenario and concurrency")
    ap.add_argument("--only", help="run only scenarios whose name contains this")
    ap.add_argument("--no-baseline", action="store_true", help="skip timing Scorer.score in-process first")
    args = ap.parse_args()
    if args.url and not args.url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        raise SystemExit("--url must be a loopback address")

    load0 = _loadavg()
    chosen = [sc for sc in scenarios(n_pages=60) if not args.only or args.only in sc.name]
    baseline: dict[str, float] = {}
    if not args.no_baseline:  # before the server starts, so that the two never compete for the CPU
        for sc in chosen:
            baseline[sc.name] = in_process_p50(sc, 20 if sc.links_per_request > 1 else 60)
            print(f"  in-process {sc.name}: p50 {baseline[sc.name]:.1f} ms", file=sys.stderr)
    proc = None
    if args.url:
        url = args.url.rstrip("/")
    else:
        log = Path(tempfile.mkdtemp(prefix="linkq-bench-")) / "server.log"
        proc, url = start_server(args.workers, not args.no_batching, log)
    try:
        model = httpx.get(url + "/model", timeout=10).json().get("model_id")
        rows = []
        for sc in chosen:
            for conc in (int(c) for c in args.concurrency.split(",")):
                cpu0 = tree_cpu_seconds(proc.pid if proc else None)
                res = run(url, sc, conc, args.seconds)
                # includes the warm-up requests: a slight overestimate
                res["cpu_ms"] = (tree_cpu_seconds(proc.pid if proc else None) - cpu0) * 1e3 / (res["requests"] + 5 * conc)
                rows.append((sc.name, conc, res))
                print(f"  {sc.name} x{conc}: {res['requests']} requests, p50 {res['p50']:.1f} ms", file=sys.stderr)
    finally:
        if proc is not None:
            stop_server(proc)

    print(f"\nlinkq HTTP bench: model {model}, {'--url ' + url if args.url else f'{args.workers} worker(s)'}, "
          f"batching {'off' if args.no_batching else 'on'}; {hardware()}\n")
    print(f"load average before / after: {load0} / {_loadavg()} (other processes share these cores)\n")
    print("| scenario | concurrency | requests | p50 ms | p95 ms | p99 ms | req/s | links/s | errors "
          "| server CPU ms/req | Scorer.score p50 ms (in-process) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, conc, r in rows:
        floor = f"{baseline[name]:.1f}" if name in baseline and conc == 1 else ""
        print(f"| {name} | {conc} | {r['requests']} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | "
              f"{r['rps']:.1f} | {r['lps']:.0f} | {r['errors']} | {r['cpu_ms']:.1f} | {floor} |")
    if any(r["errors"] for _, _, r in rows):
        raise SystemExit("errors: see the table")


if __name__ == "__main__":
    main()
