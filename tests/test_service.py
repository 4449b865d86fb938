"""The HTTP service: a real ``bentoml serve`` on loopback (with an API key), plus fast in-process
checks through the same ASGI app (readiness, auth off, load failure) and the scoring queue."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from conftest import COMWRAP_URL, FIXTURES, SCIENCE_URL, page_html

from serving import service
from serving.scoring import Scorer
from serving.serve import REPO, serve, serve_command, service_env

API_KEY = "test-key-0123456789"
PAPER = "https://www.nature.com/articles/s41550-019-0933-6"  # a link in the science page's article
EZ = "https://ez.no/"  # a link in the comwrap page's content
EXPORTS = FIXTURES / "exports"
RESULT_KEYS = ("score", "verdict", "reasons", "placement_zone", "status", "flags", "evidence")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    readyz_seen: list[int]
    log: Path


def _descendants(root: int) -> list[int]:
    """Pids under ``root``, by parent pid (the server's workers start their own sessions)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            children.setdefault(int(stat.read_text().rsplit(")", 1)[1].split()[1]), []).append(int(stat.parent.name))
    out, todo = [], list(children.get(root, []))
    while todo:
        out.append(pid := todo.pop())
        todo.extend(children.get(pid, []))
    return out


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the bentoml CLI (it stops its workers); SIGKILL to it and its workers, by pid, if it hangs."""
    if proc.poll() is None:
        pids = _descendants(proc.pid)
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            for pid in (proc.pid, *pids):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            proc.wait(timeout=5)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real server (one worker, API key on); records the /readyz codes seen while it starts."""
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    env = service_env(workers=1)
    env["LINKQ_API_KEY"] = API_KEY
    env.pop("LINKQ_BENTO_MODEL", None)
    with log.open("wb") as out:
        proc = subprocess.Popen(serve_command("127.0.0.1", port), env=env, cwd=REPO, stdout=out,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    seen: list[int] = []
    deadline = time.monotonic() + 90
    try:
        with httpx.Client(base_url=url, timeout=2) as c:
            while not seen or seen[-1] != 200:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"server did not become ready:\n{log.read_text()[-3000:]}")
                with contextlib.suppress(httpx.TransportError):
                    seen.append(c.get("/readyz").status_code)
                time.sleep(0.05)
        yield Server(url, seen, log)
    finally:
        _stop(proc)
    assert API_KEY not in log.read_text(), "the API key must never be logged"


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer.load()


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return [
        {"id": "in-article", "source_url": SCIENCE_URL, "target_url": PAPER, "source_html": page_html("14cc2a0c")},
        {"id": "not-on-page", "source_url": SCIENCE_URL, "target_url": "https://shop.example.com/",
         "source_html": page_html("14cc2a0c")},
        {"id": "export-row", "source_url": "https://blog.example.org/post", "target_url": "https://shop.example.com/",
         "anchor_text": "running shoes", "rel": "nofollow", "context_left": "We tried", "context_right": "for a month.",
         "metrics": {"domain_authority": 40, "first_seen": "2026-01-02"}, "campaign": {"name": "spring", "ids": [1, 2]}},
        {"id": 4, "source_url": "not a url", "target_url": "https://shop.example.com/"},
        {"id": "comwrap", "source_url": COMWRAP_URL, "target_url": EZ, "source_html": page_html("ba07d1e6")},
    ]


def expected(scorer: Scorer, recs: list[dict]) -> list[dict]:
    return [{k: r.get(k) for k in RESULT_KEYS} for r in scorer.score(recs)]


# ------------------------------------------------------------------------------------------------
# real server: health, happy path, identity with the in-process scorer, concurrency


@pytest.mark.slow
def test_readyz_is_503_until_the_models_are_loaded(server: Server) -> None:
    assert server.readyz_seen[-1] == 200
    assert 503 in server.readyz_seen, f"expected 503 while loading, saw {sorted(set(server.readyz_seen))}"
    assert httpx.get(server.url + "/livez").status_code == 200


@pytest.mark.slow
def test_score_returns_results_in_order_with_passthrough(client: httpx.Client, records: list[dict],
                                                          scorer: Scorer) -> None:
    r = client.post("/score", json={"records": records})
    assert r.status_code == 200, r.text
    body = r.json()
    mid = scorer.model.model_id
    assert body["model_id"] == mid
    results = body["results"]
    assert [x["id"] for x in results] == [rec["id"] for rec in records]
    assert [x["status"] for x in results][:3] == ["scored", "link_missing", "scored_without_page"]
    assert results[3]["status"].startswith("error: source_url") and results[3]["score"] is None
    assert results[4]["status"] == "scored" and results[4]["placement_zone"] == "main_content"
    for res, rec in zip(results, records, strict=True):
        assert "source_html" not in res and res["model_id"] == mid
        sent = {k: v for k, v in rec.items() if k != "source_html"}
        assert {k: res[k] for k in sent} == sent  # every other field comes back as sent
    assert results[0]["verdict"] in ("strong", "review", "weak") and 0 <= results[0]["score"] <= 1
    assert results[0]["reasons"] and results[0]["evidence"]


@pytest.mark.slow
def test_results_identical_to_the_scorer_in_process(client: httpx.Client, records: list[dict],
                                                    scorer: Scorer) -> None:
    got = client.post("/score", json={"records": records}).json()["results"]
    assert [{k: g.get(k) for k in RESULT_KEYS} for g in got] == expected(scorer, records)


@pytest.mark.slow
def test_concurrent_requests_each_get_their_own_results_in_order(client: httpx.Client, scorer: Scorer) -> None:
    science = page_html("14cc2a0c")

    def batch(i: int) -> list[dict]:
        recs = [{"id": f"{i}-{j}", "source_url": f"https://blog{i}.example.org/p/{j}",
                 "target_url": "https://shop.example.com/", "anchor_text": ["shoes", "click here", "a guide"][j],
                 "metrics": {"domain_authority": (i * 7 + j * 13) % 100}} for j in range(3)]
        if i % 4 == 0:
            recs.append({"id": f"{i}-page", "source_url": SCIENCE_URL, "target_url": PAPER, "source_html": science})
        return recs

    batches = [batch(i) for i in range(16)]
    with ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(lambda b: client.post("/score", json={"records": b}), batches))
    for recs, resp in zip(batches, responses, strict=True):
        assert resp.status_code == 200, resp.text
        got = resp.json()["results"]
        assert [g["id"] for g in got] == [r["id"] for r in recs]
        assert [{k: g.get(k) for k in RESULT_KEYS} for g in got] == expected(scorer, recs)


