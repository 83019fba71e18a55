"""`bizlm app support retrain`: feedback becomes a staging intent version behind the forgetting
gate; the live build is never changed; bad input gets a clear error and its exit code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from bizlm.apps.support.feedback_export import export_feedback
from bizlm.apps.support.project import load_project
from bizlm.apps.support.retrain import RETRAIN_DIR
from bizlm.apps.support.retrain_generator import write_generator_recipes
from bizlm.apps.support.store import ConversationStore
from bizlm.bundle import read_bundle_info
from bizlm.bundle_files import bundle_manifest
from bizlm.cli import run
from bizlm.recipe import load_recipe
from bizlm.registry.store import Registry
from tests.apps.support.conftest import INTENTS, write_project
from tests.apps.support.test_grounded_answerer import save_generate_bundle
from tests.cli.test_cli_errors import fails_with
from tests.conftest import make_rows
from tests.prompting.conftest import tiny_generator_dir  # noqa: F401  (a fixture)


def _rate(database: Path, rows: list[tuple[str, str, str | None]]) -> None:
    """Store one desk turn per row (question, predicted intent, correct intent) and rate it:
    a thumbs-up when no correct intent is given, else a thumbs-down naming it."""
    store = ConversationStore(database)
    try:
        for index, (question, predicted, correct) in enumerate(rows):
            store.add_message(f"s{index}", "customer", question)
            reply = store.add_message(f"s{index}", "desk", "An answer.", predicted, 0.9, "faq")
            rating = "up" if correct is None else "down"
            store.add_feedback(reply, rating, correct, None)
    finally:
        store.close()


def _good_feedback() -> list[tuple[str, str, str | None]]:
    """Ratings that agree with the word lists the intents were trained on."""
    intent_of = {word: name for name, word in INTENTS.items()}
    rows = make_rows(120, seed=11)
    return [(r["text"], intent_of[r["label"]], None) for r in rows[:100]] + [
        (r["text"], "travel", intent_of[r["label"]]) for r in rows[100:]
    ]


@pytest.fixture()
def desk(trained_dir: Path, tmp_path: Path) -> Path:
    """A copy of the trained project, so each test changes its own."""
    return Path(shutil.copytree(trained_dir, tmp_path / "desk"))


@pytest.fixture()
def registry(tmp_path: Path) -> str:
    """A registry of the test's own, so versions start at 1."""
    return f"sqlite:///{tmp_path / 'registry.db'}"


def _retrain(desk: Path, registry: str, *extra: str) -> list[str]:
    return ["app", "support", "retrain", str(desk), "--registry", registry, *extra]


