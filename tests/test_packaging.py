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


def test_the_export_reader_stays_light() -> None:
    """The process that reads exports and writes the table (batch scoring with a pool) imports
    neither pandas nor LightGBM nor the page parser: each would cost it ~70-100 MB."""
    code = (
        "import sys\n"
        "import serving.batch as b\n"
        "from features.artifact import default_models_dir, resolve_model_dir\n"
        "from serving.exports import read_export\n"
        "from pathlib import Path\n"
        "resolve_model_dir(default_models_dir()); b.result_fields()\n"
        "info, chunks = read_export(Path(sys.argv[1]))\n"
        "assert sum(len(c) for c in chunks) > 0\n"
        "heavy = [m for m in ('pandas', 'lightgbm', 'sklearn', 'trafilatura', 'lxml', 'torch') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    fixture = Path(__file__).parent / "fixtures" / "exports" / "ahrefs_utf16.tsv"
    out = subprocess.run([sys.executable, "-c", code, str(fixture)], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip() == ""


def test_scoring_commands_load_lightgbm_without_sklearn(tmp_path: Path) -> None:
    """`linkq score` in one process: LightGBM is loaded without scikit-learn (~0.7 s and ~65 MB of
    start-up), the scores are written, and scikit-learn can still be imported afterwards."""
    fixture = Path(__file__).parent / "fixtures" / "exports" / "ahrefs_utf16.tsv"
    out_csv = tmp_path / "scored.csv"
    code = (
        "import sys\n"
        "from linkq_cli import cli\n"
        "cli.main(['score', sys.argv[1], '--out', sys.argv[2]], standalone_mode=False)\n"
        "loaded = 'lightgbm' in sys.modules, 'sklearn' in sys.modules\n"
        "import sklearn.metrics\n"  # the training metrics still can
        "print(*loaded)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(fixture), str(out_csv)], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.split()[-2:] == ["True", "False"]
    assert out_csv.read_text(encoding="utf-8").count("\n") > 3


def test_sklearn_is_hidden_from_lightgbm_only() -> None:
    """The finder refuses scikit-learn to LightGBM's own import, nothing else."""
    code = (
        "import sys\n"
        "from serving.tuning import hide_sklearn_from_lightgbm\n"
        "hide_sklearn_from_lightgbm(); hide_sklearn_from_lightgbm()\n"
        "import lightgbm, numpy as np\n"
        "assert 'sklearn' not in sys.modules\n"
        "X = np.arange(200, dtype=float).reshape(100, 2); y = (X[:, 0] > 100).astype(float)\n"
        "b = lightgbm.train({'verbose': -1, 'min_data_in_leaf': 5}, lightgbm.Dataset(X, y), 3)\n"
        "assert b.predict(X).shape == (100,)\n"
        "import sklearn\n"
        "print(sum(type(f).__name__ == '_SklearnHiddenFromLightGBM' for f in sys.meta_path), 'sklearn' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.split() == ["1", "True"]
