"""Read a YAML file that must hold a mapping and validate it, with errors that name the file,
the line or the key, and what to do."""

from __future__ import annotations

import difflib
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from bizlm.encodings import bom_encoding, decoding_encodings
from bizlm.errors import BizlmError, RecipeError

ModelT = TypeVar("ModelT", bound=BaseModel)
SectionModel = Callable[[Any], tuple[type[BaseModel], str]]
"""For a section whose keys depend on its content (its raw value): its model and its name."""


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


def validate_mapping(
    model: type[ModelT],
    raw: dict[str, Any],
    where: str | Path,
    error: type[BizlmError] = RecipeError,
    sections: Mapping[str, SectionModel] | None = None,
) -> ModelT:
    """``raw`` validated as ``model``; a pydantic error becomes :func:`validation_error`."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(exc, model, raw, where, error, sections) from None


def validation_error(
    exc: ValidationError,
    model: type[BaseModel],
    raw: Any,
    where: str | Path,
    error: type[BizlmError] = RecipeError,
    sections: Mapping[str, SectionModel] | None = None,
) -> BizlmError:
    """One ``error`` for the first problem pydantic found in ``raw`` (read from ``where``).

    It names the file, the key path and what to do: for an unknown key the nearest valid one
    and every key allowed there (``sections`` gives the model of a section whose keys depend
    on its content, such as the recipe's method), else the missing key or the rule the value
    breaks.
    """
    details = exc.errors()[0]
    path, parent, owner = _resolve(model, raw, details["loc"], sections or {})
    key = ".".join(path) or "(top level)"
    if details["type"] == "extra_forbidden":
        valid = list(parent.model_fields) if parent is not None else []
        close = difflib.get_close_matches(path[-1], valid, n=1, cutoff=0.5)
        suggestion = f"Did you mean '{'.'.join([*path[:-1], close[0]])}'? " if close else ""
        if owner is not None:
            message = f"{where}: unknown key '{key}': {owner} does not take option '{path[-1]}'."
            return error(message, hint=f"{suggestion}Its options: {', '.join(valid)}.")
        return error(
            f"{where}: unknown key '{key}'.",
            hint=f"{suggestion}Valid keys here: {', '.join(valid)}.",
        )
    if details["type"] == "missing":
        return error(f"{where}: missing required key '{key}'.", hint="Add it with a value.")
    value = details.get("input")
    shown = f" (got {value!r})" if not isinstance(value, dict) else ""
    rule = details["msg"].removeprefix("Value error, ")
    return error(f"{where}: bad value for '{key}'{shown}: {rule}.")


def _resolve(
    model: type[BaseModel],
    raw: Any,
    loc: tuple[str | int, ...],
    sections: Mapping[str, SectionModel],
) -> tuple[list[str], type[BaseModel] | None, str | None]:
    """The key path of a pydantic error location (without validator and union-member tags),
    the model of the section holding its last key, and that section's name when ``sections``
    gives one."""
    path: list[str] = []
    annotation: Any = model
    node: Any = raw
    parent, owner = _model_in(model), None
    for part in loc:
        if isinstance(part, str) and part.startswith("function-"):
            continue
        dotted = ".".join(path)
        named = sections[dotted](node) if dotted in sections else None
        if named is not None:
            annotation = named[0]
        member = _union_member(annotation, part)
        if member is not None:
            annotation = member
            continue
        parent, owner = _model_in(annotation), named[1] if named else None
        path.append(str(part))
        node = _child(node, part)
        if parent is not None and str(part) in parent.model_fields:
            annotation = parent.model_fields[str(part)].annotation
    return path, parent, owner


def _child(node: Any, part: str | int) -> Any:
    """The raw value under ``part`` (a key or a list index), or None."""
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and -len(node) <= part < len(node):
        return node[part]
    return None


def _union_member(annotation: Any, part: str | int) -> Any:
    """The member of a union annotation that pydantic's location tag ``part`` names, if any."""
    if get_origin(annotation) not in (Union, types.UnionType):
        return None
    for member in get_args(annotation):
        if part in (getattr(member, "__name__", None), str(member)):
            return member
    return None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model an annotation holds (itself, or inside a list, union and the like)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        found = _model_in(argument)
        if found is not None:
            return found
    return None
