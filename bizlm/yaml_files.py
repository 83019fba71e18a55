"""Read a YAML file that must hold a mapping, with errors that name the file and the line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bizlm.encodings import bom_encoding, decoding_encodings
from bizlm.errors import BizlmError, RecipeError


def read_yaml_mapping(
    path: Path,
    error: type[BizlmError] = RecipeError,
    missing_hint: str = "Check the path.",
) -> dict[str, Any]:
    """The mapping in ``path`` (empty when the file is empty).

    The file is UTF-8, or UTF-8/UTF-16/UTF-32 with a byte-order mark (as some Windows editors
    save it). Raises ``error`` when the file does not exist (with ``missing_hint``), is not
    valid text or YAML (naming the line), or holds something other than a mapping.
    """
    path = Path(path)
    if not path.is_file():
        raise error(f"{path} does not exist.", hint=missing_hint)
    text = _decode(path, error)
    try:
        content = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        raise error(f"{path}{line} is not valid YAML: {exc}.") from None
    if not isinstance(content, dict):
        raise error(f"{path} must hold a mapping of keys, not {type(content).__name__}.")
    return content


def _decode(path: Path, error: type[BizlmError]) -> str:
    raw = path.read_bytes()
    encoding = bom_encoding(raw) or "utf-8"
    try:
        return raw.decode(encoding).removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        bad = raw[exc.start : exc.end].hex(" ")
        found = decoding_encodings(raw, exclude=encoding)
        looks = f" (it looks like {found[0]})" if found else ""
        raise error(
            f"{path} line {line} is not valid {encoding} (byte 0x{bad}).",
            hint=f"Re-save the file as UTF-8{looks}.",
        ) from None
