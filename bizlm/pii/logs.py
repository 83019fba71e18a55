"""A logging filter that masks personal data in every log record."""

from __future__ import annotations

import logging
import urllib.parse

from bizlm.pii.core import mask_structured


class PiiLogFilter(logging.Filter):
    """A logging filter that masks personal data in each record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record's text in place (its format and argument types are kept)."""
        if isinstance(record.msg, str):
            record.msg = mask_structured(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_mask_value(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _mask_value(v) for k, v in record.args.items()}
        return True


def _mask_value(value: object) -> object:
    if not isinstance(value, str):
        return value
    if "%" in value:  # URL paths and queries: look at the decoded text too
        decoded = urllib.parse.unquote(value)
        masked = mask_structured(decoded)
        if masked != decoded:
            return masked
    return mask_structured(value)
