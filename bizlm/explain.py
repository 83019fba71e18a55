"""Which parts of a text pushed the model towards a label.

Two methods, both for one text and one label (the predicted one unless given):

* ``occlusion``: drop each word in turn and measure how much the label's probability falls;
  model-agnostic, one batched forward pass over all the variants.
* ``integrated_gradients``: integrate the gradient of the label's probability along a straight
  path from an all-zero embedding to the text's embeddings; one attribution per token.

Usable from Python::

    from bizlm.explain import explain
    explain(bizlm.load("runs/air"), "the crew was rude", method="occlusion")
"""

from __future__ import annotations

from typing import Any

import torch

from bizlm.ensemble_model import EnsembleModel
from bizlm.predictor import Predictor

METHODS = ("occlusion", "integrated_gradients")


def explain(
    predictor: Predictor,
    text: str,
    method: str = "occlusion",
    label: str | None = None,
    steps: int = 20,
) -> dict[str, Any]:
    """Attributions for ``label`` (default: the predicted label, as ``predictor.choose``
    picks it): positive means "for"."""
    if method not in METHODS:
        raise ValueError(f"Unknown explanation method '{method}'; choose from {METHODS}.")
    probabilities = predictor.predict_proba([text])[0]
    if label is None:
        index = int(predictor.choose(probabilities[None, :])[0])
    elif label in predictor.labels:
        index = predictor.labels.index(label)
    else:
        raise ValueError(f"Unknown label '{label}'; the model has {predictor.labels}.")
    if method == "occlusion":
        attributions = occlusion(predictor, text, index, float(probabilities[index]))
    else:
        attributions = integrated_gradients(predictor, text, index, steps)
    return {
        "label": predictor.labels[index],
        "score": float(probabilities[index]),
        "method": method,
        "attributions": [{"token": t, "attribution": a} for t, a in attributions],
    }


def occlusion(
    predictor: Predictor, text: str, label_index: int, full_probability: float
) -> list[tuple[str, float]]:
    """Per word: the label's probability with the word minus without it.

    Words past ``max_length`` cannot reach the model (each word is at least one token), so
    they get 0 without a forward pass.
    """
    words = text.split()
    reachable = words[: predictor.max_length]
    variants = [" ".join(reachable[:i] + reachable[i + 1 :]) for i in range(len(reachable))]
    if not variants:
        return []
    without = predictor.predict_proba(variants)[:, label_index]
    scores = [full_probability - float(p) for p in without]
    scores += [0.0] * (len(words) - len(reachable))
    return list(zip(words, scores, strict=True))


def integrated_gradients(
    predictor: Predictor, text: str, label_index: int, steps: int = 20
) -> list[tuple[str, float]]:
    """Per token (special tokens left out): integrated gradients over the input embeddings.

    For an ensemble, the mean of its members' attributions (the ensemble's probability is the
    mean of theirs, and integrated gradients are linear in the explained function).
    """
    model, tokenizer = predictor.model, predictor.tokenizer
    if isinstance(model, EnsembleModel):
        per_member = [
            integrated_gradients(
                Predictor(member, tokenizer, predictor.labels, predictor.max_length),
                text,
                label_index,
                steps,
            )
            for member in model.members
        ]
        tokens = [token for token, _ in per_member[0]]
        columns = zip(*per_member, strict=True)
        return [
            (t, sum(s for _, s in c) / len(per_member))
            for t, c in zip(tokens, columns, strict=True)
        ]
    encoded = tokenizer(text, truncation=True, max_length=predictor.max_length, return_tensors="pt")
    device = next(model.parameters()).device
    encoded = {k: v.to(device) for k, v in encoded.items()}
    input_ids = encoded.pop("input_ids")
    with torch.no_grad():
        embeddings = model.get_input_embeddings()(input_ids)  # (1, length, hidden)
    alphas = (torch.arange(steps, device=device, dtype=embeddings.dtype) + 0.5) / steps
    path = (alphas[:, None, None] * embeddings).detach().requires_grad_(True)
    extra = {k: v.expand(steps, -1) for k, v in encoded.items()}
    with torch.enable_grad():
        logits = model(inputs_embeds=path, **extra).logits
        target = torch.softmax(logits.float(), dim=-1)[:, label_index].sum()
        (gradients,) = torch.autograd.grad(target, path)
    scores = (embeddings[0] * gradients.mean(dim=0)).sum(dim=-1).tolist()
    special = set(tokenizer.all_special_ids)
    ids = input_ids[0].tolist()
    tokens = tokenizer.convert_ids_to_tokens(ids)
    return [(t, s) for t, s, i in zip(tokens, scores, ids, strict=True) if i not in special]
