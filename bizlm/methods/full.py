"""Full fine-tuning: every parameter of the backbone and the head is trained."""

from __future__ import annotations

from bizlm.methods.base import AdaptationMethod, register_method


@register_method
class FullFineTuning(AdaptationMethod):
    """Train all weights; the exported model is the trained model itself."""

    name = "full"
    supported_tasks = ("classify", "tag", "score")
