"""The linkq HTTP service (BentoML): score backlinks over HTTP with the current model.

Run from the repository root with ``bentoml serve serving.service:LinkQ`` (or ``linkq serve``).

Endpoints:

* ``POST /score``: ``{"records": [...]}``, at most 1,000 canonical link records (``source_url``,
  ``target_url`` required; ``source_html`` optional, at most 5 MB; any other field, e.g. your ``id``,
  is passed through) -> ``{"model_id", "results": [...]}`` in request order. Each result is the
  record without ``source_html`` plus ``score``, ``verdict``, ``risk``, ``reasons``, ``placement_zone``,
  ``status``, ``flags``, ``evidence`` (when the link was found on the page) and ``model_id``. A record
  that cannot be scored comes back with ``status: "error: ..."`` and no score; the others are scored.
* ``POST /score_export``: a backlink export (Ahrefs, Semrush, Majestic, Moz, Search Console, CSV,
  JSONL; at most 50 MB and ``$LINKQ_EXPORT_MAX_ROWS`` rows, default 10 million) as the multipart
  file field ``file`` (optional field ``format``) -> the scored CSV, the same table ``linkq score``
  writes for the file (``serving.table``): the file's columns plus score, verdict, reasons,
  placement_zone, status, flags. It runs the batch engine chunk by chunk and writes the CSV as it
  goes, so its memory does not grow with the number of rows.
* ``GET /model``: the loaded model (id, schema version, embedding, thresholds, held-out metrics).
* ``GET /livez``, ``/readyz`` (503 until the models are loaded), ``/metrics``; the OpenAPI document at
  ``/docs.json`` and a plain page at ``/`` (no script; see ``serving.http_front``).

Errors are JSON ``{"error": ..., "detail": ...}``: 400 for a body that is not valid JSON or does not
match the schema (``detail`` names each field, e.g. ``["records", 3, "source_url"]``, and the
reason), including more than 1,000 records and a ``source_html`` over 5 MB; 401 without the API key;
413 for a body over 60 MB (or an export over 50 MB or the row cap); 415 for an export not sent as multipart;
422 for an export whose format is not recognised; 429 beyond 64 requests in flight; 503 while the
model is loading; 504 after 300 s.

Model: ``$LINKQ_BENTO_MODEL`` (a BentoML model-store tag, see ``serving.serve.import_model``), else
``$LINKQ_MODEL`` (an id under ``$LINKQ_MODELS``/``models``, or a folder), else ``models/CURRENT``.
It is loaded once per worker (``$LINKQ_WORKERS``, default 1) in a background thread; each worker
scores on one thread with one OpenMP thread (``$OMP_NUM_THREADS``, default 1). Requests that arrive
while a scoring call runs are merged into the next call (``$LINKQ_BATCHING=0`` turns that off), which
multiplies throughput under concurrent load without delaying a lone request.

Security: when ``$LINKQ_API_KEY`` is set, every request needs ``Authorization: Bearer <key>``
except the health probes (``/livez``, ``/healthz``, ``/readyz``) and the API documentation (``/``,
``/docs.json``, ``/schema.json``, ``/static_content/...``), which hold no data. The service never
fetches a URL it is given (pages come only inline as ``source_html``) and never logs the key or
request bodies.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hmac
import logging
import os
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import bentoml
from bentoml.validators import ContentType
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from features.records import MAX_HTML_BYTES
from serving.exports import FORMATS, ExportFormatError
from serving.http_front import index_page, quiet_client_errors
from serving.tuning import hide_sklearn_from_lightgbm

if TYPE_CHECKING:
    from serving.scoring import Scorer

logger = logging.getLogger("bentoml.linkq")  # under "bentoml" so the server's log handlers show it

# One OpenMP thread per worker (before LightGBM and torch load, in the loading thread): with the
# default (one per core) every LightGBM predict call pays ~10 ms of thread hand-off, which is most of
# the latency of a small request; scale with LINKQ_WORKERS instead. Set OMP_NUM_THREADS to override.
os.environ.setdefault("OMP_NUM_THREADS", "1")

MAX_RECORDS = 1000
MAX_BODY_BYTES = 60 * 1024 * 1024
MAX_EXPORT_BYTES = 50 * 1024 * 1024
EXPORT_BODY_BYTES = MAX_EXPORT_BYTES + 1024 * 1024  # the file plus multipart overhead
EXPORT_CHUNK = 250  # export rows per scoring call: /score requests interleave between calls
HIDDEN_FIELDS = ("source_html",)  # never echoed back
OPEN_PATHS = frozenset({"/", "/livez", "/healthz", "/readyz", "/docs.json", "/schema.json"})
OPEN_PREFIXES = ("/static_content/", "/assets/")


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


DEFAULT_EXPORT_MAX_ROWS = 10_000_000


def export_row_cap() -> int:
    """Rows an uploaded export may hold (``$LINKQ_EXPORT_MAX_ROWS``, default 10 million); beyond
    it ``/score_export`` stops and answers 413."""
    return _env_int("LINKQ_EXPORT_MAX_ROWS", DEFAULT_EXPORT_MAX_ROWS)


class TooManyRows(ValueError):
    """An uploaded export holds more rows than ``export_row_cap()``."""


# ------------------------------------------------------------------------------------------------
# request and response schemas


class Metrics(BaseModel):
    """Export metrics, all optional (numbers as JSON numbers, dates as ISO ``YYYY-MM-DD``)."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False, hide_input_in_errors=True)

    domain_authority: float | None = Field(None, description="0-100: Ahrefs DR, Moz DA, Majestic TF")
    page_authority: float | None = Field(None, description="0-100: Ahrefs UR, Moz PA")
    traffic: float | None = Field(None, description="monthly organic visits of the source page")
    outbound_links: float | None = Field(None, description="external links on the source page")
    spam_score: float | None = Field(None, description="the tool's spam score, 0-100")
    sitewide: bool | float | None = None
    in_content: bool | float | None = None
    first_seen: str | None = None
    last_seen: str | None = None


