"""The README's command blocks run as written.

Every fenced block is either a shell block (```` ```sh ````), run here from a copy of the
repository's layout (``data/``, ``tests/``, ``models/`` linked, ``.venv/bin/linkq`` this checkout's
command), or marked as not runnable here: ``sh needs-internet``, ``sh needs-shared`` (the training
data in ``../shared``), ``sh installs`` (creates the venv), or not shell at all (``yaml``,
``python``, ``text``). The HTTP block's server listens on a free loopback port (``$PORT``).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```\s*$", re.M | re.S)
NOT_RUN_HERE = {"sh needs-internet", "sh needs-shared", "sh installs", "yaml", "python", "text"}


def blocks() -> list[tuple[str, str]]:
    return [(m.group(1).strip(), m.group(2)) for m in FENCE.finditer(README.read_text(encoding="utf-8"))]


def shell_blocks() -> list[str]:
    return [body for info, body in blocks() if info == "sh"]


def test_every_block_is_runnable_or_says_why_not() -> None:
    infos = [info for info, _ in blocks()]
    assert infos and all(info == "sh" or info in NOT_RUN_HERE for info in infos), infos
    assert len(shell_blocks()) >= 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """The repository's files as a fresh clone has them, with ``.venv/bin/linkq`` this checkout's."""
    for name in ("data", "tests", "models", "serving", "features", "training"):
        (tmp_path / name).symlink_to(REPO / name)
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    launcher = bin_dir / "linkq"
    launcher.write_text(f'#!/bin/sh\nPYTHONPATH="{REPO}" exec "{sys.executable}" -c '
                        '"import sys; sys.argv[0] = \'linkq\'; from linkq_cli import main; main()" "$@"\n',
                        encoding="utf-8")
    launcher.chmod(0o755)
    return tmp_path


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(shell_blocks())))
def test_shell_block_runs_as_written(index: int, clone: Path) -> None:
    script = shell_blocks()[index]
    env = {**os.environ, "PORT": str(_free_port()), "PYTHONPATH": str(REPO), "BENTOML_DO_NOT_TRACK": "True",
           "HF_HUB_OFFLINE": "1"}
    env.pop("LINKQ_API_KEY", None)
    proc = subprocess.Popen(["bash", "-euo", "pipefail", "-c", script], cwd=clone, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the block's own process group, nothing else
        stdout, stderr = proc.communicate()
        pytest.fail(f"block {index} did not finish in 600 s:\n{script}\n{stderr[-3000:]}")
    proc.stdout, proc.stderr = stdout, stderr  # type: ignore[assignment]
    assert proc.returncode == 0, f"block {index} failed:\n{script}\n--- stdout\n{proc.stdout[-3000:]}\n" \
                                 f"--- stderr\n{proc.stderr[-3000:]}"
    outputs = set(re.findall(r"(?:--out|-o) (\S+)", script))
    assert outputs and all((clone / o).is_file() and (clone / o).stat().st_size > 0 for o in outputs), outputs
