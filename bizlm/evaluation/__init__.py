"""Evaluation: metrics, calibration, the HTML report and the model card."""

from bizlm.evaluation.metrics import (
    classification_metrics,
    expected_calibration_error,
    reliability_bins,
)
from bizlm.evaluation.model_card import render_model_card
from bizlm.evaluation.report import render_report, write_report

__all__ = [
    "classification_metrics",
    "expected_calibration_error",
    "reliability_bins",
    "render_model_card",
    "render_report",
    "write_report",
]
