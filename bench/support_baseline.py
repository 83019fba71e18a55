"""The support desk's intent decisions made by a TF-IDF + logistic-regression model instead of
the fine-tuned one: same splits, same calibration (temperature, then the out-of-scope
threshold for the project's target precision), same held-out scores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


class _NgramIntents:
    """An n-gram model as the intent predictor the calibration code expects."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return self.model.outputs(texts)


def baseline_intent_scores(project_root: Path) -> dict[str, Any]:
    """Held-out intent accuracy and out-of-scope precision/recall of the TF-IDF baseline,
    trained and calibrated on the splits ``bizlm app support train`` used."""
    from bizlm.apps.support.calibration import calibrate
    from bizlm.apps.support.project import OUT_OF_SCOPE, load_project
    from bizlm.apps.support.training import held_out_scores, split_examples, split_probabilities
    from bizlm.evaluation.baseline import fit_baseline_model
    from bizlm.examples import Examples

    project = load_project(project_root)
    splits = split_examples(project, int(project.recipe.get("train", {}).get("seed", 42)))
    labels = sorted(project.intents)

    def known(rows: list[tuple[str, str]]) -> Examples:
        inside = [(text, intent) for text, intent in rows if intent != OUT_OF_SCOPE]
        texts, intents = [t for t, _ in inside], [i for _, i in inside]
        return Examples(texts, intents, list(range(len(inside))))

    fitted = fit_baseline_model(
        "classify",
        False,
        {"train": known(splits.train), "validation": known(splits.validation)},
        labels,
    )
    if fitted is None:
        raise RuntimeError("the TF-IDF baseline could not be fitted on the demo's intents")
    record, model = fitted
    predictor = _NgramIntents(model)
    validation = split_probabilities(predictor, splits.validation, labels)
    calibration = calibrate(*validation, project.settings.target_precision)
    test = held_out_scores(calibration, *split_probabilities(predictor, splits.test, labels))
    return {
        "name": record["name"],
        "settings": record["settings"],
        "calibration": calibration.to_dict(),
        "test": test,
    }
