"""Turn the model's probabilities (and explanations) into the API's prediction objects."""

from __future__ import annotations

from bizlm.serve.schemas import Explanation, LabelScore, Prediction
from bizlm.serve.served import JobResult


def build_predictions(
    result: JobResult, top_k: int | None, return_probabilities: bool
) -> list[Prediction]:
    """One :class:`Prediction` per text, in input order."""
    labels = result.labels
    predictions = []
    for position, row in enumerate(result.probabilities):
        order = row.argsort()[::-1]
        best = int(result.chosen[position])
        prediction = Prediction(label=labels[best], score=float(row[best]))
        if return_probabilities:
            prediction.probabilities = {
                label: float(p) for label, p in zip(labels, row, strict=True)
            }
        if top_k is not None:
            prediction.top_k = [
                LabelScore(label=labels[int(i)], score=float(row[i])) for i in order[:top_k]
            ]
        if result.explanations is not None:
            prediction.explanation = Explanation(**result.explanations[position])
        predictions.append(prediction)
    return predictions
