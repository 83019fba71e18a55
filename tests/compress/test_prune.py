"""Head pruning removes heads by importance; magnitude pruning reaches the asked sparsity."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

import bizlm
from bizlm.bundle import read_bundle_info
from bizlm.compress.export import export_bundle
from bizlm.compress.finetune import labelled_features
from bizlm.compress.options import ExportOptions, parse_prune
from bizlm.compress.prune import head_counts, head_importance, remove_heads, sparsity
from bizlm.compress.source import bundle_data
from tests.compress.helpers import bundle_info


def _model_and_features(bundle: Path):
    model = AutoModelForSequenceClassification.from_pretrained(bundle / "model").eval()
    tokenizer = AutoTokenizer.from_pretrained(bundle / "model")
    data = bundle_data(read_bundle_info(bundle))
    features = labelled_features(tokenizer, data.splits["validation"], data.labels, 32)
    return model, features


def test_head_importance_and_removal(tiny_bundle: Path) -> None:
    model, features = _model_and_features(tiny_bundle)
    importance = head_importance(model, features, pad_id=0)
    assert [tuple(scores.shape) for scores in importance] == [(2,), (2,)]
    assert all(bool((scores >= 0).all()) for scores in importance)
    pruned = remove_heads(model, {0: [1]})
    assert pruned == {0: [1]}
    assert head_counts(model) == [1, 2]
    assert model.bert.encoder.layer[0].attention.self.query.out_features == 16
    batch = {"input_ids": torch.tensor([[2, 7, 8, 3]]), "attention_mask": torch.ones(1, 4).long()}
    assert model(**batch).logits.shape == (1, 3)
    # original numbering is kept: head 0 of layer 0 is still there, head 1 is gone
    with pytest.raises(Exception, match="no head"):
        remove_heads(model, {0: [1]}, pruned)


def test_head_pruning_export_records_and_reloads(
    tiny_bundle: Path, texts: list[str], tmp_path: Path
) -> None:
    options = ExportOptions(
        format="torch", prune=(parse_prune("heads=1"),), max_drop=100, output=tmp_path / "heads"
    )
    result = export_bundle(tiny_bundle, options)
    compression = bundle_info(result.bundle)["compression"]
    assert compression["heads_per_layer"] == [1, 1]
    assert sorted(compression["pruned_heads"]) == ["0", "1"]
    assert all(len(heads) == 1 for heads in compression["pruned_heads"].values())
    predictor = bizlm.load(result.bundle)
    assert head_counts(predictor.model) == [1, 1]
    assert predictor.predict_proba(texts).shape == (len(texts), 3)


def test_fraction_of_heads_keeps_one_per_layer(tiny_bundle: Path, tmp_path: Path) -> None:
    options = ExportOptions(
        format="onnx", prune=(parse_prune("heads=0.5"),), max_drop=100, output=tmp_path / "half"
    )
    result = export_bundle(tiny_bundle, options)
    assert bundle_info(result.bundle)["compression"]["heads_per_layer"] == [1, 1]
    assert bizlm.load(result.bundle).predict(["good flight"])[0]["label"] in {
        "positive",
        "negative",
        "neutral",
    }


def test_magnitude_pruning_reaches_sparsity_after_recovery(
    tiny_bundle: Path, tmp_path: Path
) -> None:
    options = ExportOptions(
        format="torch",
        prune=(parse_prune("magnitude=0.5"),),
        recover_epochs=1,
        recover_learning_rate=1e-3,
        max_drop=100,
        output=tmp_path / "sparse",
    )
    result = export_bundle(tiny_bundle, options)
    info = bundle_info(result.bundle)
    assert info["compression"]["linear_sparsity"] == pytest.approx(0.5, abs=0.01)
    assert info["compression"]["recovery"]["epochs"] == 1
    assert sparsity(bizlm.load(result.bundle).model) == pytest.approx(0.5, abs=0.01)
