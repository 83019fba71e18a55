"""Markdown model card (``README.md``) for a trained bizlm bundle of any task."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from bizlm.evaluation.baseline_view import baseline_markdown
from bizlm.evaluation.metric_tables import (
    entity_types,
    metric_name,
    metric_value,
    per_item_tables,
    scalar_metrics,
    threshold_rows,
)
from bizlm.evaluation.metric_tables import markdown_table as _table
from bizlm.evaluation.metric_tables import markdown_text as _md
from bizlm.evaluation.samples_view import samples_markdown


class _Kind(NamedTuple):
    """How the card speaks about one kind of model."""

    pipeline: str  # Hugging Face pipeline tag
    noun: str  # what the model is, after "A"
    purpose: str  # what it does, for the intended-use paragraph
    limit: str  # what it cannot do, for the limitations list
    auto_class: str  # transformers class that loads the model
    example: str  # example input


_KINDS = {
    "classify": _Kind(
        "text-classification",
        "text classifier",
        "classifies short texts into one of these labels: {labels}",
        "Labels outside the list above are never predicted: a text that fits none of them "
        "still gets one of the {count} labels.",
        "AutoModelForSequenceClassification",
        "Where is my refund?",
    ),
    "multi-label": _Kind(
        "text-classification",
        "multi-label text classifier",
        "gives each short text any number of these labels: {labels}",
        "Labels outside the list above are never predicted; a text gets each label whose "
        "probability reaches that label's decision threshold, so it may get none.",
        "AutoModelForSequenceClassification",
        "Refund the damaged parcel, urgently",
    ),
    "tag": _Kind(
        "token-classification",
        "token classifier (entity tagger)",
        "marks spans of these entity types in text: {labels}",
        "Only the entity types listed above are found; other kinds of names stay untagged.",
        "AutoModelForTokenClassification",
        "Send the invoice to Anna Berg in Oslo",
    ),
    "score": _Kind(
        "text-classification",
        "text scoring model (regression or ranking)",
        "gives a text, or a pair of texts, a number on the scale of its training data",
        "Scores follow the scale and the notion of relevance of the training data; compare "
        "them with each other rather than reading them as probabilities.",
        "AutoModelForSequenceClassification",
        "Where is my refund?",
    ),
    "generate": _Kind(
        "text-generation",
        "text generator (instruction-tuned causal language model)",
        "answers prompts in the manner of the answers it was trained on",
        "It writes fluent text that may be wrong: check its answers before acting on them.",
        "AutoModelForCausalLM",
        "Where is my refund?",
    ),
}

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


def _code(value: Any) -> str:
    """Make a value safe inside an inline code span."""
    return str(value).replace("`", "'").replace("\n", " ")


def _first(summary: Mapping[str, Any], keys: Sequence[str]) -> Any:
    return next((summary[k] for k in keys if summary.get(k) is not None), None)


def _task_kind(summary: Mapping[str, Any], metrics: Mapping[str, Any] | None) -> str:
    """``classify``, ``multi-label``, ``tag``, ``score`` or ``generate``, from the task name or
    the metrics."""
    task = str(summary.get("task") or "").lower()
    found = metrics or {}
    if task == "generate" or "rouge_l" in found:
        return "generate"
    if task == "tag" or "per_type" in found:
        return "tag"
    if task == "score" or {"mse", "mrr", "n_groups"} & found.keys():
        return "score"
    if "multi" in task or summary.get("multi_label") or "thresholds" in found:
        return "multi-label"
    return "classify"


def _model_details(summary: Mapping[str, Any], labels: Sequence[str]) -> list[str]:
    rows = [
        (name, value) for name, keys in _DETAIL_ROWS if (value := _first(summary, keys)) is not None
    ]
    if labels:
        rows.append(("Labels", f"{len(labels)}: " + ", ".join(str(label) for label in labels)))
    return ["## Model details", "", *_table(("Field", "Value"), rows)]


def _languages(data: Mapping[str, Any]) -> list[str]:
    language = data.get("language") or data.get("languages") or []
    return [language] if isinstance(language, str) else [str(x) for x in language]


def _label_distribution(distribution: Mapping[str, Any], labels: Sequence[str]) -> list[str]:
    """Table of examples per label; ``distribution`` is label->count or split->label->count.

    Rows follow ``labels``; when the distribution names none of them (entity types counted
    for a tagger, or no labels at all) its own names are used instead.
    """
    nested = all(isinstance(v, Mapping) for v in distribution.values())
    seen = dict.fromkeys(k for v in distribution.values() for k in v) if nested else distribution
    names = labels if set(map(str, labels)) & set(map(str, seen)) else list(seen)
    if nested:
        splits = list(distribution)
        rows = [[name, *(distribution[s].get(name, 0) for s in splits)] for name in names]
        return _table(("Label", *splits), rows)
    return _table(("Label", "Examples"), [(name, distribution.get(name, 0)) for name in names])


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
    if notes := data.get("notes"):
        lines += ["", "Notes from reading and checking the data:", ""]
        lines += [f"- {_md(note)}" for note in notes]
    return lines


def _evaluation(metrics: Mapping[str, Any] | None, labels: Sequence[str]) -> list[str]:
    lines = ["## Evaluation", ""]
    if not metrics:
        return [*lines, "Not evaluated: no held-out test data was scored for this model."]
    rows = [(metric_name(key), metric_value(value)) for key, value in scalar_metrics(metrics)]
    lines += _table(("Metric", "Value"), rows)
    for title, column, _, items in per_item_tables(metrics, labels):
        rows = [(name, *(metric_value(v) for v in values)) for name, *values in items]
        header = (column.capitalize(), "Precision", "Recall", "F1", "Support")
        lines += ["", f"{title}:", "", *_table(header, rows)]
    if thresholds := threshold_rows(metrics, labels):
        rows = [(name, metric_value(t)) for name, t in thresholds]
        lines += ["", "Decision thresholds (a label is predicted when its probability reaches it):"]
        lines += ["", *_table(("Label", "Threshold"), rows)]
    return lines


def _intended_use(intended_use: str | None, kind: str, labels: Sequence[str]) -> list[str]:
    names = entity_types(labels) if kind == "tag" else labels
    purpose = _KINDS[kind].purpose.format(labels=", ".join(f"`{_code(x)}`" for x in names))
    text = intended_use or (
        f"This model {purpose}. It is meant as a starting point: re-evaluate it on a sample of "
        "your own data before relying on its predictions."
    )
    return ["## Intended use", "", text]


def _limitations(
    data: Mapping[str, Any], kind: str, labels: Sequence[str], metrics: Mapping[str, Any] | None
) -> list[str]:
    lines = [
        "## Limitations",
        "",
        (
            "- It was trained only on the data listed above; texts that differ in topic, style "
            "or time period may be handled less accurately."
        ),
        "- " + _KINDS[kind].limit.format(count=len(labels)),
    ]
    ece = (metrics or {}).get("ece")
    if ece is not None:
        lines.append(
            f"- Calibration: the expected calibration error on the test data is {ece:.4f}; "
            "treat the reported probabilities as rough confidence, not exact odds."
        )
    elif kind not in ("score", "generate"):
        lines.append("- Calibration was not measured: treat the probabilities as rough scores.")
    languages = _languages(data)
    if languages and {x.lower() for x in languages} <= _ENGLISH:
        lines.append(
            "- Language: trained on English data only; expect poor results on other languages."
        )
    elif not languages:
        lines.append("- Language: the training data's language was not recorded.")
    return lines


def _how_to_use(kind: str) -> list[str]:
    spec = _KINDS[kind]
    return [
        "## How to use",
        "",
        "`MODEL_DIR` is the folder that holds this card.",
        "",
        "```bash",
        f'bizlm predict MODEL_DIR "{spec.example}"',
        "```",
        "",
        "```python",
        "import bizlm",
        "",
        'model = bizlm.load("MODEL_DIR")',
        f'print(model.predict(["{spec.example}"]))',
        "```",
        "",
        "Without bizlm, with plain transformers:",
        "",
        "```python",
        f"from transformers import {spec.auto_class}",
        "",
        f'model = {spec.auto_class}.from_pretrained("MODEL_DIR/model")',
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
    baseline: dict[str, Any] | None = None,
    majority: dict[str, Any] | None = None,
    verdict: dict[str, Any] | None = None,
) -> str:
    """Render a Markdown model card with Hugging Face front matter, for any task.

    ``summary`` may hold ``backbone`` (or ``model``), ``method``, ``task`` (``classify``,
    ``tag`` or ``score``), ``multi_label``, ``trainable_params``, ``total_params`` and
    ``bizlm_version``; the task, or failing that the shape of ``metrics``, decides how the
    card describes the model. ``labels`` are the class labels, the entity types or tags (a
    tagger without them lists its evaluated entity types), or empty for a scoring model.
    ``data`` may hold ``catalog`` or ``source``, ``files`` (list, or split->path), ``counts``
    (split->rows), ``label_distribution`` (label->count, or split->label->count),
    ``licence``, ``rows_skipped`` (int, or split->int), ``notes`` (warnings about the data,
    such as texts cut at ``max_length``) and ``language`` (code or list of
    codes). ``metrics`` is the output of a metric function of
    :mod:`bizlm.evaluation` (every scalar is listed, with per-class or per-type scores and
    thresholds when present), or ``None`` when the model was not evaluated. ``baseline``,
    ``majority`` and ``verdict`` (see :mod:`bizlm.evaluation.verdict`) add a "Baseline"
    subsection to the evaluation.
    """
    kind = _task_kind(summary, metrics)
    if kind == "tag" and not labels:
        labels = list((metrics or {}).get("per_type", {}))
    front_matter = (
        f"---\nlibrary_name: transformers\npipeline_tag: {_KINDS[kind].pipeline}\n"
        f"tags:\n- bizlm\n- {_KINDS[kind].pipeline}\n---\n"
    )
    sections = [
        [front_matter + f"# {_md(name)}", "", f"A {_KINDS[kind].noun} fine-tuned with bizlm."],
        _model_details(summary, labels),
        _training_data(data, labels),
        _evaluation(metrics, labels)
        + baseline_markdown(metrics, baseline, majority, verdict)
        + samples_markdown(metrics),
        _intended_use(intended_use, kind, labels),
        _limitations(data, kind, labels, metrics),
        _how_to_use(kind),
    ]
    return "\n\n".join("\n".join(section) for section in sections) + "\n"
