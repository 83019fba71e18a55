"""The reply generator's part of a retrain: recipes that continue the project's generate bundle
on the exported feedback, and, when asked, their training and registration as ``staging``.

``recipe-dpo.yaml`` prefers each corrected reply to the desk's (``method: dpo``, from the
preference pairs); ``recipe-sft.yaml`` trains on the prompt/response rows. Both start from the
generate bundle named by ``knowledge.generate_bundle`` and write into the run folder; each is
written only when its file has rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bizlm.apps.support.project import SupportProject
from bizlm.atomic import atomic_write_text
from bizlm.progress import Reporter
from bizlm.registry.store import Registry
from bizlm.training.run import train

PREFERENCES = "preferences.jsonl"
SFT_ROWS = "sft.jsonl"


def write_generator_recipes(
    project: SupportProject,
    run: Path,
    export: dict[str, Any],
    registry: str | None,
    name: str,
) -> dict[str, Any]:
    """Recipes that continue the generate bundle on the exported pairs (DPO) and rows (SFT),
    with the commands that train and register them; none without a generate bundle or rows."""
    bundle = project.generate_path()
    if bundle is None:
        return {"bundle": None, "recipes": [], "note": "no knowledge.generate_bundle"}
    wanted = {
        "dpo": (export["preferences"]["pairs"], PREFERENCES, {"preference": True}),
        "sft": (export["sft"]["rows"], SFT_ROWS, {}),
    }
    recipes = []
    for kind, (count, data, task) in wanted.items():
        if not count:
            continue
        output = (run / f"replies-{kind}").resolve()
        recipe: dict[str, Any] = {
            "model": str(bundle.resolve()),
            "task": {"type": "generate", **task},
            "data": {"train": str((run / data).resolve())},
            "output": str(output),
        }
        if kind == "dpo":
            recipe["method"] = {"name": "dpo"}
        file = run / f"recipe-{kind}.yaml"
        atomic_write_text(file, yaml.safe_dump(recipe, sort_keys=False))
        where = f" --registry {registry}" if registry else ""
        commands = [
            f"bizlm train {file}",
            f"bizlm registry add {name} {output} --stage staging{where}",
        ]
        recipes.append(
            {
                "kind": kind,
                "file": str(file),
                "rows": count,
                "bundle": str(output),
                "commands": commands,
                "registered": None,
            }
        )
    note = None if recipes else "no preference pairs or prompt/response rows"
    return {"bundle": str(bundle), "recipes": recipes, "note": note}


def train_generator(
    generator: dict[str, Any], registry: str | None, name: str, reporter: Reporter | None
) -> None:
    """Train each recipe of ``generator`` and register its bundle as a ``staging`` version of
    ``name``; each recipe's ``registered`` records the version."""
    for recipe in generator["recipes"]:
        bundle = train(Path(recipe["file"]), reporter=reporter).bundle
        recipe["registered"] = Registry(registry).add(name, bundle, "staging").summary()
