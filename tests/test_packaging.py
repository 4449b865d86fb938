"""The three import packages resolve to this repo, and the dependency flow is one-way."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", ["features", "training", "serving", "linkq_cli"])
def test_package_resolves_inside_repo(name: str) -> None:
    mod = __import__(name)
    assert Path(mod.__file__).resolve().is_relative_to(REPO), mod.__file__


def _imported_after(stmt: str) -> set[str]:
    code = f"import sys; {stmt}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    return {m.split(".")[0] for m in out.stdout.split()}


def test_features_imports_neither_training_nor_serving() -> None:
    mods = _imported_after(
        "import features.pipeline, features.artifact, features.recordio, features.disavow, features.pages"
    )
    assert "training" not in mods and "serving" not in mods


def test_serving_never_imports_training() -> None:
    mods = _imported_after("import serving.scoring, serving.reasons")
    assert "training" not in mods


def test_import_does_no_work() -> None:
    mods = _imported_after("import features.pipeline")
    assert "sentence_transformers" not in mods  # the embedding model loads only when asked


def _commands(group, prefix=()):
    import click

    for name, cmd in group.commands.items():
        yield (*prefix, name), cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*prefix, name))


def test_every_command_has_help() -> None:
    from linkq_cli import cli

    runner = CliRunner()
    for path, cmd in _commands(cli):
        assert cmd.help and len(cmd.help) > 20, path
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output
