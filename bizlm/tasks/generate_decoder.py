"""Batched decoding, one token at a time, where answers join and leave the batch between steps.

A :class:`BatchDecoder` holds the answers being written by one causal LM and their key-value
cache. Each :meth:`BatchDecoder.advance` is one round: answers waiting to start are read in
one batched forward pass over their prompts (left padded) and join the batch with their first
token, or, when none waits, every answer in the batch gets its next token from one forward pass
over the last tokens. An answer leaves the batch as soon as it ends (an end token, a stop
string, its token limit, or :meth:`Answer.cancel`), and its rows of the cache go with it, so a
short answer never waits for a long one and its place goes to the next waiting answer.

Positions come from the attention mask (left padding shifts no position), so an answer's
tokens are the ones it gets when decoded alone. The text of an answer follows
:mod:`bizlm.tasks.generate_streaming`: :attr:`Answer.text` only grows, and at the end it is the
answer as a whole generation returns it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import DynamicCache, PreTrainedModel
from transformers.cache_utils import DynamicLayer

from bizlm.sections.decoding import DecodingConfig
from bizlm.tasks.generate_streaming import answer_text, settled_text


@dataclass(eq=False)
class Answer:
    """One answer being written: its prompt, its settings, its tokens and its text so far."""

    prompt: list[int]
    settings: DecodingConfig
    stops: list[str] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    #: the text so far, as far as more tokens cannot change it (what a stream has sent)
    text: str = ""
    #: the whole answer once finished (stop strings cut, stripped), as a whole generation gives
    final: str = ""
    finished: bool = False
    #: why it ended: "stop" (end token or stop string), "length" (token limit) or "cancelled"
    reason: str = ""
    _sent: int = 0

    def cancel(self) -> None:
        """End the answer where it is; it leaves the batch before the next step."""
        if not self.finished:
            self.finished, self.reason, self.final = True, "cancelled", self.text

    def new_text(self) -> str:
        """What :attr:`text` added since the last call."""
        piece, self._sent = self.text[self._sent :], len(self.text)
        return piece

    def take(self, token: int, tokenizer: Any, end_ids: set[int]) -> None:
        """Add the next generated ``token`` (an end token ends the answer without joining it)."""
        ended = token in end_ids
        if not ended:
            self.tokens.append(token)
        decoded = tokenizer.decode(self.tokens, skip_special_tokens=True)
        stopped = ended or any(stop in decoded for stop in self.stops)
        if stopped or len(self.tokens) >= self.settings.max_new_tokens:
            self.finished, self.reason = True, "stop" if stopped else "length"
            self.final = answer_text(decoded, self.stops)
            self._extend(self.final)
        else:
            self._extend(settled_text(decoded, self.stops))

    def _extend(self, text: str) -> None:
        if len(text) > len(self.text) and text.startswith(self.text):
            self.text = text


def choose_token(logits: torch.Tensor, settings: DecodingConfig, defaults: Any) -> int:
    """The next token from one row of logits: the most likely (greedy), or a sample after the
    temperature, top-k and top-p of ``settings`` (those left unset come from ``defaults``,
    the model's generation config)."""
    if not settings.do_sample:
        return int(logits.argmax())
    scores = logits.float() / (settings.temperature or getattr(defaults, "temperature", 1) or 1)
    top_k = getattr(defaults, "top_k", None)
    if top_k and top_k < scores.numel():
        threshold = torch.topk(scores, top_k).values[-1]
        scores = scores.masked_fill(scores < threshold, float("-inf"))
    probabilities = torch.softmax(scores, dim=-1)
    top_p = settings.top_p or getattr(defaults, "top_p", None) or 1.0
    if top_p < 1.0:
        ordered, order = torch.sort(probabilities, descending=True)
        outside = ordered.cumsum(-1) - ordered >= top_p  # the smallest set reaching top_p stays
        probabilities = probabilities.scatter(0, order[outside], 0.0)
    return int(torch.multinomial(probabilities, 1))


def _left_pad(tensor: torch.Tensor, width: int, dim: int) -> torch.Tensor:
    """``tensor`` with zeros added before its entries along ``dim`` up to ``width``."""
    missing = width - tensor.shape[dim]
    if missing == 0:
        return tensor
    shape = list(tensor.shape)
    shape[dim] = missing
    return torch.cat([tensor.new_zeros(shape), tensor], dim=dim)


class BatchDecoder:
    """Answers of one causal LM decoded together (at most ``max_rows`` at a time)."""

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: Any,
        end_ids: Iterable[int],
        max_rows: int = 16,
        on_step: Callable[[int], None] | None = None,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.end_ids = set(end_ids)
        self.max_rows = max_rows
        self.on_step = on_step  # told the rows of each forward pass
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.device = next(model.parameters()).device
        self.rows: list[Answer] = []
        self.waiting: deque[Answer] = deque()
        self._cache: Any = None
        self._mask: torch.Tensor | None = None
        self._joinable = True  # False for caches (e.g. sliding windows) that cannot be padded

    @property
    def busy(self) -> bool:
        """Whether an answer is being written or waits to start."""
        return bool(self.rows or self.waiting)

    def submit(self, answers: Sequence[Answer]) -> None:
        """Queue answers; they join the batch at a coming round, in order."""
        self.waiting.extend(answers)

    @torch.inference_mode()
    def advance(self) -> list[Answer]:
        """One round (see the module's docstring); the answers that got a token in it, those
        that finished included (they have left the batch)."""
        self.waiting = deque(answer for answer in self.waiting if not answer.finished)
        self._leave()
        free = self.max_rows - len(self.rows)
        if self.waiting and free > 0 and (self._joinable or not self.rows):
            moving = [self.waiting.popleft() for _ in range(min(free, len(self.waiting)))]
            logits = self._prefill(moving)
        elif self.rows:
            moving = list(self.rows)
            logits = self._step()
        else:
            return []
        defaults = self.model.generation_config
        for answer, row in zip(moving, logits, strict=True):
            answer.take(choose_token(row, answer.settings, defaults), self.tokenizer, self.end_ids)
        self._leave()
        return moving

    def run(self, answers: Sequence[Answer]) -> None:
        """Write ``answers`` to the end."""
        self.submit(answers)
        while self.busy:
            self.advance()

    def _forward(self, ids: torch.Tensor, mask: torch.Tensor, cache: Any) -> Any:
        if self.on_step is not None:
            self.on_step(ids.shape[0])
        return self.model(
            input_ids=ids.to(self.device),
            attention_mask=mask.to(self.device),
            position_ids=(mask.cumsum(-1) - 1).clamp(min=0)[:, -ids.shape[1] :].to(self.device),
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=1,
        )

    def _prefill(self, answers: list[Answer]) -> torch.Tensor:
        """Read the prompts of ``answers`` and add them to the batch; their next-token logits."""
        width = max(len(answer.prompt) for answer in answers)
        ids = torch.tensor(
            [[self.pad_id] * (width - len(a.prompt)) + a.prompt for a in answers], dtype=torch.long
        )
        mask = torch.tensor([[0] * (width - len(a.prompt)) + [1] * len(a.prompt) for a in answers])
        output = self._forward(ids, mask, DynamicCache(config=self.model.config))
        self._join(output.past_key_values, mask)
        self.rows.extend(answers)
        return output.logits[:, -1]

    def _step(self) -> torch.Tensor:
        """One token more for every answer in the batch; their next-token logits."""
        assert self._mask is not None
        last = torch.tensor([[answer.tokens[-1]] for answer in self.rows], dtype=torch.long)
        self._mask = torch.cat([self._mask, self._mask.new_ones(len(self.rows), 1)], dim=1)
        output = self._forward(last, self._mask, self._cache)
        self._cache = output.past_key_values
        return output.logits[:, -1]

    def _join(self, cache: Any, mask: torch.Tensor) -> None:
        """Add a new cache (and its mask) below the batch's, both padded on the left to the
        longer one."""
        self._joinable = all(type(layer) is DynamicLayer for layer in cache.layers)
        if self._cache is None or self._mask is None:
            self._cache, self._mask = cache, mask
            return
        width = max(self._mask.shape[1], mask.shape[1])
        for mine, theirs in zip(self._cache.layers, cache.layers, strict=True):
            for name in ("keys", "values"):
                padded = [_left_pad(getattr(layer, name), width, 2) for layer in (mine, theirs)]
                setattr(mine, name, torch.cat(padded))
        self._mask = torch.cat([_left_pad(self._mask, width, 1), _left_pad(mask, width, 1)])

    def _leave(self) -> None:
        """Take finished answers out of the batch and the cache, and drop the cache columns
        that no answer left uses."""
        keep = [index for index, answer in enumerate(self.rows) if not answer.finished]
        if len(keep) == len(self.rows):
            return
        if not keep:
            self.rows, self._cache, self._mask = [], None, None
            return
        assert self._mask is not None
        index = torch.tensor(keep)
        self._cache.batch_select_indices(index.to(self.device))
        self._mask = self._mask[index]
        self.rows = [self.rows[i] for i in keep]
        unused = int((self._mask.cumsum(-1) == 0).all(0).sum())
        if unused and self._joinable:
            for layer in self._cache.layers:
                layer.keys, layer.values = layer.keys[:, :, unused:], layer.values[:, :, unused:]
            self._mask = self._mask[:, unused:]