def test_feedback_becomes_a_staging_version(
    desk: Path,
    registry: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _rate(desk / "conversations.db", _good_feedback())
    live = bundle_manifest(desk / "build" / "intent")
    assert run([*_retrain(desk, registry), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    run_folder = Path(summary["run"])
    assert run_folder.parent == desk / RETRAIN_DIR
    assert summary["export"]["written"] == 120
    rows = (run_folder / "intent-rows.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 120 and (run_folder / "intent-rows.jsonl").stat().st_mode & 0o777 == 0o600
    intent = summary["intent"]
    gate = intent["gate"]
    assert gate["max_forgetting"] == 0.02 and gate["rejected"] is False
    assert gate["drop"] is not None and gate["drop"] <= 0.02
    info = read_bundle_info(run_folder / "intent")
    assert info.parent == str(desk / "build" / "intent") and not info.rejected
    [version] = Registry(registry).list()
    assert (version.name, version.version, version.stage) == ("desk-intent", 1, "staging")
    assert version.bundle == str((run_folder / "intent").resolve())
    assert intent["registered"]["version"] == 1
    assert summary["generator"] == {
        "bundle": None,
        "recipes": [],
        "note": "no knowledge.generate_bundle",
    }
    assert bundle_manifest(desk / "build" / "intent") == live  # the live build is untouched

    monkeypatch.chdir(desk)  # short paths: the printed lines stay unwrapped
    assert run([*_retrain(desk, registry), "--output", "again", "--name", "shop"]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert "again/intent-rows.jsonl: 120 intent rows" in shown
    assert "forgetting gate (max 0.02): passed" in shown
    assert "registered: shop-intent version 1 (staging)" in shown
    assert [v.name for v in Registry(registry).list()] == ["desk-intent", "shop-intent"]


def test_a_gate_refusal_registers_nothing_and_exits_3(
    desk: Path,
    registry: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # every intent corrected to another one: learning that forgets what the model knew
    swapped = {"positive": "complaint", "negative": "travel", "neutral": "praise"}
    rows = [(r["text"], "praise", swapped[r["label"]]) for r in make_rows(120, seed=5)]
    _rate(desk / "conversations.db", rows)
    store = ConversationStore(desk / "conversations.db")
    try:  # a corrected reply too: the generator's recipe is written but not trained
        store.add_message("g", "customer", "bag gate ticket")
        reply = store.add_message("g", "desk", "seat plane", "travel", 0.9, "generated")
        store.add_feedback(reply, "down", "travel", "bag gate today")
    finally:
        store.close()
    settings = {"knowledge": {"generate_bundle": "replies"}}
    (desk / "support.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    monkeypatch.chdir(desk)  # short paths: the printed lines stay unwrapped
    code = run([*_retrain(desk, registry), "--output", "refused", "--train-generator"])
    shown = " ".join(capsys.readouterr().out.split())
    assert code == 3
    info = read_bundle_info(desk / "refused" / "intent")
    gate = info.continual["gate"]
    assert info.rejected and gate["drop"] > 0.02
    assert "forgetting gate (max 0.02): REFUSED" in shown
    assert f"-> {gate['old_accuracy_after']:.3f} ({-100 * gate['drop']:+.2f} points)" in shown
    assert "not registered: the gate refused the update" in shown
    assert "run: bizlm train refused/recipe-dpo.yaml" in shown
    assert not (desk / "refused" / "replies-dpo").exists()
    assert Registry(registry).list() == []


def test_generator_recipes_point_at_the_export_and_the_generate_bundle(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    settings = {"knowledge": {"generate_bundle": "replies"}}
    project = load_project(
        write_project(tmp_path / "desk", tiny_model_dir, **{"support.yaml": settings})
    )
    store = ConversationStore(tmp_path / "conversations.db")
    try:
        store.add_message("s", "customer", "when does the shop open")
        reply = store.add_message("s", "desk", "It opens at 8.", "travel", 0.9, "generated")
        store.add_feedback(reply, "down", "travel", "It opens at 9.")
        run_folder = tmp_path / "run"
        export = export_feedback(
            store,
            run_folder / "intent-rows.jsonl",
            run_folder / "preferences.jsonl",
            run_folder / "sft.jsonl",
        )
    finally:
        store.close()
    generator = write_generator_recipes(
        project, run_folder, export, "sqlite:///r.db", "desk-replies"
    )
    assert [r["kind"] for r in generator["recipes"]] == ["dpo", "sft"]
    dpo = load_recipe(run_folder / "recipe-dpo.yaml")
    assert dpo.method.name == "dpo" and dpo.task.type == "generate" and dpo.task.preference
    assert dpo.model == str((project.root / "replies").resolve())
    assert Path(dpo.data.train) == (run_folder / "preferences.jsonl").resolve()
    sft = load_recipe(run_folder / "recipe-sft.yaml")
    assert sft.task.type == "generate" and not sft.task.preference
    assert Path(sft.data.train) == (run_folder / "sft.jsonl").resolve()
    assert generator["recipes"][0]["commands"] == [
        f"bizlm train {run_folder / 'recipe-dpo.yaml'}",
        f"bizlm registry add desk-replies {(run_folder / 'replies-dpo').resolve()} "
        "--stage staging --registry sqlite:///r.db",
    ]


def test_the_generator_is_trained_and_registered_on_request(
    desk: Path,
    registry: str,
    tmp_path: Path,
    tiny_generator_dir: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    replies = save_generate_bundle(tiny_generator_dir, tmp_path / "replies")
    settings = {"knowledge": {"generate_bundle": str(replies)}}
    (desk / "support.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    _rate(desk / "conversations.db", _good_feedback()[:12])
    store = ConversationStore(desk / "conversations.db")
    try:
        for index in range(4):
            store.add_message(f"g{index}", "customer", "bag gate ticket")
            reply = store.add_message(f"g{index}", "desk", "seat plane", "travel", 0.9, "generated")
            store.add_feedback(reply, "down", "travel", "bag gate today")
    finally:
        store.close()
    monkeypatch.chdir(desk)  # short paths: the printed lines stay unwrapped
    argv = [*_retrain(desk, registry), "--output", "run", "--max-forgetting", "1"]
    assert run([*argv, "--train-generator"]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert "run/recipe-dpo.yaml (dpo, 4 rows)" in shown
    assert "run/recipe-sft.yaml (sft, 4 rows)" in shown
    assert "trained and registered: desk-replies version 1 (staging)" in shown
    assert "trained and registered: desk-replies version 2 (staging)" in shown
    versions = {(v.name, v.version): v.bundle for v in Registry(registry).list()}
    assert sorted(versions) == [("desk-intent", 1), ("desk-replies", 1), ("desk-replies", 2)]
    for version, kind in ((1, "dpo"), (2, "sft")):
        assert versions["desk-replies", version] == str(desk / "run" / f"replies-{kind}")
        info = read_bundle_info(desk / "run" / f"replies-{kind}")
        assert info.task_type == "generate" and info.recipe["model"] == str(replies)
    assert read_bundle_info(desk / "run" / "replies-dpo").method_name == "dpo"


def test_an_untrained_project_is_refused(
    project_dir: Path, registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _rate(project_dir / "conversations.db", _good_feedback()[:3])
    fails_with(capsys, _retrain(project_dir, registry), "has not been trained yet", "support train")
    assert not (project_dir / RETRAIN_DIR).exists()


def test_an_intent_model_updates_cannot_continue_is_refused(
    desk: Path, registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    info_file = desk / "build" / "intent" / "bizlm.json"
    info = json.loads(info_file.read_text(encoding="utf-8"))
    info["recipe"]["method"] = {"name": "fewshot"}  # as `train` picks for intents with few examples
    info_file.write_text(json.dumps(info), encoding="utf-8")
    _rate(desk / "conversations.db", _good_feedback()[:3])
    fails_with(capsys, _retrain(desk, registry), "was built with method 'fewshot'")
    assert not (desk / RETRAIN_DIR).exists()


def test_a_missing_database_is_refused(
    desk: Path, registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*_retrain(desk, registry), "--database", str(desk / "nope.db")]
    fails_with(capsys, argv, "nope.db does not exist", "--database FILE")
    fails_with(capsys, _retrain(desk, registry), "does not exist, so there is no feedback")
    assert not (desk / RETRAIN_DIR).exists()


def test_feedback_without_intent_rows_updates_nothing_and_exits_4(
    desk: Path, registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ConversationStore(desk / "conversations.db").close()  # a desk nobody rated yet
    assert run(_retrain(desk, registry)) == 4
    assert "(no ratings)" in " ".join(capsys.readouterr().err.split())
    store = ConversationStore(desk / "conversations.db")
    try:
        store.add_message("s", "customer", "bag gate ticket")
        reply = store.add_message("s", "desk", "Bags go to gate 4.", "travel", 0.9, "faq")
        store.add_feedback(reply, "down", None, None)
    finally:
        store.close()
    assert run(_retrain(desk, registry)) == 4
    message = " ".join(capsys.readouterr().err.split())
    assert (
        "holds no feedback that gives an intent row (1 thumbs-down without correct_intent)"
        in message
    )
    assert "nothing was exported or updated" in message and "Traceback" not in message
    assert not (desk / RETRAIN_DIR).exists()


@pytest.mark.parametrize(
    ("extra", "fragments"),
    [
        (["--name", "bad name!"], ["Model name 'bad name!' is not allowed"]),
        (["--output", "{desk}/build"], ["already exists", "never replaces one"]),
        (["--max-forgetting", "1.5"], ["--max-forgetting"]),
        (["--registry", "nope://registry"], ["Cannot use registry URL 'nope://registry'"]),
    ],
)
def test_bad_options_are_refused(
    desk: Path,
    registry: str,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    fragments: list[str],
) -> None:
    _rate(desk / "conversations.db", _good_feedback()[:3])
    argv = [*_retrain(desk, registry), *(arg.format(desk=desk) for arg in extra)]
    fails_with(capsys, argv, *fragments)
    assert not (desk / RETRAIN_DIR).exists()
