"""Answer one customer message: the intent's template, else the best FAQ answer, else a reply
generated from the knowledge base, else hand-off.

1. The intent model gives calibrated probabilities; below the tuned threshold the intent is
   ``out_of_scope``. A message on a topic of ``deny_topics``, or in a script the project's
   model cannot read, goes to a person at once.
2. A known intent with a template answers with it when every slot is filled by an entity span
   of that type from the NER model (a template without slots needs no NER model).
3. Otherwise the best FAQ entry (hybrid retrieval) answers when its similarity to the message
   reaches ``faq.min_similarity``.
4. Otherwise, when ``support.yaml`` names a generate bundle (``knowledge.generate_bundle``) and
   the knowledge base is indexed, a generated reply citing the retrieved passages answers when
   it passes the grounding checks (:mod:`bizlm.apps.support.grounded`); its sources are the
   cited passages; personal data in the generated text is masked.
5. Otherwise the conversation is handed to a person; a grounded reply that failed its checks
   leaves its reason in :attr:`Answer.handoff_reason`.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bizlm.apps.support.calibration import scale
from bizlm.apps.support.deny import DENIED_TOPIC, denied_topic
from bizlm.apps.support.errors import SupportProjectError
from bizlm.apps.support.grounded.loader import load_grounded
from bizlm.apps.support.language import UNREADABLE_LANGUAGE, LanguageGate
from bizlm.apps.support.project import (
    OUT_OF_SCOPE,
    SupportProject,
    load_project,
    template_slots,
)
from bizlm.apps.support.retrieval import FaqIndex, SentenceEncoder
from bizlm.apps.support.training import BUILD_INFO
from bizlm.loading import load
from bizlm.pii import mask


@dataclass
class Answer:
    """What the desk replies to one message."""

    text: str
    kind: str  # template, faq, generated or handoff
    intent: str
    confidence: float
    sources: list[dict[str, Any]] = field(default_factory=list)
    entities: list[dict[str, Any]] = field(default_factory=list)
    handoff_reason: str | None = None  # why a generated reply was not given

    @property
    def handoff(self) -> bool:
        """True when a person takes over."""
        return self.kind == "handoff"


def fill_template(template: str, entities: list[dict[str, Any]]) -> str | None:
    """The template with each ``{TYPE}`` slot replaced by the first entity of that type."""
    first: dict[str, str] = {}
    for entity in entities:
        first.setdefault(entity["type"], entity["text"])
    slots = template_slots(template)
    if any(slot not in first for slot in slots):
        return None
    return template.format_map({slot: first[slot] for slot in slots})


class SupportAgent:
    """A trained support project, ready to answer (thread-safe)."""

    def __init__(self, root: Path) -> None:
        self.project: SupportProject = load_project(root)
        info_path = self.project.build_dir / BUILD_INFO
        if not info_path.is_file():
            raise SupportProjectError(
                f"{root} has not been trained yet.",
                hint=f"Run `bizlm app support train {root}` first.",
            )
        self.info = json.loads(info_path.read_text(encoding="utf-8"))
        self.intents = load(self.intent_bundle)
        ner_path = self.project.ner_path()
        self.ner = load(ner_path) if ner_path is not None else None
        encoder = SentenceEncoder.for_recipe(self.project.recipe)
        self.language = LanguageGate(encoder.reference)
        faq = self.project.settings.faq
        self.faq = FaqIndex.load(
            self.project.build_dir, self.project.faq, encoder, faq.rrf_k, faq.bm25_weight
        )
        calibration = self.info["calibration"]
        self.temperature = float(calibration["temperature"])
        self.threshold = float(calibration["threshold"])
        self._intent_lock: AbstractContextManager[Any] = threading.Lock()
        self._text_lock = threading.Lock()  # the NER model and the FAQ encoder
        self.grounded = load_grounded(self.project, encoder)
        self._generate_lock = threading.Lock()

    @property
    def intent_bundle(self) -> Path:
        """The trained intent model's bundle folder."""
        return self.project.build_dir / self.info["intent_bundle"]

    def use_served_intents(self, intents: Any) -> None:
        """Classify through a served intent model (a :class:`bizlm.serve.QueuedPredictor`):
        its micro-batcher runs one batch at a time, so concurrent messages need no lock."""
        self.intents = intents
        self._intent_lock = contextlib.nullcontext()

    def classify(self, text: str) -> tuple[str, float]:
        """(intent or ``out_of_scope``, calibrated confidence of the top intent)."""
        probabilities = scale(self.intents.predict_proba([text]), self.temperature)[0]
        best = int(probabilities.argmax())
        confidence = float(probabilities[best])
        intent = self.intents.labels[best] if confidence >= self.threshold else OUT_OF_SCOPE
        return intent, confidence

    def answer(self, text: str) -> Answer:
        """The reply to one message."""
        *_, answer = self.answer_stream(text)
        assert isinstance(answer, Answer)
        return answer

    def answer_stream(self, text: str) -> Iterator[str | Answer]:
        """The reply to one message as it is written: a generated reply's checked sentences
        (PII masked) as they come, then the :class:`Answer`; a template, FAQ answer or
        hand-off comes whole, as the :class:`Answer` alone. Closing the iterator stops the
        generation."""
        with self._intent_lock:
            intent, confidence = self.classify(text)
        handoff = self.project.settings.handoff_message
        if denied_topic(text, self.project.settings.deny_topics) is not None:
            yield Answer(handoff, "handoff", intent, confidence, handoff_reason=DENIED_TOPIC)
            return
        if self.language.problem(text) is not None:
            yield Answer(handoff, "handoff", intent, confidence, handoff_reason=UNREADABLE_LANGUAGE)
            return
        with self._text_lock:
            entities = self.ner.predict([text])[0]["entities"] if self.ner is not None else []
            hits = self.faq.search(text, self.project.settings.faq.top_k)
        sources = [
            {"id": h.entry.id, "question": h.entry.question, "similarity": round(h.similarity, 4)}
            for h in hits
        ]
        template = self.project.templates.get(intent)
        filled = fill_template(template, entities) if template is not None else None
        if filled is not None:
            yield Answer(filled, "template", intent, confidence, sources, entities)
            return
        if hits and hits[0].similarity >= self.project.settings.faq.min_similarity:
            yield Answer(hits[0].entry.answer, "faq", intent, confidence, sources, entities)
            return
        reason = None
        if self.grounded is not None:
            with self._text_lock:
                found = self.grounded.retrieve(text)
            with self._generate_lock:
                for event in self.grounded.stream_from(text, found):
                    if isinstance(event, str):
                        yield mask(event)
                    else:
                        grounded = event
            if grounded.handoff_reason is None:  # checked as written, sent with PII masked
                text, sources = mask(grounded.text), grounded.sources()
                yield Answer(text, "generated", intent, confidence, sources, entities)
                return
            reason = grounded.handoff_reason
        yield Answer(handoff, "handoff", intent, confidence, sources, entities, reason)