@pytest.mark.slow
def test_model_endpoint_describes_the_loaded_model(client: httpx.Client, scorer: Scorer) -> None:
    r = client.get("/model")
    assert r.status_code == 200
    assert r.json() == httpx.Response(200, json=scorer.describe()).json()
    assert {"model_id", "schema_version", "metrics", "thresholds", "embedding"} <= set(r.json())


@pytest.mark.slow
def test_openapi_and_docs_page(server: Server) -> None:
    spec = httpx.get(server.url + "/docs.json").json()  # open without the key
    assert {"/score", "/score_export"} <= set(spec["paths"])
    page = httpx.get(server.url + "/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]


# ------------------------------------------------------------------------------------------------
# real server: every 4xx


def _detail(r: httpx.Response) -> list[dict]:
    assert r.status_code == 400, r.text
    body = r.json()
    assert "error" in body
    return body["detail"]


@pytest.mark.slow
def test_too_many_records_is_400(client: httpx.Client) -> None:
    rec = {"source_url": "https://a.example.org/", "target_url": "https://b.example.com/"}
    (err,) = _detail(client.post("/score", json={"records": [rec] * 1001}))
    assert err["loc"] == ["records"] and "1000" in err["msg"]


@pytest.mark.slow
def test_html_over_5_mb_is_400_naming_the_record(client: httpx.Client) -> None:
    big = "<p>" + "x" * (5 * 1024 * 1024) + "</p>"
    recs = [{"source_url": "https://a.example.org/", "target_url": "https://b.example.com/"}] * 2
    recs = [recs[0], {**recs[1], "source_html": big}]
    (err,) = _detail(client.post("/score", json={"records": recs}))
    assert err["loc"] == ["records", 1, "source_html"] and "5 MB limit" in err["msg"]
    assert "xxxx" not in client.post("/score", json={"records": recs}).text  # the page is not echoed


@pytest.mark.slow
def test_body_over_60_mb_is_413(client: httpx.Client) -> None:
    body = b'{"records": [{"source_html": "' + b"x" * (61 * 1024 * 1024) + b'"}]}'
    r = client.post("/score", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "60 MB" in r.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(62):
            yield b" " * (1024 * 1024)

    r = client.post("/score", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


@pytest.mark.slow
def test_malformed_json_is_400(client: httpx.Client) -> None:
    (err,) = _detail(client.post("/score", content=b'{"records": [', headers={"Content-Type": "application/json"}))
    assert err["type"] == "json_invalid"


@pytest.mark.slow
def test_missing_required_field_is_400_naming_it(client: httpx.Client) -> None:
    recs = [{"source_url": "https://a.example.org/", "target_url": "https://b.example.com/"},
            {"source_url": "https://a.example.org/"}]
    (err,) = _detail(client.post("/score", json={"records": recs}))
    assert err["loc"] == ["records", 1, "target_url"] and err["msg"] == "Field required"
    (err,) = _detail(client.post("/score", json={}))
    assert err["loc"] == ["records"]


@pytest.mark.slow
@pytest.mark.parametrize(("body", "loc"), [
    ({"records": "not a list"}, ["records"]),
    ({"records": [{"source_url": 5, "target_url": "https://b.example.com/"}]}, ["records", 0, "source_url"]),
    ({"records": [{"source_url": "https://a.example.org/", "target_url": "https://b.example.com/",
                   "anchor_text": ["x"]}]}, ["records", 0, "anchor_text"]),
    ({"records": [{"source_url": "https://a.example.org/", "target_url": "https://b.example.com/",
                   "metrics": {"domain_authority": "high"}}]}, ["records", 0, "metrics", "domain_authority"]),
])
def test_wrong_types_are_400_naming_the_field(client: httpx.Client, body: dict, loc: list) -> None:
    errs = _detail(client.post("/score", json=body))
    assert loc in [e["loc"] for e in errs]


@pytest.mark.slow
def test_a_record_that_is_not_scorable_does_not_stop_the_others(client: httpx.Client) -> None:
    recs = [{"source_url": "https://a.example.org/", "target_url": "https://b.example.com/",
             "source_html": "\x00\x01\x02 binary"},
            {"source_url": "https://a.example.org/", "target_url": "https://b.example.com/"}]
    a, b = client.post("/score", json={"records": recs}).json()["results"]
    assert a["status"].startswith("error:") and a["score"] is None
    assert b["status"] == "scored_without_page" and b["score"] is not None


# ------------------------------------------------------------------------------------------------
# real server: auth


@pytest.mark.slow
def test_api_key_is_required_when_set(server: Server) -> None:
    rec = {"records": [{"source_url": "https://a.example.org/", "target_url": "https://b.example.com/"}]}
    with httpx.Client(base_url=server.url, timeout=30) as anon:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": API_KEY},
                        {"Authorization": f"Basic {API_KEY}"}):
            r = anon.post("/score", json=rec, headers=headers)
            assert r.status_code == 401, headers
            assert r.headers["www-authenticate"].startswith("Bearer") and "API key" in r.json()["error"]
        assert anon.get("/model").status_code == 401
        assert anon.get("/metrics").status_code == 401
        assert anon.post("/score_export", files={"file": ("a.csv", b"x")}).status_code == 401
        for path in ("/livez", "/healthz", "/readyz", "/docs.json", "/"):
            assert anon.get(path).status_code == 200, path
        ok = anon.post("/score", json=rec, headers={"Authorization": f"bearer {API_KEY}"})
        assert ok.status_code == 200


# ------------------------------------------------------------------------------------------------
# real server: export upload


def _csv(text: str) -> list[dict]:
    import csv
    import io

    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.slow
def test_score_export_returns_the_scored_csv(client: httpx.Client) -> None:
    r = client.post("/score_export", files={"file": ("ahrefs.tsv", (EXPORTS / "ahrefs_utf16.tsv").read_bytes())})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv") and r.headers["x-linkq-format"] == "ahrefs"
    rows = _csv(r.text)
    assert len(rows) == int(r.headers["x-linkq-rows"]) > 0
    assert list(rows[0])[:3] == ["Referring page title", "Referring page URL", "Language"]
    assert list(rows[0])[-7:] == ["score", "verdict", "risk", "reasons", "placement_zone", "status", "flags"]
    assert all(row["status"] == "scored_without_page" and 0 <= float(row["score"]) <= 1 for row in rows)


@pytest.mark.slow
def test_score_export_reports_unreadable_rows(client: httpx.Client) -> None:
    r = client.post("/score_export", files={"file": ("links.jsonl", (EXPORTS / "links.jsonl").read_bytes())},
                    data={"format": "jsonl"})
    assert r.status_code == 200, r.text
    rows = _csv(r.text)
    errors = [row["status"] for row in rows if row["status"].startswith("error")]
    assert errors and all(e.startswith("error: line ") for e in errors)
    assert any(row["status"] == "scored_without_page" for row in rows)
    assert r.headers["x-linkq-errors"] == str(len(errors))


@pytest.mark.slow
def test_score_export_4xx(client: httpx.Client) -> None:
    r = client.post("/score_export", files={"file": ("x.csv", (EXPORTS / "unknown.csv").read_bytes())})
    assert r.status_code == 422 and "could not recognise" in r.json()["error"]
    assert "/tmp" not in r.text  # no server paths in messages
    r = client.post("/score_export", content=b"source_url,target_url\n", headers={"Content-Type": "text/csv"})
    assert r.status_code == 415
    r = client.post("/score_export", files={"file": ("x.csv", b"a")}, data={"format": "excel"})
    assert r.status_code == 400 and r.json()["detail"][0]["loc"] == ["format"]
    big = b"source_url,target_url\n" + b"https://a.example.org/,https://b.example.com/\n" * (52 * 1024 * 1024 // 46)
    r = client.post("/score_export", files={"file": ("big.csv", big)})
    assert r.status_code == 413


@pytest.mark.slow
def test_score_export_never_fetches_a_url_given_instead_of_a_file(client: httpx.Client) -> None:
    with socket.socket() as trap:
        trap.bind(("127.0.0.1", 0))
        trap.listen(1)
        trap.settimeout(1.0)
        url = f"http://127.0.0.1:{trap.getsockname()[1]}/export.csv"
        r = client.post("/score_export", data={"file": url}, files={"other": ("o.txt", b"x")})
        assert r.status_code == 400 and "'file'" in r.json()["error"]
        with pytest.raises(TimeoutError):
            trap.accept()


# ------------------------------------------------------------------------------------------------
# in process, through the same ASGI app (no uvicorn): readiness, auth off, a model that fails to load


@pytest.fixture(scope="module")
def asgi_app():
    """One app per process (BentoML registers its Prometheus metrics once per app); each test runs
    its own lifespan, so each gets a fresh service instance."""
    return service.LinkQ.to_asgi()


@pytest.fixture
def app_client(monkeypatch: pytest.MonkeyPatch, scorer: Scorer, asgi_app):
    """The service app in-process; its model load waits for ``gate`` and then uses ``scorer``."""
    from starlette.testclient import TestClient

    gate = threading.Event()

    def load() -> Scorer:
        assert gate.wait(30)
        return scorer

    monkeypatch.setattr(service, "load_scorer", load)
    monkeypatch.delenv("LINKQ_API_KEY", raising=False)
    with TestClient(asgi_app) as c:
        yield c, gate
    gate.set()


def _wait_ready(c) -> None:
    deadline = time.monotonic() + 30
    while c.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.02)


@pytest.mark.slow
def test_in_process_not_ready_until_loaded_then_scores_without_a_key(app_client, scorer: Scorer) -> None:
    c, gate = app_client
    rec = {"records": [{"id": "x", "source_url": "https://a.example.org/", "target_url": "https://b.example.com/"}]}
    assert c.get("/livez").status_code == 200
    assert c.get("/readyz").status_code == 503
    busy = c.post("/score", json=rec)
    assert busy.status_code == 503 and busy.headers["retry-after"] and "loading" in busy.json()["error"]
    assert c.get("/model").status_code == 503
    assert c.post("/score_export", files={"file": ("a.csv", b"x")}).status_code == 503
    gate.set()
    _wait_ready(c)
    r = c.post("/score", json=rec)  # no Authorization header: LINKQ_API_KEY is not set
    assert r.status_code == 200 and r.json()["results"][0]["id"] == "x"
    assert c.get("/model").json()["model_id"] == scorer.model.model_id


@pytest.mark.slow
def test_in_process_caller_fields_never_override_results(app_client, scorer: Scorer) -> None:
    c, gate = app_client
    gate.set()
    _wait_ready(c)
    rec = {"source_url": "https://a.example.org/", "target_url": "https://b.example.com/", "score": "theirs",
           "status": "theirs", "model_id": "theirs", "my-field": 1}
    (res,) = c.post("/score", json={"records": [rec]}).json()["results"]
    assert res["status"] == "scored_without_page" and isinstance(res["score"], float)
    assert res["model_id"] == scorer.model.model_id and res["my-field"] == 1


def test_in_process_a_model_that_fails_to_load_is_reported(monkeypatch: pytest.MonkeyPatch, asgi_app) -> None:
    from starlette.testclient import TestClient

    def load() -> Scorer:
        raise FileNotFoundError("no model given and models/CURRENT does not exist")

    monkeypatch.setattr(service, "load_scorer", load)
    with TestClient(asgi_app) as c:
        deadline = time.monotonic() + 10
        while c.get("/livez").status_code == 200:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert c.get("/readyz").status_code == 503
        r = c.post("/score", json={"records": []})
        assert r.status_code == 503 and "models/CURRENT does not exist" in r.json()["error"]


# ------------------------------------------------------------------------------------------------
# the scoring queue


class _SlowScorer:
    """Fake scorer: the first call waits for ``release``; records with ``poison`` make a call fail."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls: list[int] = []

    def score(self, records, profile=None):
        assert profile is not None and len(profile) == len(records)  # one profile per record: its request's
        self.profiles = getattr(self, "profiles", []) + [profile]
        self.calls.append(len(records))
        if len(self.calls) == 1:
            self.release.wait(10)
        if any(r.get("poison") for r in records):
            raise RuntimeError("boom")
        return [{"score": 0.5, "status": "scored", "echo": r["n"]} for r in records]


def test_queue_merges_waiting_requests_into_one_call_and_keeps_order() -> None:
    fake = _SlowScorer()
    q = service.ScoringQueue(fake)
    try:
        first = q.submit([{"n": 0}])
        time.sleep(0.05)  # the first call is now running
        waiting = [q.submit([{"n": 10 * i + j} for j in range(i + 1)]) for i in range(1, 6)]
        fake.release.set()
        assert [r["echo"] for r in first.result(5)] == [0]
        for i, fut in enumerate(waiting, 1):
            assert [r["echo"] for r in fut.result(5)] == [10 * i + j for j in range(i + 1)]
        assert fake.calls == [1, sum(range(2, 7))]
        assert q.submit([]).result(1) == []
    finally:
        q.close()


def test_queue_without_coalescing_scores_one_request_per_call() -> None:
    fake = _SlowScorer()
    q = service.ScoringQueue(fake, coalesce=False)
    try:
        futs = [q.submit([{"n": i}, {"n": i}]) for i in range(3)]
        fake.release.set()
        assert [f.result(5)[0]["echo"] for f in futs] == [0, 1, 2]
        assert fake.calls == [2, 2, 2]
    finally:
        q.close()


def test_queue_isolates_a_record_that_breaks_the_batch() -> None:
    fake = _SlowScorer()
    fake.release.set()
    q = service.ScoringQueue(fake)
    try:
        res = q.score([{"n": 1}, {"n": 2, "poison": True}, {"n": 3}])
        assert [r["status"] for r in res] == ["scored", "error: RuntimeError: boom", "scored"]
        assert res[1]["score"] is None and [res[0]["echo"], res[2]["echo"]] == [1, 3]
    finally:
        q.close()


# ------------------------------------------------------------------------------------------------
# serve(), import into the BentoML model store, bentoml build


def test_serve_refuses_an_unknown_model_before_starting_anything(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope"):
        serve(model_id="nope", models_dir=tmp_path)


def test_bentofile_packages_match_pyproject() -> None:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    bentofile = yaml.safe_load((REPO / "serving" / "bentofile.yaml").read_text())
    assert bentofile["python"]["packages"] == [d for d in deps if not d.startswith("bentoml")]
    assert bentofile["service"] == "serving.service:LinkQ"


def _bentoml_env(home: Path) -> dict[str, str]:
    env = service_env()
    env["BENTOML_HOME"] = str(home)
    return env


@pytest.mark.slow
def test_bentoml_build_makes_a_bento_with_the_packages_and_models(tmp_path: Path) -> None:
    import importlib.util
    import shutil

    if not (shutil.which("uv") or importlib.util.find_spec("uv")):
        pytest.skip("bentoml build needs uv (it would pip-install it); install the dev extras")
    out = subprocess.run([sys.executable, "-m", "bentoml", "build", "-f", "serving/bentofile.yaml", ".",
                          "-o", "tag"], cwd=REPO, env=_bentoml_env(tmp_path), capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    (bento,) = [p for p in (tmp_path / "bentos" / "linkq").iterdir() if p.name != "latest"]
    src = bento / "src"
    for path in ("features/pipeline.py", "features/resources", "serving/service.py", "serving/scoring.py",
                 "models/CURRENT"):
        assert (src / path).exists(), path
    current = (src / "models" / "CURRENT").read_text().strip()
    assert (src / "models" / current / "model.txt").is_file()
    assert not (src / "tests").exists() and not (src / "training").exists() and not (src / ".venv").exists()
    assert "torch==2.13.0" in (bento / "env" / "python" / "requirements.txt").read_text()


@pytest.mark.slow
def test_import_model_into_the_bentoml_store_and_load_it_from_there(tmp_path: Path) -> None:
    code = (
        "import os\n"
        "from serving.serve import import_model\n"
        "tag = import_model()\n"
        "os.environ['LINKQ_BENTO_MODEL'] = tag\n"
        "import bentoml\n"
        "from features.artifact import load_model\n"
        "m = load_model(bentoml.models.get(tag).path)\n"
        "print(tag, m.model_id)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=_bentoml_env(tmp_path),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    tag, model_id = out.stdout.split()
    assert tag == f"linkq:{model_id.lower()}"
    assert (tmp_path / "models" / "linkq").is_dir()


def test_requests_merged_into_one_call_keep_their_own_profiles() -> None:
    """Each request is its own backlink profile: a network in one request does not flag the same page
    path in another request scored in the same call."""
    from serving.scoring import Scorer

    real = Scorer.load()

    class Held:
        """The real scorer, its first call held until released: the next requests wait and merge."""

        release = threading.Event()
        calls = 0

        def score(self, records, profile=None):
            Held.calls += 1
            if Held.calls == 1:
                Held.release.wait(10)
            return real.score(records, profile=profile)

    q = service.ScoringQueue(Held())
    try:
        first = q.submit([{"source_url": "https://a.example.org/", "target_url": "https://b.example.com/"}])
        time.sleep(0.05)  # the first call is now running
        network = [{"source_url": f"https://site{i}-list.info/domain-list-{i}", "target_url": "https://shop.example.com/",
                    "anchor_text": "shop.example.com", "rel": ""} for i in range(6)]
        lone = [{"source_url": "https://other-site.info/domain-list-9", "target_url": "https://shop.example.com/",
                 "anchor_text": "shop.example.com", "rel": ""}]
        a, b = q.submit(network), q.submit(lone)
        Held.release.set()
        assert first.result(60)[0]["status"] == "scored_without_page"
        assert all(r["flags"] == ["network"] for r in a.result(60))
        assert b.result(60)[0]["flags"] == []
        assert Held.calls == 2  # a and b were scored in one call
    finally:
        q.close()
