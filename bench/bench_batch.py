"""Batch-scoring throughput (``serving.batch.score_files``): export-only rows/s per tool format,
links/s with saved pages, peak memory, and the local engine in one process ("x1") or with its pool of
scoring processes ("x2": one per core here) against Dask with 2 workers.

Run: ``.venv/bin/python bench/bench_batch.py [--rows 1000000] [--links 10000 --pages 1000] [--vs ../linkq-old]``.

Exports are generated synthetically in each tool's real layout (Ahrefs: UTF-16 TSV with a BOM and
multi-line quoted titles; Semrush, Majestic: UTF-8 CSV; Moz: CSV with its preamble; Search Console:
linking pages only; canonical CSV and JSONL) with realistic values: a few thousand referring domains
with skewed DR, log-normal traffic, ~30% nofollow, generic / brand / exact-match / naked-URL anchors.
``--rows`` is the Ahrefs size; the other formats get ``--rows / 10``. Pages are the test fixture
pages with their paragraphs permuted and the backlinks injected in the text, a sidebar or the footer.

Every measurement runs in a fresh child process so that its peak RSS (``ru_maxrss``: model and
embedding tables included) is its own; the pool's processes are the child's children (their CPU time
and peak RSS are read once they are reaped), and a sampler sums the PSS and RSS of the child and all
its descendants every second (5x a second in the first 5 s) for the run's total peak (reading
smaps_rollup 4x a second throughout cost ~1.5% of a long run's CPU; memory is flat once the caches
are full, so a second is fine-grained enough). Dask runs use a LocalCluster with 2 worker
processes of one thread, created by the child, so the workers' peak RSS can be read too. ``--profile`` prints the
top functions of a cProfile of export-only scoring instead. ``--vs OTHER_CHECKOUT [--pairs 3]`` runs
only the default Ahrefs measurement (x2), alternating this checkout with another one (an older
version, say) on the same file, and prints each run and the pairs' median ratios. Every
measurement runs the code of its own checkout (``PYTHONPATH``), not whatever linkq is installed.
Files go to ``bench/out/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import gzip
import io
import json
import os
import platform
import random
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_PAGES = ROOT / "tests" / "fixtures" / "pages"
OUT = ROOT / "bench" / "out"


def _split(text: str, sep: str | None = None) -> list[str]:
    return text.split(sep)


AHREFS_HEADER = _split(
    "Referring page title\tReferring page URL\tLanguage\tPlatform\tReferring page HTTP code\tAuthor\tPage type\t"
    "Page category\tDomain rating\tUR\tDomain traffic\tReferring domains\tLinked domains\tExternal links\t"
    "Page traffic\tKeywords\tTarget URL\tLeft context\tAnchor\tRight context\tRedirect Chain URLs\t"
    "Redirect Chain status codes\tType\tIs spam\tContent\tNofollow\tUGC\tSponsored\tRendered\tRaw\tLost status\t"
    "Drop reason\tDiscovered status\tFirst seen\tLast seen\tLost\tLinks in group"
, "\t")
SEMRUSH_HEADER = _split(
    "Page ascore,Source title,Source url,Target url,Anchor,External links,Internal links,Nofollow,Sponsored,Ugc,"
    "Text,Frame,Form,Image,Sitewide,First seen,Last seen,New link,Lost link", ","
)
MAJESTIC_HEADER = _split(
    "Target URL,Source URL,Anchor Text,Source Crawl Date,Source First Found Date,FlagNoFollow,FlagImageLink,"
    "FlagRedirect,FlagFrame,FlagOldCrawl,FlagAltText,FlagMention,SourceCitationFlow,SourceTrustFlow,"
    "TargetCitationFlow,TargetTrustFlow,SourceTopicalTrustFlow_Topic_0,SourceTopicalTrustFlow_Value_0", ","
)
MOZ_PREAMBLE = (
    "Inbound Links for: trailgear.com\nLinks Type: All Links; Link Source: Only External; Target: this root "
    "domain\nFiltered by: none\nExported on: 2026-09-28 11:20:05 UTC\nCopyright Moz\n\n"
)
MOZ_HEADER = _split(
    "URL,Title,Anchor Text,Spam Score,Page Authority,Domain Authority,Number of Domains Linking to this Page,"
    "Number of Domains Linking to Domain,Origin,Target URL,Link Equity,No Link Equity,Only rel=nofollow,"
    "Only follow,301", ","
)

WORDS = _split(
    "trail running shoes boots hiking gear review best guide marathon training tips beginner women men "
    "waterproof lightweight budget cushioning grip mountain ultra race forum thread blog news deals sale "
    "outdoor camping tent backpack jacket socks laces insole stability speed road track winter summer "
    "season comparison test tested pairs brand shop store price cheap discount coupon community club "
    "photo gallery directory links partners resources weekly roundup interview athlete coach plan"
)
GENERIC = ("click here", "here", "website", "read more", "this site", "source", "link", "more info")
TLDS = ("com", "com", "com", "org", "net", "de", "co.uk", "fr", "info", "io", "xyz", "top", "blogspot.com")
PLATFORMS = ("blogs", "forums", "news", "ecommerce", "", "")
TARGET_SITE = "https://trailgear.com"
TARGET_PATHS = ("/", "/shoes", "/shoes/trail", "/boots", "/sale", "/blog/how-to-choose-trail-shoes",
                "/about", "/shoes/road-running", "/jackets", "/guides/marathon-training-plan")


# ------------------------------------------------------------------------------------------------
# synthetic link rows


class LinkGen:
    """Realistic-looking backlinks: referring domains with DR, pages, anchors, rel, dates."""

    def __init__(self, seed: int = 7, n_domains: int = 4000, unique: bool = False) -> None:
        self.r = random.Random(seed)
        self.unique = unique  # every link from a new host, every non-empty anchor new: no cache helps
        self.count = 0
        r = self.r
        self.domains = []
        for i in range(n_domains):
            name = "".join(r.choice(("-", "")) + r.choice(WORDS) for _ in range(r.choice((1, 2, 2, 3)))).strip("-")
            if r.random() < 0.1:
                name += str(r.randint(1, 999))
            host = ("www." if r.random() < 0.4 else r.choice(("", "", "blog.", "forum.", "shop."))) + name
            dr = min(100, max(0, int(r.lognormvariate(3.0, 0.9))))
            self.domains.append((f"{host}.{r.choice(TLDS)}" if i % 50 else f"{host}{i}.xyz", dr,
                                 int(r.lognormvariate(7, 2.5))))

    def words(self, lo: int, hi: int) -> str:
        return " ".join(self.r.choice(WORDS) for _ in range(self.r.randint(lo, hi)))

    def link(self) -> dict[str, object]:
        r = self.r
        host, dr, dom_traffic = self.domains[min(int(r.paretovariate(1.2)) - 1, len(self.domains) - 1)
                                             if r.random() < 0.5 else r.randrange(len(self.domains))]
        kind = r.random()
        if kind < 0.5:
            path = "/" + "-".join(self.words(2, 6).split()) + ("/" if r.random() < 0.5 else "")
        elif kind < 0.7:
            path = f"/t/{'-'.join(self.words(2, 4).split())}/{r.randint(10, 99999)}?page={r.randint(1, 9)}"
        elif kind < 0.85:
            path = f"/{r.randint(2015, 2026)}/{r.randint(1, 12):02d}/{'-'.join(self.words(2, 5).split())}.html"
        else:
            path = "/" if r.random() < 0.5 else f"/links?cat={r.randint(1, 40)}"
        target = TARGET_SITE + r.choice(TARGET_PATHS)
        a = r.random()
        if a < 0.3:
            anchor = self.words(2, 5)
        elif a < 0.45:
            anchor = "trailgear" if r.random() < 0.5 else "TrailGear.com"
        elif a < 0.55:
            anchor = r.choice(GENERIC)
        elif a < 0.65:
            anchor = target
        elif a < 0.75:
            anchor = "best cheap trail shoes" if r.random() < 0.5 else "buy running shoes online"
        elif a < 0.8:
            anchor = ""
        else:
            anchor = self.words(1, 3)
        if self.unique:
            self.count += 1
            host = f"{r.choice(WORDS)}{self.count}-{r.choice(WORDS)}.{r.choice(TLDS)}"
            anchor = f"{anchor} {r.choice(WORDS)}{self.count}" if anchor else anchor
        nofollow = r.random() < 0.3
        first = f"20{r.randint(21, 26)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"
        title = self.words(3, 9).capitalize()
        if r.random() < 0.01:
            title += "\n" + self.words(2, 4)  # multi-line titles occur in real Ahrefs exports
        return {
            "source_url": f"http{'s' if r.random() < 0.8 else ''}://{host}{path}",
            "target_url": target,
            "title": title,
            "anchor": anchor,
            "left": (self.words(4, 14) + " ") if r.random() < 0.7 else "",
            "right": (" " + self.words(3, 12) + ".") if r.random() < 0.7 else "",
            "dr": dr,
            "ur": max(0, min(100, int(dr * r.uniform(0.1, 0.8)))),
            "traffic": int(r.lognormvariate(3, 2.2)) if r.random() < 0.7 else 0,
            "dom_traffic": dom_traffic,
            "ext": int(r.lognormvariate(3, 1.3)),
            "int": int(r.lognormvariate(4, 1)),
            "nofollow": nofollow,
            "ugc": r.random() < 0.05,
            "sponsored": r.random() < 0.03,
            "sitewide": r.random() < 0.08,
            "content": r.random() < 0.6,
            "first": first,
            "last": max(first, f"2026-{r.randint(7, 9):02d}-{r.randint(1, 28):02d}"),
            "spam": int(r.betavariate(1.2, 6) * 100),
        }


def _tf(b: bool) -> str:
    return "true" if b else "false"


def write_export(fmt: str, path: Path, n: int, seed: int = 7, unique: bool = False) -> Path:
    """Write ``n`` synthetic rows of ``fmt`` (ahrefs, semrush, majestic, moz, gsc, csv, jsonl) to path
    (``unique``: every row from a new referring host, with a new anchor)."""
    gen = LinkGen(seed, unique=unique)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    if fmt == "jsonl":
        with path.open("w", encoding="utf-8") as fh:
            for _ in range(n):
                x = gen.link()
                fh.write(json.dumps({"source_url": x["source_url"], "target_url": x["target_url"],
                                     "anchor_text": x["anchor"], "rel": "nofollow" if x["nofollow"] else "",
                                     "source_title": x["title"], "metrics": {"domain_authority": x["dr"],
                                     "traffic": x["traffic"], "first_seen": x["first"]},
                                     "id": f"L{_}"}) + "\n")
        return path
    delimiter = "\t" if fmt == "ahrefs" else ","
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    if fmt == "moz":
        buf.write(MOZ_PREAMBLE)
    header = {"ahrefs": AHREFS_HEADER, "semrush": SEMRUSH_HEADER, "majestic": MAJESTIC_HEADER, "moz": MOZ_HEADER,
              "gsc": ["Linking page", "Last crawled"],
              "csv": ["source_url", "target_url", "anchor_text", "rel", "source_title", "context_left",
                      "context_right", "domain_authority", "traffic", "first_seen", "campaign"]}[fmt]
    w.writerow(header)
    encoding = "utf-16" if fmt == "ahrefs" else "utf-8"
    with path.open("w", encoding=encoding, newline="") as fh:
        for i in range(n):
            x = gen.link()
            if fmt == "ahrefs":
                row = [x["title"], x["source_url"], "en", gen.r.choice(PLATFORMS), 200, "", "article", "",
                       x["dr"], x["ur"], x["dom_traffic"], gen.r.randint(0, 900), gen.r.randint(0, 400), x["ext"],
                       x["traffic"], gen.r.randint(0, 50), x["target_url"], x["left"], x["anchor"], x["right"],
                       "", "", "text", _tf(x["spam"] > 60), _tf(x["content"]), _tf(x["nofollow"]), _tf(x["ugc"]),
                       _tf(x["sponsored"]), "false", "true", "", "", "", f"{x['first']} 08:14:55",
                       f"{x['last']} 03:11:09", "", 1 + int(x["sitewide"]) * gen.r.randint(2, 400)]
            elif fmt == "semrush":
                row = [x["ur"], x["title"], x["source_url"], x["target_url"], x["anchor"], f"{x['ext']:,}",
                       x["int"], _tf(x["nofollow"]), _tf(x["sponsored"]), _tf(x["ugc"]), "true", "false", "false",
                       _tf(not x["anchor"]), _tf(x["sitewide"]), x["first"], x["last"], "false", "false"]
            elif fmt == "majestic":
                row = [x["target_url"], x["source_url"], x["anchor"], x["last"], x["first"],
                       "+" if x["nofollow"] else "-", "+" if not x["anchor"] else "-", "-", "-", "-", "-", "-",
                       max(0, x["dr"] - 5), max(0, x["dr"] // 2), 31, 22, "Recreation/Sports", x["dr"] // 3]
            elif fmt == "moz":
                row = [re.sub(r"^https?://", "", str(x["source_url"])), x["title"], x["anchor"], x["spam"] // 6,
                       x["ur"], x["dr"], gen.r.randint(0, 90), gen.r.randint(0, 9000), "external",
                       re.sub(r"^https?://", "", str(x["target_url"])), _tf(not x["nofollow"]).capitalize(),
                       _tf(x["nofollow"]).capitalize(), "Yes" if x["nofollow"] else "No",
                       "No" if x["nofollow"] else "Yes", "No"]
            elif fmt == "gsc":
                row = [x["source_url"], x["last"]]
            else:
                row = [x["source_url"], x["target_url"], x["anchor"], "nofollow" if x["nofollow"] else "",
                       x["title"], x["left"], x["right"], x["dr"], x["traffic"], x["first"], f"c{i % 7}"]
            w.writerow(row)
            if buf.tell() > 1 << 20:
                fh.write(buf.getvalue())
                buf.seek(0)
                buf.truncate()
        fh.write(buf.getvalue())
    return path


# ------------------------------------------------------------------------------------------------
# synthetic pages


def write_pages(folder: Path, n_pages: int, n_links: int, seed: int = 11) -> Path:
    """``n_pages`` pages built from the fixture pages (paragraphs permuted, links injected) and a
    canonical CSV of ``n_links`` links to them; returns the CSV path (pages in ``folder/pages``)."""
    r = random.Random(seed)
    pages_dir = folder / "pages"
    pages_dir.mkdir(parents=True, exist_ok=True)
    templates = []
    with (FIXTURE_PAGES / "manifest.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            with gzip.open(FIXTURE_PAGES / row["file"], "rt", encoding="utf-8", errors="replace") as g:
                html = g.read()
            paras = re.findall(r"<p\b[^>]*>.*?</p>", html, flags=re.S)
            templates.append((html, paras))
    gen = LinkGen(seed)
    manifest = ["url,file"]
    links: list[list[str]] = []
    per_page = [n_links // n_pages + (1 if i < n_links % n_pages else 0) for i in range(n_pages)]
    for i in range(n_pages):
        html, paras = templates[i % len(templates)]
        url = f"https://{gen.domains[i % len(gen.domains)][0]}/post-{i}"
        body = paras[:]
        r.shuffle(body)
        body = [p.replace(">", f">[{i}] ", 1) for p in body]  # distinct text per page
        sidebar, footer = [], []
        for _ in range(per_page[i]):
            target = TARGET_SITE + r.choice(TARGET_PATHS) + f"?ref={r.randint(1, 10**6)}"
            anchor = gen.words(1, 4)
            where = r.random()
            tag = f'<a href="{target}"{" rel=nofollow" if r.random() < 0.3 else ""}>{anchor}</a>'
            if where < 0.6 and body:
                k = r.randrange(len(body))
                body[k] = body[k].replace("</p>", f" see {tag} for more.</p>", 1)
            elif where < 0.8:
                sidebar.append(f"<li>{tag}</li>")
            else:
                footer.append(tag)
            links.append([url, target, anchor if where >= 0.1 else ""])
        new_html = html
        for old, new in zip(paras, body, strict=False):
            new_html = new_html.replace(old, new, 1)
        extra = (f'<aside class="sidebar widget"><ul>{"".join(sidebar)}</ul></aside>'
                 f'<footer class="site-footer">{" | ".join(footer)}</footer>')
        new_html = new_html.replace("</body>", extra + "</body>", 1) if "</body>" in new_html else new_html + extra
        name = f"p{i:05d}.html"
        (pages_dir / name).write_text(new_html, encoding="utf-8")
        manifest.append(f"{url},{name}")
    (pages_dir / "manifest.csv").write_text("\n".join(manifest) + "\n", encoding="utf-8")
    r.shuffle(links)
    out = folder / "links_with_pages.csv"
    with out.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["source_url", "target_url", "anchor_text"])
        w.writerows(links)
    return out


# ------------------------------------------------------------------------------------------------
# measurement (child process)


def hardware() -> str:
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"nproc {os.cpu_count()}, {cpu}, Python {platform.python_version()}, {platform.system()}"


def model_info() -> str:
    from features.artifact import default_models_dir, resolve_model_dir

    folder = resolve_model_dir(default_models_dir())
    trees = (folder / "model.txt").read_text(encoding="utf-8").count("\nTree=")
    return f"{folder.name} ({trees} trees)"


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _tree_pids(pid: int) -> list[int]:
    """pid and all its descendants (from /proc/<pid>/task/*/children)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
    return out


def _pss_mb(pid: int) -> float:
    """Proportional set size of one process (shared pages split between the processes sharing
    them), from /proc/<pid>/smaps_rollup; 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class _MemorySampler:
    """Samples the summed PSS and RSS of this process and its children every second (5x a second
    in the first 5 s): the peak memory of a multi-process run (per-process peaks do not add up:
    shared pages count once)."""

    def __init__(self) -> None:
        import threading

        self.peak_pss = self.peak_rss = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        start = time.perf_counter()
        # 5 samples a second for the first seconds (short runs get sampled too), then one a second
        while not self._stop.wait(0.2 if time.perf_counter() - start < 5 else 1.0):
            pids = _tree_pids(os.getpid())
            self.peak_pss = max(self.peak_pss, sum(_pss_mb(p) for p in pids))
            rss = 0.0
            for p in pids:
                with contextlib.suppress(OSError):
                    rss += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
            self.peak_rss = max(self.peak_rss, rss)

    def __enter__(self) -> _MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _warm(model_dir: str) -> bool:
    from serving.batch import get_scorer

    get_scorer(model_dir)
    return True  # not the Scorer: client.run would ship it back to the driver


def child(job: dict) -> dict:
    from features.artifact import default_models_dir, resolve_model_dir
    from serving.batch import BatchOptions, get_scorer, score_files

    model_dir = str(resolve_model_dir(default_models_dir()).resolve())
    opts = BatchOptions(pages=Path(job["pages"]) if job.get("pages") else None, engine=job["engine"],
                        chunk_rows=job.get("chunk_rows", 5000))
    worker_rss: list[float] = []
    worker_cpu = 0.0
    total_pss = total_rss = None
    if job["engine"] == "dask":
        import logging

        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                          silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
            # the cluster linkq starts itself gets its workers tuned so (see README: Dask); this
            # one is made here, to read the workers' CPU and memory
            from serving.batch import tune_scoring_process

            client.run(tune_scoring_process)
            client.run(_warm, model_dir)  # model loaded before the clock starts (CPU column)
            cpu0 = client.run(_cpu_s)
            driver0 = _cpu_s()
            opts = BatchOptions(pages=opts.pages, engine="dask", scheduler=cluster.scheduler_address,
                                chunk_rows=opts.chunk_rows)
            summary = score_files([Path(job["input"])], Path(job["out"]), opts)
            driver_cpu = _cpu_s() - driver0
            worker_cpu = sum(v - cpu0[k] for k, v in client.run(_cpu_s).items())
            worker_rss = list(client.run(_maxrss_mb).values())
    else:
        workers = job.get("workers")
        opts = BatchOptions(pages=opts.pages, engine="local", chunk_rows=opts.chunk_rows, workers=workers)
        if workers == 1:
            get_scorer(model_dir)  # loaded before the clock starts (a pool loads it in start-up)
        driver0 = _cpu_s()
        with _MemorySampler() as mem:
            summary = score_files([Path(job["input"])], Path(job["out"]), opts)
        driver_cpu = _cpu_s() - driver0
        total_pss, total_rss = mem.peak_pss, mem.peak_rss
        if summary.workers > 1:  # the pool's processes are reaped: their CPU and peak RSS are ours
            kids = resource.getrusage(resource.RUSAGE_CHILDREN)
            worker_cpu = kids.ru_utime + kids.ru_stime
            worker_rss = [kids.ru_maxrss / 1024]
    size = Path(job["out"]).stat().st_size
    Path(job["out"]).unlink()
    return {"workers": summary.workers, "rows": summary.rows_in, "rows_out": summary.rows_out, "seconds": summary.seconds,
            "startup": summary.startup_seconds, "rows_per_s": summary.rows_per_s, "rss_mb": _maxrss_mb(),
            "worker_rss_mb": max(worker_rss) if worker_rss else None, "out_mb": size / 1e6,
            "statuses": summary.statuses, "cpu_us_per_row": (driver_cpu + worker_cpu) / max(1, summary.rows_in) * 1e6,
            "driver_cpu_share": driver_cpu / max(1e-9, driver_cpu + worker_cpu),
            "total_pss_mb": total_pss, "total_rss_mb": total_rss}


def run_child(job: dict, tree: Path = ROOT) -> dict:
    """One measurement in a fresh process, of the code in ``tree`` (a linkq checkout: its own
    ``bench/bench_batch.py --child`` runs with the checkout first on the path, so an installed or
    editable linkq elsewhere is not what is measured)."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    proc = subprocess.run([sys.executable, str(tree / "bench" / "bench_batch.py"), "--child", json.dumps(job)],
                          capture_output=True, text=True, cwd=tree, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"child failed: {job}\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def compare(other: Path, path: Path, pairs: int) -> None:
    """Alternating whole-process runs of this checkout and ``other`` on the same export (default
    engine: one reading and one scoring process per core), then each run and the median of the pairs'
    ratios. Why alternate: on a shared machine the same code's wall time moves by 15-30% within
    minutes, so only runs side by side in time compare; read a median ratio within the pairs'
    spread as no change."""
    job = {"input": str(path), "out": str(OUT / "scored_vs.csv"), "engine": "local", "workers": None}
    runs: dict[Path, list[dict]] = {ROOT: [], other: []}
    for i in range(pairs):
        for tree in (ROOT, other) if i % 2 == 0 else (other, ROOT):
            res = run_child(job, tree)
            runs[tree].append(res)
            print(f"{tree}: {res}", file=sys.stderr)
    print(f"\nHardware: {hardware()}; {pairs} alternating pairs, export {path.name}\n")
    print("| checkout | wall s | start-up s | rows/s (after start-up) | CPU us/row |")
    print("|---|---|---|---|---|")
    for tree, got in runs.items():
        cells = [", ".join(f"{r[k]:,.{d}f}" for r in got) for k, d in
                 (("seconds", 1), ("startup", 1), ("rows_per_s", 0), ("cpu_us_per_row", 0))]
        print(f"| {tree} | " + " | ".join(cells) + " |")
    for key in ("seconds", "cpu_us_per_row"):
        ratios = sorted(a[key] / b[key] for a, b in zip(runs[ROOT], runs[other], strict=True))
        print(f"\n{key}, this / other, per pair: {', '.join(f'{r:.3f}' for r in ratios)} "
              f"(median {statistics.median(ratios):.3f})")


def profile(path: Path, top: int = 35) -> None:
    """cProfile of export-only scoring of ``path`` (one process, local engine)."""
    import cProfile
    import pstats

    from features.artifact import default_models_dir, resolve_model_dir
    from serving.batch import BatchOptions, get_scorer, score_files

    get_scorer(str(resolve_model_dir(default_models_dir()).resolve()))  # load outside the profile
    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.enable()
    summary = score_files([path], OUT / "profile.csv", BatchOptions(workers=1))
    prof.disable()
    print(f"{summary.rows_in} rows in {time.perf_counter() - t:.1f} s under cProfile "
          f"({summary.rows_per_s:,.0f} rows/s)")
    pstats.Stats(prof).sort_stats("cumulative").print_stats(top)
    pstats.Stats(prof).sort_stats("tottime").print_stats(top)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="Ahrefs rows (other formats: rows/10)")
    ap.add_argument("--links", type=int, default=10_000, help="links scored with their pages")
    ap.add_argument("--pages", type=int, default=1_000, help="distinct pages the links sit on")
    ap.add_argument("--no-dask", action="store_true", help="skip the Dask runs")
    ap.add_argument("--formats", default="ahrefs,semrush,majestic,moz,gsc,csv,jsonl")
    ap.add_argument("--unique", action="store_true",
                    help="also an Ahrefs export where every row has a new host and anchor (caches miss)")
    ap.add_argument("--profile", action="store_true", help="cProfile export-only scoring and exit")
    ap.add_argument("--vs", type=Path, help="another linkq checkout: alternate its default (x2) runs of the "
                    "Ahrefs export with this one's, --pairs times, and print the ratios")
    ap.add_argument("--pairs", type=int, default=3, help="with --vs: alternating pairs of runs")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    OUT.mkdir(parents=True, exist_ok=True)
    if args.profile:
        profile(write_export("ahrefs", OUT / f"ahrefs_{args.rows}.tsv", args.rows))
        return
    if args.vs:
        compare(args.vs.resolve(), write_export("ahrefs", OUT / f"ahrefs_{args.rows}.tsv", args.rows), args.pairs)
        return
    results: list[tuple[str, str, dict]] = []
    load_before = os.getloadavg()
    t = time.perf_counter()
    files = {}
    for fmt in args.formats.split(","):
        n = args.rows if fmt == "ahrefs" else max(1, args.rows // 10)
        ext = {"ahrefs": "tsv", "jsonl": "jsonl"}.get(fmt, "csv")
        files[fmt] = write_export(fmt, OUT / f"{fmt}_{n}.{ext}", n)
    if args.unique:
        files["ahrefs, new host and anchor on every row"] = write_export(
            "ahrefs", OUT / f"ahrefs_unique_{args.rows}.tsv", args.rows, unique=True)
    print(f"generated exports in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    for fmt, path in files.items():
        runs = [("local", 1), ("local", None)] if fmt == "ahrefs" else [("local", None)]
        runs += [] if args.no_dask or fmt != "ahrefs" else [("dask", None)]
        for engine, workers in runs:
            res = run_child({"input": str(path), "out": str(OUT / "scored.csv"), "engine": engine,
                             "workers": workers})
            results.append((f"export-only, {fmt}", engine, res))
            print(f"{fmt} {engine} x{res['workers']}: {res}", file=sys.stderr)
    if args.links:
        t = time.perf_counter()
        links = write_pages(OUT / f"pages_{args.pages}", args.pages, args.links)
        print(f"generated {args.pages} pages in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        for engine, workers in [("local", 1), ("local", 2)] + ([] if args.no_dask else [("dask", None)]):
            res = run_child({"input": str(links), "out": str(OUT / "scored.csv"), "engine": engine,
                             "workers": workers, "pages": str(links.parent / "pages"), "chunk_rows": 1000})
            results.append((f"with pages, {args.links} links / {args.pages} pages", engine, res))
            print(f"pages {engine}: {res}", file=sys.stderr)
    print(f"\nHardware: {hardware()}; load average before / after: "
          f"{load_before[0]:.1f} / {os.getloadavg()[0]:.1f} (other processes share the cores)")
    print(f"Model: {model_info()}\n")
    print("engine xN: N scoring processes (local pool or Dask workers); x1 scores in the reading process. "
          "CPU us/row: CPU time of all processes (reader + workers) per row (a pool's model loading "
          "included); 'idle 2 cores' = min(N, 2) x 1e6 / CPU us/row, what the run would do alone. "
          "Peak RSS: reader / largest worker (each process's own peak). Total peak: the largest sum over "
          "the local run's processes, sampled every second (5x a second in the first 5 s), as PSS (shared pages counted once) / RSS.\n")
    print("| scenario | engine | rows | wall s | start-up s | rows/s (after start-up) | CPU us/row | "
          "rows/s idle 2 cores | peak RSS MB (reader / worker) | total peak MB (PSS / RSS) | statuses |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, engine, r in results:
        rss = f"{r['rss_mb']:.0f}" + (f" / {r['worker_rss_mb']:.0f}" if r["worker_rss_mb"] else "")
        st = ", ".join(f"{k} {v}" for k, v in sorted(r["statuses"].items(), key=lambda kv: -kv[1]))
        total = (f"{r['total_pss_mb']:.0f} / {r['total_rss_mb']:.0f}" if r.get("total_pss_mb") else "")
        cores = min(2, r["workers"])
        idle = cores * 1e6 / r["cpu_us_per_row"] if r["cpu_us_per_row"] else float("nan")
        print(f"| {name} | {engine} x{r['workers']} | {r['rows']:,} | {r['seconds']:.1f} | {r['startup']:.1f} | "
              f"{r['rows_per_s']:,.0f} | {r['cpu_us_per_row']:,.0f} | {idle:,.0f} | {rss} | {total} | {st} |")


if __name__ == "__main__":
    main()
