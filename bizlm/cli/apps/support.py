"""`bizlm app support` sub-commands: init, train, index, ask, serve, demo, export-feedback,
retrain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from bizlm.apps.support.agent import SupportAgent
from bizlm.apps.support.errors import SupportProjectError
from bizlm.apps.support.feedback_export import export_feedback, summary_lines
from bizlm.apps.support.knowledge.indexer import DEFAULT_MAX_WORDS, DEFAULT_OVERLAP, index_project
from bizlm.apps.support.project import load_project
from bizlm.apps.support.retrain import (
    DEFAULT_MAX_FORGETTING,
    GATE_REFUSED_EXIT,
    retrain,
    retrain_lines,
)
from bizlm.apps.support.scaffold import init_demo, init_project
from bizlm.apps.support.service import create_support_app
from bizlm.apps.support.store import ConversationStore
from bizlm.apps.support.training import BUILD_INFO, train_project
from bizlm.cli import registry as registry_cli
from bizlm.cli.apps.server import run_server
from bizlm.cli.options import (
    FolderArgument,
    HostOption,
    JsonOption,
    NoAuthOption,
    PortOption,
    RegistryOption,
)
from bizlm.cli.output import err, out
from bizlm.progress import Reporter, RichReporter
from bizlm.serve.settings import ServeSettings

support_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="The support desk: intents, FAQ retrieval, answer templates, hand-off to a person.",
)
DatabaseOption = Annotated[
    Path | None,
    typer.Option(help="SQLite file of conversations (default: DIR/conversations.db)."),
]


def _emit(payload: Any, as_json: bool, lines: list[str]) -> None:
    if as_json:
        out.print_json(json.dumps(payload, default=str))
    else:
        for line in lines:
            out.print(line, highlight=False, markup=False)


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
    _emit(
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
    _emit(
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
    _emit(
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
    _emit(
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


@support_app.command("export-feedback")
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
    _emit({"output": str(output), **summary}, as_json, summary_lines(summary, output))


@support_app.command("retrain")
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
    _emit(result.to_json(), as_json, retrain_lines(result))
    if not result.gate_passed:
        raise typer.Exit(GATE_REFUSED_EXIT)
