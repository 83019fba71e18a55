"""``generate``: instruction tuning of a causal LM — an answer per prompt or conversation.

Rows are prompt/response pairs or chat conversations (``bizlm.data.conversations``). The
conversation is formatted with the tokenizer's chat template (or ``task.chat_template``, or a
ChatML-style default, with one warning), and the loss is on the assistant's tokens only
(``bizlm.tasks.generate_encoding``). Validation measures the loss (and perplexity) on the
answers, which picks the best checkpoint; the final scores compare greedy answers with the
references (ROUGE-L, chrF, exact match) and keep a few samples for the report.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from bizlm.batching import Features, PaddingCollator
from bizlm.data.columns import LabelledRows
from bizlm.data.conversations import read_conversations
from bizlm.data.preferences import read_preferences
from bizlm.data.readers import read_table
from bizlm.inference import evaluation_mode
from bizlm.log import logger
from bizlm.losses import LossFunction
from bizlm.metrics.generation import generation_metrics, sample_table
from bizlm.predictor import Predictor
from bizlm.tasks.base import Evaluator, Examples, Task
from bizlm.tasks.generate_encoding import (
    IGNORED,
    EncodedConversation,
    encode_conversation,
    install_chat_template,
    turn_end,
)
from bizlm.tasks.generate_predictor import CausalLM, GeneratePredictor
from bizlm.tasks.preference import (
    pair_features,
    preference_loss,
    preference_scores,
    score_predictor,
)
from bizlm.tasks.rows import record_file, warn

#: the most logits (tokens x vocabulary) one validation batch may hold (1 GiB of float32)
LOGITS_BUDGET = 1 << 28
SAMPLES_SHOWN = 5
PREFERENCE_BATCH = 8  # pairs per batch when a trained model's preferences are scored


class GenerateTask(Task):
    """Causal LM; the loss on the answers picks the checkpoint."""

    auto_model = CausalLM
    label_padding = IGNORED
    primary_metric = "loss"
    validation_metrics = ("loss",)

    def read(self, path: Path, encoding: str, summary: dict[str, Any]) -> Examples:
        """Conversations of a JSONL, CSV or Parquet file; the prompt (the last user turn) is
        the text, the last answer the target, and ``messages`` the whole conversation."""
        config = self.config
        table = read_table(path, encoding=encoding)
        if config.preference:
            return self._read_pairs(path, table, summary)
        rows = read_conversations(
            table, config.prompt_column, config.response_column, config.system
        )
        texts = [conversation[-2]["content"] for conversation in rows.conversations]
        kept = LabelledRows(texts, [], [], rows.line_numbers, rows.skipped)
        note = kept.skipped_summary(str(path))
        if note:
            warn(summary, note)
        record_file(path, summary, len(table.rows), len(texts), rows.skipped)
        return Examples(
            texts=texts,
            targets=[conversation[-1]["content"] for conversation in rows.conversations],
            line_numbers=rows.line_numbers,
            extras={"messages": rows.conversations},
            skipped=rows.skipped,
        )

    def _read_pairs(self, path: Path, table: Any, summary: dict[str, Any]) -> Examples:
        """Preference pairs: ``messages`` holds the chosen conversation, ``rejected`` the other."""
        pairs = read_preferences(table, self.config.system)
        record_file(path, summary, len(table.rows), len(pairs.line_numbers), {})
        return Examples(
            texts=[conversation[-2]["content"] for conversation in pairs.chosen],
            targets=[conversation[-1]["content"] for conversation in pairs.chosen],
            line_numbers=pairs.line_numbers,
            extras={"messages": pairs.chosen, "rejected": pairs.rejected},
        )

    def label_space(self, splits: dict[str, Examples]) -> list[str]:
        """None: a generator writes text."""
        return []

    def model_options(self, labels: list[str]) -> dict[str, Any]:
        """The causal LM as it is: no new head."""
        return {}

    def _tokenizer(self, tokenizer: Any) -> Any:
        """``tokenizer`` with the chat template that formats the data (warns once when it had
        none and gets the default)."""
        if install_chat_template(tokenizer, self.config.chat_template):
            logger.warning(
                "The tokenizer has no chat template; conversations are formatted with the "
                "default ChatML-style template (<|im_start|>role ... <|im_end|>), which is saved "
                "with the model. Set task.chat_template to choose another."
            )
        return tokenizer

    def _encode(
        self, tokenizer: Any, examples: Examples, max_length: int
    ) -> list[EncodedConversation]:
        tokenizer = self._tokenizer(tokenizer)
        close = not turn_end(tokenizer)
        return [
            encode_conversation(tokenizer, conversation, max_length, close)
            for conversation in examples.extras["messages"]
        ]

    def length_note(self, tokenizer: Any, examples: Examples, max_length: int) -> str | None:
        """How many conversations are longer than ``max_length``: their prompts are cut from
        the left, and answers that alone leave too little room are cut at the end."""
        encoded = self._encode(tokenizer, examples, max_length)
        prompts = sum(e.prompt_cut for e in encoded)
        answers = sum(e.response_cut for e in encoded)
        if not prompts and not answers:
            return None
        return (
            f"{max(prompts, answers)} of {len(examples)} conversations are longer than "
            f"train.max_length={max_length} tokens: {prompts} prompts were cut from the left "
            f"(their start is dropped) and {answers} answers were cut at the end. Raise "
            "train.max_length to keep them whole."
        )

    def features(
        self, tokenizer: Any, examples: Examples, labels: list[str], max_length: int
    ) -> list[Features]:
        """Token ids of each conversation; labels on the assistant's tokens only (preference
        pairs: the chosen and the rejected conversation side by side)."""
        if self.config.preference:
            tokenizer = self._tokenizer(tokenizer)
            chosen, rejected = examples.extras["messages"], examples.extras["rejected"]
            return pair_features(tokenizer, chosen, rejected, max_length, not turn_end(tokenizer))
        return [e.features for e in self._encode(tokenizer, examples, max_length)]

    def evaluator(
        self, tokenizer: Any, examples: Examples, labels: list[str], max_length: int, batch: int
    ) -> Evaluator:
        """Mean loss per answer token on validation, and its perplexity (preference pairs:
        DPO loss, preference accuracy and reward margin)."""
        features = self.features(tokenizer, examples, labels, max_length)
        pad_id = int(tokenizer.pad_token_id or 0)
        if self.config.preference:
            return lambda model: preference_scores(model, features, pad_id, batch)  # type: ignore[arg-type]

        def evaluate(model: torch.nn.Module) -> dict[str, float]:
            return answer_loss(model, features, pad_id, batch)

        return evaluate

    def loss_function(self) -> LossFunction | None:
        """Preference pairs: the DPO loss of the method's preference model; else the LM loss."""
        return preference_loss if self.config.preference else None

    def predictor_class(self) -> type[Predictor]:
        """Answers prompts and conversations."""
        return GeneratePredictor

    def score(self, predictor: Predictor, examples: Examples) -> dict[str, Any]:
        """Greedy answers to each conversation, scored against the references (ROUGE-L,
        chrF, exact match), with a few samples beside them."""
        assert isinstance(predictor, GeneratePredictor)
        if self.config.preference:
            features = self.features(predictor.tokenizer, examples, [], predictor.max_length)
            return score_predictor(predictor, features, PREFERENCE_BATCH)
        contexts = [conversation[:-1] for conversation in examples.extras["messages"]]
        greedy = {"do_sample": False, "temperature": None, "top_p": None}
        predictions = predictor.chat(contexts, **greedy)
        references = [str(target) for target in examples.targets]
        metrics = generation_metrics(predictions, references)
        metrics["samples"] = sample_table(
            examples.texts, references, predictions, k=SAMPLES_SHOWN, seed=0
        )
        return metrics


def answer_loss(
    model: torch.nn.Module, features: list[Features], pad_id: int, batch_size: int
) -> dict[str, float]:
    """Mean cross-entropy per labelled token over ``features``, and its perplexity; batches
    are cut so that their logits stay within :data:`LOGITS_BUDGET`."""
    collate = PaddingCollator(pad_id, None, IGNORED)
    vocabulary = int(model.get_output_embeddings().weight.shape[0])
    order = sorted(range(len(features)), key=lambda i: -len(features[i]["input_ids"]))
    total, tokens = 0.0, 0
    device = next(model.parameters()).device
    with evaluation_mode(model), torch.inference_mode():
        start = 0
        while start < len(order):
            longest = len(features[order[start]]["input_ids"])
            size = max(1, min(batch_size, LOGITS_BUDGET // (vocabulary * longest)))
            batch = collate([features[i] for i in order[start : start + size]])
            batch = {key: value.to(device) for key, value in batch.items()}
            counted = int((batch["labels"][:, 1:] != IGNORED).sum())
            if counted:
                total += float(model(**batch).loss) * counted
                tokens += counted
            start += size
    loss = total / tokens if tokens else float("nan")
    return {"loss": loss, "perplexity": math.exp(min(loss, 50.0))}
