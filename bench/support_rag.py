"""Grounded answers on the demo desk's knowledge base (bizlm/apps/support/demo/docs/).

In one run, on a fresh `bizlm app support init --demo` project whose docs/ is indexed, with the
packaged SmolLM2-135M-Instruct as the reply generator (no fine-tuning), or with
--generate-bundle PATH a generate bundle (such as `bizlm app support train-replies` makes from
the train questions):
  * knowledge retrieval: for each answerable validation and test question of
    knowledge_questions.jsonl, the rank of the first passage of the file that answers it:
    hit@1, hit@5 and MRR for hybrid, BM25-only and embedding-only search (no retrieval setting
    is chosen on these questions);
  * the support threshold tuned on the validation questions (bizlm.apps.support.grounded.tuning,
    target precision 0.9); the test questions are only measured:
      rag_answer_gain      ROUGE-L (points) of the grounded replies against the reference
                           answers minus that of replies the same model writes to the same
                           answerable questions without passages (a weak-retrieval hand-off
                           counts as an empty reply; rag_answer_gain_where_written leaves
                           those questions out);
      rag_supported_share  share of the sentences of the given (not handed-off) replies whose
                           support score reaches the tuned threshold; a reply is given only when
                           all its sentences reach it, so this is 1 whenever a reply is given:
                           rag_supported_share_generated counts every reply the model wrote;
      handoff_precision    share of the hand-offs whose question is unanswerable;
    the same decisions at the default threshold (0.5) are recorded for comparison, with every
    test reply, its score and whether it is truly supported (the tuning's label rule).
Writes its keys into bench/results/support.json, keeping the others: the packaged model's run
under "rag", a generate bundle's under "rag_finetuned". The headline keys come from the
fine-tuned run when there is one (else the packaged run); the packaged run's are also kept as
rag_answer_gain_packaged, rag_supported_share_packaged and handoff_precision_packaged.
Run: BIZLM_HOME=... OMP_NUM_THREADS=1 python bench/support_rag.py [--generate-bundle PATH]
"""

from __future__ import annotations

import argparse
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
from bench.support_rag_results import (  # noqa: E402
    FINETUNED,
    PACKAGED,
    TARGETS,
    answer_gain,
    decisions,
    gain_over_packaged_closed_book,
    headline,
    record_headlines,
)

RESULTS = ROOT / "bench" / "results" / "support.json"
MODEL = "smollm2"
DEFAULT_THRESHOLD = 0.5  # knowledge.support_threshold when support.yaml sets none
CLOSED_BOOK_PROMPT = (
    "You are a customer support assistant of Millbrook Public Library. Answer the customer's "
    "question."
)


def source_ranks(knowledge_base: Any, questions: list[Any], mode: str) -> np.ndarray:
    """1-based rank, under search ``mode``, of the first passage of each question's source."""
    every = len(knowledge_base.passages)
    return np.array(
        [
            [hit.passage.file for hit in knowledge_base.search(q.question, every, mode)].index(
                q.source
            )
            + 1
            for q in questions
        ]
    )


def retrieval_scores(knowledge_base: Any, questions: list[Any]) -> dict[str, Any]:
    """hit@1, hit@5 and MRR of each search mode, by the file that answers each question."""
    from bizlm.apps.support.fusion import rank_metrics
    from bizlm.apps.support.retrieval import MODES

    return {mode: rank_metrics(source_ranks(knowledge_base, questions, mode)) for mode in MODES}


def closed_book_replies(generator: Any, questions: list[Any], max_new_tokens: int) -> list[str]:
    """The model's replies to the questions without any passage."""
    conversations = [
        [
            {"role": "system", "content": CLOSED_BOOK_PROMPT},
            {"role": "user", "content": question.question},
        ]
        for question in questions
    ]
    return generator.chat(conversations, max_new_tokens=max_new_tokens)


def score_test_questions(
    answerer: Any, generator: Any, questions: list[Any]
) -> list[dict[str, Any]]:
    """Each test question's grounded reply (scored and labelled) and its closed-book reply."""
    from bizlm.apps.support.grounded.citations import MARKER
    from bizlm.apps.support.grounded.tuning import is_truly_supported, reply_score
    from bizlm.metrics.generation import rouge_l

    answerable = [question for question in questions if question.answerable]
    closed_book = dict(
        zip(
            (question.question for question in answerable),
            closed_book_replies(generator, answerable, answerer.settings.max_new_tokens),
            strict=True,
        )
    )
    records = []
    for question in questions:
        reply = answerer.answer(question.question)
        score = reply_score(reply)
        closed = closed_book.get(question.question)
        records.append(
            {
                "question": question.question,
                "answerable": question.answerable,
                "reply": reply.text,
                "score": score,
                "sentence_scores": [sentence.score for sentence in reply.sentences],
                "truly_supported": score is not None and is_truly_supported(question, reply.text),
                "retrieval_handoff": reply.handoff_reason if score is None else None,
                "closed_book": closed,
                "rouge_l": rouge_l(MARKER.sub(" ", reply.text), question.answer)
                if question.answerable
                else None,
                "rouge_l_closed_book": rouge_l(closed, question.answer)
                if closed is not None
                else None,
            }
        )
    return records