class LinkRecord(BaseModel):
    """One backlink. Fields not listed here (e.g. your ``id``) are passed through to the result."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False, hide_input_in_errors=True)

    source_url: str = Field(min_length=1, description="the page that links")
    target_url: str = Field(min_length=1, description="the page linked to")
    anchor_text: str | None = None
    rel: str | None = Field(None, description="e.g. 'nofollow ugc'; '' = known followed; null = unknown")
    source_html: str | None = Field(None, description="the source page's HTML (at most 5 MB); never fetched")
    source_title: str | None = None
    context_left: str | None = None
    context_right: str | None = None
    target_title: str | None = None
    target_text: str | None = None
    metrics: Metrics | None = None

    @field_validator("source_html")
    @classmethod
    def _html_size(cls, html: str | None) -> str | None:
        if html is not None and len(html) * 4 > MAX_HTML_BYTES:  # only then can UTF-8 exceed the limit
            size = len(html.encode("utf-8", "replace"))
            if size > MAX_HTML_BYTES:
                raise ValueError(f"source_html is {size / 1e6:.1f} MB, over the {MAX_HTML_BYTES / 1e6:.0f} MB limit")
        return html


class ScoreRequest(bentoml.IODescriptor):
    """The body of ``POST /score``."""

    model_config = ConfigDict(hide_input_in_errors=True)  # validation errors never echo page bodies

    records: list[LinkRecord] = Field(max_length=MAX_RECORDS, description=f"at most {MAX_RECORDS} records")


class LinkResult(BaseModel):
    """A record (without ``source_html``) with its score; unknown fields are the caller's, passed through."""

    model_config = ConfigDict(extra="allow")

    score: float | None = Field(description="0-1: how much the link is worth having (features.factors)")
    verdict: Literal["strong", "review", "weak"] | None
    risk: Literal["risky", "worthless", ""] = Field(
        "", description="for weak links: risky (a manipulation flag against the linking page, consider disavowing) or worthless (ignore it); empty otherwise")
    reasons: list[str] = Field(description="per factor, what its evidence says, the largest part first")
    placement_zone: str | None = Field(description="where the link sits on the page ('unknown' without HTML)")
    status: str = Field(description="scored, scored_without_page, link_missing or 'error: ...'")
    flags: list[str] = Field([], description="manipulation signals (paid, spam_source, money_anchor, ...)")
    evidence: str | None = Field(None, description="the link in its page context, when found on the page")
    model_id: str


