"""`bizlm app recommend init DIR`: an application folder with a recipe and its data.

Data comes from the catalog (``ml-100k``: read from the recbole package archive) or from the
user's own interactions and items files, copied into ``DIR/data``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from bizlm.apps.recommend.config import RecommendRecipe, load_recommend_recipe
from bizlm.apps.recommend.layout import AppLayout
from bizlm.atomic import atomic_write_text
from bizlm.data import catalog
from bizlm.data.catalog_sources import INTERACTION_CONVERTERS, Archive
from bizlm.data.readers import write_table
from bizlm.errors import CatalogError, DataError

_HEADER = """\
# Recommender recipe: `bizlm app recommend train {folder}` trains, `rank` ranks, `serve` serves.
# Interactions: one row per event (user, item, time[, event]); items: id and text fields.
"""
_CATALOG_DATA = {
    "ml-100k": {
        "interactions": "data/interactions.csv",
        "items": "data/items.csv",
        "event_column": "rating",
        "text_columns": ["title", "genres", "year"],
    }
}


def init_application(
    folder: Path,
    catalog_name: str | None = None,
    interactions: Path | None = None,
    items: Path | None = None,
    force: bool = False,
) -> Path:
    """Create ``folder`` with ``recipe.yaml`` and ``data/``; returns the recipe path."""
    layout = AppLayout(Path(folder))
    if layout.recipe.exists() and not force:
        raise DataError(f"'{layout.recipe}' already exists.", hint="Pass --force to overwrite it.")
    if (catalog_name is None) == (interactions is None or items is None):
        raise DataError(
            "Give either --catalog NAME or both --interactions FILE and --items FILE.",
            hint="For example: bizlm app recommend init DIR --catalog ml-100k",
        )
    if catalog_name is not None:
        data = _catalog_data(catalog_name, layout)
    else:
        data = {
            "interactions": _copy(interactions, layout, "interactions"),
            "items": _copy(items, layout, "items"),
        }
    recipe = RecommendRecipe.model_validate({"data": data}).model_dump(mode="json")
    text = _HEADER.format(folder=folder) + yaml.safe_dump(recipe, sort_keys=False)
    atomic_write_text(layout.recipe, text)
    load_recommend_recipe(layout.root)  # the written recipe must read back
    return layout.recipe


def _copy(source: Path | None, layout: AppLayout, name: str) -> str:
    if source is None or not Path(source).is_file():
        raise DataError(f"File '{source}' does not exist.", hint="Check the path.")
    target = layout.data / f"{name}{''.join(Path(source).suffixes)}"
    layout.data.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return str(target.relative_to(layout.root))


def _catalog_data(name: str, layout: AppLayout) -> dict[str, object]:
    entry = catalog.get_entry(name)
    if entry.name not in INTERACTION_CONVERTERS:
        raise CatalogError(
            f"Dataset '{entry.name}' holds labelled texts, not interactions.",
            hint=f"Interaction sets: {', '.join(sorted(INTERACTION_CONVERTERS))}.",
        )
    source = catalog.download_archive(entry)
    with Archive(source) as archive:
        tables = INTERACTION_CONVERTERS[entry.name](archive, entry.member)
    data = dict(_CATALOG_DATA[entry.name])
    for table in ("interactions", "items"):
        write_table(layout.root / str(data[table]), tables[table])
    notice = f"{entry.name} from {entry.package}=={entry.version}\nLicence: {entry.licence}\n"
    atomic_write_text(layout.data / "LICENCE.txt", notice)
    return data
