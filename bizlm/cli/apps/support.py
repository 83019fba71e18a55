"""`bizlm app support` sub-commands: init, train, index, tune-grounding, ask, serve, demo,
export-feedback, retrain."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from bizlm.apps.support.agent import SupportAgent
from bizlm.apps.support.errors import SupportProjectError
from bizlm.apps.support.knowledge.indexer import DEFAULT_MAX_WORDS, DEFAULT_OVERLAP, index_project
from bizlm.apps.support.project import load_project
from bizlm.apps.support.scaffold import init_demo, init_project
from bizlm.apps.support.service import create_support_app
from bizlm.apps.support.training import BUILD_INFO, train_project
from bizlm.cli.apps.server import run_server
from bizlm.cli.apps.support_learning import (
    DatabaseOption,
    emit,
    export_feedback_command,
    retrain_command,
    train_replies_command,
    tune_grounding_command,
)
from bizlm.cli.options import (
    FolderArgument,
    HostOption,
    JsonOption,
    NoAuthOption,
    PortOption,
    RegistryOption,
)
from bizlm.cli.output import err
from bizlm.progress import Reporter, RichReporter
from bizlm.serve.settings import ServeSettings

support_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="The support desk: intents, FAQ retrieval, answer templates, hand-off to a person.",
)


@support_app.command()
def init(
    directory: FolderArgument,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo", help="Build the demo desk from the trec catalog set (fetched if needed)."
        ),
    ] = False,
    per_intent: Annotated[
        int, typer.Option(min=4, help="--demo: example questions per intent.")
    ] = 60,
    force: Annotated[bool, typer.Option("--force", help="Overwrite project files.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Create a project: intents.yaml, faq.jsonl, templates.yaml, recipe.yaml, support.yaml."""
    files = init_demo(directory, force, per_intent) if demo else init_project(directory, force)
    emit(
        {"project": str(directory), "files": [str(f) for f in files]},
        as_json,
        [f"wrote {f}" for f in files] + [f"next: bizlm app support train {directory}"],
    )


@support_app.command()
def train(
    directory: FolderArgument,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Train the intent model, tune its out-of-scope threshold and index the FAQ."""
    info = train_project(directory, Reporter() if quiet or as_json else RichReporter(err))
    test = info["test"]
    calibration = info["calibration"]
    emit(
        info,
        as_json,
        [
            f"intent model ({info['method']}): {directory / 'build' / info['intent_bundle']}",
            f"examples: {info['examples']}",
            f"out-of-scope threshold {calibration['threshold']:.3f} (temperature "
            f"{calibration['temperature']:.2f}, target precision {calibration['target_precision']}"
            f"{'' if calibration['reached_target'] else ', NOT reached on validation'})",
            f"test: intent accuracy {test['intent_accuracy']:.3f}, out-of-scope precision "
            f"{test['oos_precision']:.3f} recall {test['oos_recall']:.3f}",
            f"FAQ index: {info['faq_entries']} entries",
            *[f"warning: {w}" for w in info["warnings"]],
        ],
    )


@support_app.command()
def index(
    directory: FolderArgument,
    max_words: Annotated[
        int, typer.Option(help="Longest passage, in words (Chinese: characters).")
    ] = DEFAULT_MAX_WORDS,
    overlap: Annotated[
        int, typer.Option(help="Words shared by consecutive passages of one section.")
    ] = DEFAULT_OVERLAP,
    as_json: JsonOption = False,
) -> None:
    """Index the documents in DIR/docs/ for search; only new or changed files are read again."""
    report = index_project(load_project(directory), max_words, overlap)
    emit(
        report.to_json(),
        as_json,
        [
            f"knowledge index: {report.folder}",
            f"files indexed: {len(report.indexed)} ({sum(report.indexed.values())} passages)",
            *[f"  {name}: {count}" for name, count in report.indexed.items()],
            f"files unchanged: {len(report.unchanged)}",
            f"files removed: {len(report.removed)}",
            *[f"  {name}" for name in report.removed],
            f"files skipped: {len(report.skipped)}",
            *[f"  {s['file']}: {s['reason']}" for s in report.skipped],
            f"passages: {report.passages} ({report.unique_passages} after merging duplicates)",
        ],
    )


@support_app.command()
def ask(
    directory: FolderArgument,
    message: Annotated[str, typer.Argument(help="A customer message.")],
    as_json: JsonOption = False,
) -> None:
    """Answer one message from the command line (nothing is stored)."""
    if not message.strip():
        raise SupportProjectError("The message is empty.", hint="Give a question to answer.")
    agent = SupportAgent(directory)
    limit = agent.project.settings.max_message_chars
    if len(message) > limit:
        raise SupportProjectError(
            f"The message has {len(message)} characters; the desk takes at most {limit}.",
            hint="Shorten it, or raise max_message_chars in support.yaml.",
        )
    reply = agent.answer(message)
    payload = {
        "answer": reply.text,
        "kind": reply.kind,
        "intent": reply.intent,
        "confidence": reply.confidence,
        "handoff": reply.handoff,
        "sources": reply.sources,
    }
    emit(
        payload,
        as_json,
        [reply.text, f"({reply.kind}; intent {reply.intent}, confidence {reply.confidence:.2f})"],
    )


def _run_server(
    directory: Path,
    settings: Any,
    database: Path | None,
    port: int,
    access_log: bool = True,
) -> None:

    app, store = create_support_app(directory, settings, database)
    err.print(f"chat page: http://{settings.host}:{port}/support", highlight=False)
    try:
        run_server(app, settings.host, port, access_log)
    finally:
        store.close()


@support_app.command()
def serve(
    directory: FolderArgument,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    no_auth: NoAuthOption = False,
    database: DatabaseOption = None,
    registry: RegistryOption = None,
    access_log: Annotated[bool, typer.Option(help="Log each request line (masked).")] = True,
) -> None:
    """Serve the chat API (/v1/support/chat) and the chat page (/support)."""
    settings = ServeSettings(registry_url=registry, host=host, auth=not no_auth).check()
    _run_server(directory, settings, database, port, access_log)


@support_app.command()
def demo(
    directory: Annotated[Path, typer.Argument(help="Folder of the demo project.")] = Path(
        "runs/support-demo"
    ),
    port: Annotated[int, typer.Option(help="Port to listen on (127.0.0.1).")] = 8000,
) -> None:
    """One line to a running demo desk: init --demo and train when needed, then serve."""
    if not (directory / "intents.yaml").exists():
        init_demo(directory)
        err.print(f"demo project written to {directory}", highlight=False)
    if not (directory / "build" / BUILD_INFO).exists():
        train_project(directory, RichReporter(err))
    _run_server(directory, ServeSettings(host="127.0.0.1", auth=False), None, port)


support_app.command("tune-grounding")(tune_grounding_command)
support_app.command("train-replies")(train_replies_command)
support_app.command("export-feedback")(export_feedback_command)
support_app.command("retrain")(retrain_command)
