"""Messages the desk cannot read: a script its model does not cover goes to a person.

The intent model and the retrieval encoder share the project's model; on text it cannot read
(Chinese for the English ``default`` model, for instance) they still return a confident-looking
intent and a nearest FAQ entry, which would be a wrong answer. The check is
:func:`bizlm.data.text_checks.model_language_warning` on the message, its verdict kept per
script (a tokenizer covers a script or does not).
"""

from __future__ import annotations

from bizlm.data.text_checks import Script, detect_script, model_language_warning

UNREADABLE_LANGUAGE = "unreadable_language"


class LanguageGate:
    """Tells whether the model named ``model_reference`` can read a message."""

    def __init__(self, model_reference: str) -> None:
        self.model_reference = model_reference
        self._verdicts: dict[Script, str | None] = {"latin": None}

    def problem(self, message: str) -> str | None:
        """Why the model cannot read ``message`` (and which model would), or None."""
        script = detect_script([message])
        if script not in self._verdicts:
            self._verdicts[script] = model_language_warning(self.model_reference, [message])
        return self._verdicts[script]
