"""``init`` and ``train``: lay out a monitor folder and train its topic and sentiment models.

A folder holds ``risk.yaml``, ``rules.yaml``, ``recipes/`` (the recipes ``train`` runs),
``models/`` (the bundles), ``inbox/`` (JSONL drops) and ``risk.db``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from bizlm.apps.risk.config import CONFIG_FILE, RiskConfig, RiskError, RiskFolder, WebhookConfig
from bizlm.apps.risk.rules import DEFAULT_RULES, Rule, write_rules
from bizlm.training.run import train

DEFAULT_RECIPES = Path(__file__).parent / "default_recipes"


@dataclass(frozen=True)
class InitOptions:
    """Choices for a new folder: existing bundles instead of training, window, webhooks."""

    topic_bundle: Path | None = None
    sentiment_bundle: Path | None = None
    entity_bundle: Path | None = None
    window: str = "1h"
    webhooks: tuple[str, ...] = ()


def _bundle(path: Path | None, role: str) -> str | None:
    if path is None:
        return None
    if not (path / "bizlm.json").is_file():
        raise RiskError(f"--{role}-bundle {path} is not a bizlm bundle.", hint="Pass a bundle.")
    return str(path.resolve())


def init_folder(root: Path, options: InitOptions) -> RiskFolder:
    """Create a monitor folder; refuses one that already has a ``risk.yaml``."""
    root = Path(root)
    if (root / CONFIG_FILE).exists():
        raise RiskError(f"{root} already has a {CONFIG_FILE}.", hint="Pick another folder.")
    config = RiskConfig(
        window=options.window,
        webhooks=[WebhookConfig(url=url) for url in options.webhooks],
    )
    topic = _bundle(options.topic_bundle, "topic")
    sentiment = _bundle(options.sentiment_bundle, "sentiment")
    config.topic_model = topic or config.topic_model
    config.sentiment_model = sentiment or config.sentiment_model
    config.entity_model = _bundle(options.entity_bundle, "entity")
    folder = RiskFolder(root, config)
    folder.window_s  # noqa: B018 - refuse a bad window before writing anything
    (root / "recipes").mkdir(parents=True, exist_ok=True)
    for role in ("topic", "sentiment"):
        shutil.copyfile(DEFAULT_RECIPES / f"{role}.yaml", root / "recipes" / f"{role}.yaml")
    folder.path(config.inbox).mkdir(parents=True, exist_ok=True)
    rule = Rule.model_validate({**DEFAULT_RULES[0].model_dump(), "window": options.window})
    write_rules(folder.rules, [rule])
    folder.save()
    return folder


def train_models(root: Path, retrain: bool = False) -> dict[str, Path]:
    """Train each model whose bundle is missing (all with ``retrain``); returns bundle paths."""
    folder = RiskFolder.open(root)
    config = folder.config
    trained: dict[str, Path] = {}
    for role, bundle, recipe in (
        ("topic", config.topic_model, config.topic_recipe),
        ("sentiment", config.sentiment_model, config.sentiment_recipe),
    ):
        output = folder.path(bundle)
        if (output / "bizlm.json").is_file() and not retrain:
            continue
        recipe_path = folder.path(recipe)
        if not recipe_path.is_file():
            raise RiskError(f"The {role} recipe {recipe_path} is missing.", hint="Restore it.")
        trained[role] = Path(train(recipe_path, [f"output={output}"]).bundle)
    return trained
