"""The HTTP service against hostile requests, on a real ``bentoml serve`` on 127.0.0.1 (no API key).

* Property test (hypothesis; 200 examples in the "ci" profile): random JSON, random record lists and
  random bytes to ``POST /score`` never get a 5xx; a 200 answer has every record back once, in
  order; a 4xx answer is JSON that says what was wrong.
* A 4xx is logged in one line, never with a traceback.
* The page at ``/`` loads no script and nothing from another site.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from serving.serve import REPO, serve_command, service_env, stop_tree


@dataclass
class Server:
    url: str
    log: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    log = tmp_path_factory.mktemp("hostile") / "server.log"
    env = service_env(workers=1)
    env.pop("LINKQ_API_KEY", None)
    env.pop("LINKQ_BENTO_MODEL", None)
    with log.open("wb") as out:
        proc = subprocess.Popen(serve_command("127.0.0.1", port), env=env, cwd=REPO, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        with httpx.Client(base_url=url, timeout=2) as c:
            while True:
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
                with contextlib.suppress(httpx.TransportError):
                    if c.get("/readyz").status_code == 200:
                        break
                time.sleep(0.1)
        yield Server(url, log)
    finally:
        proc.terminate()
        stop_tree(proc, {}, grace=15)


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


# -- random requests -------------------------------------------------------------------------------------

text = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
scalar = st.none() | st.booleans() | st.integers() | st.floats() | text
json_value = st.recursive(scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
                          max_leaves=10)
url_like = text | st.sampled_from(["https://a.example.org/p", "http://b.example.com", "javascript:alert(1)",
                                   "https://[::1]/", "http://127.0.0.1:22/", "https://ex ample.com/%zz", "//x", ""])
field_names = st.sampled_from(["anchor_text", "rel", "source_html", "source_title", "context_left", "context_right",
                               "target_title", "target_text", "metrics", "id", "status", "score", "model_id"])
html_like = text | st.sampled_from(["<a href='https://t.example/'>x</a>", "<html><body><a href=", "\x00\x01<p>",
                                    "<p>" * 500, "<!--" + "x" * 1000])
metric_value = st.none() | st.booleans() | st.integers(-10**6, 10**9) | st.floats(allow_nan=False, allow_infinity=False)
metrics = st.dictionaries(st.sampled_from(["domain_authority", "page_authority", "traffic", "outbound_links",
                                           "spam_score", "other"]), metric_value, max_size=4)
dates = st.dictionaries(st.sampled_from(["first_seen", "last_seen"]), st.none() | text | st.dates().map(str), max_size=2)
optional_text = st.none() | text
typed_record = st.fixed_dictionaries(  # the schema's types, hostile values: most of these get scored
    {"source_url": url_like.filter(bool), "target_url": url_like.filter(bool)},
    optional={"anchor_text": optional_text, "rel": st.none() | st.sampled_from(["", "nofollow", "ugc sponsored"]) | text,
              "source_html": st.none() | html_like, "source_title": optional_text, "context_left": optional_text,
              "context_right": optional_text, "target_title": optional_text, "target_text": optional_text,
              "metrics": st.builds(lambda m, d: {**m, **d}, metrics, dates), "extra": json_value},
)
any_record = st.fixed_dictionaries(  # wrong types too
    {"source_url": url_like, "target_url": url_like},
    optional={"anchor_text": text | scalar, "rel": text | scalar, "source_html": html_like, "metrics": json_value,
              "target_text": text, "context_left": text, "extra": json_value},
) | st.dictionaries(field_names | text, json_value, max_size=5)

body = st.one_of(
    st.fixed_dictionaries({"records": st.lists(typed_record, max_size=6)}),
    st.fixed_dictionaries({"records": st.lists(typed_record, min_size=1, max_size=4)}),
    st.fixed_dictionaries({"records": st.lists(any_record, max_size=6)}),
    json_value,
    st.fixed_dictionaries({"records": json_value}),
)


def send(client: httpx.Client, payload: bytes) -> httpx.Response:
    return client.post("/score", content=payload, headers={"Content-Type": "application/json"})


def check(r: httpx.Response, sent: object) -> None:
    event(f"HTTP {r.status_code}")  # shown by --hypothesis-show-statistics
    assert r.status_code < 500, (r.status_code, r.text[:500])
    answer = r.json()  # every answer is JSON, errors included
    if r.status_code == 200:
        records = sent["records"]  # type: ignore[index]
        assert len(answer["results"]) == len(records)
        for i, res in enumerate(answer["results"]):
            assert res["_n"] == i  # each record back once, in order
            assert res["status"] and (res["score"] is None) == res["status"].startswith("error")
    else:
        assert 400 <= r.status_code < 500 and answer.get("error")


@given(body)
@example({"records": [{"source_url": "https://a.example.org/", "target_url": "https://b.example.com/",
                       "metrics": {"domain_authority": float("nan")}}]})
@example({"records": [{"source_url": "x", "target_url": "y", "source_html": "\udcff"}]})
def test_random_json_to_score_never_gets_a_5xx(client: httpx.Client, body: object) -> None:
    if isinstance(body, dict) and isinstance(body.get("records"), list):
        # number the records that are objects, to check order; anything else must be refused
        for i, rec in enumerate(body["records"]):
            if isinstance(rec, dict):
                rec["_n"] = i
    payload = json.dumps(body, allow_nan=True).encode("utf-8", "surrogatepass")  # NaN and lone surrogates too
    check(send(client, payload), body)


@given(st.binary(max_size=300) | st.binary(max_size=40).map(lambda b: b'{"records": [' + b))
def test_random_bytes_to_score_never_get_a_5xx(client: httpx.Client, payload: bytes) -> None:
    r = send(client, payload)
    event(f"HTTP {r.status_code}")
    assert 400 <= r.status_code < 500 or r.status_code == 200, (r.status_code, r.text[:300])
    assert r.json()


# -- logs and pages ---------------------------------------------------------------------------------------


def test_4xx_are_logged_in_one_line_without_a_traceback(server: Server, client: httpx.Client) -> None:
    mark = f"log-mark-{time.monotonic_ns()}"
    bad = [b'{"records": [', json.dumps({"records": [{"source_url": 5, "id": mark}]}).encode(), b"\xff\xfe",
           json.dumps({"records": "x" * 50}).encode()]
    for payload in bad:
        assert send(client, payload).status_code == 400
    time.sleep(0.5)  # the worker's log is written asynchronously
    text = server.log.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in text
    lines = [line for line in text.splitlines() if re.search(r"\b400 on /score \[POST\]", line)]
    assert len(lines) >= len(bad), text[-3000:]
    assert any("records.0.source_url: Input should be a valid string" in line for line in lines)
    assert mark not in text  # the request's values are never logged


def test_no_page_the_service_serves_loads_a_third_party_script(server: Server, client: httpx.Client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<script" not in page.text.lower() and "googletagmanager" not in page.text
    assert "/score" in page.text and "docs.json" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]  # a script could not run anyway
    for path in ("/docs.json", "/schema.json", "/livez", "/readyz", "/model", "/metrics"):
        r = client.get(path)
        assert "<script" not in r.text.lower(), path


@given(st.binary(max_size=2000) | st.lists(st.text(st.characters(exclude_categories=("Cs",)), max_size=30),
                                           min_size=3, max_size=30).map(lambda cells: (
    "source_url,target_url,anchor_text\n" + "\n".join(",".join(cells[i:i + 3]) for i in range(0, len(cells), 3))
).encode("utf-8")))
def test_random_files_to_score_export_never_get_a_5xx(client: httpx.Client, data: bytes) -> None:
    r = client.post("/score_export", files={"file": ("export.csv", data, "text/csv")})
    event(f"HTTP {r.status_code}")
    assert r.status_code < 500, (r.status_code, r.text[:300])
    if r.status_code != 200:
        assert r.json().get("error")
