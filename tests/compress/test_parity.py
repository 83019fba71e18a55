"""The parity check measures agreement and rejects exports that lose too much."""

from __future__ import annotations

from pathlib import Path

import bizlm
from bizlm.cli import run
from bizlm.compress.parity import measure_parity
from bizlm.compress.source import bundle_data, sample_rows
from tests.compress.helpers import bundle_info


def test_parity_of_a_model_with_itself(tiny_bundle: Path) -> None:
    predictor = bizlm.load(tiny_bundle)
    rows = sample_rows(bundle_data(predictor.info).splits["validation"], 20)
    parity = measure_parity(predictor, predictor, rows, max_drop=1.0)
    assert parity["n"] == 20
    assert parity["label_agreement"] == 1.0
    assert parity["max_probability_difference"] == 0.0
    assert parity["macro_f1_change_points"] == 0.0
    assert parity["rejected"] is False


def test_parity_failure_exits_3_and_marks_the_bundle(
    tiny_bundle: Path, tmp_path: Path, capsys
) -> None:
    output = tmp_path / "destroyed"
    code = run(
        [
            "export",
            str(tiny_bundle),
            "--format",
            "torch",
            "--prune",
            "magnitude=0.99",
            "--max-drop",
            "1",
            "--output",
            str(output),
            "--quiet",
        ]
    )
    message = " ".join(capsys.readouterr().err.split())
    assert code == 3, message
    assert "Export rejected: validation macro-F1 dropped" in message
    assert "more than --max-drop 1" in message
    info = bundle_info(output)
    assert info["rejected"] is True
    assert info["parity"]["macro_f1_change_points"] < -1
    assert info["parity"]["rejected"] is True
    assert "rejected by its parity check" in (output / "MODEL_CARD.md").read_text()
