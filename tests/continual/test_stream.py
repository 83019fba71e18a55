"""``bizlm data stream``: class-incremental stages of a catalog set, reproducible, nothing lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bizlm.cli import run
from bizlm.continual import stream as stream_module
from bizlm.continual.stream import label_groups, write_stream
from tests.cli.test_cli_errors import fails_with

LABELS = ["business", "entertainment", "politics", "sports", "tech"]


@pytest.fixture()
def fake_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """bbc-news as a folder of three small JSONL splits (one test row has an unseen label)."""
    folder = tmp_path / "bbc-news"
    folder.mkdir()
    for split, per_label in (("train", 6), ("validation", 2), ("test", 2)):
        rows = [
            {"text": f"{label} {i}", "label": label} for label in LABELS for i in range(per_label)
        ]
        if split == "test":
            rows.append({"text": "odd one", "label": "weather"})
        lines = "".join(json.dumps(row) + "\n" for row in rows)
        (folder / f"{split}.jsonl").write_text(lines, encoding="utf-8")
    monkeypatch.setattr(stream_module, "fetch", lambda name: folder)
    return folder


def test_label_groups_partition_the_labels_reproducibly() -> None:
    labels = [f"l{i}" for i in range(50)]
    groups = label_groups(labels, 5, seed=13)
    assert [len(g) for g in groups] == [10] * 5
    assert sorted(label for group in groups for label in group) == sorted(labels)
    assert groups == label_groups(list(reversed(labels)), 5, seed=13)
    assert groups != label_groups(labels, 5, seed=14)


def test_stages_hold_every_row_of_their_labels(fake_catalog: Path, tmp_path: Path) -> None:
    manifest = write_stream("bbc-news", 5, tmp_path / "stream", seed=13)
    assert sorted(label for s in manifest["stages"] for label in s["labels"]) == LABELS
    assert manifest["left_out"] == {"train": 0, "validation": 0, "test": 1}
    for stage in manifest["stages"]:
        folder = tmp_path / "stream" / f"stage-{stage['index']}"
        rows = [json.loads(line) for line in (folder / "train.jsonl").read_text().splitlines()]
        assert {row["label"] for row in rows} == set(stage["labels"])
        assert stage["counts"] == {"train": 6, "validation": 2, "test": 2}
    saved = json.loads((tmp_path / "stream" / "stream.json").read_text())
    assert saved == manifest


def test_the_cli_lists_the_stages_and_refuses_bad_counts(
    fake_catalog: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["data", "stream", "bbc-news", "--stages", "5", "--output", str(tmp_path / "s")]
    assert run(argv) == 0
    shown = capsys.readouterr().out
    assert "stage 4:" in shown and "left out: 1 test rows" in shown
    argv = ["data", "stream", "bbc-news", "--stages", "9", "--output", str(tmp_path / "t")]
    fails_with(capsys, argv, "--stages 9 does not fit 'bbc-news'", "between 2 and 5")
    argv = [*argv[:4], "3", "--output", str(tmp_path / "u"), "--label-column", "topic"]
    fails_with(capsys, argv, "no label column 'topic'", "label")
    argv = ["data", "stream", "construction-faq", "--stages", "3", "--output", str(tmp_path / "v")]
    fails_with(capsys, argv, "'construction-faq' is a generate set", "Choose a classify set")
