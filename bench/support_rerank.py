"""Re-ranking the demo knowledge base with a cross-encoder trained on the train questions.

A ``score`` bundle (default model, pairs of question and passage, label 1 when the passage comes
from the file that answers the question) is trained on the candidates hybrid search returns for
the demo's ``train`` questions; it then re-orders the candidates for the ``test`` questions, which
nothing was chosen on. Reported per ranker: hit@1, hit@5, MRR by the answering file, and the
margin of the best combined ranker (hybrid, hybrid + re-ranker) over the better single one
(embedding or BM25) with its paired standard error. Updates its keys in
bench/results/support.json.
Run: BIZLM_HOME=... OMP_NUM_THREADS=1 python bench/support_rerank.py [--candidates 20]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe_machine  # noqa: E402
from bench.support_rag import source_ranks  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "support.json"
TRAIN = {"epochs": 3, "batch_size": 16, "learning_rate": 3e-5, "max_length": 192, "seed": 1}


def file_ranks(ordered_files: list[list[str]], sources: list[str]) -> np.ndarray:
    """1-based rank of the first passage from each question's answering file."""
    return np.array(
        [files.index(source) + 1 for files, source in zip(ordered_files, sources, strict=True)]
    )


def pair_rows(knowledge_base: Any, questions: list[Any], candidates: int) -> list[dict]:
    """(question, passage, relevance) rows over each question's hybrid candidates."""
    rows = []
    for question in questions:
        for hit in knowledge_base.search(question.question, candidates, "hybrid"):
            relevant = int(hit.passage.file == question.source)
            rows.append(
                {"text": question.question, "item": hit.passage.search_text, "relevance": relevant}
            )
    return rows


def main() -> None:
    """Train the re-ranker on train questions, compare the rankers on test questions."""
    import torch

    import bizlm
    from bizlm.apps.support.fusion import rank_metrics
    from bizlm.apps.support.grounded.questions import QUESTIONS_FILE, read_knowledge_questions
    from bizlm.apps.support.grounded.rerank import Reranker
    from bizlm.apps.support.knowledge.indexer import index_project, load_knowledge_base
    from bizlm.apps.support.project import load_project
    from bizlm.apps.support.retrieval import MODES
    from bizlm.apps.support.scaffold import init_demo
    from bizlm.atomic import atomic_write_text

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "demo-desk"
        init_demo(root)
        project = load_project(root)
        index_project(project)
        knowledge_base = load_knowledge_base(project)
        questions = read_knowledge_questions(root / QUESTIONS_FILE)
        train = [q for q in questions if q.split == "train" and q.answerable]
        test = [q for q in questions if q.split == "test" and q.answerable]
        rows = pair_rows(knowledge_base, train, args.candidates)
        data = Path(folder) / "pairs.csv"
        with data.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, ["text", "item", "relevance"])
            writer.writeheader()
            writer.writerows(rows)
        recipe = {
            "model": "default",
            "task": {"type": "score", "text_pair_column": "item", "label_column": "relevance"},
            "method": {"name": "full"},
            "data": {"train": str(data)},
            "train": TRAIN,
            "evaluation": {"blend": False},
            "output": str(Path(folder) / "reranker"),
        }
        started = time.perf_counter()
        bundle = bizlm.train(recipe).bundle
        train_seconds = time.perf_counter() - started
        reranker = Reranker(bizlm.load(bundle), args.candidates)
        every = len(knowledge_base.passages)
        sources = [q.source for q in test]
        ranks = {mode: source_ranks(knowledge_base, test, mode) for mode in MODES}
        reranked = []
        for question in test:
            hits = knowledge_base.search(question.question, every, "hybrid")
            head = reranker.rerank(question.question, hits[: args.candidates], args.candidates)
            reranked.append([h.passage.file for h in [*head, *hits[args.candidates :]]])
        ranks["hybrid_rerank"] = file_ranks(reranked, sources)
    scores = {name: rank_metrics(values) for name, values in ranks.items()}
    single = max(("bm25", "embedding"), key=lambda name: scores[name]["mrr"])
    combined = max(("hybrid", "hybrid_rerank"), key=lambda name: scores[name]["mrr"])
    differences = 1.0 / ranks[combined] - 1.0 / ranks[single]
    margin = float(differences.mean())
    result = {
        "knowledge_retrieval": {
            "questions": len(test),
            "rankers": scores,
            "better_single_ranker": single,
            "best_combined_ranker": combined,
            "hybrid_mrr_margin": round(margin, 4),
            "hybrid_mrr_margin_se": round(float(differences.std(ddof=1) / np.sqrt(len(test))), 4),
            "reranker": {
                "train_questions": len(train),
                "pairs": len(rows),
                "relevant_pairs": sum(row["relevance"] for row in rows),
                "candidates": args.candidates,
                "recipe": {k: v for k, v in recipe.items() if k not in ("data", "output")},
                "train_seconds": round(train_seconds, 1),
            },
            "note": "gold: the question's source file; test questions only (never used to "
            "choose a setting); the re-ranker's settings are fixed, not tuned",
            "machine": describe_machine(),
        }
    }
    kept = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    atomic_write_text(RESULTS, json.dumps({**kept, **result}, indent=2, ensure_ascii=False) + "\n")
    for name, values in scores.items():
        print(
            f"{name:<14} hit@1 {values['hit_at_1']:.3f} hit@5 {values['hit_at_5']:.3f} "
            f"MRR {values['mrr']:.3f}"
        )
    print(f"{combined} over {single}: MRR {margin:+.3f}")


if __name__ == "__main__":
    main()