class ScoreResponse(BaseModel):
    model_id: str
    results: list[LinkResult]


ExportFormat = Literal[("auto", *FORMATS)]  # type: ignore[valid-type]


class ExportUpload(bentoml.IODescriptor):
    """The body of ``POST /score_export``: a multipart form with the export in the file field ``file``."""

    model_config = ConfigDict(hide_input_in_errors=True)

    file: Path = Field(description="the export file (at most 50 MB)")
    format: ExportFormat = Field("auto", description="force a layout instead of recognising it")

    @classmethod
    async def from_http_request(cls, request: Request, serde: Any) -> ExportUpload:
        # BentoML would download a URL sent in place of the file; this service never fetches URLs. A
        # problem is handed to the API through the request state, for a plain JSON 400 answer.
        try:
            form = await request.form(max_files=1, max_fields=8)
        except Exception as exc:  # noqa: BLE001 - a malformed multipart body is the client's error
            problem = f"unreadable multipart body: {getattr(exc, 'detail', exc)}"
        else:
            problem = None if isinstance(form.get("file"), UploadFile) else "no file in the multipart field 'file'"
        if problem is None:
            return await super().from_http_request(request, serde)  # type: ignore[return-value]
        request.state.linkq_upload_problem = problem
        return cls.model_construct(file=None, format="auto")


# ------------------------------------------------------------------------------------------------
# scoring: one thread per worker, concurrent requests merged into one Scorer.score call


def load_scorer() -> Scorer:
    """The model named by the environment (see the module docstring), with its embedding model."""
    from serving.scoring import Scorer

    tag = os.environ.get("LINKQ_BENTO_MODEL", "").strip()
    if tag:
        return Scorer.load(model_id=bentoml.models.get(tag).path)
    models = os.environ.get("LINKQ_MODELS", "").strip()
    return Scorer.load(model_id=os.environ.get("LINKQ_MODEL", "").strip() or None,
                       models_dir=Path(models) if models else None)


def error_result(message: str) -> dict[str, object]:
    return {"score": None, "verdict": None, "risk": "", "reasons": [], "placement_zone": None,
            "status": f"error: {message}", "flags": []}


