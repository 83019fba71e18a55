"""A sentence-embedding classifier: encoder, mean pooling, L2 normalisation, linear layer.

Zero-shot (label-description prototypes) and few-shot (contrastive encoder + logistic head)
models have this shape. It is a ``transformers`` model registered with the Auto classes, so a
bundle's ``model/`` loads with ``AutoModelForSequenceClassification`` once bizlm is imported,
and predict, evaluate, export (ONNX, int8) and serve treat it like any other classifier.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForSequenceClassification,
    PretrainedConfig,
    PreTrainedModel,
)
from transformers.modeling_outputs import SequenceClassifierOutput


class SentenceClassifierConfig(PretrainedConfig):
    """Configuration: the wrapped encoder's own config plus the pooling settings."""

    model_type = "bizlm-sentence-classifier"
    sub_configs: ClassVar[dict[str, Any]] = {"encoder": AutoConfig}

    def __init__(
        self,
        encoder: PretrainedConfig | dict[str, Any] | None = None,
        normalize: bool = True,
        **kwargs: Any,
    ) -> None:
        if isinstance(encoder, dict):
            encoder = AutoConfig.for_model(**encoder)
        self.encoder = encoder
        self.normalize = normalize
        super().__init__(**kwargs)


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average of the token vectors that the attention mask keeps."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


class SentenceClassifier(PreTrainedModel):
    """Logits = linear(normalise(mean-pool(encoder(text))))."""

    config_class = SentenceClassifierConfig
    base_model_prefix = "encoder"
    supports_gradient_checkpointing = True

    def __init__(self, config: SentenceClassifierConfig) -> None:
        super().__init__(config)
        self.encoder = (
            AutoModel.from_config(config.encoder, add_pooling_layer=False)
            if (_takes_pooling_option(config.encoder))
            else AutoModel.from_config(config.encoder)
        )
        self.classifier = nn.Linear(config.encoder.hidden_size, config.num_labels)
        self.post_init()

    @classmethod
    def around(
        cls, encoder: PreTrainedModel, labels: list[str], normalize: bool = True
    ) -> SentenceClassifier:
        """A classifier on an already loaded encoder (its weights are kept as they are)."""
        config = SentenceClassifierConfig(
            encoder=encoder.config,
            normalize=normalize,
            num_labels=len(labels),
            id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)},
            pad_token_id=encoder.config.pad_token_id,
        )
        model = cls(config)
        model.encoder = encoder
        return model

    def get_input_embeddings(self) -> nn.Module:
        """The encoder's token embeddings (used by integrated-gradients explanations)."""
        return self.encoder.get_input_embeddings()

    def embed(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Sentence vectors: mean-pooled (and, by default, unit-length) encoder outputs."""
        if attention_mask is None:
            reference = input_ids if input_ids is not None else inputs_embeds[..., 0]
            attention_mask = torch.ones(
                reference.shape[:2], dtype=torch.long, device=reference.device
            )
        options: dict[str, Any] = {"attention_mask": attention_mask}
        if token_type_ids is not None:
            options["token_type_ids"] = token_type_ids
        if inputs_embeds is not None:
            options["inputs_embeds"] = inputs_embeds
        else:
            options["input_ids"] = input_ids
        hidden = self.encoder(**options).last_hidden_state
        pooled = mean_pool(hidden, attention_mask)
        if self.config.normalize:
            pooled = nn.functional.normalize(pooled, dim=-1)
        return pooled

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **_: Any,
    ) -> SequenceClassifierOutput:
        """Class logits; with ``labels``, also the cross-entropy loss."""
        logits = self.classifier(
            self.embed(input_ids, attention_mask, token_type_ids, inputs_embeds)
        )
        loss = nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return SequenceClassifierOutput(loss=loss, logits=logits)


def _takes_pooling_option(config: PretrainedConfig) -> bool:
    """True for encoders (BERT, RoBERTa, …) whose AutoModel has an optional pooler layer."""
    return config.model_type in {"bert", "roberta", "xlm-roberta", "camembert", "ernie"}


AutoConfig.register(SentenceClassifierConfig.model_type, SentenceClassifierConfig, exist_ok=True)
AutoModelForSequenceClassification.register(
    SentenceClassifierConfig, SentenceClassifier, exist_ok=True
)
