"""Markdown model card (``README.md``) for a trained bizlm bundle."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bizlm.evaluation.report import format_value

_FRONT_MATTER = """---
library_name: transformers
pipeline_tag: text-classification
tags:
- bizlm
- text-classification
---
"""

# (card row name, summary keys tried in order)
_DETAIL_ROWS = (
    ("Backbone", ("backbone", "model")),
    ("Method", ("method",)),
    ("Task", ("task",)),
    ("Trainable parameters", ("trainable_params", "trainable_parameters")),
    ("Total parameters", ("total_params", "total_parameters")),
    ("bizlm version", ("bizlm_version",)),
)
_ENGLISH = {"en", "eng", "english"}


def _md(value: Any) -> str:
    """Make a value safe inside a Markdown table cell or line."""
    text = format_value(value).replace("\\", "\\\\").replace("|", "\\|")
    return text.replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def _code(value: Any) -> str:
    """Make a value safe inside an inline code span."""
    return str(value).replace("`", "'").replace("\n", " ")


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(_md(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md(cell) for cell in row) + " |" for row in rows]
    return lines


def _first(summary: Mapping[str, Any], keys: Sequence[str]) -> Any:
    return next((summary[k] for k in keys if summary.get(k) is not None), None)


def _model_details(summary: Mapping[str, Any], labels: Sequence[str]) -> list[str]:
    rows = [
        (name, value) for name, keys in _DETAIL_ROWS if (value := _first(summary, keys)) is not None
    ]
    rows.append(("Labels", f"{len(labels)}: " + ", ".join(str(label) for label in labels)))
    return ["## Model details", "", *_table(("Field", "Value"), rows)]


def _languages(data: Mapping[str, Any]) -> list[str]:
    language = data.get("language") or data.get("languages") or []
    return [language] if isinstance(language, str) else [str(x) for x in language]


def _label_distribution(distribution: Mapping[str, Any], labels: Sequence[str]) -> list[str]:
    """Table of examples per label; ``distribution`` is label->count or split->label->count."""
    if all(isinstance(v, Mapping) for v in distribution.values()):
        splits = list(distribution)
        rows = [[label, *(distribution[s].get(label, 0) for s in splits)] for label in labels]
        return _table(("Label", *splits), rows)
    return _table(("Label", "Examples"), [(label, distribution.get(label, 0)) for label in labels])


def _training_data(data: Mapping[str, Any], labels: Sequence[str]) -> list[str]:
    lines = ["## Training data", ""]
    if data.get("catalog"):
        lines.append(f"- Source: bizlm catalog dataset `{_code(data['catalog'])}`")
    elif data.get("source"):
        lines.append(f"- Source: {_md(data['source'])}")
    files = data.get("files")
    if isinstance(files, Mapping):
        lines += [f"- {_md(split)} file: `{_code(path)}`" for split, path in files.items()]
    elif files:
        lines += [f"- File: `{_code(path)}`" for path in files]
    if languages := _languages(data):
        lines.append("- Language: " + ", ".join(_md(x) for x in languages))
    licence = data.get("licence") or data.get("license")
    if licence:
        lines.append(f"- Licence: {_md(licence)}")
    skipped = data.get("rows_skipped")
    if isinstance(skipped, Mapping):
        skipped = ", ".join(f"{_md(k)}: {_md(v)}" for k, v in skipped.items())
    if skipped:
        lines.append(f"- Rows skipped while loading (empty or malformed): {_md(skipped)}")
    if counts := data.get("counts"):
        lines += ["", "Examples per split:", "", *_table(("Split", "Examples"), counts.items())]
    if distribution := data.get("label_distribution"):
        lines += ["", "Label distribution:", "", *_label_distribution(distribution, labels)]
    return lines


def _evaluation(metrics: Mapping[str, Any] | None, labels: Sequence[str]) -> list[str]:
    lines = ["## Evaluation", ""]
    if not metrics:
        return [*lines, "Not evaluated: no held-out test data was scored for this model."]
    names = (
        ("Examples", "n"),
        ("Accuracy", "accuracy"),
        ("Macro-F1", "macro_f1"),
        ("Weighted F1", "weighted_f1"),
        ("ECE (expected calibration error)", "ece"),
        ("Log loss", "log_loss"),
    )
    rows = [(name, metrics[key]) for name, key in names if metrics.get(key) is not None]
    lines += _table(("Metric", "Value"), rows)
    per_class = metrics.get("per_class") or {}
    if per_class:
        keys = ("precision", "recall", "f1", "support")
        rows = [(label, *(per_class.get(str(label), {}).get(k) for k in keys)) for label in labels]
        lines += ["", *_table(("Label", "Precision", "Recall", "F1", "Support"), rows)]
    return lines


def _intended_use(intended_use: str | None, labels: Sequence[str]) -> list[str]:
    text = intended_use or (
        "This model classifies short texts into one of these labels: "
        + ", ".join(f"`{_code(label)}`" for label in labels)
        + ". It is meant as a starting point: re-evaluate it on a sample of your own data "
        "before relying on its predictions."
    )
    return ["## Intended use", "", text]


def _limitations(
    data: Mapping[str, Any], labels: Sequence[str], metrics: Mapping[str, Any] | None
) -> list[str]:
    lines = [
        "## Limitations",
        "",
        (
            "- It was trained only on the data listed above; texts that differ in topic, style "
            "or time period may be classified less accurately."
        ),
        (
            "- Labels outside the list above are never predicted: a text that fits none of them "
            f"still gets one of the {len(labels)} labels."
        ),
    ]
    ece = (metrics or {}).get("ece")
    if ece is not None:
        lines.append(
            f"- Calibration: the expected calibration error on the test data is {ece:.4f}; "
            "treat the reported probabilities as rough confidence, not exact odds."
        )
    else:
        lines.append("- Calibration was not measured: treat the probabilities as rough scores.")
    languages = _languages(data)
    if languages and {x.lower() for x in languages} <= _ENGLISH:
        lines.append(
            "- Language: trained on English data only; expect poor results on other languages."
        )
    elif not languages:
        lines.append("- Language: the training data's language was not recorded.")
    return lines


def _how_to_use() -> list[str]:
    return [
        "## How to use",
        "",
        "`MODEL_DIR` is the folder that holds this card.",
        "",
        "```bash",
        'bizlm predict MODEL_DIR "Where is my refund?"',
        "```",
        "",
        "```python",
        "import bizlm",
        "",
        'classifier = bizlm.load("MODEL_DIR")',
        'print(classifier.predict(["Where is my refund?"]))',
        "```",
        "",
        "Without bizlm, with plain transformers:",
        "",
        "```python",
        "from transformers import AutoModelForSequenceClassification",
        "",
        'model = AutoModelForSequenceClassification.from_pretrained("MODEL_DIR/model")',
        "```",
    ]


def render_model_card(
    *,
    name: str,
    summary: dict[str, Any],
    labels: Sequence[str],
    metrics: dict[str, Any] | None,
    data: dict[str, Any],
    intended_use: str | None = None,
) -> str:
    """Render a Markdown model card with Hugging Face front matter.

    ``summary`` may hold ``backbone`` (or ``model``), ``method``, ``task``,
    ``trainable_params``, ``total_params`` and ``bizlm_version``. ``data`` may hold
    ``catalog`` or ``source``, ``files`` (list, or split->path), ``counts`` (split->rows),
    ``label_distribution`` (label->count, or split->label->count), ``licence``,
    ``rows_skipped`` (int, or split->int) and ``language`` (code or list of codes).
    ``metrics`` is the output of :func:`bizlm.evaluation.classification_metrics`, or
    ``None`` when the model was not evaluated.
    """
    sections = [
        [_FRONT_MATTER + f"# {_md(name)}", "", "A text classifier fine-tuned with bizlm."],
        _model_details(summary, labels),
        _training_data(data, labels),
        _evaluation(metrics, labels),
        _intended_use(intended_use, labels),
        _limitations(data, labels, metrics),
        _how_to_use(),
    ]
    return "\n\n".join("\n".join(section) for section in sections) + "\n"
