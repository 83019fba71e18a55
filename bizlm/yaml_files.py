"""Read a YAML file that must hold a mapping, with errors that name the file and the line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bizlm.errors import BizlmError, RecipeError


def read_yaml_mapping(
    path: Path,
    error: type[BizlmError] = RecipeError,
    missing_hint: str = "Check the path.",
) -> dict[str, Any]:
    """The mapping in ``path`` (empty when the file is empty).

    Raises ``error`` when the file does not exist (with ``missing_hint``), is not valid YAML
    (naming the line), or holds something other than a mapping.
    """
    path = Path(path)
    if not path.is_file():
        raise error(f"{path} does not exist.", hint=missing_hint)
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        raise error(f"{path}{line} is not valid YAML: {exc}.") from None
    if not isinstance(content, dict):
        raise error(f"{path} must hold a mapping of keys, not {type(content).__name__}.")
    return content
