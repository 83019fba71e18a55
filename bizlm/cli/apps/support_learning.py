"""The support desk's commands that learn from its data: tune-grounding, train-replies,
export-feedback and retrain (registered on ``bizlm app support`` by
:mod:`bizlm.cli.apps.support`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from bizlm.apps.support.errors import SupportProjectError
from bizlm.apps.support.feedback_export import export_feedback, summary_lines
from bizlm.apps.support.grounded.project_tuning import tune_project_grounding
from bizlm.apps.support.grounded.reply_training import (
    DEFAULT_EPOCHS,
    DEFAULT_LEARNING_RATE,
    DEFAULT_MODEL,
    train_replies,
)
from bizlm.apps.support.retrain import (
    DEFAULT_MAX_FORGETTING,
    GATE_REFUSED_EXIT,
    retrain,
    retrain_lines,
)
from bizlm.apps.support.store import ConversationStore
from bizlm.cli import registry as registry_cli
from bizlm.cli.options import FolderArgument, JsonOption
from bizlm.cli.output import err, out
from bizlm.progress import Reporter, RichReporter

DatabaseOption = Annotated[
    Path | None,
    typer.Option(help="SQLite file of conversations (default: DIR/conversations.db)."),
]


def questions_option(use: str) -> Any:
    """The --questions option, its help ending on how the command ``use``s the rows."""
    return typer.Option(
        metavar="FILE",
        help=f"Questions with reference answers (default: DIR/knowledge_questions.jsonl); {use}.",
    )


def emit(payload: Any, as_json: bool, lines: list[str]) -> None:
    if as_json:
        out.print_json(json.dumps(payload, default=str))
    else:
        for line in lines:
            out.print(line, highlight=False, markup=False)


def tune_grounding_command(
    directory: FolderArgument,
    questions: Annotated[Path | None, questions_option("only the validation rows are used")] = None,
    target_precision: Annotated[
        float, typer.Option(help="Share of accepted replies that must be truly supported.")
    ] = 0.9,
    as_json: JsonOption = False,
) -> None:
    """Tune knowledge.support_threshold on validation questions; writes build/grounding.json
    and prints the line to set in support.yaml."""
    summary = tune_project_grounding(directory, questions, target_precision)
    reached = "" if summary["reached_target"] else ", target NOT reached on validation"
    warning = (
        []
        if summary["reached_target"]
        else [
            "warning: no threshold makes the accepted replies truly supported at the target "
            "precision; use a stronger generate bundle, or keep knowledge.generate_bundle null "
            "so these questions go to a person."
        ]
    )
    emit(
        summary,
        as_json,
        [
            f"support threshold {summary['support_threshold']} (validation precision "
            f"{summary['validation_precision']:.3f}, coverage {summary['validation_coverage']:.3f}"
            f", target precision {summary['target_precision']}{reached})",
            f"scored replies: {summary['scored_replies']} of {summary['questions']} validation "
            f"questions ({summary['truly_supported']} truly supported)",
            f"wrote {summary['output']}",
            f"set in support.yaml: {summary['set_in_support_yaml']}",
            *warning,
        ],
    )


def train_replies_command(
    directory: FolderArgument,
    questions: Annotated[
        Path | None,
        questions_option("the train rows are learned, the validation rows choose the epoch"),
    ] = None,
    epochs: Annotated[int, typer.Option(min=1, max=100, help="Training epochs.")] = DEFAULT_EPOCHS,
    learning_rate: Annotated[
        float, typer.Option(help="Learning rate of the fine-tuning (above 0, below 1).")
    ] = DEFAULT_LEARNING_RATE,
    model: Annotated[
        str, typer.Option(help="The chat model to fine-tune (a packaged name or a folder).")
    ] = DEFAULT_MODEL,
    output: Annotated[
        Path | None,
        typer.Option(help="New folder for this run (default: DIR/replies/<UTC time>)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Fine-tune a reply model on the project's train questions, prompted as the desk prompts
    it; prints the line to set knowledge.generate_bundle in support.yaml."""
    reporter = Reporter() if as_json else RichReporter(err)
    summary = train_replies(directory, questions, epochs, output, model, learning_rate, reporter)
    train, validation = summary["train"], summary["validation"]
    skipped = ", ".join(f"{count} {reason}" for reason, count in train["skipped"].items())
    emit(
        summary,
        as_json,
        [
            f"training rows: {train['rows']} ({train['answers']} answers, {train['refusals']} "
            f"refusals; skipped: {skipped or 'none'})",
            f"validation rows: {validation['rows']}",
            f"wrote {summary['run']} (generate bundle: {summary['bundle']})",
            f"set in support.yaml: {summary['set_in_support_yaml']}",
        ],
    )


def export_feedback_command(
    directory: FolderArgument,
    output: Annotated[Path, typer.Argument(help="JSONL file of text,label rows to write.")],
    database: DatabaseOption = None,
    preferences: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Also write DPO pairs {prompt, chosen, rejected}: each thumbs-down's "
            "correct_reply preferred to the desk's reply.",
        ),
    ] = None,
    sft: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Also write {prompt, response} rows for a generate task: corrected replies "
            "and generated replies with a thumbs-up.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Write rated replies as training rows for `bizlm update BUNDLE --data OUTPUT`, and
    optionally for the reply generator (--preferences, --sft)."""
    path = database or directory / "conversations.db"
    if not path.is_file():
        raise SupportProjectError(
            f"{path} does not exist.", hint="Serve the desk first, or pass --database FILE."
        )
    store = ConversationStore(path)
    try:
        summary = export_feedback(store, output, preferences, sft)
    finally:
        store.close()
    emit({"output": str(output), **summary}, as_json, summary_lines(summary, output))


def retrain_command(
    directory: FolderArgument,
    database: DatabaseOption = None,
    output: Annotated[
        Path | None,
        typer.Option(help="New folder for this run (default: DIR/retrain/<UTC time>)."),
    ] = None,
    registry: registry_cli.RegistryOption = None,
    name: Annotated[
        str | None,
        typer.Option(
            help="Registry name prefix: NAME-intent (default: the project folder's name)."
        ),
    ] = None,
    max_forgetting: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help=f"Refuse (exit code {GATE_REFUSED_EXIT}, nothing registered) an update whose "
            "accuracy on the past held-out examples drops by more than this fraction.",
        ),
    ] = DEFAULT_MAX_FORGETTING,
    train_generator: Annotated[
        bool,
        typer.Option(help="Also train the reply generator's recipes and register the results."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Feedback to a new intent model: export it, `bizlm update` the intent model behind the
    forgetting gate, register the result as staging; recipes for the reply generator.
    Exit code 3: the gate refused the update; 4: no feedback gives an intent row."""
    reporter = Reporter() if as_json else RichReporter(err)
    result = retrain(
        directory, database, output, registry, name, max_forgetting, reporter, train_generator
    )
    emit(result.to_json(), as_json, retrain_lines(result))
    if not result.gate_passed:
        raise typer.Exit(GATE_REFUSED_EXIT)