class ScoringQueue:
    """Runs ``Scorer.score`` on one thread (the scorer's caches are not thread-safe).

    Jobs that arrive while a call is running wait, and are then scored together in one call (up to
    ``max_records``), which amortises the per-call cost across concurrent requests without delaying a
    lone request. ``coalesce=False`` scores one job per call. If a call fails as a whole (the pipeline
    already turns a bad record into ``status: error``; this is for the unexpected), the batch is
    halved until the failing records are alone, so only they get ``status: error``.
    """

    def __init__(self, scorer: Any, coalesce: bool = True, max_records: int = MAX_RECORDS) -> None:
        self.scorer = scorer
        self.coalesce = coalesce
        self.max_records = max_records
        self.calls = 0  # Scorer.score calls made (for tests and benchmarks)
        # (records, their future, their profile or None: the request is its own profile)
        self._jobs: deque[tuple[list[Mapping[str, object]], concurrent.futures.Future, Any]] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="linkq-scoring", daemon=True)
        self._thread.start()

    def submit(self, records: Sequence[Mapping[str, object]], profile: Any = None) -> concurrent.futures.Future:
        """Queue ``records`` for scoring; ``profile``: the patterns of the export they come from
        (``features.profile``; None: these records are the profile)."""
        fut: concurrent.futures.Future = concurrent.futures.Future()
        if not records:
            fut.set_result([])
            return fut
        with self._cond:
            if self._closed:
                raise RuntimeError("the scoring queue is closed")
            self._jobs.append((list(records), fut, profile))
            self._cond.notify()
        return fut

    def score(self, records: Sequence[Mapping[str, object]], profile: Any = None) -> list[dict[str, object]]:
        """Blocking: results for ``records`` in order (for threads other than the event loop)."""
        return self.submit(records, profile).result()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _take(self) -> list[tuple[list[Mapping[str, object]], concurrent.futures.Future, Any]] | None:
        with self._cond:
            while not self._jobs and not self._closed:
                self._cond.wait()
            if not self._jobs:
                return None
            batch = [self._jobs.popleft()]
            n = len(batch[0][0])
            while self.coalesce and self._jobs and n + len(self._jobs[0][0]) <= self.max_records:
                n += len(self._jobs[0][0])
                batch.append(self._jobs.popleft())
            return batch

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            live = [job for job in batch if job[1].set_running_or_notify_cancel()]
            try:
                # each request is its own profile (features.profile), also when merged into one call
                profiles = [p for recs, _, prof in live
                            for p in [prof if prof is not None else request_profile(recs)] * len(recs)]
                results = self._score([r for recs, _, _ in live for r in recs], profiles)
            except BaseException as exc:  # noqa: BLE001 - never let the scoring thread die
                for _, fut, _ in live:
                    fut.set_exception(exc)
                continue
            start = 0
            for recs, fut, _ in live:
                fut.set_result(results[start: start + len(recs)])
                start += len(recs)

    def _score(self, records: list[Mapping[str, object]], profiles: list[Any]) -> list[dict[str, object]]:
        self.calls += 1
        try:
            return self.scorer.score(records, profile=profiles)
        except Exception as exc:  # noqa: BLE001 - isolate the failing record(s) by halving the batch
            if len(records) == 1:
                logger.warning("linkq: a record failed to score: %s", type(exc).__name__)
                return [error_result(f"{type(exc).__name__}: {exc}"[:300])]
            half = len(records) // 2
            return self._score(records[:half], profiles[:half]) + self._score(records[half:], profiles[half:])


def request_profile(records: Sequence[Mapping[str, object]]) -> Any:
    """The patterns of one request's records (features.profile); a record that is not a mapping
    counts for nothing (it comes back as an error row)."""
    from features.profile import profile_of

    return profile_of(r for r in records if isinstance(r, Mapping))


def passthrough(record: Mapping[str, object]) -> dict[str, object]:
    return {k: v for k, v in record.items() if k not in HIDDEN_FIELDS}


# ------------------------------------------------------------------------------------------------
# the service


