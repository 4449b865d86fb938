"""Quality gate: the score on real exports against the expert panel (needs ../shared; skips without).

The same evaluation as ``make eval`` (training.eval_panel): the real Ahrefs/Semrush exports scored as a
user runs ``linkq score``, held against the agreed labels of two expert auditors, with the pinned floors
of data/panel_floors.json.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from training.eval_panel import check_floors, evaluate, summarise

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "real-exports"


@pytest.mark.skipif(not (SHARED / "panel-labels.tsv").is_file(), reason="needs ../shared/real-exports")
def test_real_export_panel_holds_its_floors() -> None:
    linkq = shutil.which("linkq", path=str(Path(sys.executable).parent))
    assert linkq, "the linkq command is not installed beside this Python"
    rows = evaluate(SHARED, linkq)
    res = summarise(rows, n_boot=200)
    floors = json.loads((ROOT / "data" / "panel_floors.json").read_text())
    assert check_floors(res, floors) == [], json.dumps(res, indent=1)
    assert res["roc_auc"]["value"] >= res["roc_auc_tool_page_authority"]["value"]  # at least the tool's own ranking
