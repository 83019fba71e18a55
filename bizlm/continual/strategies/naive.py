"""``naive``: plain fine-tuning on the new data; the baseline that forgets."""

from bizlm.continual.strategies.base import Strategy


class Naive(Strategy):
    """Fine-tune on the new data only, nothing done against forgetting."""

    name = "naive"
    description = "plain fine-tuning on the new data (forgets)"
