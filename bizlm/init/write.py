"""Write a :class:`~bizlm.init.plan.RecipePlan` as a YAML recipe with a comment on every key."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import yaml

from bizlm.atomic import atomic_write_text
from bizlm.errors import RecipeError
from bizlm.init.plan import Choice, RecipePlan

WIDTH = 100
COMMENT_COLUMN = 32
DEFAULTS_NOTE = (
    "learning_rate, warmup_ratio and epochs are left out on purpose: each method has its own "
    "defaults in the recipe schema, and those apply"
)


def render_recipe(plan: RecipePlan, path: Path) -> str:
    """The recipe as YAML text: a header, then each choice with its reason as a comment."""
    lines = [
        *_comment(
            f"Recipe for {plan.source} ({plan.rows:,} rows), written by `bizlm init recipe`.", 0
        ),
        f"# Check it, then run: bizlm train {path}",
    ]
    for warning in plan.warnings:
        lines += _comment(f"warning: {warning}", 0)
    section = None
    for choice in plan.choices:
        head, _, key = choice.key.rpartition(".")
        if head and head != section:
            lines.append(f"{head}:")
            if head == "train":
                lines += _comment(DEFAULTS_NOTE, 1)
        section = head or None
        lines += _entry(choice, key, 1 if head else 0)
    return "\n".join(lines) + "\n"


def write_recipe(plan: RecipePlan, path: Path, force: bool = False) -> None:
    """Write the recipe to ``path`` atomically; an existing file is replaced only with
    ``force``."""
    refuse_existing(path, force)
    atomic_write_text(path, render_recipe(plan, path))


def refuse_existing(path: Path, force: bool) -> None:
    """Raise RecipeError when ``path`` exists and ``force`` is not set."""
    if path.exists() and not force:
        raise RecipeError(
            f"{path} already exists; it was left as it is.",
            hint="Pass --force to replace it, or --output with another file name.",
        )


def _entry(choice: Choice, key: str, depth: int) -> list[str]:
    code = f"{'  ' * depth}{key}: {_yaml_value(choice.value)}"
    comment = f"# {choice.reason}"
    column = max(COMMENT_COLUMN, len(code) + 1)
    if column + len(comment) <= WIDTH:
        lines = [f"{code:<{column}}{comment}"]
    else:
        lines = [*_comment(choice.reason, depth), code]
    for note in choice.notes:
        lines += _comment(note, depth)
    return lines


def _comment(text: str, depth: int) -> list[str]:
    indent = "  " * depth + "# "
    return textwrap.wrap(
        text, WIDTH, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False
    )


def _yaml_value(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**6)
    return text.strip().removesuffix("...").strip()
