"""HTML report: pictures embedded, user strings escaped, tables present."""

from pathlib import Path

import numpy as np
import pytest

from bizlm.evaluation import classification_metrics, render_report, write_report

LABELS = ["<b>&x", "shipping", "refund $5"]
HISTORY = [
    {"step": 10, "epoch": 0.5, "train_loss": 1.1, "learning_rate": 2e-5},
    {"step": 20, "epoch": 1.0, "train_loss": 0.8, "val_loss": 0.9, "val_macro_f1": 0.6},
    {"step": 30, "epoch": 1.5, "train_loss": 0.5},
    {"step": 40, "epoch": 2.0, "val_loss": 0.7, "val_macro_f1": 0.7, "val_accuracy": 0.75},
]


@pytest.fixture(scope="module")
def metrics() -> dict:
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.6, 0.1], [0.2, 0.2, 0.6]])
    return classification_metrics([0, 1, 2, 2], probs, LABELS)


def render(metrics: dict, history: list[dict]) -> str:
    return render_report(
        title="Run <1> & co",
        metrics=metrics,
        labels=LABELS,
        history=history,
        summary={"model": "distilbert<x>", "method": "lora", "trainable params": 1234567},
    )


def test_report_has_pictures_tables_and_escaping(metrics: dict) -> None:
    page = render(metrics, HISTORY)
    assert page.count("data:image/png;base64,") == 3
    assert "&lt;b&gt;&amp;x" in page
    assert "<b>&x" not in page
    assert "Run &lt;1&gt; &amp; co" in page
    assert "distilbert&lt;x&gt;" in page
    assert "1,234,567" in page
    assert 'class="per-class"' in page
    assert "<th>refund $5</th>" in page
    assert "0.7500" in page  # accuracy headline
    assert "http://" not in page and "https://" not in page  # self-contained


def test_empty_history_gives_note(metrics: dict) -> None:
    page = render(metrics, [])
    assert page.count("data:image/png;base64,") == 2
    assert "No training history" in page


def test_write_report(tmp_path: Path, metrics: dict) -> None:
    target = tmp_path / "out" / "report.html"
    write_report(target, title="t", metrics=metrics, labels=LABELS, history=HISTORY[:1], summary={})
    text = target.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert text.count("data:image/png;base64,") == 3
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]
