"""Regularised losses and FGM adversarial training, built from the recipe's ``regularise:``.

Every loss here has the ``loss_function(model, batch) -> loss`` shape of
:class:`bizlm.training.loop.LoopHooks` and composes with a task's own loss:

- label smoothing and balanced class weights replace the model's cross-entropy with one that
  smooths the targets and weights the classes (tasks whose loss is cross-entropy only);
- R-Drop runs the base loss (the task's own, or the one above) on two dropout passes and adds
  the symmetric KL divergence between the two predicted distributions;
- FGM is applied by the loop after each backward pass: the word embeddings move by
  ``epsilon * grad / ||grad||``, a second pass adds its gradients, and the embeddings are
  restored exactly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from accelerate.utils import extract_model_from_parallel
from torch.nn import functional

from bizlm.errors import RecipeError
from bizlm.losses import Batch, LossFunction, cross_entropy_loss, model_loss
from bizlm.sections.regularise import RegulariseConfig

if TYPE_CHECKING:
    from bizlm.recipe import TaskConfig
    from bizlm.tasks import Examples


def balanced_class_weights(targets: Sequence[Any], labels: list[str]) -> torch.Tensor:
    """Class weights ``n_examples / (n_classes * count)`` over the classes present in training.

    A label with no training example gets weight 1 (no target carries it, so it never counts).
    """
    counts = Counter(str(target) for target in targets)
    present = [label for label in labels if counts[label]]
    total = sum(counts[label] for label in present)
    return torch.tensor(
        [total / (len(present) * counts[label]) if counts[label] else 1.0 for label in labels]
    )


def symmetric_kl(
    first: torch.Tensor, second: torch.Tensor, multi_label: bool = False
) -> torch.Tensor:
    """Mean over the batch of ``(KL(p||q) + KL(q||p)) / 2`` between two sets of logits.

    Single-label logits are softmax distributions; multi-label logits are one independent
    yes/no (sigmoid) distribution per label, whose divergences are summed.
    """
    if multi_label:
        first = torch.stack([first, torch.zeros_like(first)], dim=-1)
        second = torch.stack([second, torch.zeros_like(second)], dim=-1)
    log_p = functional.log_softmax(first.float(), dim=-1)
    log_q = functional.log_softmax(second.float(), dim=-1)
    both = ((log_p.exp() - log_q.exp()) * (log_p - log_q)).sum(dim=-1)
    return 0.5 * both.reshape(both.shape[0], -1).sum(dim=1).mean()


@contextmanager
def _captured_logits(model: torch.nn.Module) -> Iterator[list[torch.Tensor]]:
    seen: list[torch.Tensor] = []

    def keep(module: torch.nn.Module, args: Any, output: Any) -> None:
        seen.append(output["logits"])

    handle = model.register_forward_hook(keep)
    try:
        yield seen
    finally:
        handle.remove()


def rdrop_loss(base: LossFunction, alpha: float, multi_label: bool = False) -> LossFunction:
    """R-Drop: ``base`` over two dropout passes plus ``alpha`` times their symmetric KL
    divergence (zero when the model has no active dropout).

    Both passes run as one forward pass over the batch stacked on itself, so each copy gets its
    own dropout; for a mean-reduced ``base`` this is the mean of the two passes' losses.
    """

    def loss(model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        doubled = {name: torch.cat([value, value]) for name, value in batch.items()}
        with _captured_logits(model) as seen:
            total = base(model, doubled)
        first, second = seen[-1].chunk(2)
        return total + alpha * symmetric_kl(first, second, multi_label)

    return loss


def word_embeddings(model: torch.nn.Module) -> torch.nn.Module:
    """The model's word-embedding layer (through Accelerate and PEFT wrappers)."""
    inner = extract_model_from_parallel(model)
    embeddings = inner.get_input_embeddings() if hasattr(inner, "get_input_embeddings") else None
    if not isinstance(getattr(embeddings, "weight", None), torch.Tensor):
        raise RecipeError(
            f"regularise.fgm_epsilon needs a model with word embeddings; "
            f"{type(inner).__name__} has none.",
            hint="Remove regularise.fgm_epsilon or choose a transformer backbone.",
        )
    return embeddings


