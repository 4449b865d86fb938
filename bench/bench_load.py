"""Bounded load test of a real ``linkq serve`` on 127.0.0.1: N concurrent clients, a fixed number of
requests, every answer checked; prints errors, throughput and latency percentiles.

Starts ``linkq serve --host 127.0.0.1 --port <free port>`` (the CLI, as a user runs it), waits until
``/readyz`` answers 200, then ``--clients`` threads (one keep-alive connection each) share
``--requests`` ``POST /score`` requests: 1 to 10 export-style records each (distinct URLs and
anchors), every 10th request with a ~20 KB source page inline. A request counts as an error when the
connection fails, the status is not 200, or the answer does not hold each record once, in order,
with a status. The run stops at ``--max-seconds`` whatever is left, and the server is stopped with
SIGTERM at the end (its whole process tree; checked).

Run: ``.venv/bin/python bench/bench_load.py [--clients 32] [--requests 2000] [--workers 1]``.
Latencies include queueing behind the other clients (that is the point of a load test); the load
average of the machine is printed because other processes inflate them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from serving.serve import descendants, service_env  # noqa: E402

ANCHORS = ["trail running shoes", "click here", "best shoes 2026", "https://shop.example.com/", "this guide",
           "buy cheap shoes online", "Shop Example", "a detailed review of trail shoes"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def page(i: int) -> str:
    """A ~20 KB article page that links to the target."""
    para = "<p>" + "Trail running needs grip, cushioning and a shoe that fits. " * 12 + "</p>\n"
    return (f"<html><head><title>Review {i}</title></head><body><nav><a href='/'>Home</a></nav><article>"
            f"<h1>Shoe review {i}</h1>{para * 12}<p>We liked <a href='https://shop.example.com/shoes/{i}'>"
            f"these shoes</a> a lot.</p>{para * 12}</article><footer>(c) blog</footer></body></html>")


def request_body(i: int, rng: random.Random) -> dict:
    n = rng.randint(1, 10)
    records = []
    for k in range(n):
        rec: dict[str, object] = {
            "_n": k,
            "source_url": f"https://blog{i % 97}.example.org/post/{i}-{k}",
            "target_url": f"https://shop.example.com/shoes/{i}",
            "anchor_text": rng.choice(ANCHORS),
            "rel": rng.choice(["", "nofollow", None]),
            "metrics": {"domain_authority": rng.randint(0, 90), "traffic": rng.randint(0, 50_000)},
        }
        if i % 10 == 0 and k == 0:
            rec["source_html"] = page(i)
        records.append(rec)
    return {"records": records}


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)  # s, successful requests
    errors: list[str] = field(default_factory=list)
    links: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def client_loop(url: str, next_index: callable, tally: Tally, deadline: float, seed: int) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=url, timeout=120) as c:
        while time.monotonic() < deadline and (i := next_index()) is not None:
            body = request_body(i, rng)
            t0 = time.perf_counter()
            try:
                r = c.post("/score", json=body)
                dt = time.perf_counter() - t0
                problem = None
                if r.status_code != 200:
                    problem = f"HTTP {r.status_code}: {r.text[:200]}"
                else:
                    results = r.json()["results"]
                    if [x.get("_n") for x in results] != list(range(len(body["records"]))) \
                            or not all(x.get("status") for x in results):
                        problem = "answer does not hold each record once, in order, with a status"
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                dt, problem = time.perf_counter() - t0, f"{type(exc).__name__}: {exc}"
            with tally.lock:
                if problem is None:
                    tally.latencies.append(dt)
                    tally.links += len(body["records"])
                else:
                    tally.errors.append(problem)


def start_server(port: int, workers: int, log: Path) -> subprocess.Popen:
    env = service_env(workers=workers)
    env.pop("LINKQ_API_KEY", None)
    cmd = [sys.executable, "-c", "from linkq_cli import main; main()", "serve", "--host", "127.0.0.1",
           "--port", str(port), "--workers", str(workers)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 180
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=2) as c:
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"server did not become ready:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.TransportError):
                if c.get("/readyz").status_code == 200:
                    return proc
            time.sleep(0.2)


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 10) - 1] if len(values) > 1 else values[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=1, help="linkq serve --workers")
    ap.add_argument("--max-seconds", type=float, default=900.0, help="stop sending after this long")
    ap.add_argument("--log", type=Path, default=Path("/tmp/linkq-bench-load.log"))
    args = ap.parse_args()

    port = free_port()
    t_start = time.monotonic()
    proc = start_server(port, args.workers, args.log)
    startup = time.monotonic() - t_start
    url = f"http://127.0.0.1:{port}"
    counter = iter(range(args.requests))
    counter_lock = threading.Lock()

    def next_index() -> int | None:
        with counter_lock:
            return next(counter, None)

    tally = Tally()
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    deadline = time.monotonic() + args.max_seconds
    threads = [threading.Thread(target=client_loop, args=(url, next_index, tally, deadline, 1000 + k))
               for k in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    load_after = os.getloadavg()

    tree = descendants(proc.pid)
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=60)
    time.sleep(1.0)
    survivors = [p for p in tree if Path(f"/proc/{p}").exists()
                 and Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZX"]

    done = len(tally.latencies) + len(tally.errors)
    lat = sorted(tally.latencies)
    print(f"linkq serve --workers {args.workers} on 127.0.0.1 (ready after {startup:.1f} s); "
          f"{args.clients} concurrent clients, {done} of {args.requests} requests in {wall:.1f} s")
    print(f"  errors: {len(tally.errors)}")
    for e in sorted(set(tally.errors))[:5]:
        print(f"    {tally.errors.count(e)} x {e}")
    if lat:
        print(f"  throughput: {len(lat) / wall:,.1f} requests/s, {tally.links / wall:,.0f} links/s "
              f"({tally.links} links, 1-10 per request, every 10th with a ~20 KB page)")
        print(f"  latency (s): p50 {pct(lat, 50):.3f}  p90 {pct(lat, 90):.3f}  p95 {pct(lat, 95):.3f}  "
              f"p99 {pct(lat, 99):.3f}  max {lat[-1]:.3f}")
    print(f"  after SIGTERM: linkq serve exited with {code}; {len(survivors)} of {len(tree)} server processes left")
    print(f"  machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; load average "
          f"{load_before[0]:.2f} before, {load_after[0]:.2f} after")
    if tally.errors or survivors:
        sys.exit(1)


if __name__ == "__main__":
    main()
