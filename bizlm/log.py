"""The package logger; the CLI attaches a rich handler, library users get standard logging."""

from __future__ import annotations

import logging

logger = logging.getLogger("bizlm")
