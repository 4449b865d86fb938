"""Start the linkq HTTP service, and put a model into the BentoML model store.

``serve()`` is what ``linkq serve`` calls: it checks the model first (so a missing or stale model is
a clear error, not a worker that never becomes ready), then runs ``bentoml serve
serving.service:LinkQ`` from the repository root in a subprocess and waits for it. The service reads
its settings from the environment, which ``serve()`` sets for it:

* ``LINKQ_MODEL`` / ``LINKQ_MODELS``: the model id (or folder) and where models live;
* ``LINKQ_WORKERS``: worker processes, each loading the models once;
* ``LINKQ_API_KEY``: when set (by you, in the environment), requests need ``Authorization: Bearer <key>``.

``import_model()`` copies a trained model folder into the BentoML model store as ``linkq:<model id>``
(for ``linkq models import``); serve it with ``LINKQ_BENTO_MODEL=linkq:<model id>`` (or
``linkq:latest``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SERVICE = "serving.service:LinkQ"
BENTO_MODEL_NAME = "linkq"

_QUIET_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "BENTOML_DO_NOT_TRACK": "True",
}


def service_env(
    model_id: str | None = None, models_dir: Path | None = None, workers: int = 1, base: dict | None = None
) -> dict[str, str]:
    """The environment for a ``bentoml serve`` of the linkq service."""
    env = dict(os.environ if base is None else base)
    for k, v in _QUIET_ENV.items():
        env.setdefault(k, v)
    if model_id is not None:
        env["LINKQ_MODEL"] = str(Path(model_id).resolve()) if Path(model_id).is_dir() else model_id
    if models_dir is not None:
        env["LINKQ_MODELS"] = str(Path(models_dir).resolve())
    env["LINKQ_WORKERS"] = str(workers)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return env


def serve_command(host: str = "127.0.0.1", port: int = 3000) -> list[str]:
    return [sys.executable, "-m", "bentoml", "serve", SERVICE, "--host", host, "--port", str(port),
            "--working-dir", str(REPO)]


def check_model(model_id: str | None = None, models_dir: Path | None = None) -> str:
    """Resolve and load the model's artifact (not the embedding model); its id, or a clear exception."""
    from features.artifact import default_models_dir, load_model, resolve_model_dir

    folder = resolve_model_dir(Path(models_dir) if models_dir else default_models_dir(), model_id)
    return load_model(folder).model_id


def serve(
    host: str = "127.0.0.1",
    port: int = 3000,
    workers: int = 1,
    model_id: str | None = None,
    models_dir: Path | None = None,
) -> None:
    """Serve the linkq API on ``host:port`` until interrupted (Ctrl-C).

    Raises FileNotFoundError (no such model) or ModelMismatch (a model for another feature schema)
    before starting anything, and RuntimeError when the server exits with an error.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if not os.environ.get("LINKQ_BENTO_MODEL"):
        check_model(model_id, models_dir)
    proc = subprocess.Popen(serve_command(host, port), env=service_env(model_id, models_dir, workers), cwd=REPO)
    stopping: list[int] = []

    def stop(signum: int, frame: object) -> None:  # SIGTERM (kill, a supervisor): the server stops its workers
        stopping.append(signum)
        proc.terminate()

    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, stop) if in_main else None
    try:
        code = proc.wait()
    except KeyboardInterrupt:  # the terminal sent SIGINT to the server too; let it shut down
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        return
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
    if code != 0 and not stopping:
        raise RuntimeError(f"bentoml serve exited with status {code}")


def import_model(model_id: str | None = None, models_dir: Path | None = None) -> str:
    """Copy a trained model (default: models/CURRENT) into the BentoML model store; its tag.

    The tag is ``linkq:<model id>`` (lower-cased; re-importing the same id replaces it). Serve it with
    ``LINKQ_BENTO_MODEL=<tag>``; ``bentoml models list`` shows it.
    """
    import bentoml
    from bentoml.exceptions import NotFound

    from features.artifact import default_models_dir, load_model, resolve_model_dir

    folder = resolve_model_dir(Path(models_dir) if models_dir else default_models_dir(), model_id)
    model = load_model(folder)  # refuses a model for another feature schema
    meta = json.loads((folder / "metadata.json").read_text())
    version = re.sub(r"[^a-z0-9._-]+", "-", model.model_id.lower()).strip("-._") or "unnamed"
    tag = f"{BENTO_MODEL_NAME}:{version}"
    with contextlib.suppress(NotFound):  # re-importing an id replaces it
        bentoml.models.delete(tag)
    labels = {"schema_version": str(meta.get("schema_version")), "embedding": model.embedding}
    summary = {k: meta.get(k) for k in ("model_id", "schema_hash", "created_at", "thresholds")}
    with bentoml.models.create(tag, labels=labels, metadata=summary) as stored:
        for name in ("model.txt", "metadata.json"):
            shutil.copy2(folder / name, stored.path_of(name))
    return tag
