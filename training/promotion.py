"""One promotion rule for ``linkq models promote`` and ``linkq train --set-current``.

A model becomes the default (``models/CURRENT``) only when:

1. it was retrained on a user's labels and its evaluation (``metadata.retrain.evaluation``, see
   ``training.retrain``) says "better" against the model that is current *now*: the gain's bootstrap
   interval on the held-out labels is above 0 ("no change", "worse" and "too few labels" are refused; an
   evaluation against another model than the current one is refused: retrain to compare again);
2. and its link model holds the built-in quality floors (``data/quality_floors.json``, the held-out
   corpora metrics a model carries in ``metadata.metrics.test``) when that file exists;
3. and, where ``../shared`` exists (developers and CI, never users) and ``data/panel_floors.json`` is
   pinned, the real-export panel of ``make eval`` scored with the model holds those floors.

"Better" is the ranking's gain (ROC-AUC, strong vs weak/risky), not the probability's: the held-out
log-loss and Brier gains are recorded in the same evaluation, but on the real-export panel no
retrained model's log-loss or Brier gain had an interval above 0 (leave one site out, linkq train's own
cross-validation, 60 few-label draws, and twelve other retraining designs of
``training.retrain_designs``; ``data/retrain_eval.json``), so adding them would promote nothing more
there and was not done (``data/DATASHEET.md``, "Retraining on your labels").

A model without a user-label evaluation (trained on the corpora) is held to the floors alone. ``force``
promotes anyway and is recorded in the model's metadata (``promotions``: when, forced, what it overrode).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from features.artifact import CURRENT_FILE, load_model, resolve_model_dir, set_current
from features.errors import LinkqError

from .floors import check_metrics
from .retrain import record_promotion

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FLOORS = ROOT / "data" / "quality_floors.json"
PANEL_FLOORS = ROOT / "data" / "panel_floors.json"
DEFAULT_SHARED = ROOT.parent / "shared"  # ../shared: present for developers and CI only


class PromotionRefused(LinkqError, RuntimeError):
    """The model does not pass the promotion rule (the message lists why; ``--force`` overrides)."""


@dataclass
class PromotionCheck:
    model_id: str
    current: str | None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check(models_dir: Path, model_id: str, floors: Path | None = DEFAULT_FLOORS, panel: bool = True) -> PromotionCheck:
    """Whether ``model_id`` may replace the current model (see the module's rule); ``panel=False`` leaves
    out the real-export panel (it scores four exports: run only when the rest passes or is forced)."""
    folder = resolve_model_dir(models_dir, model_id)
    meta = load_model(folder).metadata
    cur_file = models_dir / CURRENT_FILE
    current = cur_file.read_text().strip() if cur_file.is_file() else None
    out = PromotionCheck(model_id=folder.name, current=current)
    ev = meta.get("retrain", {}).get("evaluation")
    if ev is not None and current is not None and current != folder.name:
        if ev.get("compared_to") != current:
            out.problems.append(f"it was evaluated against {ev.get('compared_to')}, but the current model is "
                                f"{current}: retrain (`linkq train --labels ...`) to compare it with the current one")
        elif ev.get("verdict") != "better":
            gain = ev.get("roc_auc_gain")
            ci = ev.get("gain_ci95")
            detail = f" (ROC-AUC gain {gain}, 95% interval {ci})" if gain is not None else ""
            out.problems.append(f"on your held-out labels: {ev.get('verdict')}{detail}; only a model better than "
                                f"{current} (interval of the gain above 0) is promoted")
    if floors is not None and Path(floors).is_file():
        out.problems += [f"quality floor: {p}" for p in check_metrics(Path(floors), meta.get("metrics", {}).get("test", {}))]
    if panel:
        out.problems += panel_problems(models_dir, folder.name)
    return out


def panel_problems(models_dir: Path, model_id: str, shared: Path | None = None) -> list[str]:
    """The real-export panel floors the model misses (``make eval``'s evaluation, scored with this
    model); nothing to check without ``../shared`` or without pinned panel floors."""
    import json
    import sys

    shared = DEFAULT_SHARED if shared is None else shared
    if not (shared / "real-exports" / "panel-labels.tsv").is_file() or not PANEL_FLOORS.is_file():
        return []
    from .eval_panel import check_floors, evaluate, summarise

    linkq = str(Path(sys.executable).parent / "linkq")
    rows = evaluate(shared / "real-exports", linkq, ["--model", model_id, "--models-dir", str(models_dir)])
    res = summarise(rows)
    return [f"real-export panel floor: {p}" for p in check_floors(res, json.loads(PANEL_FLOORS.read_text()))]


def promote(models_dir: Path, model_id: str, force: bool = False, floors: Path | None = DEFAULT_FLOORS,
            via: str = "models promote") -> PromotionCheck:
    """Apply the rule; make the model current (raise :class:`PromotionRefused` unless it passes or ``force``)."""
    res = check(models_dir, model_id, floors, panel=False)
    if res.ok or force:
        res.problems += panel_problems(models_dir, res.model_id)
    if not res.ok and not force:
        raise PromotionRefused(f"{res.model_id} is not promoted (use --force to promote anyway):\n  "
                               + "\n  ".join(res.problems))
    folder = resolve_model_dir(models_dir, res.model_id)
    record_promotion(folder, {"at": datetime.now(UTC).isoformat(timespec="seconds"), "via": via,
                              "replaced": res.current, "forced": bool(force and not res.ok),
                              "overrode": res.problems if force else []})
    set_current(models_dir, res.model_id)
    return res
