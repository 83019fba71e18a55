"""The bundle manifest: a committed format-2 bundle still loads and predicts the same, every
key survives a read and a write, and a damaged or newer manifest is refused clearly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import bizlm
from bizlm.bundle import read_bundle_info, write_bundle
from bizlm.bundle_info import BUNDLE_FORMAT, DEFAULT_MAX_LENGTH, BundleInfo
from bizlm.cli import run

FIXTURES = Path(__file__).parent / "fixtures"
FORMAT_2 = FIXTURES / "bundle-format-2"
PREDICTIONS = FIXTURES / "bundle-format-2.predictions.json"


@pytest.fixture()
def bundle(tmp_path: Path) -> Path:
    """A copy of the committed format-2 bundle that a test may change."""
    return Path(shutil.copytree(FORMAT_2, tmp_path / "bundle"))


def rewrite_info(bundle: Path, change) -> Path:
    """Apply ``change`` to the bundle's bizlm.json content and write it back."""
    path = bundle / "bizlm.json"
    path.write_text(json.dumps(change(json.loads(path.read_text()))))
    return path


def squeezed(text: str) -> str:
    """``text`` without whitespace: the console wraps long paths anywhere."""
    return "".join(text.split())


def fails_cleanly(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run the CLI, expect exit code 2 and an error without a traceback; return it squeezed."""
    capsys.readouterr()
    answer = run(argv)
    message = capsys.readouterr().err
    assert answer == 2, message
    assert "Traceback" not in message
    return squeezed(message)


def test_a_format_2_bundle_predicts_what_it_predicted_when_written() -> None:
    expected = json.loads(PREDICTIONS.read_text())
    predictor = bizlm.load(FORMAT_2)
    assert predictor.labels == expected["labels"]
    probabilities = predictor.predict_proba(expected["texts"])
    np.testing.assert_allclose(probabilities, expected["probabilities"], rtol=0, atol=1e-6)
    chosen = [row["label"] for row in predictor.predict(expected["texts"])]
    assert chosen == [row["label"] for row in expected["predictions"]]


def test_the_manifest_types_what_several_readers_need() -> None:
    info = read_bundle_info(FORMAT_2)
    assert info.format == 2  # a bundle of an older format still reads
    assert info.labels == ["negative", "neutral", "positive"]
    assert (info.max_length, info.task_type, info.method_name) == (32, "classify", "full")
    assert (info.runtime, info.quantize, info.merged) == ("transformers", "none", True)
    assert info.backbone_reference == "tiny-bert"
    bare = BundleInfo(labels=["a"])
    assert (bare.max_length, bare.task_type, bare.method_name) == (
        DEFAULT_MAX_LENGTH,
        "classify",
        "full",
    )


def test_every_key_survives_a_read_and_a_write(bundle: Path, tmp_path: Path) -> None:
    future = {"note": "written by a later bizlm of the same format", "weights": [1, 2]}
    original = json.loads(
        rewrite_info(bundle, lambda raw: {**raw, "future_section": future}).read_text()
    )
    info = read_bundle_info(bundle)
    assert info.as_json() == original

    def contents(staging: Path) -> None:
        shutil.copytree(bundle / "model", staging / "model")

    copy = write_bundle(tmp_path / "copy", info, contents)
    written = json.loads((copy / "bizlm.json").read_text())
    assert written.pop("versions") and original.pop("versions")
    assert written == original
    assert set(BundleInfo(labels=["a"]).as_json()) == {"labels"}


def test_a_manifest_without_labels_is_refused_naming_the_file_and_field(
    bundle: Path, capsys
) -> None:
    path = rewrite_info(bundle, lambda raw: {k: v for k, v in raw.items() if k != "labels"})
    message = fails_cleanly(capsys, ["predict", str(bundle), "good"])
    assert squeezed(f"{path} lacks the required field 'labels'") in message


def test_a_field_of_the_wrong_type_is_named(bundle: Path, capsys) -> None:
    path = rewrite_info(bundle, lambda raw: {**raw, "merged": "perhaps"})
    message = fails_cleanly(capsys, ["predict", str(bundle), "good"])
    assert squeezed(f"{path}: field 'merged' is invalid") in message


def test_a_bundle_of_a_newer_format_asks_for_an_upgrade(bundle: Path, capsys) -> None:
    newer = BUNDLE_FORMAT + 1
    path = rewrite_info(bundle, lambda raw: {**raw, "format": newer, "labels": {"moved": 1}})
    message = fails_cleanly(capsys, ["predict", str(bundle), "good"])
    expected = (
        f"{path}: this bundle was written by a newer bizlm (format {newer}); this bizlm reads "
        f"up to format {BUNDLE_FORMAT}; upgrade bizlm"
    )
    assert squeezed(expected) in message


@pytest.mark.parametrize("content", ["{not json", "[1, 2]"])
def test_a_manifest_that_is_not_a_json_object_is_refused(
    bundle: Path, capsys, content: str
) -> None:
    (bundle / "bizlm.json").write_text(content)
    message = fails_cleanly(capsys, ["predict", str(bundle), "good"])
    assert squeezed(str(bundle / "bizlm.json")) in message
    assert "damaged" in message or "notaJSONobject" in message
