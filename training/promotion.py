"""One promotion rule for ``linkq models promote`` and ``linkq train --set-current``.

A model becomes the default (``models/CURRENT``) only when:

1. it was retrained on a user's labels and its evaluation (``metadata.retrain.evaluation``, see
   ``training.retrain``) says "better" against the model that is current *now*: the gain's bootstrap
   interval on the held-out labels is above 0 ("no change", "worse" and "too few labels" are refused; an
   evaluation against another model than the current one is refused: retrain to compare again);
2. and its link model holds the built-in quality floors (``data/quality_floors.json``, the held-out
   corpora metrics a model carries in ``metadata.metrics.test``) when that file exists.

A model without a user-label evaluation (trained on the corpora) is held to the floors alone. ``force``
promotes anyway and is recorded in the model's metadata (``promotions``: when, forced, what it overrode).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from features.artifact import CURRENT_FILE, load_model, resolve_model_dir, set_current

from .floors import check_metrics
from .retrain import record_promotion

DEFAULT_FLOORS = Path(__file__).resolve().parent.parent / "data" / "quality_floors.json"


class PromotionRefused(RuntimeError):
    """The model does not pass the promotion rule (the message lists why; ``--force`` overrides)."""


@dataclass
class PromotionCheck:
    model_id: str
    current: str | None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check(models_dir: Path, model_id: str, floors: Path | None = DEFAULT_FLOORS) -> PromotionCheck:
    """Whether ``model_id`` may replace the current model (see the module's rule)."""
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
    return out


def promote(models_dir: Path, model_id: str, force: bool = False, floors: Path | None = DEFAULT_FLOORS,
            via: str = "models promote") -> PromotionCheck:
    """Apply the rule; make the model current (raise :class:`PromotionRefused` unless it passes or ``force``)."""
    res = check(models_dir, model_id, floors)
    if not res.ok and not force:
        raise PromotionRefused(f"{res.model_id} is not promoted (use --force to promote anyway):\n  "
                               + "\n  ".join(res.problems))
    folder = resolve_model_dir(models_dir, res.model_id)
    record_promotion(folder, {"at": datetime.now(UTC).isoformat(timespec="seconds"), "via": via,
                              "replaced": res.current, "forced": bool(force and not res.ok),
                              "overrode": res.problems if force else []})
    set_current(models_dir, res.model_id)
    return res