def main() -> None:
    """Index the demo docs, tune on validation, measure on test, update the JSON."""
    import torch

    from bench.generate import base_predictor
    from bizlm.apps.support.grounded.answerer import GroundedAnswerer
    from bizlm.apps.support.grounded.questions import (
        QUESTIONS_FILE,
        TEST,
        TRAIN,
        read_knowledge_questions,
    )
    from bizlm.apps.support.grounded.tuning import tune_grounding
    from bizlm.apps.support.knowledge.indexer import index_project, load_knowledge_base
    from bizlm.apps.support.project import load_project
    from bizlm.apps.support.scaffold import init_demo
    from bizlm.atomic import atomic_write_text
    from bizlm.bundle import read_bundle_info
    from bizlm.loading import load

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target-precision", type=float, default=0.9)
    parser.add_argument(
        "--generate-bundle",
        type=Path,
        default=None,
        help="a generate bundle to write the replies (default: the packaged smollm2)",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "demo-desk"
        init_demo(root)
        project = load_project(root)
        report = index_project(project)
        knowledge_base = load_knowledge_base(project)
        questions = read_knowledge_questions(root / QUESTIONS_FILE)
    measured = [q for q in questions if q.answerable and q.split != TRAIN]
    retrieval = retrieval_scores(knowledge_base, measured)
    bundle = args.generate_bundle
    generator = base_predictor() if bundle is None else load(bundle)
    # every reply is written in full (no sentence stops it), so that any threshold can be
    # applied to its weakest sentence afterwards
    unstopped = project.settings.knowledge.model_copy(update={"support_threshold": 0.0})
    answerer = GroundedAnswerer(knowledge_base, generator, unstopped)
    tuning_started = time.perf_counter()
    tuning = tune_grounding(answerer, questions, args.target_precision)
    tuning_seconds = time.perf_counter() - tuning_started
    test_started = time.perf_counter()
    test = [q for q in questions if q.split == TEST]
    records = score_test_questions(answerer, generator, test)
    test_seconds = time.perf_counter() - test_started
    tuned = decisions(records, tuning.support_threshold)
    gain = answer_gain(records)
    results = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.is_file() else {}
    if bundle is not None:
        gain["rag_answer_gain_vs_packaged_closed_book"] = gain_over_packaged_closed_book(
            records, results.get(PACKAGED)
        )
    settings = project.settings.knowledge
    if bundle is None:
        model = f"{MODEL} (SmolLM2-135M-Instruct, packaged, no fine-tuning)"
    else:
        trained = read_bundle_info(bundle).recipe
        model = f"generate bundle {bundle.name}: {trained['model']} fine-tuned ({trained['train']})"
    run_key = PACKAGED if bundle is None else FINETUNED
    results[run_key] = {
        "model": model,
        "encoder": "default (all-MiniLM-L6-v2), max length of the demo recipe",
        "settings": settings.model_dump(exclude={"generate_bundle", "support_threshold"}),
        "index": {
            "files": len(report.indexed),
            "passages": report.passages,
            "skipped": report.skipped,
        },
        "retrieval": retrieval,
        "retrieval_questions": len(measured),
        "retrieval_note": "gold: the question's source file; hybrid uses BM25 weight 1 "
        "(the demo support.yaml sets no faq.bm25_weight)",
        "tuning": {k: v for k, v in tuning.to_json().items() if k != "replies"},
        "tuning_replies": tuning.to_json()["replies"],
        "test": {
            "questions": len(records),
            **gain,
            "at_tuned_threshold": tuned,
            "at_default_threshold": decisions(records, DEFAULT_THRESHOLD),
            "replies": records,
        },
        "closed_book_prompt": CLOSED_BOOK_PROMPT,
        "seconds": {
            "tuning": round(tuning_seconds, 1),
            "test": round(test_seconds, 1),
            "total": round(time.perf_counter() - started, 1),
        },
        "machine": describe_machine(),
    }
    record_headlines(results)
    atomic_write_text(RESULTS, json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"{'search':<10} {'hit@1':>7} {'hit@5':>7} {'MRR':>7}")
    for mode, scores in retrieval.items():
        print(
            f"{mode:<10} {scores['hit_at_1']:7.3f} {scores['hit_at_5']:7.3f} {scores['mrr']:7.3f}"
        )
    summary = tuning.to_json()
    print(
        f"support threshold {summary['support_threshold']} (validation precision "
        f"{summary['validation_precision']:.3f}, coverage {summary['validation_coverage']:.3f}, "
        f"reached {summary['reached_target']})"
    )
    for key, value in headline(results[run_key]).items():  # this run's (the headline may not be)
        print(f"{key}: {value} (target >= {TARGETS[key]})")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
