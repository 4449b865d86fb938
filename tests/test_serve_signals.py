"""``linkq serve`` stops its whole process tree (the BentoML server and its workers) on SIGTERM and
SIGINT, and the tree stops by itself when ``linkq serve`` is killed (SIGKILL). A real ``linkq serve``
on 127.0.0.1 is started, its descendants are listed once it is ready, the signal goes to the
``linkq serve`` process alone, and none of them may survive."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from serving.serve import REPO, descendants, service_env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_a_signal_to_linkq_serve_stops_the_server_and_its_workers(tmp_path: Path, signum: int) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    env = service_env(workers=1)
    env.pop("LINKQ_API_KEY", None)
    env.pop("LINKQ_BENTO_MODEL", None)
    cmd = [sys.executable, "-c", "from linkq_cli import main; main()", "serve", "--host", "127.0.0.1",
           "--port", str(port)]
    with log.open("wb") as out:
        # Its own session, so that nothing but the test's signal reaches the tree.
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    tree: list[int] = []
    try:
        deadline = time.monotonic() + 120
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=2) as c:
            while True:
                assert proc.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, "server not ready:\n" + log.read_text()[-3000:]
                with contextlib.suppress(httpx.TransportError):
                    if c.get("/readyz").status_code == 200:
                        break
                time.sleep(0.1)
        tree = descendants(proc.pid)
        assert len(tree) >= 2, f"expected the BentoML server and a worker under linkq serve, got {tree}"
        proc.send_signal(signum)
        code = proc.wait(timeout=60)
        assert code == (-signal.SIGKILL if signum == signal.SIGKILL else 0), log.read_text()[-3000:]
        deadline = time.monotonic() + 30  # the server stops its workers; init reaps the orphans
        while any(running(p) for p in tree) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in tree if running(p)], "processes survived linkq serve"
    finally:
        for pid in (proc.pid, *tree):  # only if the test failed: clean up by pid
            if running(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=10)
