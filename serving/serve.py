"""Start the linkq HTTP service, and put a model into the BentoML model store.

``serve()`` is what ``linkq serve`` calls: it checks the model first (so a missing or stale model is
a clear error, not a worker that never becomes ready), then runs ``bentoml serve
serving.service:LinkQ`` from the repository root in a subprocess and waits for it. SIGTERM or SIGINT
(Ctrl-C) to ``linkq serve`` stops the whole tree: the signal is passed on to the BentoML server,
which stops its workers; whatever is still alive ``STOP_GRACE`` seconds later is killed. If
``linkq serve`` itself is killed (SIGKILL), Linux sends the server SIGTERM (parent-death signal).
The service reads its settings from the environment, which ``serve()`` sets for it:

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
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

REPO = Path(__file__).resolve().parent.parent
SERVICE = "serving.service:LinkQ"
BENTO_MODEL_NAME = "linkq"
STOP_GRACE = 20.0  # s the server gets to stop its workers after SIGTERM/SIGINT before the tree is killed

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
    # Its own session: a terminal's Ctrl-C reaches the server once, through us, not twice.
    proc = subprocess.Popen(serve_command(host, port), env=service_env(model_id, models_dir, workers), cwd=REPO,
                            start_new_session=True, preexec_fn=_parent_death_signal())
    stopping: list[int] = []
    tree: dict[int, str] = {}

    def on_signal(signum: int, frame: FrameType | None) -> None:
        tree.update(_identified(descendants(proc.pid)))  # before they are orphaned and lose their parent link
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signum if not stopping else signal.SIGKILL)  # a second signal: no more waiting
        stopping.append(signum)

    # signal handlers can only be set from the main thread (a test or a host app may serve from another)
    in_main = threading.current_thread() is threading.main_thread()
    previous = ({sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
                if in_main else {})
    try:
        code = proc.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if stopping or proc.poll() is None:
            stop_tree(proc, tree)
    if stopping:
        return
    if code != 0:
        raise RuntimeError(f"bentoml serve exited with status {code}")


def _parent_death_signal() -> Callable[[], None] | None:
    """A function for the child before exec that makes it get SIGTERM when ``linkq serve`` dies, even
    by SIGKILL (Linux ``PR_SET_PDEATHSIG``); None elsewhere. libc is loaded here, in the parent, so
    the child between fork and exec only makes one system call."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def descendants(root: int) -> list[int]:
    """Pids of the processes under ``root`` (by parent pid in /proc; empty where there is no /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(stat.parent.name))
    out, todo = [], list(children.get(root, []))
    while todo:
        out.append(pid := todo.pop())
        todo.extend(children.get(pid, []))
    return out


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state first), or None if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _identified(pids: list[int]) -> dict[int, str]:
    """pid -> start time (clock ticks since boot): tells a process from a later one given its pid."""
    out = {}
    for pid in pids:
        if (fields := _stat(pid)) is not None:
            out[pid] = fields[19]
    return out


def _alive(pid: int, started: str) -> bool:
    """True while the process ``pid`` that started at ``started`` runs (a zombie counts as gone)."""
    fields = _stat(pid)
    return fields is not None and fields[19] == started and fields[0] not in ("Z", "X")


def stop_tree(proc: subprocess.Popen, tree: dict[int, str], grace: float = STOP_GRACE) -> None:
    """Wait up to ``grace`` seconds for ``proc`` and the processes in ``tree`` (pid -> start time,
    plus ``proc``'s current descendants) to exit after a stop signal, then SIGKILL what is left."""
    tree = {**tree, **_identified(descendants(proc.pid))}
    deadline = time.monotonic() + grace
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        tree.update(_identified(descendants(proc.pid)))
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait()
    while any(_alive(p, t) for p, t in tree.items()) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid, started in tree.items():
        if _alive(pid, started):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


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
