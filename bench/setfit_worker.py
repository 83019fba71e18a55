"""Train and score one SetFit model; run with the benchmark's own environment (.venv-setfit).

    .venv-setfit/bin/python bench/setfit_worker.py MODEL_DIR TRAIN.jsonl TEST.jsonl \
        --max-length 128 --seed 0

Prints one JSON line: accuracy on the test file, training seconds (Trainer.train: pair
generation, encoder tuning and head fitting), and the number of sentence pairs trained on.
SetFit's defaults are used (batch 16, one epoch, oversampled pairs, logistic head).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time


def _read(path: str) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            texts.append(row["text"])
            labels.append(str(row["label"]))
    return texts, labels


def main() -> None:
    """Parse arguments, train, score, print the result."""
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("train")
    parser.add_argument("test")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments

    torch.set_num_threads(1)
    train_texts, train_labels = _read(args.train)
    test_texts, test_labels = _read(args.test)
    names = sorted(set(train_labels))
    index = {name: i for i, name in enumerate(names)}
    scratch = tempfile.mkdtemp(prefix="setfit-")  # where its Trainer writes checkpoints
    model = SetFitModel.from_pretrained(args.model)
    model.model_body.max_seq_length = args.max_length
    trainer = Trainer(
        model=model,
        args=TrainingArguments(output_dir=scratch, seed=args.seed, report_to="none"),
        train_dataset=Dataset.from_dict(
            {"text": train_texts, "label": [index[x] for x in train_labels]}
        ),
    )
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    predicted = [int(p) for p in model.predict(test_texts)]
    correct = sum(names[p] == gold for p, gold in zip(predicted, test_labels, strict=True))
    shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps({"accuracy": correct / len(test_labels), "train_seconds": seconds}))


if __name__ == "__main__":
    main()
