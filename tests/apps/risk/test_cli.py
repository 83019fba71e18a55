"""`bizlm app risk` init/train/replay from the command line; bad input exits 2 with a message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bizlm.apps.risk.replay import ReplayPlan, batches, parse_speed
from bizlm.cli import run
from tests.apps.risk.conftest import T0, stream
from tests.conftest import make_rows, write_csv


def error(capsys: pytest.CaptureFixture) -> str:
    return " ".join(capsys.readouterr().err.split())


def test_init_refuses_an_existing_folder_and_non_bundles(tmp_path: Path, capsys):
    assert run(["app", "risk", "init", str(tmp_path / "r"), "--window", "15m"]) == 0
    assert (
        yaml.safe_load((tmp_path / "r" / "rules.yaml").read_text())["rules"][0]["window"] == "15m"
    )
    assert run(["app", "risk", "init", str(tmp_path / "r")]) == 2
    assert "already has a risk.yaml" in error(capsys)
    assert run(["app", "risk", "init", str(tmp_path / "s"), "--topic-bundle", str(tmp_path)]) == 2
    assert "--topic-bundle" in error(capsys)
    assert run(["app", "risk", "init", str(tmp_path / "t"), "--window", "2m"]) == 2
    assert "outside 5m … 1d" in error(capsys)
    missing = str(tmp_path / "none.jsonl")
    assert run(["app", "risk", "replay", missing, "--url", "http://127.0.0.1:9"]) == 2
    assert "No file at" in error(capsys)


def test_train_fills_in_the_missing_models_from_the_folder_recipes(
    tmp_path: Path, tiny_model_dir: Path
):
    folder = tmp_path / "r"
    assert run(["app", "risk", "init", str(folder)]) == 0
    data = write_csv(tmp_path / "train.csv", make_rows(60, seed=2))
    for role in ("topic", "sentiment"):
        recipe = {
            "model": str(tiny_model_dir),
            "data": {"train": str(data)},
            "train": {"epochs": 1, "batch_size": 16, "max_length": 16},
        }
        (folder / "recipes" / f"{role}.yaml").write_text(yaml.safe_dump(recipe))
    assert run(["app", "risk", "train", str(folder), "--json"]) == 0
    assert (folder / "models" / "topic" / "bizlm.json").is_file()
    assert (folder / "models" / "sentiment" / "bizlm.json").is_file()


def test_replay_ingests_in_time_order_and_reports_every_rejected_line(
    tmp_path: Path, tiny_bundles: list[Path], capsys
):
    folder = tmp_path / "r"
    bundle = str(tiny_bundles[0])
    init = ["app", "risk", "init", str(folder), "--topic-bundle", bundle]
    assert run([*init, "--sentiment-bundle", bundle]) == 0
    capsys.readouterr()
    items = stream(3, 4, {})[::-1]  # out of order on purpose
    lines = [json.dumps(item) for item in items]
    lines += ["not json", json.dumps({"id": "late", "time": "tomorrow", "text": "x"})]
    source = tmp_path / "history.jsonl"
    source.write_text("\n".join(lines) + "\n")
    assert (
        run(
            ["app", "risk", "replay", str(source), "--speed", "max", "--dir", str(folder), "--json"]
        )
        == 0
    )
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert (summary["sent"], summary["accepted"], summary["duplicates"]) == (13, 12, 0)
    assert [r["reason"] for r in summary["rejected"]] == [
        "line 13 is not JSON: Expecting value",
        "line 14: time 'tomorrow' is not an ISO 8601 date-time",
    ]
    assert "warning: 2 of 14 lines were rejected and not stored" in " ".join(captured.err.split())
    assert (
        run(
            ["app", "risk", "replay", str(source), "--speed", "max", "--dir", str(folder), "--json"]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["duplicates"] == 12
    assert run(["app", "risk", "replay", str(source), "--speed", "fast", "--dir", str(folder)]) == 2
    assert "--speed 'fast' is not a speed" in error(capsys)
    assert run(["app", "risk", "replay", str(source)]) == 2
    assert "exactly one of --dir FOLDER or --url URL" in error(capsys)


def test_replay_paces_batches_by_event_time():
    assert parse_speed("60x") == 60.0 and parse_speed("max") is None
    plan = ReplayPlan([(T0, 1, "a"), (T0 + 30, 2, "b"), (T0 + 600, 3, "c")], [])
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    sent = list(batches(plan, 60.0, clock=lambda: now[0], sleep=sleep))
    assert sent == [([1], ["a"]), ([2], ["b"]), ([3], ["c"])]
    assert now[0] == pytest.approx(10.0)  # 600 s of history at 60x
    assert max(slept) <= 1.0


def test_the_packaged_default_recipes_are_the_documented_ones():
    from bizlm.apps.risk.workspace import DEFAULT_RECIPES

    root = Path(__file__).resolve().parents[3]
    for role in ("topic", "sentiment"):
        packaged = (DEFAULT_RECIPES / f"{role}.yaml").read_text()
        assert packaged == (root / "recipes" / f"risk-{role}.yaml").read_text()


@pytest.mark.parametrize("app", ["risk", "support", "recommend"])
def test_app_servers_refuse_a_port_out_of_range(app, tmp_path, capsys):
    assert run(["app", app, "serve", str(tmp_path), "--port", "99999"]) == 2
    assert "--port': Input should be less than or equal to 65535" in capsys.readouterr().err
