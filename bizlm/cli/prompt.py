"""``bizlm prompt try``: show what a prompt-learning bundle does with one text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from bizlm.cli.output import out
from bizlm.predictor import load

prompt_app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Debug zero-shot and few-shot prompts."
)


def prompt_report(bundle: Path, text: str) -> dict[str, Any]:
    """The filled prompt (generative bundles) and every label's score and probability."""
    predictor = load(bundle)
    if hasattr(predictor, "try_prompt"):
        return {"bundle": str(bundle), "mode": "generative", **predictor.try_prompt(text)}
    method = predictor.info.method_settings
    descriptions = method.get("labels", {}) if method.get("name") == "zeroshot" else {}
    logits = predictor.logits([text])
    probabilities = predictor.activate(logits)[0]
    logits = logits[0]
    scale = method.get("scale") if descriptions else None
    return {
        "bundle": str(bundle),
        "mode": method.get("mode", method.get("name", "classifier")),
        "prompt": None,
        "labels": [
            {
                "label": label,
                "description": descriptions.get(label, {}).get("description"),
                "cosine": float(logits[i] / scale) if scale else None,
                "logit": float(logits[i]),
                "probability": float(probabilities[i]),
            }
            for i, label in enumerate(predictor.labels)
        ],
    }


@prompt_app.command("try")
def try_prompt(
    bundle: Annotated[Path, typer.Argument(help="A bundle (zeroshot, fewshot or any classifier).")],
    text: Annotated[str, typer.Argument(help="The text to classify.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Show the filled prompt and each label's score for one text."""
    report = prompt_report(bundle, text)
    if as_json:
        out.print_json(json.dumps(report))
        return
    if report["prompt"] is not None:
        out.rule("prompt")
        out.print(report["prompt"], markup=False, highlight=False)
        out.rule()
    columns = [
        k for k in report["labels"][0] if k != "label" and report["labels"][0][k] is not None
    ]
    table = Table("label", *columns)
    for row in sorted(report["labels"], key=lambda r: -r["probability"]):
        table.add_row(
            row["label"],
            *[f"{row[c]:.4f}" if isinstance(row[c], float) else str(row[c]) for c in columns],
        )
    out.print(table)
