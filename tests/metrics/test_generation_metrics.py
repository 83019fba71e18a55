"""Generated-text metrics against hand-computed cases."""

import json
import subprocess
import sys

import pytest

from bizlm.metrics.generation import (
    generation_metrics,
    normalise,
    rouge_tokens,
    sample_table,
)


def test_identical_text_scores_one_everywhere() -> None:
    texts = ["The order shipped on Monday.", "退款已经处理", '{"status": "paid", "amount": 12}']
    m = generation_metrics(texts, texts)
    assert m == {"rouge_l": 1.0, "chrf": 1.0, "exact_match": 1.0, "count": 3}
    objects = ['{"status": "paid", "amount": 12}', '{"city": "Paris"}']
    m = generation_metrics(objects, objects)
    assert m["json_valid"] == m["json_field_accuracy"] == m["rouge_l"] == m["chrf"] == 1.0


def test_rouge_l_of_partial_overlap_is_the_lcs_f_measure() -> None:
    # reference 6 tokens, prediction 4 tokens, LCS "the cat the mat" = 4 tokens
    m = generation_metrics(["the cat on mat"], ["The cat sat on the mat"])
    precision, recall = 4 / 4, 4 / 6
    assert m["rouge_l"] == round(2 * precision * recall / (precision + recall), 4) == 0.8
    assert 0 < m["chrf"] < 1
    assert m["exact_match"] == 0.0


def test_rouge_l_is_the_mean_over_examples() -> None:
    m = generation_metrics(["a b", "x y"], ["a b", "z w"])
    assert m["rouge_l"] == 0.5


def test_chinese_is_scored_by_characters() -> None:
    assert rouge_tokens("退款 OK, Café東京") == [
        "退", "款", "ok", "café", "東", "京",
    ]  # fmt: skip
    m = generation_metrics(["我要退款"], ["我想退款"])  # one character of four differs
    assert m["rouge_l"] == 0.75  # LCS 我退款: precision = recall = 3/4
    assert 0 < m["chrf"] < 1


def test_latin_words_with_accents_are_kept() -> None:
    m = generation_metrics(["Müller à Genève"], ["müller a Genève"])
    assert m["rouge_l"] == round(2 / 3, 4)


def test_exact_match_normalises_case_space_and_trailing_punctuation() -> None:
    assert normalise("  The  Order\n shipped .  ") == "the order shipped"
    assert normalise("已发货。") == "已发货"
    assert normalise("U.S.A.") == "u.s.a"
    m = generation_metrics(
        ["PARIS!", "  new   york ", "Lyon, France", "Paris"], ["Paris", "New York.", "Lyon", "Rome"]
    )
    assert m["exact_match"] == 0.5


def test_json_fields_on_valid_invalid_and_partial_predictions() -> None:
    references = [
        json.dumps({"intent": "refund", "order": 42}),
        json.dumps({"intent": "cancel", "urgent": True}),
        json.dumps({"intent": "track", "order": 7}),
    ]
    predictions = [
        '{"intent": "Refund.", "order": 42}',  # both fields right after normalisation
        '{"intent": "cancel", "urgent": false}',  # one of two right
        "intent: track, order: 7",  # not JSON: both fields wrong
    ]
    m = generation_metrics(predictions, references)
    assert m["json_valid"] == round(2 / 3, 4)
    assert m["json_field_accuracy"] == 0.5  # 3 of 6 fields
    assert generation_metrics(["[1, 2]"], ['{"a": 1}'])["json_valid"] == 0.0  # not an object


def test_json_metrics_absent_unless_every_reference_is_an_object() -> None:
    m = generation_metrics(['{"a": 1}', "plain"], ['{"a": 1}', "plain"])
    assert "json_valid" not in m and "json_field_accuracy" not in m
    assert generation_metrics(["{}"], ["{}"])["json_field_accuracy"] is None  # no fields


def test_scores_are_plain_rounded_floats() -> None:
    m = generation_metrics(["one two three"], ["one two four five six seven"])
    for name in ("rouge_l", "chrf", "exact_match"):
        assert type(m[name]) is float and m[name] == round(m[name], 4)
    assert json.loads(json.dumps(m)) == m


@pytest.mark.parametrize(
    ("predictions", "references", "message"),
    [
        ([], [], "zero examples"),
        (["a", "b"], ["a"], "lengths differ: predictions 2, references 1"),
        (["a", None], ["a", "b"], r"predictions\[1\] is NoneType, not a string"),
        ("abc", ["a", "b", "c"], "predictions must be a list of strings"),
    ],
)
def test_bad_input_is_refused_clearly(predictions, references, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generation_metrics(predictions, references)


def test_sample_table_is_seeded_and_in_input_order() -> None:
    prompts = [f"prompt {i}" for i in range(20)]
    references = [f"reference {i}" for i in range(20)]
    predictions = [f"generated {i}" for i in range(20)]
    rows = sample_table(prompts, references, predictions, k=4, seed=3)
    assert rows == sample_table(prompts, references, predictions, k=4, seed=3)
    assert rows != sample_table(prompts, references, predictions, k=4, seed=4)
    assert len(rows) == 4
    indices = [int(row["prompt"].split()[1]) for row in rows]
    assert indices == sorted(indices)
    for row, i in zip(rows, indices, strict=True):
        assert row == {
            "prompt": prompts[i],
            "reference": references[i],
            "generated": predictions[i],
        }
    assert len(sample_table(["p"], ["r"], ["g"], k=5)) == 1


def test_sample_table_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="k must be at least 1"):
        sample_table(["p"], ["r"], ["g"], k=0)
    with pytest.raises(ValueError, match="lengths differ: prompts 2, references 1, predictions 1"):
        sample_table(["p", "q"], ["r"], ["g"])


def test_scoring_generations_leaves_the_host_logging_alone() -> None:
    """absl (imported by rouge-score) puts a handler on the stderr of the moment, which the
    next logging.config call (the server's) closes: the metrics must not bring it in."""
    script = "import sys, bizlm.tasks.generate; print('absl' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
