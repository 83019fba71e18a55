"""``bizlm app support retrain``: the desk's feedback becomes a new intent model in staging.

1. The feedback is exported into a new run folder (``DIR/retrain/<UTC time>/`` by default):
   intent rows, preference pairs and prompt/response rows, each file written atomically.
2. The live intent bundle (``build/intent``) is continued on the intent rows by
   :func:`bizlm.continual.update.update`, the code of ``bizlm update``, behind its forgetting
   gate; the new bundle goes to ``<run>/intent``. The live build is never changed.
3. When the gate passes, the new bundle is registered in the model registry as a ``staging``
   version of ``<name>-intent``; when it refuses, nothing is registered.
4. When ``support.yaml`` names a generate bundle and the export holds preference pairs or
   prompt/response rows, recipes that continue it are written into the run folder with the
   commands that train and register them (:mod:`bizlm.apps.support.retrain_generator`); with
   ``generator_training`` (and the gate passed) they are trained and registered as ``staging``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bizlm.apps.support.errors import SupportProjectError
from bizlm.apps.support.feedback_export import (
    SKIP_REASONS,
    export_feedback,
    intent_rows,
    summary_lines,
)
from bizlm.apps.support.project import SupportProject, load_project
from bizlm.apps.support.retrain_generator import (
    PREFERENCES,
    SFT_ROWS,
    train_generator,
    write_generator_recipes,
)
from bizlm.apps.support.run_folder import new_run_folder
from bizlm.apps.support.store import ConversationStore
from bizlm.apps.support.training import BUILD_INFO
from bizlm.bundle import read_bundle_info
from bizlm.continual.bundle import ForgettingGateError
from bizlm.continual.parent import check_parent
from bizlm.continual.update import update
from bizlm.progress import Reporter
from bizlm.registry.store import Registry
from bizlm.registry.versions import check_name

RETRAIN_DIR = "retrain"
INTENT_ROWS = "intent-rows.jsonl"
UPDATED_BUNDLE = "intent"
DEFAULT_MAX_FORGETTING = 0.02
#: the exit code of a refused update, as ``bizlm update --max-forgetting`` uses it
GATE_REFUSED_EXIT = ForgettingGateError.exit_code


class NoIntentRows(SupportProjectError):
    """The feedback holds no row the intent model can learn from (exit code 4)."""

    exit_code = 4


@dataclass
class RetrainResult:
    """What one retrain wrote: the run folder, the export, the intent update, the recipes."""

    run: Path
    export: dict[str, Any]
    intent: dict[str, Any]
    generator: dict[str, Any]

    @property
    def gate_passed(self) -> bool:
        """Whether the forgetting gate let the updated intent model through."""
        return not self.intent["gate"]["rejected"]

    def to_json(self) -> dict[str, Any]:
        """The result as the ``--json`` output prints it."""
        return {
            "run": str(self.run),
            "export": self.export,
            "intent": self.intent,
            "generator": self.generator,
        }


def trained_intent_bundle(project: SupportProject) -> Path:
    """The live intent bundle, once checked that ``bizlm update`` can continue it."""
    info_path = project.build_dir / BUILD_INFO
    if not info_path.is_file():
        raise SupportProjectError(
            f"{project.root} has not been trained yet, so it has no intent model to retrain.",
            hint=f"Run `bizlm app support train {project.root}` first.",
        )
    bundle = project.build_dir / json.loads(info_path.read_text(encoding="utf-8"))["intent_bundle"]
    check_parent(bundle, read_bundle_info(bundle))
    return bundle


def feedback_database(root: Path, database: Path | None) -> Path:
    """The conversations database (default ``DIR/conversations.db``), which must exist."""
    path = Path(database) if database is not None else Path(root) / "conversations.db"
    if not path.is_file():
        raise SupportProjectError(
            f"{path} does not exist, so there is no feedback to retrain on.",
            hint="Serve the desk and collect ratings first, or pass --database FILE.",
        )
    return path


def registry_name(root: Path, name: str | None) -> str:
    """The registry name prefix: ``name``, or the project folder's name made URL-safe."""
    chosen = name or re.sub(r"[^A-Za-z0-9._-]+", "-", Path(root).resolve().name).strip(".-_")
    return check_name(chosen or "support")


