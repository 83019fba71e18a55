"""Two task adapters with different label sets served from one backbone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import bizlm
from bizlm.errors import BundleError
from bizlm.multi_adapter import MultiAdapterPredictor
from tests.conftest import make_rows, write_csv


def test_adapters_switch_per_call_and_match_their_own_bundles(
    tiny_recipe: dict, tiny_model_dir: Path, tmp_path: Path
) -> None:
    tiny_recipe["train"]["epochs"] = 1
    sentiment = bizlm.train({**tiny_recipe, "method": "lora", "output": str(tmp_path / "sent")})
    binary = write_csv(tmp_path / "binary.csv", make_rows(90, 3, ("positive", "negative")))
    polarity = bizlm.train(
        {
            **tiny_recipe,
            "method": {"name": "lora", "r": 4},
            "data": {"train": str(binary)},
            "output": str(tmp_path / "pol"),
        }
    )
    shared = bizlm.load(str(tiny_model_dir), adapters=[sentiment.bundle, polarity.bundle])
    texts = ["good great crew", "awful rude gate", "the seat"]
    for _ in range(2):  # switching back and forth gives the same answers every time
        for result in (sentiment, polarity):
            mine = shared.predict_proba(texts, adapter=Path(result.bundle).name)
            alone = bizlm.load(result.bundle).predict_proba(texts)
            assert mine.shape == alone.shape
            np.testing.assert_allclose(mine, alone, atol=1e-5)
    assert shared.names == ["sent", "pol"]
    with pytest.raises(BundleError, match="No adapter named 'topic'"):
        shared.predict(texts, adapter="topic")


def test_a_full_fine_tuned_bundle_is_not_an_adapter(
    tiny_recipe: dict, tiny_model_dir: Path
) -> None:
    tiny_recipe["train"]["epochs"] = 1
    full = bizlm.train(tiny_recipe)
    with pytest.raises(BundleError, match="has no mergeable peft adapter"):
        MultiAdapterPredictor(str(tiny_model_dir), [full.bundle])