@bentoml.service(
    name="linkq",
    workers=_env_int("LINKQ_WORKERS", 1),
    traffic={"timeout": 300, "max_concurrency": 64},
)
class LinkQ:
    """linkq: explainable backlink quality scores (strong / review / weak) with reasons and page evidence.

    POST /score scores up to 1,000 link records (JSON); POST /score_export scores an SEO tool's
    backlink export (multipart upload) into a CSV; GET /model describes the model. Send
    `Authorization: Bearer <key>` when the server has LINKQ_API_KEY set.
    """

    def __init__(self) -> None:
        self.scorer: Scorer | None = None
        self.queue: ScoringQueue | None = None
        self.load_error: str | None = None
        self._closed = False
        quiet_client_errors()  # a 4xx is logged in one line, not with a traceback
        hide_sklearn_from_lightgbm()  # a server process of ours: LightGBM without scikit-learn (serving.tuning)
        threading.Thread(target=self._load, name="linkq-load", daemon=True).start()

    def _load(self) -> None:
        try:
            scorer = load_scorer()
        except Exception as exc:  # noqa: BLE001 - reported by /livez, /readyz and every API call
            self.load_error = f"{type(exc).__name__}: {exc}"
            logger.error("linkq: the model failed to load: %s", self.load_error)
            return
        if self._closed:  # shut down while loading
            return
        self.queue = ScoringQueue(scorer, coalesce=os.environ.get("LINKQ_BATCHING", "1") != "0")
        self.scorer = scorer
        logger.info("linkq: model %s loaded", scorer.model.model_id)

    async def __is_ready__(self) -> bool:
        return self.scorer is not None

    async def __is_alive__(self) -> bool:
        return self.load_error is None

    @bentoml.on_shutdown
    def _close(self) -> None:
        self._closed = True
        if self.queue is not None:
            self.queue.close()

    def unavailable(self) -> JSONResponse | None:
        """A 503 answer while the model is loading (or failed to load), else None."""
        if self.scorer is not None:
            return None
        if self.load_error is not None:
            return error_response(503, f"the model failed to load: {self.load_error}")
        return error_response(503, "the model is loading; retry shortly", headers={"Retry-After": "2"})

    @property
    def model_id(self) -> str:
        assert self.scorer is not None
        return self.scorer.model.model_id

    @bentoml.api(input_spec=ScoreRequest)
    async def score(self, records: list[LinkRecord]) -> ScoreResponse:
        """Score link records; results come back in request order, with your extra fields passed through."""
        if (busy := self.unavailable()) is not None:
            return busy  # type: ignore[return-value]
        assert self.queue is not None
        raws = [r.model_dump(exclude_unset=True) for r in records]
        results = await asyncio.wrap_future(self.queue.submit(raws))
        mid = self.model_id
        return ScoreResponse(
            model_id=mid,
            results=[LinkResult.model_validate({**passthrough(raw), **res, "model_id": mid})
                     for raw, res in zip(raws, results, strict=True)],
        )

    @bentoml.api(input_spec=ExportUpload)
    async def score_export(
        self, file: Path, ctx: bentoml.Context, format: ExportFormat = "auto"
    ) -> Annotated[Path, ContentType("text/csv")]:
        """Score a backlink export file (multipart field `file`, at most 50 MB) into a CSV: its columns plus
        score, verdict, reasons, placement_zone, status and flags (rows that cannot be read or scored get
        status 'error: ...')."""
        if file is None:
            return _fail(ctx, error_response(400, ctx.request.state.linkq_upload_problem))
        if (busy := self.unavailable()) is not None:
            return _fail(ctx, busy)
        if file.stat().st_size > MAX_EXPORT_BYTES:
            return _fail(ctx, error_response(413, f"the export is over the {MAX_EXPORT_BYTES // 2**20} MB limit"))
        out = Path(ctx.temp_dir) / "linkq-scored.csv"
        try:
            summary = await asyncio.to_thread(self._score_export, file, format, out)
        except ExportFormatError as exc:  # not a backlink export that linkq can read
            return _fail(ctx, error_response(422, str(exc).replace(str(file), "the uploaded file")))
        except TooManyRows as exc:
            return _fail(ctx, error_response(413, str(exc)))
        ctx.response.headers.update({f"X-LinkQ-{k}": str(v) for k, v in summary.items()})
        return out

    def _score_export(self, path: Path, format: str, out: Path) -> dict[str, object]:
        """The upload scored by ``linkq score``'s engine (``serving.batch.score_files``, chunk by chunk,
        the CSV written as it goes, so memory does not grow with the rows), with this worker's model
        through the scoring queue (``EXPORT_CHUNK`` records per call, so /score requests interleave)."""
        from serving.batch import BatchOptions, score_files

        assert self.queue is not None and self.scorer is not None
        queue, cap = self.queue, export_row_cap()

        def score(records: list[dict[str, object]], profile: Any = None) -> list[dict]:
            return [res for i in range(0, len(records), EXPORT_CHUNK)
                    for res in queue.score(records[i: i + EXPORT_CHUNK], profile)]

        def progress(rows_done: int, rate: float) -> None:
            if rows_done > cap:
                raise TooManyRows(f"the export has more than {cap:,} rows (LINKQ_EXPORT_MAX_ROWS); "
                                  "score it with `linkq score` instead")

        folder = self.scorer.model.path
        options = BatchOptions(format=format, models_dir=folder.parent, model_id=folder.name, workers=1)
        summary = score_files([path], out, options, progress, score=score)
        return {"Model": self.model_id, "Format": summary.inputs[0].format, "Rows": summary.rows_out,
                "Errors": summary.statuses.get("error", 0)}

    def describe(self) -> dict[str, object]:
        assert self.scorer is not None
        return self.scorer.describe()