def embedding_gradient(
    model: torch.nn.Module, batch: Batch, loss_function: LossFunction
) -> torch.Tensor | None:
    """Gradient of the loss with respect to the word-embedding matrix.

    A trainable matrix already holds it after the backward pass; a frozen one (LoRA and other
    adapters) gets it from one extra pass that leaves every parameter's ``.grad`` untouched.
    """
    module = word_embeddings(model)
    weight = module.weight
    if weight.requires_grad:
        return weight.grad
    calls: list[tuple[torch.Tensor, torch.Tensor]] = []

    def track(layer: torch.nn.Module, args: Any, output: torch.Tensor) -> torch.Tensor:
        output = output.detach().requires_grad_(True)
        calls.append((args[0], output))
        return output

    handle = module.register_forward_hook(track)
    try:  # outside any data-parallel wrapper: this pass must not take part in its reduction
        loss = loss_function(extract_model_from_parallel(model), batch)
    finally:
        handle.remove()
    if not calls:  # the model never looked its inputs up in the matrix
        return None
    grads = torch.autograd.grad(loss, [output for _, output in calls], allow_unused=True)
    total = torch.zeros_like(weight)
    for (ids, _), grad in zip(calls, grads, strict=True):
        if grad is not None:
            total.index_add_(0, ids.reshape(-1), grad.reshape(-1, total.shape[1]).to(total.dtype))
    padding = getattr(module, "padding_idx", None)
    if padding is not None:
        total[padding] = 0
    return total


class FGM:
    """Fast Gradient Method on the word embeddings: :meth:`attack`, then :meth:`restore`."""

    def __init__(self, epsilon: float) -> None:
        self.epsilon = epsilon
        self._backup: torch.Tensor | None = None

    def attack(self, model: torch.nn.Module, gradient: torch.Tensor | None = None) -> bool:
        """Move the embeddings by ``epsilon * grad / ||grad||`` (``gradient`` or the matrix's
        own ``.grad``); False, and nothing moved, when there is no usable gradient."""
        weight = word_embeddings(model).weight
        gradient = weight.grad if gradient is None else gradient
        if gradient is None:
            return False
        norm = torch.linalg.vector_norm(gradient.float())
        if not torch.isfinite(norm) or norm == 0:
            return False
        self._backup = weight.detach().clone()
        with torch.no_grad():
            weight.add_(gradient.to(weight.dtype), alpha=self.epsilon / float(norm))
        return True

    def restore(self, model: torch.nn.Module) -> None:
        """Put back the embeddings saved by the last :meth:`attack`, bit for bit."""
        if self._backup is None:
            return
        with torch.no_grad():
            word_embeddings(model).weight.copy_(self._backup)
        self._backup = None


@dataclass
class AdversarialStep:
    """The loop's adversary: attack, add the gradients of a perturbed pass, restore."""

    fgm: FGM
    loss_function: LossFunction

    def __call__(
        self,
        model: torch.nn.Module,
        batch: Batch,
        backward: Callable[[torch.Tensor], None],
    ) -> None:
        """Run after the normal backward pass of ``batch``; ``backward`` is the loop's own."""
        gradient = embedding_gradient(model, batch, self.loss_function)
        if not self.fgm.attack(model, gradient):
            return
        try:
            backward(self.loss_function(model, batch))
        finally:
            self.fgm.restore(model)


@dataclass
class Regularisation:
    """What the loop needs for the recipe's switches: its loss and its adversary."""

    loss_function: LossFunction | None
    adversary: AdversarialStep | None


def build_regularisation(
    config: RegulariseConfig,
    task: TaskConfig,
    task_loss: LossFunction | None,
    train: Examples,
    labels: list[str],
) -> Regularisation:
    """The training loss and adversary for ``config``, on top of the task's own loss.

    The switches were checked against the task when the recipe was validated. FGM's second
    pass uses the loss without R-Drop's second forward pass.
    """
    base = task_loss
    if config.label_smoothing or config.class_weights == "balanced":
        weights = None
        if config.class_weights == "balanced":
            weights = balanced_class_weights(train.targets, labels)
        base = cross_entropy_loss(config.label_smoothing, weights)
    loss = base
    if config.rdrop_alpha:
        loss = rdrop_loss(base or model_loss, config.rdrop_alpha, task.multi_label)
    adversary = None
    if config.fgm_epsilon:
        adversary = AdversarialStep(FGM(config.fgm_epsilon), base or model_loss)
    return Regularisation(loss_function=loss, adversary=adversary)