def retrain(
    root: Path,
    database: Path | None = None,
    output: Path | None = None,
    registry: str | None = None,
    name: str | None = None,
    max_forgetting: float = DEFAULT_MAX_FORGETTING,
    reporter: Reporter | None = None,
    generator_training: bool = False,
) -> RetrainResult:
    """Export the feedback, update the intent model behind the forgetting gate, register it as
    staging when the gate passes, and write the reply generator's recipes (and, with
    ``generator_training`` and the gate passed, train them and register the results)."""
    project = load_project(root)
    parent = trained_intent_bundle(project)
    path = feedback_database(project.root, database)
    prefix = registry_name(project.root, name)
    Registry(registry).list(f"{prefix}-intent")  # an unusable registry fails before any work
    store = ConversationStore(path)
    try:
        rows, skipped = intent_rows(store.feedback())
        if not rows:
            reasons = "; ".join(f"{n} {SKIP_REASONS[key]}" for key, n in skipped.items() if n)
            raise NoIntentRows(
                f"{path} holds no feedback that gives an intent row ({reasons or 'no ratings'}); "
                "nothing was exported or updated.",
                hint="Rate replies with a thumbs-up, or give a thumbs-down with correct_intent.",
            )
        run = new_run_folder(project.root, output, RETRAIN_DIR)
        run.mkdir(parents=True)
        export = export_feedback(store, run / INTENT_ROWS, run / PREFERENCES, run / SFT_ROWS)
    finally:
        store.close()
    intent = _update_intent(parent, run, max_forgetting, registry, f"{prefix}-intent", reporter)
    generator = write_generator_recipes(project, run, export, registry, f"{prefix}-replies")
    if generator_training and not intent["gate"]["rejected"]:
        train_generator(generator, registry, f"{prefix}-replies", reporter)
    return RetrainResult(run=run, export=export, intent=intent, generator=generator)


def _update_intent(
    parent: Path,
    run: Path,
    max_forgetting: float,
    registry: str | None,
    name: str,
    reporter: Reporter | None,
) -> dict[str, Any]:
    """Continue ``parent`` on the intent rows; register the result unless the gate refused it."""
    bundle = run / UPDATED_BUNDLE
    try:
        info = update(
            parent, run / INTENT_ROWS, bundle, max_forgetting=max_forgetting, reporter=reporter
        ).info
    except ForgettingGateError:  # the bundle is written and marked rejected
        info = read_bundle_info(bundle).as_json()
    record = info["continual"]
    gate = record["gate"]
    registered = None
    if not gate["rejected"]:
        registered = Registry(registry).add(name, bundle, "staging").summary()
    return {
        "parent": str(parent),
        "bundle": str(bundle),
        "strategy": record["strategy"],
        "labels": info["labels"],
        "gate": gate,
        "registered": registered,
    }


def _figure(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def retrain_lines(result: RetrainResult) -> list[str]:
    """The retrain's summary as lines for people."""
    intent, gate = result.intent, result.intent["gate"]
    change = "–" if gate["drop"] is None else f"{-100 * gate['drop']:+.2f} points"
    verdict = "REFUSED" if gate["rejected"] else "passed"
    lines = [
        f"run folder: {result.run}",
        *summary_lines(result.export, result.run / INTENT_ROWS),
        f"intent model ({intent['strategy']} update): {intent['bundle']}",
        f"forgetting gate (max {gate['max_forgetting']:g}): {verdict}; accuracy on the past "
        f"held-out examples {_figure(gate['old_accuracy_before'])} -> "
        f"{_figure(gate['old_accuracy_after'])} ({change})",
    ]
    registered = intent["registered"]
    if registered is None:
        lines.append("not registered: the gate refused the update (its bundle is marked rejected)")
    else:
        lines.append(
            f"registered: {registered['name']} version {registered['version']} "
            f"({registered['stage']})"
        )
    generator = result.generator
    if generator["note"] is not None:
        lines.append(f"reply generator: nothing to do ({generator['note']})")
    for recipe in generator["recipes"]:
        lines.append(f"reply generator: {recipe['file']} ({recipe['kind']}, {recipe['rows']} rows)")
        registered = recipe["registered"]
        if registered is None:
            lines += [f"  run: {command}" for command in recipe["commands"]]
        else:
            lines.append(
                f"  trained and registered: {registered['name']} version "
                f"{registered['version']} ({registered['stage']})"
            )
    return lines
