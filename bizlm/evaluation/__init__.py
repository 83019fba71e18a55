"""Evaluation: metrics for every task, calibration, the HTML report and the model card."""

from bizlm.evaluation.model_card import render_model_card
from bizlm.evaluation.report import render_report, write_report
from bizlm.metrics.classification import (
    classification_metrics,
    expected_calibration_error,
    reliability_bins,
)
from bizlm.metrics.tasks import (
    entity_metrics,
    multilabel_metrics,
    ranking_metrics,
    regression_metrics,
    tune_thresholds,
)

__all__ = [
    "classification_metrics",
    "entity_metrics",
    "expected_calibration_error",
    "multilabel_metrics",
    "ranking_metrics",
    "regression_metrics",
    "reliability_bins",
    "render_model_card",
    "render_report",
    "tune_thresholds",
    "write_report",
]
