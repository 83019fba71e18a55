"""Full fine-tuning: every parameter of the backbone and the head is trained."""

from __future__ import annotations

from bizlm.method_config import TrainDefaults
from bizlm.methods.base import AdaptationMethod


class FullFineTuning(AdaptationMethod):
    """Train all weights; the exported model is the trained model itself."""

    name = "full"
    train_defaults = TrainDefaults(
        learning_rate=5e-5, basis="BERT's fine-tuning range (Devlin et al., 2019: 2e-5 to 5e-5)"
    )
    supported_tasks = ("classify", "tag", "score", "generate")