def _fail(ctx: bentoml.Context, response: JSONResponse) -> Any:
    """An error answer from an API that takes ``ctx`` (BentoML then applies ctx's status code)."""
    ctx.response.status_code = response.status_code
    return response


def error_response(status: int, error: str, detail: object = None, headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, object] = {"error": error}
    if detail is not None:
        body["detail"] = detail
    return JSONResponse(body, status_code=status, headers=headers)


# ------------------------------------------------------------------------------------------------
# GET /model (BentoML APIs are POST-only, so it is a small mounted Starlette route), and linkq's own
# page at / in place of BentoML's, which loads a third-party tag manager


async def _model_info(request: Request) -> Response:
    svc: LinkQ = bentoml.get_current_service()
    if (busy := svc.unavailable()) is not None:
        return busy
    return JSONResponse(svc.describe())


LinkQ.mount_asgi_app(Starlette(routes=[Route("/model", _model_info, methods=["GET"]),
                                       Route("/", index_page, methods=["GET"])]), path="/", name="model")


# ------------------------------------------------------------------------------------------------
# API key and body limits, in front of every route


class Gatekeeper:
    """ASGI middleware: optional bearer API key (``$LINKQ_API_KEY``) and request body size limits.

    Bodies are limited by their Content-Length (refused before they are read) and, for chunked
    uploads, by counting the bytes as they arrive.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        key = os.environ.get("LINKQ_API_KEY", "")
        self._key = key.encode("utf-8") if key else None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path: str = scope["path"]
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        if self._key is not None and not self._open(path) and not self._authorized(headers):
            return await _reply(send, error_response(
                401, "missing or wrong API key: send 'Authorization: Bearer <key>'",
                headers={"WWW-Authenticate": 'Bearer realm="linkq"'}))
        limit = EXPORT_BODY_BYTES if path == "/score_export" else MAX_BODY_BYTES
        too_big = error_response(413, f"request body is over the {limit // 2**20} MB limit")
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            return await _reply(send, too_big)
        if path == "/score_export" and scope["method"] == "POST":
            ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            if ctype != b"multipart/form-data":
                return await _reply(send, error_response(
                    415, "send the export as multipart/form-data with the file in the field 'file'"))
        state = {"received": 0, "refused": False}

        async def counted_receive() -> dict:
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit and not state["refused"]:
                    state["refused"] = True
                    await _reply(send, too_big)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: dict) -> None:
            if not state["refused"]:
                await send(message)

        await self.app(scope, counted_receive, guarded_send)

    @staticmethod
    def _open(path: str) -> bool:
        return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)

    def _authorized(self, headers: dict[bytes, bytes]) -> bool:
        scheme, _, token = headers.get(b"authorization", b"").partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), self._key or b"")


async def _reply(send: Any, response: Response) -> None:
    await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> dict:
    return {"type": "http.disconnect"}


LinkQ.add_asgi_middleware(Gatekeeper)
