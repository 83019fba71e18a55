"""Distillation writes a normal bundle with a smaller student."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch.nn import functional as F

import bizlm
from bizlm.cli import run
from bizlm.compress.distill import DistillationModel, soft_targets
from tests.compress.helpers import bundle_info, fails_with


def test_distilled_student_has_fewer_layers(
    tiny_bundle: Path, texts: list[str], tmp_path: Path, capsys
) -> None:
    output = tmp_path / "student"
    argv = ["distill", str(tiny_bundle), "--student-layers", "1", "--epochs", "3"]
    argv += ["--learning-rate", "5e-3", "--output", str(output), "--json"]
    code = run(argv)
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert json.loads(printed.out)["distillation"]["student_layers"] == 1
    config = json.loads((output / "model" / "config.json").read_text())
    assert config["num_hidden_layers"] == 1
    info = bundle_info(output)
    assert info["parent"] == str(tiny_bundle)
    assert info["metrics"]["macro_f1"] > 0.5
    predictor = bizlm.load(output)
    assert len(predictor.model.bert.encoder.layer) == 1
    assert len(predictor.predict(texts)) == len(texts)


def test_student_must_be_smaller(tiny_bundle: Path, tmp_path: Path, capsys) -> None:
    fails_with(
        capsys,
        ["distill", str(tiny_bundle), "--student-layers", "2", "--output", str(tmp_path / "s")],
        "not fewer than the teacher's 2 layers",
    )


def test_distillation_loss_mixes_soft_and_hard_labels() -> None:
    student = torch.nn.Module()
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    student.forward = lambda **_: type("Out", (), {"logits": logits})()  # type: ignore[method-assign]
    soft = torch.tensor(soft_targets(torch.softmax(logits, -1).numpy(), 2.0))
    labels = torch.cat([soft, torch.tensor([[0.0], [2.0]])], dim=1)
    hard_only = DistillationModel(student, temperature=2.0, alpha=0.0)(labels=labels, x=None)
    assert torch.isclose(hard_only.loss, F.cross_entropy(logits, torch.tensor([0, 2])))
    soft_only = DistillationModel(student, temperature=2.0, alpha=1.0)(labels=labels, x=None)
    assert soft_only.loss.abs() < 1e-5  # the student already matches the teacher
