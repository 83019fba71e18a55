"""``regularise.ensemble``: members with consecutive seeds, averaged at predict time."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from transformers import AutoModelForSequenceClassification
from transformers.modeling_outputs import SequenceClassifierOutput

import bizlm
from bizlm.bundle import read_bundle_info
from bizlm.compress.source import check_source
from bizlm.ensemble_model import EnsembleModel
from bizlm.errors import BizlmError, RecipeError
from bizlm.inference import softmax

TEXTS = ["good great flight", "bad awful seat", "the gate and the plane"]


class FixedLogits(nn.Module):
    """A stand-in member that answers every input with the same logits."""

    def __init__(self, logits: list[float]) -> None:
        super().__init__()
        self.logits = nn.Parameter(torch.tensor([logits]))

    def forward(self, input_ids: torch.Tensor, **_: torch.Tensor) -> SequenceClassifierOutput:
        return SequenceClassifierOutput(logits=self.logits.expand(len(input_ids), -1))


def _members() -> list[nn.Module]:
    return [FixedLogits([2.0, 0.0, -1.0]), FixedLogits([0.0, 1.0, 0.5])]


def test_single_label_members_average_their_probabilities() -> None:
    ensemble = EnsembleModel(_members(), "softmax")
    logits = ensemble(input_ids=torch.zeros(2, 3, dtype=torch.long)).logits.detach()
    expected = (softmax(np.array([[2.0, 0.0, -1.0]])) + softmax(np.array([[0.0, 1.0, 0.5]]))) / 2
    assert np.allclose(softmax(logits.numpy()), np.repeat(expected, 2, axis=0), atol=1e-6)


def test_multi_label_members_average_their_sigmoids_and_scores_their_outputs() -> None:
    inputs = {"input_ids": torch.zeros(1, 3, dtype=torch.long)}
    sigmoid = torch.sigmoid(EnsembleModel(_members(), "sigmoid")(**inputs).logits)
    expected = (
        torch.sigmoid(torch.tensor([2.0, 0.0, -1.0])) + torch.sigmoid(torch.tensor([0.0, 1.0, 0.5]))
    ) / 2
    assert torch.allclose(sigmoid[0], expected, atol=1e-6)
    mean = EnsembleModel(_members(), "mean")(**inputs).logits
    assert torch.allclose(mean[0], torch.tensor([1.0, 0.5, -0.25]))


@pytest.fixture(scope="module")
def ensemble_bundle(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import make_rows, write_csv

    folder = tmp_path_factory.mktemp("ensemble")
    data = write_csv(folder / "train.csv", make_rows(120, seed=1))
    recipe = {
        "model": str(tiny_model_dir),
        "data": {"train": str(data)},
        "regularise": {"ensemble": 2},
        "train": {"epochs": 2, "batch_size": 16, "learning_rate": 5e-3, "max_length": 32},
        "output": str(folder / "bundle"),
    }
    return bizlm.train(recipe).bundle


def test_the_bundle_holds_every_member_and_predicts_their_average(ensemble_bundle: Path) -> None:
    info = json.loads((ensemble_bundle / "bizlm.json").read_text())
    record = info["ensemble"]
    assert record["members"] == 2 and record["seeds"] == [42, 43]
    assert record["member_dirs"] == ["members/member-1"]
    assert len(record["member_metrics"]) == 2
    predictor = bizlm.load(ensemble_bundle)
    averaged = predictor.predict_proba(TEXTS)
    singles = []
    for folder in (ensemble_bundle, ensemble_bundle / "members" / "member-1"):
        model = AutoModelForSequenceClassification.from_pretrained(folder / "model").eval()
        single = bizlm.predictor.Predictor(model, predictor.tokenizer, predictor.labels, 32)
        singles.append(single.predict_proba(TEXTS))
    assert not np.allclose(singles[0], singles[1], atol=1e-3)  # the seeds made them differ
    assert np.allclose(averaged, (singles[0] + singles[1]) / 2, atol=1e-5)


def test_the_bundle_scores_are_the_ensembles(ensemble_bundle: Path) -> None:
    from bizlm.compress.source import bundle_data

    info = json.loads((ensemble_bundle / "bizlm.json").read_text())
    test = bundle_data(read_bundle_info(ensemble_bundle)).splits["test"]
    predicted = [p["label"] for p in bizlm.load(ensemble_bundle).predict(test.texts)]
    accuracy = np.mean([p == t for p, t in zip(predicted, test.targets, strict=True)])
    assert info["metrics"]["evaluated_on"] == "test"
    assert info["metrics"]["accuracy"] == pytest.approx(accuracy)
    # judged against the baseline with the ensemble's own score, not a member's
    assert info["verdict"]["model"] == info["metrics"]["macro_f1"]
    assert info["verdict"]["baseline"] == info["metrics"]["baseline"]["test"]["macro_f1"]
    assert info["recipe"]["regularise"]["class_weights"] in ("none", "balanced")


def test_ensembles_refuse_resume_and_export(ensemble_bundle: Path, tiny_recipe: dict) -> None:
    with pytest.raises(RecipeError, match="cannot be resumed"):
        bizlm.train({**tiny_recipe, "regularise": {"ensemble": 2}}, resume=True)
    with pytest.raises(BizlmError, match="ensemble of 2 models"):
        check_source(ensemble_bundle, read_bundle_info(ensemble_bundle), "none")


def test_integrated_gradients_of_an_ensemble_average_its_members(ensemble_bundle: Path) -> None:
    from bizlm.explain import explain, integrated_gradients
    from bizlm.predictor import Predictor

    predictor = bizlm.load(ensemble_bundle)
    shown = explain(predictor, "good great flight", method="integrated_gradients", label="positive")
    index = predictor.labels.index("positive")
    members = [
        integrated_gradients(
            Predictor(m, predictor.tokenizer, predictor.labels, 32), "good great flight", index
        )
        for m in predictor.model.members
    ]
    expected = [(a[1] + b[1]) / 2 for a, b in zip(*members, strict=True)]
    got = [row["attribution"] for row in shown["attributions"]]
    assert [row["token"] for row in shown["attributions"]] == ["good", "great", "flight"]
    assert got == pytest.approx(expected)
