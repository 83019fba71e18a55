"""``bizlm update`` with every strategy on a tiny model: one new label added to a 2-label parent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import bizlm
from bizlm.bundle import read_bundle_info
from bizlm.continual.bundle import ForgettingGateError
from bizlm.continual.strategies import STRATEGIES, UpdateContext
from bizlm.continual.update import update
from bizlm.progress import Reporter


def _update(parent: Path, data: Path, output: Path, strategy: str, *overrides: str):
    """Continue with the parent's own training settings (the tiny fixture's)."""
    return update(parent, data, output, strategy, overrides)


def _weights(bundle: Path) -> dict[str, torch.Tensor]:
    return load_file(str(bundle / "model" / "model.safetensors"))


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_every_strategy_writes_a_bundle_that_knows_old_and_new_labels(
    strategy: str, parent_bundle: Path, new_label_csv: Path, tmp_path: Path
) -> None:
    result = _update(parent_bundle, new_label_csv, tmp_path / "child", strategy)
    info = result.info
    assert info["labels"] == ["negative", "positive", "neutral"]  # old ids keep their meaning
    assert info["parent"] == str(parent_bundle)
    assert info["lineage"] == [str(parent_bundle)]
    record = info["continual"]
    assert record["strategy"] == strategy
    assert [len(row) for row in record["matrix"]] == [1, 2]
    assert record["matrix"][0][0] is not None  # the parent scored on its own held-out data
    assert record["stages"][1]["labels"] == ["neutral"]
    report = (tmp_path / "child" / "report.html").read_text(encoding="utf-8")
    assert "Continual learning" in report and "accuracy matrix heat-map" in report
    predictions = bizlm.load(tmp_path / "child").predict(["flight seat bag gate", "good great"])
    assert predictions[0]["label"] in info["labels"]
    assert set(predictions[0]["probabilities"]) == set(info["labels"])


def test_naive_forgets_and_replay_remembers(
    parent_bundle: Path, new_label_csv: Path, tmp_path: Path
) -> None:
    naive = _update(parent_bundle, new_label_csv, tmp_path / "naive", "naive").info
    replay = _update(parent_bundle, new_label_csv, tmp_path / "replay", "replay").info
    naive_bwt = naive["continual"]["summary"]["bwt"]
    replay_bwt = replay["continual"]["summary"]["bwt"]
    assert naive_bwt < -0.3
    assert replay_bwt > naive_bwt + 0.3
    assert replay["continual"]["details"]["replayed"] > 0


def test_replay_memory_is_bounded_balanced_and_stored(
    parent_bundle: Path, new_label_csv: Path, tmp_path: Path
) -> None:
    info = _update(parent_bundle, new_label_csv, tmp_path / "child", "replay").info
    lines = (tmp_path / "child" / "continual" / "memory.jsonl").read_text().splitlines()
    counts: dict[str, int] = {}
    for line in lines:
        label = json.loads(line)["label"]
        counts[label] = counts.get(label, 0) + 1
    assert counts == {"negative": 10, "positive": 10, "neutral": 10}
    assert info["continual"]["memory"] == {"per_class": 10, "keep": "text", "size": 30}
    evaluation = tmp_path / "child" / "continual" / "eval"
    assert sorted(p.name for p in evaluation.iterdir()) == ["stage-0.jsonl", "stage-1.jsonl"]


@pytest.mark.parametrize(("balance", "replayed"), [("prior", 20), ("off", 20), ("repeat", 200)])
def test_replay_balance_sets_how_often_the_memory_is_replayed(
    balance: str, replayed: int, parent_bundle: Path, new_label_csv: Path, tmp_path: Path
) -> None:
    child = tmp_path / "child"
    info = _update(
        parent_bundle, new_label_csv, child, "replay", f"continual.replay_balance={balance}"
    ).info
    details = info["continual"]["details"]
    # 10 remembered texts per old label; repeat: 100 new training examples / 10 = 10 times each
    assert details["replayed"] == replayed
    assert details.get("balance") == ("prior" if balance == "prior" else None)
    # the new data's validation has only 'neutral': the last weights are kept
    assert info["training"]["weights_kept"] == "last"


@pytest.mark.parametrize(("value", "expected"), [(True, "repeat"), (False, "off")])
def test_replay_balance_reads_the_older_true_false_form(value: bool, expected: str) -> None:
    from bizlm.sections.continual import ContinualConfig

    assert ContinualConfig(replay_balance=value).replay_balance == expected


def test_balanced_loss_shifts_logits_by_the_log_share_of_each_label(
    parent_bundle: Path, new_label_csv: Path
) -> None:
    from bizlm.continual.head import load_extended
    from bizlm.continual.memory import ReplayMemory
    from bizlm.continual.strategies.replay import text_replay_loss
    from bizlm.inference import tokenize
    from bizlm.recipe import load_recipe
    from bizlm.tasks import Examples

    info = read_bundle_info(parent_bundle)
    labels = [*info.labels, "neutral"]
    model, tokenizer = load_extended(parent_bundle / "model", info.labels, labels)
    memory = ReplayMemory(per_class=2, items={"negative": ["bad", "awful"], "positive": ["good"]})
    context = UpdateContext(
        parent=parent_bundle,
        parent_info=info,
        recipe=load_recipe(info.recipe),
        old_labels=info.labels,
        labels=labels,
        train=Examples(["meh"] * 5, ["neutral"] * 5, [1, 2, 3, 4, 5]),
        stage=1,
        memory=memory,
        reporter=Reporter(),
        tokenizer=tokenizer,
    )
    loss = text_replay_loss(context, memory)
    assert loss is not None
    batch = {k: torch.tensor([v]) for k, v in tokenize(tokenizer, ["good nice"], 32)[0].items()}
    batch["labels"] = torch.tensor([1])
    model.eval()
    logits = model(**batch).logits
    shares = torch.tensor([2 / 8, 1 / 8, 5 / 8])  # negative, positive, neutral
    expected = torch.nn.functional.cross_entropy(logits + shares.log(), batch["labels"])
    assert loss(model, batch).item() == pytest.approx(expected.item(), rel=1e-6)
    plain = torch.nn.functional.cross_entropy(logits, batch["labels"]).item()
    assert loss(model, batch).item() > plain  # the rare label's example weighs more


def test_embedding_memory_keeps_no_text(
    parent_bundle: Path, new_label_csv: Path, tmp_path: Path
) -> None:
    info = _update(
        parent_bundle,
        new_label_csv,
        tmp_path / "child",
        "replay",
        "continual.memory_keep=embeddings",
    ).info
    folder = tmp_path / "child" / "continual"
    assert (folder / "memory.safetensors").is_file()
    assert not (folder / "memory.jsonl").exists() and not (folder / "eval").exists()
    assert info["continual"]["details"]["replayed_vectors"] == 20
    vectors = load_file(str(folder / "memory.safetensors"))["vectors"]
    assert vectors.shape == (30, 32)  # 10 per label, the tiny model's hidden size


def test_ewc_stores_fisher_and_moves_important_weights_less_than_naive(
    parent_bundle: Path, new_label_csv: Path, tmp_path: Path
) -> None:
    from bizlm.bundle import read_bundle_info
    from bizlm.compress.source import bundle_data
    from bizlm.continual.head import load_extended
    from bizlm.continual.strategies.ewc import fisher_information

    _update(parent_bundle, new_label_csv, tmp_path / "naive", "naive")
    _update(parent_bundle, new_label_csv, tmp_path / "ewc", "ewc", "continual.ewc_lambda=100")
    stored = load_file(str(tmp_path / "ewc" / "continual" / "fisher.safetensors"))
    assert stored["classifier.weight"].shape == (3, 32)
    assert float(stored["bert.encoder.layer.0.attention.self.query.weight"].float().sum()) > 0
    info = json.loads((parent_bundle / "bizlm.json").read_text())
    model, tokenizer = load_extended(parent_bundle / "model", info["labels"], info["labels"])
    train = bundle_data(read_bundle_info(parent_bundle)).splits["train"]
    fisher = fisher_information(model, tokenizer, train, info["labels"], 32, 256)
    parent = _weights(parent_bundle)

    def weighted_move(bundle: Path) -> float:
        """The quantity EWC penalises: sum of F * (theta - theta_parent)^2 over the encoder."""
        child = _weights(bundle)
        return sum(
            float((fisher[n] * (child[n] - parent[n]) ** 2).sum()) for n in parent if "encoder" in n
        )

    assert weighted_move(tmp_path / "ewc") < 0.6 * weighted_move(tmp_path / "naive")


def test_ewc_loss_is_cross_entropy_plus_the_weighted_quadratic_penalty(
    parent_bundle: Path, new_label_csv: Path
) -> None:
    from bizlm.continual.head import load_extended
    from bizlm.continual.strategies.ewc import Ewc
    from bizlm.inference import tokenize
    from bizlm.recipe import load_recipe
    from bizlm.tasks import Examples

    info = read_bundle_info(parent_bundle)
    model, tokenizer = load_extended(parent_bundle / "model", info.labels, info.labels)
    recipe = load_recipe({**info.recipe, "continual": {"ewc_lambda": 4.0}})
    context = UpdateContext(
        parent=new_label_csv.parent,  # holds no Fisher: it is estimated from parent_train
        parent_info=info,
        recipe=recipe,
        old_labels=info.labels,
        labels=info.labels,
        train=Examples(["good"], ["positive"], [1]),
        stage=1,
        memory=None,
        reporter=Reporter(),
        tokenizer=tokenizer,
        parent_train=Examples(["good great", "bad awful"], ["positive", "negative"], [1, 2]),
    )
    loss = Ewc().loss_function(model, context)
    batch = {k: torch.tensor([v]) for k, v in tokenize(tokenizer, ["good nice"], 32)[0].items()}
    batch["labels"] = torch.tensor([1])
    model.eval()  # no dropout: the two forward passes must agree
    plain = torch.nn.functional.cross_entropy(model(**batch).logits, batch["labels"]).item()
    assert loss(model, batch).item() == pytest.approx(plain, rel=1e-6)  # at the anchor
    weight = model.bert.encoder.layer[0].attention.self.query.weight
    fisher = Ewc()._past_fisher(model, context)
    mean = torch.cat([f.flatten() for f in fisher.values()]).mean()
    name = "bert.encoder.layer.0.attention.self.query.weight"
    with torch.no_grad():
        weight += 0.01
    moved_plain = torch.nn.functional.cross_entropy(model(**batch).logits, batch["labels"]).item()
    expected = moved_plain + 2.0 * (fisher[name] / mean * 0.01**2).sum().item()
    assert loss(model, batch).item() == pytest.approx(expected, rel=1e-4)


def test_lwf_records_the_parent_outputs_as_targets(
    parent_bundle: Path, new_label_csv: Path, tmp_path: Path
) -> None:
    from bizlm.continual.head import load_extended
    from bizlm.continual.strategies.lwf import LearningWithoutForgetting
    from bizlm.inference import batched_logits, tokenize

    info = json.loads((parent_bundle / "bizlm.json").read_text())
    parent = bizlm.load(parent_bundle)
    texts = ["good great flight", "bad awful seat"]
    model, tokenizer = load_extended(
        parent_bundle / "model", info["labels"], [*info["labels"], "x"]
    )
    features = tokenize(tokenizer, texts, 32)
    for feature in features:
        feature["labels"] = 2

    class Context:  # the fields prepare_features reads
        old_labels = info["labels"]
        recipe = bizlm.recipe.load_recipe(info["recipe"])

    Context.tokenizer = tokenizer
    LearningWithoutForgetting().prepare_features(model, features, Context)  # type: ignore[arg-type]
    expected = batched_logits(parent.model, tokenize(parent.tokenizer, texts, 32), 0)
    recorded = torch.tensor([f["labels"][:-1] for f in features])
    assert torch.allclose(recorded, torch.tensor(expected), atol=1e-5)
    assert [f["labels"][-1] for f in features] == [2.0, 2.0]


def test_adapters_change_the_backbone_by_low_rank_updates_only(
    parent_bundle: Path, new_label_csv: Path, tmp_path: Path
) -> None:
    _update(
        parent_bundle, new_label_csv, tmp_path / "child", "adapters", "continual.adapter_rank=2"
    )
    assert (tmp_path / "child" / "continual" / "adapters" / "stage-1").is_dir()
    parent, child = _weights(parent_bundle), _weights(tmp_path / "child")
    for name in parent:
        if name.endswith("attention.self.query.weight"):
            delta = child[name] - parent[name]
            assert 0 < torch.linalg.matrix_rank(delta, atol=1e-6) <= 2
        elif name.endswith("output.dense.weight"):  # not a LoRA target: untouched
            assert torch.equal(child[name], parent[name])


def test_a_second_update_extends_the_matrix_and_keeps_the_history(
    parent_bundle: Path, new_label_csv: Path, tmp_path: Path
) -> None:
    from tests.conftest import make_rows, write_csv

    first = _update(parent_bundle, new_label_csv, tmp_path / "one", "adapters").bundle
    more = write_csv(tmp_path / "more.csv", make_rows(60, seed=5, labels=("positive", "neutral")))
    info = _update(first, more, tmp_path / "two", "adapters").info
    record = info["continual"]
    assert [len(row) for row in record["matrix"]] == [1, 2, 3]
    assert (
        record["matrix"][:2]
        == json.loads((first / "bizlm.json").read_text())["continual"]["matrix"]
    )
    assert info["lineage"] == [str(parent_bundle), str(first)]
    assert info["labels"] == ["negative", "positive", "neutral"]  # no new label this time
    adapters = sorted(p.name for p in (tmp_path / "two" / "continual" / "adapters").iterdir())
    assert adapters == ["stage-1", "stage-2"]
    original = tmp_path / "one" / "continual" / "adapters" / "stage-1" / "adapter_model.safetensors"
    copied = tmp_path / "two" / "continual" / "adapters" / "stage-1" / "adapter_model.safetensors"
    assert original.read_bytes() == copied.read_bytes()


def test_the_gate_rejects_forgetting_but_writes_the_bundle(
    parent_bundle: Path, new_label_csv: Path, tmp_path: Path
) -> None:
    with pytest.raises(ForgettingGateError) as caught:
        update(
            parent_bundle,
            new_label_csv,
            tmp_path / "child",
            "naive",
            max_forgetting=0.02,
        )
    assert caught.value.exit_code == 3
    assert "dropped" in str(caught.value) and "--max-forgetting 0.02" in str(caught.value)
    info = json.loads((tmp_path / "child" / "bizlm.json").read_text())
    assert info["rejected"] is True
    assert info["continual"]["gate"]["drop"] > 0.02
